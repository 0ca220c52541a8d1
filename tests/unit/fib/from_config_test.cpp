// Config -> FIB options mapping.
#include "fib/from_config.hpp"

#include <gtest/gtest.h>

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
  EXPECT_EQ(f->interfaces, std::vector<std::string>{"eth1"});
  EXPECT_TRUE(f->kernel);
  EXPECT_EQ(f->protocols, (std::vector<uint8_t>{188, 12}));
  EXPECT_EQ(f->table, 10u);
  EXPECT_EQ(f->own_protocol, 201);
  EXPECT_EQ(f->tunnel_interface, "ferry7");

  c.bgp->redistribute[1].protocols = {"nosuch"};
  EXPECT_FALSE(route_source_filter(c).ok());
}
