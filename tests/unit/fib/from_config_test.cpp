// Config -> FIB options mapping.
#include "fib/from_config.hpp"

#include <gtest/gtest.h>
#include <net/if.h>

using namespace ferry;
using namespace ferry::fib;

TEST(FibFromConfig, MapsFibAndRedistribute) {
  config::Config c;
  c.fib.table = 100;
  c.fib.protocol = 201;
  c.fib.metric = 30;
  c.fib.keep_on_shutdown = true;
  c.tunnel.emplace();
  c.tunnel->interface = "ferry7";
  c.bgp.emplace();
  config::RedistributeConfig conn;
  conn.interfaces = {"eth1"};
  config::RedistributeConfig kern;
  kern.source = config::RedistributeConfig::Source::Kernel;
  kern.protocols = {"ospf", "bird"};
  kern.table = 10;
  c.bgp->redistribute = {conn, kern};

  auto fo = fib_options(c.fib);
  EXPECT_EQ(fo.keys.table, 100u);
  EXPECT_EQ(fo.keys.protocol, 201);
  EXPECT_EQ(fo.keys.metric, 30u);
  EXPECT_TRUE(fo.keep_on_shutdown);
  EXPECT_EQ(kernel_fib_options(c.fib).keys.metric, 30u);

  auto f = route_source_filter(c);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_TRUE(f->connected);
  ASSERT_EQ(f->connected_selectors.size(), 1u);
  EXPECT_EQ(f->connected_selectors[0].interfaces, std::vector<std::string>{"eth1"});
  EXPECT_TRUE(f->kernel);
  ASSERT_EQ(f->kernel_selectors.size(), 1u);
  EXPECT_EQ(f->kernel_selectors[0].protocols, (std::vector<uint8_t>{188, 12}));
  EXPECT_EQ(f->kernel_selectors[0].table, 10u);
  EXPECT_EQ(f->own_protocol, 201);
  EXPECT_EQ(f->tunnel_interface, "ferry7");

  c.bgp->redistribute[1].protocols = {"nosuch"};
  EXPECT_FALSE(route_source_filter(c).ok());
}

// Every entry is its own selector: nothing is merged or overwritten.
TEST(FibFromConfig, RedistributeEntriesStaySeparate) {
  config::Config c;
  c.bgp.emplace();
  config::RedistributeConfig all;
  config::RedistributeConfig cx0;
  cx0.interfaces = {"cx0"};
  config::RedistributeConfig ospf;
  ospf.source = config::RedistributeConfig::Source::Kernel;
  ospf.protocols = {"ospf"};
  config::RedistributeConfig bird100 = ospf;
  bird100.protocols = {"bird"};
  bird100.table = 100;
  config::RedistributeConfig stat;
  stat.source = config::RedistributeConfig::Source::Static;
  c.bgp->redistribute = {all, cx0, ospf, bird100, stat};

  auto f = route_source_filter(c);
  ASSERT_TRUE(f.ok()) << f.error();
  ASSERT_EQ(f->connected_selectors.size(), 2u);
  EXPECT_TRUE(f->connected_selectors[0].interfaces.empty());  // all interfaces
  EXPECT_EQ(f->connected_selectors[1].interfaces, std::vector<std::string>{"cx0"});
  ASSERT_EQ(f->kernel_selectors.size(), 2u);
  EXPECT_EQ(f->kernel_selectors[0].protocols, std::vector<uint8_t>{188});
  EXPECT_EQ(f->kernel_selectors[0].table, 254u);
  EXPECT_EQ(f->kernel_selectors[1].protocols, std::vector<uint8_t>{12});
  EXPECT_EQ(f->kernel_selectors[1].table, 100u);

  // And the table built from it exports every interface, not only cx0.
  struct Count : RouteSourceListener {
    void on_route_add(const RedistRoute&) override { ++n; }
    void on_route_remove(const RedistRoute&) override { --n; }
    int n = 0;
  } count;
  RouteSourceTable t(*f, count);
  LinkMessage eth0;
  eth0.ifindex = 2;
  eth0.name = "eth0";
  eth0.flags = IFF_UP | IFF_RUNNING;
  LinkMessage cx = eth0;
  cx.ifindex = 3;
  cx.name = "cx0";
  t.apply_link(eth0);
  t.apply_link(cx);
  AddrMessage a;
  a.ifindex = 2;
  a.address = *IpAddress::parse("192.168.1.1");
  a.prefixlen = 24;
  t.apply_addr(a);
  a.ifindex = 3;
  a.address = *IpAddress::parse("192.168.3.1");
  t.apply_addr(a);
  EXPECT_EQ(count.n, 2);
}
