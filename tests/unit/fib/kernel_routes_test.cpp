// RouteSourceTable: what connected networks and foreign kernel routes get
// exported for redistribution, fed with parsed rtnetlink messages.
#include "fib/kernel_routes.hpp"

#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <net/if.h>

#include <asio/post.hpp>

using namespace ferry;
using namespace ferry::fib;

namespace {

Prefix pfx(const char* s) {
  return *Prefix::parse(s);
}
IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

struct Recorder : RouteSourceListener {
  void on_route_add(const RedistRoute& r) override { log.push_back("+" + describe(r)); }
  void on_route_remove(const RedistRoute& r) override { log.push_back("-" + describe(r)); }
  static std::string describe(const RedistRoute& r) {
    std::string s = (r.source == RedistRoute::Source::Connected ? "c " : "k ") + r.prefix.str();
    if (r.nexthop) s += " via " + r.nexthop->str();
    if (r.source == RedistRoute::Source::Kernel) s += " " + route_protocol_name(r.protocol);
    return s;
  }
  std::vector<std::string> take() {
    auto l = std::move(log);
    log.clear();
    return l;
  }
  std::vector<std::string> log;
};

LinkMessage link(uint32_t idx, const char* name, bool up, bool is_new = true) {
  LinkMessage l;
  l.is_new = is_new;
  l.ifindex = idx;
  l.name = name;
  l.flags = up ? (IFF_UP | IFF_RUNNING) : 0;
  return l;
}

AddrMessage addr(uint32_t idx, const char* a, uint8_t len, bool is_new = true) {
  AddrMessage m;
  m.is_new = is_new;
  m.ifindex = idx;
  m.address = ip(a);
  m.prefixlen = len;
  return m;
}

RouteMessage route(const char* p, const char* gw, uint32_t idx, uint8_t proto, uint32_t metric = 0,
                   bool is_new = true, uint32_t table = 254) {
  RouteMessage m;
  m.is_new = is_new;
  m.route.prefix = pfx(p);
  m.route.protocol = proto;
  m.route.metric = metric;
  m.route.table = table;
  NextHop nh;
  if (gw) nh.gateway = ip(gw);
  nh.ifindex = idx;
  m.route.target = RouteTarget::via({nh});
  return m;
}

RouteSourceFilter both() {
  RouteSourceFilter f;
  f.connected = true;
  f.kernel = true;
  return f;
}

}  // namespace

TEST(RouteSources, ParsesProtocolNamesAndNumbers) {
  auto p = RouteSourceFilter::parse_protocols({"ospf", "bird", "zebra", "static", "boot", "42"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<uint8_t>{188, 12, 11, 4, 3, 42}));
  EXPECT_FALSE(RouteSourceFilter::parse_protocols({"nosuch"}).ok());
  EXPECT_FALSE(RouteSourceFilter::parse_protocols({"256"}).ok());
  EXPECT_EQ(route_protocol_name(188), "ospf");
  EXPECT_EQ(route_protocol_name(200), "200");
}

TEST(RouteSources, ConnectedNetworksOfUpInterfacesExceptLoAndTunnel) {
  Recorder rec;
  RouteSourceTable t(both(), rec);
  t.apply_link(link(1, "lo", true));
  t.apply_link(link(2, "eth0", true));
  t.apply_link(link(3, "ferry0", true));
  t.apply_addr(addr(1, "127.0.0.1", 8));
  t.apply_addr(addr(2, "192.168.1.10", 24));
  t.apply_addr(addr(2, "fe80::1", 64));  // link-local: never
  t.apply_addr(addr(2, "2001:db8:1::10", 64));
  t.apply_addr(addr(3, "169.254.10.1", 30));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+c 192.168.1.0/24", "+c 2001:db8:1::/64"}));
  // Interface down withdraws, up re-announces; address removal withdraws.
  t.apply_link(link(2, "eth0", false));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"-c 192.168.1.0/24", "-c 2001:db8:1::/64"}));
  t.apply_link(link(2, "eth0", true));
  EXPECT_EQ(rec.take().size(), 2u);
  t.apply_addr(addr(2, "192.168.1.10", 24, false));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"-c 192.168.1.0/24"}));
  // Deleting the link withdraws what is left on it.
  t.apply_link(link(2, "eth0", false, false));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"-c 2001:db8:1::/64"}));
}

