// Next-hop resolution over connected networks, tunnel peers and static routes.
#include "fib/resolver.hpp"

#include <gtest/gtest.h>

using namespace ferry;
using namespace ferry::fib;

namespace {
Prefix pfx(const char* s) {
  return *Prefix::parse(s);
}
IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}
}  // namespace

TEST(Resolver, ConnectedTunnelAndStatic) {
  NextHopResolver r;
  r.set_connected(
      {{pfx("192.168.1.0/24"), 2}, {pfx("169.254.10.0/30"), 9}, {pfx("2001:db8::/64"), 2}});
  r.set_tunnel_peers(9, {pfx("100.64.0.2/32"), pfx("fd00::2/128")});
  r.set_static({{pfx("172.16.0.0/12"), ip("192.168.1.254"), 0, false},
                {pfx("10.99.0.0/16"), std::nullopt, 9, false},
                {pfx("10.66.0.0/16"), std::nullopt, 0, true},
                {pfx("10.77.0.0/16"), ip("172.16.1.1"), 0, false},
                {pfx("0.0.0.0/0"), ip("192.168.1.1"), 0, false}});

  // On a connected network: that interface, the next hop itself as gateway.
  EXPECT_EQ(r.resolve(ip("192.168.1.7")), (ResolvedNextHop{2, ip("192.168.1.7"), false}));
  EXPECT_EQ(r.resolve(ip("169.254.10.2")), (ResolvedNextHop{9, ip("169.254.10.2"), false}));
  EXPECT_EQ(r.resolve(ip("2001:db8::5")), (ResolvedNextHop{2, ip("2001:db8::5"), false}));
  // A tunnel peer's inner address outside any connected network: on-link via the tunnel.
  EXPECT_EQ(r.resolve(ip("100.64.0.2")), (ResolvedNextHop{9, ip("100.64.0.2"), true}));
  EXPECT_EQ(r.resolve(ip("fd00::2")), (ResolvedNextHop{9, ip("fd00::2"), true}));
  // Static via a gateway resolves recursively, twice here.
  EXPECT_EQ(r.resolve(ip("172.20.0.1")), (ResolvedNextHop{2, ip("192.168.1.254"), false}));
  EXPECT_EQ(r.resolve(ip("10.77.3.3")), (ResolvedNextHop{2, ip("192.168.1.254"), false}));
  // Static device route: on-link via that device.
  EXPECT_EQ(r.resolve(ip("10.99.1.1")), (ResolvedNextHop{9, ip("10.99.1.1"), true}));
  // Blackhole, default route and nothing at all: unresolved.
  EXPECT_FALSE(r.resolve(ip("10.66.0.1")));
  EXPECT_FALSE(r.resolve(ip("8.8.8.8")));
  EXPECT_FALSE(r.resolve(ip("2001:db8:1::1")));
  EXPECT_FALSE(r.resolve(ip("0.0.0.0")));
  r.set_resolve_via_default(true);
  EXPECT_EQ(r.resolve(ip("8.8.8.8")), (ResolvedNextHop{2, ip("192.168.1.1"), false}));
}

TEST(Resolver, LongestMatchThenConnectedBeforeTunnelBeforeStatic) {
  NextHopResolver r;
  r.set_connected({{pfx("10.0.0.0/8"), 2}, {pfx("10.1.0.0/24"), 3}});
  r.set_tunnel_peers(9, {pfx("10.1.0.0/24")});
  r.set_static({{pfx("10.1.0.0/24"), std::nullopt, 4, false},
                {pfx("10.1.0.128/25"), std::nullopt, 5, false}});
  EXPECT_EQ(r.resolve(ip("10.1.0.1"))->ifindex, 3u);
  EXPECT_EQ(r.resolve(ip("10.1.0.200"))->ifindex, 5u);
  EXPECT_EQ(r.resolve(ip("10.2.0.1"))->ifindex, 2u);
  r.set_connected({});
  EXPECT_EQ(r.resolve(ip("10.1.0.1"))->ifindex, 9u);
}

TEST(Resolver, StaticLoopsAndLinkLocal) {
  NextHopResolver r;
  r.set_static({{pfx("10.1.0.0/16"), ip("10.2.0.1"), 0, false},
                {pfx("10.2.0.0/16"), ip("10.1.0.1"), 0, false},
                {pfx("10.3.0.0/16"), ip("10.3.0.1"), 0, false}});
  EXPECT_FALSE(r.resolve(ip("10.1.5.5")));
  EXPECT_FALSE(r.resolve(ip("10.3.0.1")));
  // IPv6 link-local: needs the session's interface.
  EXPECT_FALSE(r.resolve(ip("fe80::1")));
  EXPECT_EQ(r.resolve(ip("fe80::1"), 7), (ResolvedNextHop{7, ip("fe80::1"), false}));
  auto nh = r.resolve(ip("fe80::1"), 7)->nexthop();
  EXPECT_EQ(nh.ifindex, 7u);
  EXPECT_EQ(*nh.gateway, ip("fe80::1"));
}
