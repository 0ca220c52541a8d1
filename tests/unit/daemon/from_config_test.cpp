// Config -> module options: the daemon's one translation.
#include "daemon/from_config.hpp"

#include <gtest/gtest.h>
#include <net/if.h>

using namespace ferry;
using namespace ferry::fib;
using ferry::daemon::fib_options;
using ferry::daemon::kernel_fib_options;
using ferry::daemon::route_source_filter;

TEST(FromConfig, MapsFibAndRedistribute) {
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
TEST(FromConfig, RedistributeEntriesStaySeparate) {
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

namespace {
config::Config two_site_config() {
  config::Config c;
  c.router.asn = Asn(65001);
  c.router.router_id = RouterId(0x0a000001);
  c.tunnel.emplace();
  c.tunnel->interface = "ferry3";
  c.bgp.emplace();
  c.bgp->max_paths = 4;
  c.bgp->graceful_restart_time = 90;
  c.bgp->listen_port = 1179;
  c.bgp->networks = {*Prefix::parse("10.1.0.0/16")};
  c.bgp->bfd.min_tx_ms = 100;
  c.bgp->bfd.multiplier = 5;
  config::BgpNeighborConfig n;
  n.name = "site2";
  n.address = *IpAddress::parse("169.254.12.2");
  n.remote_asn = Asn(65002);
  n.bfd = true;
  config::BgpNeighborConfig m = n;
  m.name = "site3";
  m.address = *IpAddress::parse("169.254.13.2");
  m.bfd = false;
  m.graceful_restart = true;
  c.bgp->neighbors = {n, m};
  config::PolicyConfig p;
  p.name = "all";
  c.policies = {p};
  config::StaticRouteConfig via_if;
  via_if.prefix = *Prefix::parse("10.50.0.0/16");
  via_if.interface = "eth9";
  config::StaticRouteConfig bh;
  bh.prefix = *Prefix::parse("10.66.0.0/16");
  bh.blackhole = true;
  c.static_routes = {via_if, bh};
  return c;
}
}  // namespace

// Each module gets its own part; interface names become indexes through the given function.
TEST(FromConfig, EachModuleGetsItsOwnOptions) {
  const config::Config c = two_site_config();
  std::vector<std::string> asked;
  auto o = daemon::from_config(c, [&](const std::string& n) -> uint32_t {
    asked.push_back(n);
    return n == "eth9" ? 9 : 0;
  });
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->rib.local_asn, Asn(65001));
  EXPECT_EQ(o->rib.router_id, RouterId(0x0a000001));
  EXPECT_EQ(o->rib.max_paths, 4u);
  EXPECT_EQ(o->policies, c.policies);
  ASSERT_TRUE(o->speaker);
  EXPECT_EQ(o->speaker->local_asn, Asn(65001));
  EXPECT_EQ(o->speaker->neighbors, c.bgp->neighbors);
  EXPECT_EQ(o->speaker->networks, c.bgp->networks);
  EXPECT_EQ(o->speaker->listen_port, 1179);
  EXPECT_EQ(o->speaker->graceful_restart_time, 90u);
  EXPECT_EQ(o->speaker->policies, c.policies);
  ASSERT_TRUE(o->tunnel);
  EXPECT_EQ(*o->tunnel, *c.tunnel);
  EXPECT_EQ(o->route_sources.tunnel_interface, "ferry3");
  // Routing: the interface was resolved once, here.
  EXPECT_EQ(asked, std::vector<std::string>{"eth9"});
  ASSERT_EQ(o->routing.static_routes.size(), 2u);
  EXPECT_EQ(o->routing.static_routes[0].ifindex, 9u);
  EXPECT_FALSE(o->routing.static_routes[0].blackhole);
  EXPECT_TRUE(o->routing.static_routes[1].blackhole);
  EXPECT_EQ(o->routing.static_routes[1].ifindex, 0u);
  // BFD follows the neighbours.
  EXPECT_EQ(o->bfd.timers.desired_min_tx_us, 100000u);
  EXPECT_EQ(o->bfd.timers.detect_mult, 5);
  ASSERT_EQ(o->bfd.peers.size(), 2u);
  EXPECT_TRUE(o->bfd.peers[0].enabled);
  EXPECT_FALSE(o->bfd.peers[1].enabled);
  EXPECT_TRUE(o->bfd.any());
  // Graceful restart: a neighbour has it and routes go into the kernel.
  EXPECT_TRUE(o->graceful_restart);
  EXPECT_EQ(o->graceful_restart_time, 90u);
}

TEST(FromConfig, WithoutBgpOrKernelInstallThereIsNoSpeakerNorGracefulRestart) {
  config::Config c = two_site_config();
  c.fib.install = false;
  auto o = daemon::from_config(c, [](const std::string&) -> uint32_t { return 0; });
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->fib_install);
  EXPECT_FALSE(o->graceful_restart);  // nothing in the kernel to preserve
  c.bgp.reset();
  o = daemon::from_config(c, [](const std::string&) -> uint32_t { return 0; });
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->speaker);
  EXPECT_TRUE(o->bfd.peers.empty());
  EXPECT_FALSE(o->bfd.any());
  EXPECT_TRUE(o->redistribute.empty());
  EXPECT_EQ(o->rib.max_paths, 1u);
}

// BFD is on by default for a neighbour reached through a tunnel peer (its
// address is in the peer's allowed-ips), off otherwise; `bfd` overrides both.
TEST(FromConfig, BfdDefaultsOnAcrossTheTunnelAndLivenessTimersArriveInMilliseconds) {
  config::Config c = two_site_config();
  config::TunnelPeerConfig tp;
  tp.name = "site2";
  tp.allowed_ips = {*Prefix::parse("169.254.12.2/32"), *Prefix::parse("fd99:12::2/128")};
  c.tunnel->peers = {tp};
  auto& ns = c.bgp->neighbors;
  ns[0].bfd.reset();  // 169.254.12.2: across the tunnel
  ns[1].bfd.reset();  // 169.254.13.2: not in any allowed-ips
  config::BgpNeighborConfig v6 = ns[0];
  v6.name = "site2-v6";
  v6.address = *IpAddress::parse("fd99:12::2");
  v6.bfd = false;  // the explicit off switch
  ns.push_back(v6);
  c.liveness.hold_down_ms = 250;
  c.liveness.hold_down_max_ms = 4000;
  c.liveness.reset_after_ms = 9000;
  c.liveness.handshake_timeouts = 2;
  auto o = daemon::from_config(c, [](const std::string&) -> uint32_t { return 0; });
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o->bfd.peers.size(), 3u);
  EXPECT_TRUE(o->bfd.peers[0].enabled);
  EXPECT_FALSE(o->bfd.peers[1].enabled);
  EXPECT_FALSE(o->bfd.peers[2].enabled);
  EXPECT_TRUE(daemon::reached_over_tunnel(c, *IpAddress::parse("fd99:12::2")));
  EXPECT_FALSE(daemon::reached_over_tunnel(c, *IpAddress::parse("169.254.13.2")));
  EXPECT_EQ(o->liveness.tracker.hold_down, std::chrono::milliseconds(250));
  EXPECT_EQ(o->liveness.tracker.hold_down_max, std::chrono::milliseconds(4000));
  EXPECT_EQ(o->liveness.tracker.reset_after, std::chrono::milliseconds(9000));
  EXPECT_EQ(o->liveness.handshake_timeouts, 2u);
}