TEST(RouteSources, InterfaceListSelectsConnected) {
  Recorder rec;
  RouteSourceFilter f = both();
  f.connected_selectors = {{{"ferry0", "eth1"}}};
  RouteSourceTable t(f, rec);
  t.apply_link(link(2, "eth0", true));
  t.apply_link(link(3, "ferry0", true));
  t.apply_link(link(4, "eth1", true));
  t.apply_addr(addr(2, "192.168.1.10", 24));
  t.apply_addr(addr(3, "169.254.10.1", 30));
  t.apply_addr(addr(4, "192.168.2.1", 24));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+c 169.254.10.0/30", "+c 192.168.2.0/24"}));
}

TEST(RouteSources, KernelRoutesFilteredByProtocolAndTable) {
  Recorder rec;
  RouteSourceTable t(both(), rec);
  t.apply_link(link(2, "eth0", true));
  t.apply_route(route("10.6.0.0/24", "192.168.1.1", 2, 188));               // ospf
  t.apply_route(route("10.7.0.0/24", "192.168.1.1", 2, 200));               // ours: never
  t.apply_route(route("192.168.1.0/24", nullptr, 2, 2));                    // proto kernel
  t.apply_route(route("10.8.0.0/24", "192.168.1.1", 2, 12, 0, true, 100));  // other table
  t.apply_route(route("10.9.0.0/24", "192.168.1.1", 2, 4));                 // static
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+k 10.6.0.0/24 via 192.168.1.1 ospf",
                                                  "+k 10.9.0.0/24 via 192.168.1.1 static"}));
  t.apply_route(route("10.6.0.0/24", "192.168.1.1", 2, 188, 0, false));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"-k 10.6.0.0/24 via 192.168.1.1 ospf"}));

  Recorder rec2;
  RouteSourceFilter f = both();
  f.kernel_selectors = {{*RouteSourceFilter::parse_protocols({"ospf"}), 100}};
  RouteSourceTable t2(f, rec2);
  t2.apply_link(link(2, "eth0", true));
  t2.apply_route(route("10.6.0.0/24", "192.168.1.1", 2, 188, 0, true, 100));
  t2.apply_route(route("10.8.0.0/24", "192.168.1.1", 2, 12, 0, true, 100));  // bird: not listed
  t2.apply_route(route("10.9.0.0/24", "192.168.1.1", 2, 188));               // main table
  EXPECT_EQ(rec2.take(), (std::vector<std::string>{"+k 10.6.0.0/24 via 192.168.1.1 ospf"}));
}

TEST(RouteSources, LowestMetricWinsAndFallsBack) {
  Recorder rec;
  RouteSourceTable t(both(), rec);
  t.apply_link(link(2, "eth0", true));
  t.apply_route(route("10.6.0.0/24", "192.168.1.2", 2, 188, 20));
  t.apply_route(route("10.6.0.0/24", "192.168.1.1", 2, 12, 10));
  t.apply_route(route("10.6.0.0/24", "192.168.1.1", 2, 12, 10, false));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+k 10.6.0.0/24 via 192.168.1.2 ospf",
                                                  "+k 10.6.0.0/24 via 192.168.1.1 bird",
                                                  "+k 10.6.0.0/24 via 192.168.1.2 ospf"}));
}

TEST(RouteSources, InterfaceDownDropsRoutesTheKernelFlushedSilently) {
  Recorder rec;
  RouteSourceTable t(both(), rec);
  t.apply_link(link(2, "eth0", true));
  t.apply_link(link(3, "eth1", true));
  t.apply_route(route("10.6.0.0/24", "192.168.1.1", 2, 188));
  t.apply_route(route("10.7.0.0/24", "192.168.2.1", 3, 188));
  rec.take();
  t.apply_link(link(2, "eth0", false));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"-k 10.6.0.0/24 via 192.168.1.1 ospf"}));
  // Back up: the kernel does not restore the route, so neither do we.
  t.apply_link(link(2, "eth0", true));
  EXPECT_TRUE(rec.take().empty());
  EXPECT_EQ(t.exported().size(), 1u);
}

TEST(RouteSources, ResyncReportsOnlyDifferences) {
  Recorder rec;
  RouteSourceTable t(both(), rec);
  t.apply_link(link(2, "eth0", true));
  t.apply_addr(addr(2, "192.168.1.10", 24));
  t.apply_route(route("10.6.0.0/24", "192.168.1.1", 2, 188));
  t.apply_route(route("10.7.0.0/24", "192.168.1.1", 2, 188));
  rec.take();
  // Overrun: notifications were lost. The re-dump shows 10.7 gone and 10.8 new.
  t.begin_resync();
  t.apply_link(link(2, "eth0", true));
  t.apply_addr(addr(2, "192.168.1.10", 24));
  t.apply_route(route("10.6.0.0/24", "192.168.1.1", 2, 188));
  t.apply_route(route("10.8.0.0/24", "192.168.1.1", 2, 188));
  EXPECT_TRUE(rec.take().empty());
  t.end_resync();
  auto log = rec.take();
  std::sort(log.begin(), log.end());
  EXPECT_EQ(log, (std::vector<std::string>{"+k 10.8.0.0/24 via 192.168.1.1 ospf",
                                           "-k 10.7.0.0/24 via 192.168.1.1 ospf"}));
}

namespace {
// RTM_NEWROUTE with NLM_F_REPLACE in kernel wire format (what `ip route
// replace` sends and the kernel echoes to listeners), parsed back.
NlMessage wire_replace(const char* p, const char* gw, uint32_t idx, uint8_t proto,
                       uint32_t metric = 0, uint32_t table = 254) {
  NextHop nh;
  nh.gateway = ip(gw);
  nh.ifindex = idx;
  std::vector<uint8_t> buf(kMaxRouteMsg);
  const size_t n =
      build_route_replace(buf, pfx(p), RouteTarget::via({nh}), RouteKeys{table, proto, metric}, 0);
  ParseResult pr;
  parse_netlink(std::span<const uint8_t>(buf.data(), n), pr);
  EXPECT_EQ(pr.messages.size(), 1u);
  return pr.messages.at(0);
}
}  // namespace

// `ip route replace` of an OSPF route with a static one: the kernel sends only
// the new route (NLM_F_REPLACE), no RTM_DELROUTE for the OSPF one.
TEST(RouteSources, ReplaceByExcludedProtocolWithdraws) {
  Recorder rec;
  RouteSourceFilter f = both();
  f.kernel_selectors = {{*RouteSourceFilter::parse_protocols({"ospf"}), 254}};
  RouteSourceTable t(f, rec);
  t.apply_link(link(2, "eth0", true));
  t.apply(wire_replace("10.77.0.0/24", "192.168.1.1", 2, 188));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+k 10.77.0.0/24 via 192.168.1.1 ospf"}));
  t.apply(wire_replace("10.77.0.0/24", "192.168.1.1", 2, 4));  // proto static
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"-k 10.77.0.0/24 via 192.168.1.1 ospf"}));
  EXPECT_TRUE(t.exported().empty());
  // Back to OSPF: exported again; a replace by OSPF itself is an update.
  t.apply(wire_replace("10.77.0.0/24", "192.168.1.1", 2, 188));
  t.apply(wire_replace("10.77.0.0/24", "192.168.1.2", 2, 188));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+k 10.77.0.0/24 via 192.168.1.1 ospf",
                                                  "+k 10.77.0.0/24 via 192.168.1.2 ospf"}));
  // A replace by ferry's own protocol withdraws it as well.
  t.apply(wire_replace("10.77.0.0/24", "192.168.1.2", 2, 200));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"-k 10.77.0.0/24 via 192.168.1.2 ospf"}));
}

// Only the route under the same key is replaced: another metric or another
// table is another route.
TEST(RouteSources, ReplaceTouchesOnlyItsOwnKey) {
  Recorder rec;
  RouteSourceFilter f = both();
  f.kernel_selectors = {{*RouteSourceFilter::parse_protocols({"ospf"}), 254}};
  RouteSourceTable t(f, rec);
  t.apply_link(link(2, "eth0", true));
  t.apply(wire_replace("10.77.0.0/24", "192.168.1.1", 2, 188, 10));
  t.apply(wire_replace("10.77.0.0/24", "192.168.1.2", 2, 188, 20));
  rec.take();
  t.apply(wire_replace("10.77.0.0/24", "192.168.1.1", 2, 4, 10, 100));  // other table
  t.apply(wire_replace("10.77.0.0/24", "192.168.1.1", 2, 4, 30));       // other metric
  EXPECT_TRUE(rec.take().empty());
  // The metric-10 route becomes static: the metric-20 OSPF route takes over.
  t.apply(wire_replace("10.77.0.0/24", "192.168.1.1", 2, 4, 10));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+k 10.77.0.0/24 via 192.168.1.2 ospf"}));
  // Deleting routes we never kept changes nothing.
  t.apply_route(route("10.77.0.0/24", "192.168.1.1", 2, 4, 10, false));
  t.apply_route(route("10.99.0.0/24", "192.168.1.1", 2, 4, 10, false));
  EXPECT_TRUE(rec.take().empty());
}

// An address whose duplicate address detection fails comes back as a NEWADDR
// with IFA_F_DADFAILED: its network is withdrawn.
TEST(RouteSources, AddressReplacedByDadFailedWithdraws) {
  Recorder rec;
  RouteSourceTable t(both(), rec);
  t.apply_link(link(2, "eth0", true));
  t.apply_addr(addr(2, "2001:db8:1::10", 64));
  t.apply_addr(addr(2, "2001:db8:1::10", 64));  // refresh (lifetimes): no change
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+c 2001:db8:1::/64"}));
  AddrMessage dad = addr(2, "2001:db8:1::10", 64);
  dad.flags = IFA_F_DADFAILED | IFA_F_TENTATIVE;
  t.apply_addr(dad);
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"-c 2001:db8:1::/64"}));
  t.apply_addr(dad);
  t.apply_addr(addr(2, "2001:db8:1::10", 64, false));
  EXPECT_TRUE(rec.take().empty());
}

// Selectors are OR-ed: a plain "connected" entry next to one limited to an
// interface still exports every interface.
TEST(RouteSources, ConnectedSelectorsAreOred) {
  Recorder rec;
  RouteSourceFilter f = both();
  f.connected_selectors = {{}, {{"cx0"}}};
  RouteSourceTable t(f, rec);
  t.apply_link(link(2, "eth0", true));
  t.apply_link(link(3, "cx0", true));
  t.apply_link(link(4, "ferry0", true));
  t.apply_addr(addr(2, "192.168.1.10", 24));
  t.apply_addr(addr(3, "192.168.3.1", 24));
  t.apply_addr(addr(4, "169.254.10.1", 30));  // tunnel: no selector picks it
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+c 192.168.1.0/24", "+c 192.168.3.0/24"}));

  Recorder rec2;
  f.connected_selectors = {{{"cx0"}}, {{"ferry0"}}};
  RouteSourceTable t2(f, rec2);
  t2.apply_link(link(2, "eth0", true));
  t2.apply_link(link(3, "cx0", true));
  t2.apply_link(link(4, "ferry0", true));
  t2.apply_addr(addr(2, "192.168.1.10", 24));
  t2.apply_addr(addr(3, "192.168.3.1", 24));
  t2.apply_addr(addr(4, "169.254.10.1", 30));
  EXPECT_EQ(rec2.take(), (std::vector<std::string>{"+c 192.168.3.0/24", "+c 169.254.10.0/30"}));
}

// Each kernel selector has its own protocols and table.
TEST(RouteSources, KernelSelectorsAreOredEachWithItsTable) {
  Recorder rec;
  RouteSourceFilter f = both();
  f.kernel_selectors = {{*RouteSourceFilter::parse_protocols({"ospf"}), 254},
                        {*RouteSourceFilter::parse_protocols({"bird"}), 100}};
  RouteSourceTable t(f, rec);
  t.apply_link(link(2, "eth0", true));
  t.apply_route(route("10.1.0.0/24", "192.168.1.1", 2, 188, 20));            // ospf, main: yes
  t.apply_route(route("10.2.0.0/24", "192.168.1.1", 2, 12));                 // bird, main: no
  t.apply_route(route("10.3.0.0/24", "192.168.1.1", 2, 12, 0, true, 100));   // bird, 100: yes
  t.apply_route(route("10.4.0.0/24", "192.168.1.1", 2, 188, 0, true, 100));  // ospf, 100: no
  t.apply_route(route("10.5.0.0/24", "192.168.1.1", 2, 200, 0, true, 100));  // ours: never
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+k 10.1.0.0/24 via 192.168.1.1 ospf",
                                                  "+k 10.3.0.0/24 via 192.168.1.1 bird"}));
  // The same prefix in both tables: the lower metric wins; deleting it falls back.
  t.apply_route(route("10.1.0.0/24", "192.168.1.2", 2, 12, 5, true, 100));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+k 10.1.0.0/24 via 192.168.1.2 bird"}));
  t.apply_route(route("10.1.0.0/24", "192.168.1.2", 2, 12, 5, false, 100));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"+k 10.1.0.0/24 via 192.168.1.1 ospf"}));
  // A replace in table 100 by an unselected protocol withdraws only that table's route.
  t.apply_route(route("10.3.0.0/24", "192.168.1.1", 2, 188, 0, true, 100));
  EXPECT_EQ(rec.take(), (std::vector<std::string>{"-k 10.3.0.0/24 via 192.168.1.1 bird"}));
}

// A burst of changes reaches the listener in order, a slice per handler, with
// other ready handlers running between the slices.
TEST(DeferredRouteListener, DeliversInOrderASlicePerHandler) {
  asio::io_context io;
  Recorder rec;
  DeferredRouteListener d(io, rec, 100, std::chrono::seconds(60));
  RouteSourceTable t(both(), d);
  t.apply_link(link(2, "eth0", true));
  for (uint32_t i = 0; i < 1000; ++i) {
    RouteMessage m = route("10.0.0.0/24", "192.168.1.1", 2, 188);
    m.route.prefix = Prefix(IpAddress::v4(0x0a000000u + (i << 8)), 24);
    t.apply_route(m);
  }
  t.apply_route(route("10.0.0.0/24", "192.168.1.1", 2, 188, 0, false));
  EXPECT_TRUE(rec.log.empty());  // nothing inline
  EXPECT_EQ(d.pending(), 1001u);
  bool idle = false;
  d.when_idle([&] { idle = true; });
  int other = 0;
  asio::post(io, [&] { ++other; });

  ASSERT_EQ(io.run_one(), 1u);  // first slice
  EXPECT_EQ(rec.log.size(), 100u);
  EXPECT_EQ(other, 0);
  ASSERT_EQ(io.run_one(), 1u);  // the other handler, before the second slice
  EXPECT_EQ(other, 1);
  EXPECT_EQ(rec.log.size(), 100u);
  io.run();
  ASSERT_EQ(rec.log.size(), 1001u);
  EXPECT_TRUE(idle);
  EXPECT_EQ(d.pending(), 0u);
  EXPECT_EQ(rec.log.front(), "+k 10.0.0.0/24 via 192.168.1.1 ospf");
  EXPECT_EQ(rec.log[999], "+k 10.3.231.0/24 via 192.168.1.1 ospf");
  EXPECT_EQ(rec.log.back(), "-k 10.0.0.0/24 via 192.168.1.1 ospf");
}
