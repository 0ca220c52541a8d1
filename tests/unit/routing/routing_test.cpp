// Routing: RIB best paths -> kernel FIB (desired state) + tunnel cryptokey
// entries, with the fib's fake kernel and a fake tunnel (view + learned side).
#include "routing/routing.hpp"

#include <gtest/gtest.h>

#include <set>

#include "fib/fake_kernel.hpp"
#include "tunnel/cryptokey.hpp"

using namespace ferry;
using namespace ferry::routing;
using Change = tunnel::LearnedChange;

namespace {

// The tunnel as routing sees it: a published view (inner addresses, endpoints)
// and the learned side. Records every batch and applies it to a real cryptokey
// table, so tests see what the data plane would: the peer set of each prefix,
// and where flows go.
class FakeTunnel : public LearnedRoutes {
 public:
  std::map<IpAddress, tunnel::PeerIndex>
      inner;                               // a peer's inner address (a /32 or /128 allowed-ip)
  std::vector<Routing::PeerEndpoint> eps;  // the peers' underlay endpoints
  std::vector<std::pair<Prefix, tunnel::PeerIndex>> ranges;  // further static allowed-ips
  tunnel::CryptokeyTable table{0x5eed};
  std::vector<std::vector<Change>> batches;
  uint64_t publishes = 0;
  // What the tunnel would publish for the fields above.
  tunnel::View view() const {
    tunnel::View v;
    v.ifindex = 42;
    v.max_ecmp_peers = tunnel::kMaxEcmpPeers;
    std::map<tunnel::PeerIndex, tunnel::PeerView> peers;
    for (const auto& [a, p] : inner) {
      peers[p].id = p;
      peers[p].name = "peer" + std::to_string(p.value);
      peers[p].allowed_ips.push_back(Prefix::host(a));
    }
    for (const auto& [r, p] : ranges) peers[p].allowed_ips.push_back(r);
    for (const auto& e : eps) {
      peers[e.peer].id = e.peer;
      peers[e.peer].name = "peer" + std::to_string(e.peer.value);
      peers[e.peer].endpoint = e.addr;
    }
    for (auto& [id, p] : peers) v.peers.push_back(std::move(p));
    return v;
  }
  void apply_learned(std::span<const Change> changes) override {
    batches.emplace_back(changes.begin(), changes.end());
    std::vector<tunnel::AllowedChange> ch;
    for (const auto& c : changes)
      ch.push_back({c.add ? tunnel::AllowedChange::Op::Add : tunnel::AllowedChange::Op::Remove,
                    c.peer, c.prefix, tunnel::AllowedOrigin::Learned});
    const uint64_t g = table.generation();
    table.apply(ch);
    publishes += table.generation() - g;
  }
  // The learned peer set of a prefix (empty: not in the table).
  std::set<tunnel::PeerIndex> learned(const Prefix& p) const {
    auto v = table.peers_of(p);
    return {v.begin(), v.end()};
  }
};

using S = std::set<tunnel::PeerIndex>;

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}
Prefix pfx(const char* s) {
  return *Prefix::parse(s);
}

class RoutingTest : public ::testing::Test {
 protected:
  explicit RoutingTest(uint32_t max_paths = 1)
      : kernel_(io_),
        rib_(rib::RibOptions{Asn(65001), RouterId(1), std::nullopt, max_paths, false, false},
             [this](const IpAddress& a) {
               return routing_ ? routing_->resolve(a) : rib::NextHopInfo{};
             }),
        fib_(io_, kernel_, fib::FibOptions{}) {
    tunnel_.inner[ip("169.254.12.2")] = 0;
    tunnel_.inner[ip("169.254.13.2")] = 1;
    routing_ = std::make_unique<Routing>(rib_, &fib_, &tunnel_);
    // The tunnel's own subnets are connected networks on its interface.
    routing_->set_connected({{pfx("169.254.12.0/30"), 42}, {pfx("169.254.13.0/30"), 42}});
    publish_tunnel();
    b_ = add_peer("site2", "169.254.12.2", 65002);
    c_ = add_peer("site3", "169.254.13.2", 65003);
  }

  rib::PeerId add_peer(const char* name, const char* addr, uint32_t asn) {
    rib::PeerConfig pc;
    pc.name = name;
    pc.address = ip(addr);
    pc.remote_asn = Asn(asn);
    pc.import_policies = {"accept-all"};
    pc.export_policies = {"accept-all"};
    pc.import_set = pc.export_set = true;
    auto id = rib_.add_peer(pc);
    rib::PeerSession s;
    s.router_id = RouterId(asn);
    s.families = {Family::V4, Family::V6};
    rib_.peer_up(id, s);
    return id;
  }

  void announce(rib::PeerId p, const char* prefix, std::vector<uint32_t> path, const char* nh) {
    bgp::PathAttributes a;
    a.origin = bgp::Origin::Igp;
    a.as_path.push_back({bgp::SegmentType::Sequence, std::move(path)});
    a.next_hop = ip(nh);
    Prefix p1 = pfx(prefix);
    rib_.announce(p, a, std::span<const Prefix>(&p1, 1));
  }

  // The tunnel publishes a new view (its inner addresses or endpoints changed).
  void publish_tunnel() { routing_->set_tunnel(tunnel_.view()); }
  void set_static_routes(std::vector<StaticRoute> routes) {
    Options o;
    o.static_routes = std::move(routes);
    routing_->apply(o);
  }

  asio::io_context io_;
  fib::FakeKernel kernel_;
  FakeTunnel tunnel_;
  rib::Rib rib_;
  fib::Fib fib_;
  std::unique_ptr<Routing> routing_;  // after rib_: unregisters from it on destruction
  rib::PeerId b_{}, c_{};
};

TEST_F(RoutingTest, TunnelNextHopInstallsKernelRouteAndCryptokeyEntry) {
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");
  const fib::RouteTarget* t = fib_.desired(pfx("10.2.0.0/16"));
  ASSERT_TRUE(t);
  ASSERT_EQ(t->nexthops.size(), 1u);
  EXPECT_EQ(t->nexthops[0].ifindex, 42u);
  EXPECT_FALSE(t->nexthops[0].gateway);
  EXPECT_EQ(tunnel_.learned(pfx("10.2.0.0/16")), S{0});
}

TEST_F(RoutingTest, BestPathMoveSwitchesPeerInOneBatchRemovalFirst) {
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");
  announce(c_, "10.2.0.0/16", {65003, 65002}, "169.254.13.2");
  EXPECT_EQ(tunnel_.learned(pfx("10.2.0.0/16")), S{0});  // shorter path via site2
  tunnel_.batches.clear();
  Prefix p = pfx("10.2.0.0/16");
  rib_.withdraw(b_, std::span<const Prefix>(&p, 1));
  ASSERT_EQ(tunnel_.batches.size(), 1u);
  const auto& batch = tunnel_.batches[0];
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_FALSE(batch[0].add);
  EXPECT_EQ(batch[0].peer, 0u);
  EXPECT_TRUE(batch[1].add);
  EXPECT_EQ(batch[1].peer, 1u);
  EXPECT_EQ(tunnel_.learned(p), S{1});
  EXPECT_TRUE(fib_.desired(p));  // still routed into the tunnel device
}

TEST_F(RoutingTest, WithdrawalRemovesBothSides) {
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");
  Prefix p = pfx("10.2.0.0/16");
  rib_.withdraw(b_, std::span<const Prefix>(&p, 1));
  EXPECT_FALSE(fib_.desired(p));
  EXPECT_TRUE(tunnel_.learned(p).empty());
  EXPECT_TRUE(routing_->installed().empty());
}

TEST_F(RoutingTest, UnresolvableNextHopIsIneligible) {
  announce(b_, "10.9.0.0/16", {65002}, "192.0.2.99");
  EXPECT_FALSE(fib_.desired(pfx("10.9.0.0/16")));
  auto paths = rib_.show_route(pfx("10.9.0.0/16"));
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_FALSE(paths[0].best);
  EXPECT_EQ(paths[0].reason, rib::LossReason::NextHopUnreachable);
}

TEST_F(RoutingTest, ConnectedNextHopBecomesReachableWhenNetworkAppears) {
  announce(b_, "10.9.0.0/16", {65002}, "192.168.50.7");
  EXPECT_FALSE(fib_.desired(pfx("10.9.0.0/16")));
  routing_->set_connected(
      {{pfx("169.254.12.0/30"), 42}, {pfx("169.254.13.0/30"), 42}, {pfx("192.168.50.0/24"), 7}});
  const fib::RouteTarget* t = fib_.desired(pfx("10.9.0.0/16"));
  ASSERT_TRUE(t);
  ASSERT_EQ(t->nexthops.size(), 1u);
  EXPECT_EQ(t->nexthops[0].gateway, ip("192.168.50.7"));
  EXPECT_EQ(t->nexthops[0].ifindex, 7u);
  EXPECT_EQ(tunnel_.table.size(), 0u);
  routing_->set_connected({{pfx("169.254.12.0/30"), 42}, {pfx("169.254.13.0/30"), 42}});
  EXPECT_FALSE(fib_.desired(pfx("10.9.0.0/16")));
}

TEST_F(RoutingTest, StaticRoutesInstallAndBlackhole) {
  StaticRoute via;
  via.prefix = pfx("10.50.0.0/16");
  via.next_hop = ip("169.254.12.2");
  StaticRoute bh;
  bh.prefix = pfx("10.66.0.0/16");
  bh.blackhole = true;
  set_static_routes({via, bh});
  const fib::RouteTarget* t = fib_.desired(pfx("10.50.0.0/16"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->nexthops[0].ifindex, 42u);
  EXPECT_EQ(tunnel_.learned(pfx("10.50.0.0/16")), S{0});
  const fib::RouteTarget* b = fib_.desired(pfx("10.66.0.0/16"));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->type, fib::RouteType::Blackhole);
  set_static_routes({});
  EXPECT_FALSE(fib_.desired(pfx("10.50.0.0/16")));
  EXPECT_FALSE(fib_.desired(pfx("10.66.0.0/16")));
  EXPECT_EQ(tunnel_.table.size(), 0u);
}

// A static route is best at once (local routes need no resolution in the RIB); its
// kernel route follows the gateway's reachability: the connected networks arrive
// after start-up (the first kernel dump) and may go and come back.
TEST_F(RoutingTest, StaticRouteFollowsItsGatewaysConnectedNetwork) {
  StaticRoute via;
  via.prefix = pfx("10.60.0.0/16");
  via.next_hop = ip("192.168.7.1");
  set_static_routes({via});
  EXPECT_FALSE(fib_.desired(pfx("10.60.0.0/16")));
  routing_->set_connected(
      {{pfx("169.254.12.0/30"), 42}, {pfx("169.254.13.0/30"), 42}, {pfx("192.168.7.0/24"), 7}});
  const fib::RouteTarget* t = fib_.desired(pfx("10.60.0.0/16"));
  ASSERT_TRUE(t);
  ASSERT_EQ(t->nexthops.size(), 1u);
  EXPECT_EQ(t->nexthops[0].gateway, ip("192.168.7.1"));
  EXPECT_EQ(t->nexthops[0].ifindex, 7u);
  routing_->set_connected({{pfx("169.254.12.0/30"), 42}, {pfx("169.254.13.0/30"), 42}});
  EXPECT_FALSE(fib_.desired(pfx("10.60.0.0/16")));
  // Through a tunnel peer that appears later: learned by that peer.
  via.next_hop = ip("169.254.14.2");
  set_static_routes({via});
  EXPECT_FALSE(fib_.desired(pfx("10.60.0.0/16")));
  tunnel_.inner[ip("169.254.14.2")] = 2;
  publish_tunnel();
  ASSERT_TRUE(fib_.desired(pfx("10.60.0.0/16")));
  EXPECT_EQ(tunnel_.learned(pfx("10.60.0.0/16")), S{2});
  set_static_routes({});
  EXPECT_FALSE(fib_.desired(pfx("10.60.0.0/16")));
  EXPECT_TRUE(tunnel_.learned(pfx("10.60.0.0/16")).empty());
}

TEST_F(RoutingTest, BgpNextHopResolvesThroughStaticRoute) {
  StaticRoute s;
  s.prefix = pfx("198.51.100.0/24");
  s.next_hop = ip("169.254.13.2");
  set_static_routes({s});
  announce(b_, "10.77.0.0/16", {65002}, "198.51.100.1");
  EXPECT_TRUE(routing_->resolve(ip("198.51.100.1")).reachable);
  ASSERT_TRUE(fib_.desired(pfx("10.77.0.0/16")));
  EXPECT_EQ(tunnel_.learned(pfx("10.77.0.0/16")), S{1});  // recursive: via site3's tunnel
}

TEST_F(RoutingTest, StaticAllowedIpsOutsideTunnelSubnetsGetKernelRoutes) {
  tunnel_.inner[ip("10.50.0.1")] = 1;  // a peer with a static allowed-ip beyond its /30
  publish_tunnel();
  EXPECT_TRUE(fib_.desired(pfx("10.50.0.1/32")));
  EXPECT_FALSE(fib_.desired(pfx("169.254.12.2/32")));  // on the tunnel's subnet already
}

TEST_F(RoutingTest, Ipv6PrefixesFollowTheSameRules) {
  tunnel_.inner[ip("fd99:12::2")] = 0;
  publish_tunnel();
  announce(b_, "fd00:2::/48", {65002}, "fd99:12::2");
  ASSERT_TRUE(fib_.desired(pfx("fd00:2::/48")));
  EXPECT_EQ(tunnel_.learned(pfx("fd00:2::/48")), S{0});
}

// Fate sharing: a tunnel peer whose liveness is down takes every route through
// it with it, in both families and in one batch per change, whoever announced
// the route; it comes back when the peer is usable again.
TEST_F(RoutingTest, UnusablePeerMovesEveryRouteThroughItInBothFamilies) {
  tunnel_.inner[ip("fd99:12::2")] = 0;
  tunnel_.inner[ip("fd99:13::2")] = 1;
  publish_tunnel();
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");
  announce(b_, "fd00:2::/48", {65002}, "fd99:12::2");
  announce(c_, "10.2.0.0/16", {65003, 65002}, "169.254.13.2");
  announce(c_, "fd00:2::/48", {65003, 65002}, "fd99:13::2");
  ASSERT_EQ(tunnel_.learned(pfx("10.2.0.0/16")), S{0});
  ASSERT_EQ(tunnel_.learned(pfx("fd00:2::/48")), S{0});
  EXPECT_EQ(routing_->tunnel_peer_of(ip("169.254.12.2")), tunnel::PeerIndex{0});
  EXPECT_EQ(routing_->tunnel_peer_of(ip("fd99:13::2")), tunnel::PeerIndex{1});
  EXPECT_FALSE(routing_->tunnel_peer_of(ip("192.0.2.9")));

  routing_->set_unusable_peers({0});
  EXPECT_FALSE(routing_->resolve(ip("169.254.12.2")).reachable);
  EXPECT_FALSE(routing_->resolve(ip("fd99:12::2")).reachable);
  EXPECT_TRUE(routing_->resolve(ip("169.254.13.2")).reachable);
  EXPECT_EQ(tunnel_.learned(pfx("10.2.0.0/16")), S{1});
  EXPECT_EQ(tunnel_.learned(pfx("fd00:2::/48")), S{1});
  EXPECT_TRUE(fib_.desired(pfx("10.2.0.0/16")));  // still into the tunnel device, via site3
  EXPECT_TRUE(fib_.desired(pfx("fd00:2::/48")));

  // A route with no other path is withdrawn from both sides.
  announce(b_, "10.22.0.0/16", {65002}, "169.254.12.2");
  EXPECT_FALSE(fib_.desired(pfx("10.22.0.0/16")));
  EXPECT_TRUE(tunnel_.learned(pfx("10.22.0.0/16")).empty());

  routing_->set_unusable_peers({});
  EXPECT_EQ(tunnel_.learned(pfx("10.2.0.0/16")), S{0});
  EXPECT_EQ(tunnel_.learned(pfx("fd00:2::/48")), S{0});
  EXPECT_EQ(tunnel_.learned(pfx("10.22.0.0/16")), S{0});
  EXPECT_TRUE(fib_.desired(pfx("10.22.0.0/16")));
}

// ---------------------------------------------------------------- ECMP over tunnel peers

// max-paths 2; site2 is reachable through two gateways of the same AS (tunnel
// peers 0 and 2), site3 through peer 1.
TEST_F(RoutingTest, StaticAllowedIpsAreAuthoritativeOverLearnedMoreSpecifics) {
  // Peer 0 (site2) owns 10.1.0.0/16 statically; site3 announces 10.1.5.0/24 inside it.
  tunnel_.ranges.push_back({pfx("10.1.0.0/16"), 0});
  publish_tunnel();
  announce(c_, "10.1.5.0/24", {65003}, "169.254.13.2");
  announce(c_, "10.9.0.0/16", {65003}, "169.254.13.2");  // outside: learned as usual
  EXPECT_EQ(tunnel_.learned(pfx("10.1.5.0/24")), S{});
  EXPECT_EQ(tunnel_.learned(pfx("10.9.0.0/16")), S{1});
  ASSERT_EQ(routing_->kept_by_static().count(pfx("10.1.5.0/24")), 1u);
  EXPECT_EQ(routing_->kept_by_static().at(pfx("10.1.5.0/24")).owner, tunnel::PeerIndex(0));
  // The static owner itself may learn inside its own range.
  announce(b_, "10.1.6.0/24", {65002}, "169.254.12.2");
  EXPECT_EQ(tunnel_.learned(pfx("10.1.6.0/24")), S{0});
  // Opting in lets BGP take the more-specific over.
  Options o;
  o.learned_override_static = true;
  routing_->apply(o);
  EXPECT_EQ(tunnel_.learned(pfx("10.1.5.0/24")), S{1});
  EXPECT_TRUE(routing_->kept_by_static().empty());
  o.learned_override_static = false;
  routing_->apply(o);
  EXPECT_EQ(tunnel_.learned(pfx("10.1.5.0/24")), S{});
  // The static range goes away: the learned prefix is installed.
  tunnel_.ranges.clear();
  publish_tunnel();
  EXPECT_EQ(tunnel_.learned(pfx("10.1.5.0/24")), S{1});
  EXPECT_TRUE(routing_->kept_by_static().empty());
  // A /0 static allowed-ip is a catch-all, not a claim on everything.
  tunnel_.ranges.push_back({pfx("0.0.0.0/0"), 0});
  publish_tunnel();
  EXPECT_EQ(tunnel_.learned(pfx("10.1.5.0/24")), S{1});
}

class EcmpRoutingTest : public RoutingTest {
 protected:
  EcmpRoutingTest() : RoutingTest(2) {
    tunnel_.inner[ip("169.254.14.2")] = 2;
    routing_->set_connected(
        {{pfx("169.254.12.0/30"), 42}, {pfx("169.254.13.0/30"), 42}, {pfx("169.254.14.0/30"), 42}});
    publish_tunnel();
    b2_ = add_peer("site2b", "169.254.14.2", 65002);
  }
  // Where the data plane sends flow i to 10.2.0.9 (UDP source port 10000 + i).
  tunnel::PeerIndex flow_peer(int i) const {
    std::vector<uint8_t> pkt(28, 0);
    pkt[0] = 0x45;
    pkt[3] = 28;
    pkt[9] = 17;
    const uint8_t src[4] = {10, 1, 0, 1}, dst[4] = {10, 2, 0, 9};
    std::memcpy(&pkt[12], src, 4);
    std::memcpy(&pkt[16], dst, 4);
    pkt[20] = static_cast<uint8_t>((10000 + i) >> 8);
    pkt[21] = static_cast<uint8_t>(10000 + i);
    tunnel::InnerPacket ipk;
    EXPECT_TRUE(tunnel::parse_inner(pkt, ipk));
    return tunnel_.table.snapshot()->route_out(ipk, pkt);
  }
  rib::PeerId b2_{};
};

TEST_F(EcmpRoutingTest, EqualPathsViaTwoTunnelPeersInstallTheSetAndOneKernelRoute) {
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");
  announce(b2_, "10.2.0.0/16", {65002}, "169.254.14.2");
  const Prefix p = pfx("10.2.0.0/16");
  EXPECT_EQ(tunnel_.learned(p), (S{0, 2}));
  const fib::RouteTarget* t = fib_.desired(p);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->nexthops.size(), 1u);  // "prefix dev tun": the tunnel picks the peer
  EXPECT_EQ(t->nexthops[0].ifindex, 42u);
  EXPECT_FALSE(t->nexthops[0].gateway);
  ASSERT_TRUE(routing_->installed().count(p));
  EXPECT_EQ(routing_->installed().at(p).tunnel_peers.size(), 2u);
  // Both peers carry flows.
  S used;
  for (int i = 0; i < 200; ++i) used.insert(flow_peer(i));
  EXPECT_EQ(used, (S{0, 2}));
}

TEST_F(EcmpRoutingTest, WithdrawingOneMemberRemovesOnlyItInOneBatch) {
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");
  announce(b2_, "10.2.0.0/16", {65002}, "169.254.14.2");
  const Prefix p = pfx("10.2.0.0/16");
  std::vector<uint32_t> before;
  for (int i = 0; i < 200; ++i) before.push_back(flow_peer(i).value);
  tunnel_.batches.clear();
  tunnel_.publishes = 0;
  rib_.withdraw(b_, std::span<const Prefix>(&p, 1));
  ASSERT_EQ(tunnel_.batches.size(), 1u);
  ASSERT_EQ(tunnel_.batches[0].size(), 1u);
  EXPECT_FALSE(tunnel_.batches[0][0].add);
  EXPECT_EQ(tunnel_.batches[0][0].peer, 0u);
  EXPECT_EQ(tunnel_.publishes, 1u);
  EXPECT_EQ(tunnel_.learned(p), S{2});
  // No flow goes to the withdrawn peer; flows that were on the other one stay there.
  for (int i = 0; i < 200; ++i) EXPECT_EQ(flow_peer(i), 2u);
  EXPECT_GT(std::count(before.begin(), before.end(), 2u), 0);
  ASSERT_TRUE(fib_.desired(p));  // the kernel route is untouched
  // It comes back: the set grows again, in one batch, without touching peer 2.
  tunnel_.batches.clear();
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");
  ASSERT_EQ(tunnel_.batches.size(), 1u);
  ASSERT_EQ(tunnel_.batches[0].size(), 1u);
  EXPECT_TRUE(tunnel_.batches[0][0].add);
  EXPECT_EQ(tunnel_.batches[0][0].peer, 0u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(flow_peer(i), before[static_cast<size_t>(i)]);
}

TEST_F(EcmpRoutingTest, NewBestPathReplacesTheWholeSetAtomicallyRemovalsFirst) {
  announce(b_, "10.2.0.0/16", {65002, 65010}, "169.254.12.2");
  announce(b2_, "10.2.0.0/16", {65002, 65010}, "169.254.14.2");
  const Prefix p = pfx("10.2.0.0/16");
  ASSERT_EQ(tunnel_.learned(p), (S{0, 2}));
  tunnel_.batches.clear();
  tunnel_.publishes = 0;
  announce(c_, "10.2.0.0/16", {65003}, "169.254.13.2");  // shorter AS path: sole best
  ASSERT_EQ(tunnel_.batches.size(), 1u);
  const auto& b = tunnel_.batches[0];
  ASSERT_EQ(b.size(), 3u);
  EXPECT_FALSE(b[0].add);
  EXPECT_FALSE(b[1].add);
  EXPECT_EQ((S{b[0].peer, b[1].peer}), (S{0, 2}));
  EXPECT_TRUE(b[2].add);
  EXPECT_EQ(b[2].peer, 1u);
  EXPECT_EQ(tunnel_.publishes, 1u);
  EXPECT_EQ(tunnel_.learned(p), S{1});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(flow_peer(i), 1u);
  // Withdrawn everywhere: both sides go.
  for (auto peer : {b_, b2_, c_}) rib_.withdraw(peer, std::span<const Prefix>(&p, 1));
  EXPECT_TRUE(tunnel_.learned(p).empty());
  EXPECT_FALSE(fib_.desired(p));
  EXPECT_TRUE(routing_->installed().empty());
}

TEST_F(EcmpRoutingTest, ReorderedNextHopsOfTheSameSetChangeNothing) {
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");
  announce(b2_, "10.2.0.0/16", {65002}, "169.254.14.2");
  tunnel_.batches.clear();
  // Same attributes again from both: the RIB may report the set again, but the
  // cryptokey side sees no change.
  announce(b2_, "10.2.0.0/16", {65002}, "169.254.14.2");
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");
  for (const auto& batch : tunnel_.batches) EXPECT_TRUE(batch.empty());
  EXPECT_EQ(tunnel_.learned(pfx("10.2.0.0/16")), (S{0, 2}));
}

// ---------------------------------------------------------------- tunnel loop guard

// site2 (tunnel peer 0) is reached over the underlay at 192.168.12.2, site3 (peer 1)
// at 192.168.13.2; the underlay subnets are connected networks on interface 7.
class LoopGuardTest : public RoutingTest {
 protected:
  LoopGuardTest() { set_underlay({}); }
  void set_underlay(std::vector<std::pair<Prefix, uint32_t>> extra) {
    std::vector<std::pair<Prefix, uint32_t>> nets = {{pfx("169.254.12.0/30"), 42},
                                                     {pfx("169.254.13.0/30"), 42},
                                                     {pfx("192.168.12.0/24"), 7},
                                                     {pfx("192.168.13.0/24"), 7},
                                                     {pfx("192.168.50.0/24"), 7}};
    nets.insert(nets.end(), extra.begin(), extra.end());
    routing_->set_connected(nets);
  }
  void set_endpoints(std::vector<Routing::PeerEndpoint> eps) {
    tunnel_.eps = std::move(eps);
    publish_tunnel();
  }
  bool withheld(const char* prefix) const { return routing_->withheld().count(pfx(prefix)) > 0; }
};

TEST_F(LoopGuardTest, PrefixCoveringAnEndpointIsNotRoutedIntoTheTunnel) {
  set_endpoints({{0, ip("192.168.12.2")}, {1, ip("192.168.13.2")}});
  announce(b_, "192.168.12.0/25", {65002}, "169.254.12.2");  // covers site2's own endpoint
  announce(c_, "192.168.12.0/30", {65003}, "169.254.13.2");  // covers another peer's endpoint
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");      // an ordinary prefix
  for (const char* p : {"192.168.12.0/25", "192.168.12.0/30"}) {
    EXPECT_FALSE(fib_.desired(pfx(p))) << p;
    EXPECT_TRUE(tunnel_.learned(pfx(p)).empty()) << p;
    EXPECT_FALSE(routing_->installed().count(pfx(p))) << p;
    ASSERT_TRUE(withheld(p)) << p;
    EXPECT_EQ(routing_->withheld().at(pfx(p)).peer, 0u);
    EXPECT_EQ(routing_->withheld().at(pfx(p)).endpoint, ip("192.168.12.2"));
  }
  EXPECT_EQ(routing_->withheld_total(), 2u);
  ASSERT_TRUE(fib_.desired(pfx("10.2.0.0/16")));
  EXPECT_EQ(tunnel_.learned(pfx("10.2.0.0/16")), S{0});
  // The RIB still has the route as best (only the tunnel side is withheld).
  auto paths = rib_.show_route(pfx("192.168.12.0/25"));
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_TRUE(paths[0].best);
  // Withdrawn: forgotten by the guard too.
  Prefix p = pfx("192.168.12.0/25");
  rib_.withdraw(b_, std::span<const Prefix>(&p, 1));
  EXPECT_FALSE(withheld("192.168.12.0/25"));
  EXPECT_TRUE(withheld("192.168.12.0/30"));
}

TEST_F(LoopGuardTest, EndpointChangeReevaluatesInstalledAndWithheldRoutes) {
  set_endpoints({{0, ip("192.168.12.2")}});
  announce(c_, "198.51.100.0/24", {65003}, "169.254.13.2");
  const Prefix p = pfx("198.51.100.0/24");
  ASSERT_TRUE(fib_.desired(p));
  ASSERT_EQ(tunnel_.learned(p), S{1});
  // site2 roams into that prefix: the route into the tunnel goes, in one batch.
  tunnel_.batches.clear();
  set_endpoints({{0, ip("198.51.100.7")}});
  EXPECT_FALSE(fib_.desired(p));
  EXPECT_TRUE(tunnel_.learned(p).empty());
  ASSERT_EQ(tunnel_.batches.size(), 1u);
  ASSERT_EQ(tunnel_.batches[0].size(), 1u);
  EXPECT_FALSE(tunnel_.batches[0][0].add);
  ASSERT_TRUE(withheld("198.51.100.0/24"));
  EXPECT_EQ(routing_->withheld().at(p).endpoint, ip("198.51.100.7"));
  // Nothing changed: nothing happens.
  tunnel_.batches.clear();
  publish_tunnel();
  EXPECT_TRUE(tunnel_.batches.empty());
  // It roams back out: the route returns on both sides.
  set_endpoints({{0, ip("192.168.12.2")}});
  ASSERT_TRUE(fib_.desired(p));
  EXPECT_EQ(fib_.desired(p)->nexthops[0].ifindex, 42u);
  EXPECT_EQ(tunnel_.learned(p), S{1});
  EXPECT_FALSE(withheld("198.51.100.0/24"));
  // The peer goes away (no endpoint at all) after roaming in again: installed again.
  set_endpoints({{0, ip("198.51.100.7")}});
  EXPECT_FALSE(fib_.desired(p));
  set_endpoints({});
  ASSERT_TRUE(fib_.desired(p));
  EXPECT_EQ(tunnel_.learned(p), S{1});
  EXPECT_TRUE(routing_->withheld().empty());
}

TEST_F(LoopGuardTest, RouteLearnedBeforeTheEndpointIsKnownIsRemovedWhenItIs) {
  announce(b_, "192.168.12.0/25", {65002}, "169.254.12.2");
  ASSERT_TRUE(fib_.desired(pfx("192.168.12.0/25")));
  set_endpoints({{0, ip("192.168.12.2")}});
  EXPECT_FALSE(fib_.desired(pfx("192.168.12.0/25")));
  EXPECT_TRUE(tunnel_.learned(pfx("192.168.12.0/25")).empty());
}

TEST_F(LoopGuardTest, NonTunnelNextHopCoveringAnEndpointIsInstalled) {
  set_endpoints({{0, ip("192.168.12.2")}});
  announce(b_, "192.168.12.0/25", {65002}, "192.168.50.7");  // via the underlay LAN
  const fib::RouteTarget* t = fib_.desired(pfx("192.168.12.0/25"));
  ASSERT_TRUE(t);
  ASSERT_EQ(t->nexthops.size(), 1u);
  EXPECT_EQ(t->nexthops[0].gateway, ip("192.168.50.7"));
  EXPECT_TRUE(routing_->withheld().empty());
  EXPECT_EQ(routing_->withheld_total(), 0u);
}

TEST_F(LoopGuardTest, MoreSpecificConnectedNetworkKeepsTheEndpointOnTheUnderlay) {
  set_endpoints({{0, ip("192.168.12.2")}});
  announce(b_, "192.168.0.0/16", {65002}, "169.254.12.2");  // the /24 underlay is more specific
  EXPECT_TRUE(fib_.desired(pfx("192.168.0.0/16")));
  EXPECT_EQ(tunnel_.learned(pfx("192.168.0.0/16")), S{0});
  announce(b_, "192.168.12.0/24", {65002}, "169.254.12.2");  // equal length: not shadowed
  EXPECT_FALSE(fib_.desired(pfx("192.168.12.0/24")));
  EXPECT_TRUE(withheld("192.168.12.0/24"));
  // The underlay network goes away: the /16 would now take the endpoint.
  routing_->set_connected({{pfx("169.254.12.0/30"), 42}, {pfx("169.254.13.0/30"), 42}});
  EXPECT_FALSE(fib_.desired(pfx("192.168.0.0/16")));
  EXPECT_TRUE(tunnel_.learned(pfx("192.168.0.0/16")).empty());
  set_underlay({});
  EXPECT_TRUE(fib_.desired(pfx("192.168.0.0/16")));
  EXPECT_EQ(tunnel_.learned(pfx("192.168.0.0/16")), S{0});
}

TEST_F(LoopGuardTest, Ipv6EndpointIsGuardedAndFamiliesDoNotMix) {
  tunnel_.inner[ip("fd99:12::2")] = 0;
  publish_tunnel();
  set_endpoints({{0, ip("2001:db8:12::2")}});
  announce(b_, "2001:db8::/32", {65002}, "fd99:12::2");
  announce(b_, "fd00:2::/48", {65002}, "fd99:12::2");
  announce(b_, "0.0.0.0/0", {65002}, "169.254.12.2");  // IPv4: cannot hold a v6 endpoint
  EXPECT_FALSE(fib_.desired(pfx("2001:db8::/32")));
  EXPECT_TRUE(tunnel_.learned(pfx("2001:db8::/32")).empty());
  EXPECT_TRUE(withheld("2001:db8::/32"));
  EXPECT_TRUE(fib_.desired(pfx("fd00:2::/48")));
  EXPECT_TRUE(fib_.desired(pfx("0.0.0.0/0")));
}

TEST_F(LoopGuardTest, StaticAllowedIpCoveringAnEndpointGetsNoKernelRoute) {
  tunnel_.inner[ip("192.168.12.2")] = 1;  // a peer's allowed-ips hold another's endpoint
  publish_tunnel();
  EXPECT_TRUE(fib_.desired(pfx("192.168.12.2/32")));  // endpoint not known yet
  set_endpoints({{0, ip("192.168.12.2")}});
  EXPECT_FALSE(fib_.desired(pfx("192.168.12.2/32")));
  EXPECT_EQ(routing_->withheld_allowed_ips().count(pfx("192.168.12.2/32")), 1u);
  set_endpoints({{0, ip("192.168.12.3")}});
  EXPECT_TRUE(fib_.desired(pfx("192.168.12.2/32")));
  EXPECT_TRUE(routing_->withheld_allowed_ips().empty());
}

class EcmpLoopGuardTest : public EcmpRoutingTest {};

TEST_F(EcmpLoopGuardTest, OnlyThePrefixCoveringAnEndpointIsWithheldFromTheSet) {
  routing_->set_connected({{pfx("169.254.12.0/30"), 42},
                           {pfx("169.254.13.0/30"), 42},
                           {pfx("169.254.14.0/30"), 42},
                           {pfx("192.168.50.0/24"), 7}});
  tunnel_.eps = {{1, ip("192.168.13.2")}};  // site3's endpoint
  publish_tunnel();
  // ECMP via tunnel peers 0 and 2, one prefix covering site3's endpoint.
  for (auto [peer, nh] : {std::pair{b_, "169.254.12.2"}, std::pair{b2_, "169.254.14.2"}}) {
    announce(peer, "10.2.0.0/16", {65002}, nh);
    announce(peer, "192.168.13.0/24", {65002}, nh);
  }
  EXPECT_EQ(tunnel_.learned(pfx("10.2.0.0/16")), (S{0, 2}));
  EXPECT_TRUE(fib_.desired(pfx("10.2.0.0/16")));
  EXPECT_TRUE(tunnel_.learned(pfx("192.168.13.0/24")).empty());
  EXPECT_FALSE(fib_.desired(pfx("192.168.13.0/24")));
  ASSERT_EQ(routing_->withheld().count(pfx("192.168.13.0/24")), 1u);
  EXPECT_EQ(routing_->withheld().at(pfx("192.168.13.0/24")).wanted.tunnel_peers.size(), 2u);
  // Once site3 moves away, the whole set is installed in one batch.
  tunnel_.batches.clear();
  tunnel_.eps = {{1, ip("203.0.113.3")}};
  publish_tunnel();
  EXPECT_EQ(tunnel_.learned(pfx("192.168.13.0/24")), (S{0, 2}));
  EXPECT_TRUE(fib_.desired(pfx("192.168.13.0/24")));
  EXPECT_EQ(tunnel_.batches.size(), 1u);
}

TEST_F(EcmpLoopGuardTest, NonTunnelMembersOfAnEcmpSetStay) {
  routing_->set_connected({{pfx("169.254.12.0/30"), 42},
                           {pfx("169.254.13.0/30"), 42},
                           {pfx("169.254.14.0/30"), 42},
                           {pfx("192.168.50.0/24"), 7}});
  tunnel_.eps = {{0, ip("192.168.12.2")}};
  publish_tunnel();
  // Equal paths: one into the tunnel (site2), one over the underlay LAN.
  announce(b_, "192.168.12.0/24", {65002}, "169.254.12.2");
  announce(b2_, "192.168.12.0/24", {65002}, "192.168.50.7");
  const fib::RouteTarget* t = fib_.desired(pfx("192.168.12.0/24"));
  ASSERT_TRUE(t);
  ASSERT_EQ(t->nexthops.size(), 1u);
  EXPECT_EQ(t->nexthops[0].gateway, ip("192.168.50.7"));
  EXPECT_EQ(t->nexthops[0].ifindex, 7u);
  EXPECT_TRUE(tunnel_.learned(pfx("192.168.12.0/24")).empty());
  EXPECT_EQ(routing_->withheld().count(pfx("192.168.12.0/24")), 1u);
}

}  // namespace

// Per-prefix state: interned Installed values shared by prefixes, in a flat map.
TEST(InstalledPoolTest, InternsEqualValuesOnceAndFreesWithTheLastReference) {
  Routing::InstalledPool pool;
  Routing::Installed a;
  a.tunnel_peers = {0, 2};
  a.kernel = fib::RouteTarget::via({fib::NextHop{std::nullopt, 42, 1, false}});
  Routing::Installed b = a;
  b.tunnel_peers = {2, 0};  // order is part of the value (best first)
  const uint32_t ia = pool.intern(a);
  EXPECT_GE(ia, 1u);
  EXPECT_EQ(pool.intern(a), ia);
  const uint32_t ib = pool.intern(b);
  EXPECT_NE(ib, ia);
  pool.ref(ia);
  pool.ref(ia);
  pool.ref(ib);
  EXPECT_EQ(pool.distinct(), 2u);
  EXPECT_EQ(pool.get(ia), a);
  pool.release(ia);
  EXPECT_EQ(pool.distinct(), 2u);  // one reference left
  pool.release(ia);
  EXPECT_EQ(pool.distinct(), 1u);
  EXPECT_EQ(pool.get(ib), b);
  Routing::Installed c;
  c.kernel = fib::RouteTarget::blackhole();
  const uint32_t ic = pool.intern(c);
  EXPECT_EQ(ic, ia);  // the freed id is reused
  pool.ref(ic);
  EXPECT_EQ(pool.get(ic), c);
  EXPECT_EQ(pool.get(ib), b);
}

TEST_F(RoutingTest, ManyPrefixesShareOneInstalledValueAndGoAwayWhenWithdrawn) {
  std::vector<Prefix> ps;
  for (int i = 0; i < 2000; ++i) {
    const std::string s =
        "10." + std::to_string(100 + i / 256) + "." + std::to_string(i % 256) + ".0/24";
    ps.push_back(pfx(s.c_str()));
  }
  const Prefix v6 = pfx("2001:db8:1::/48");
  ps.push_back(v6);
  bgp::PathAttributes a;
  a.origin = bgp::Origin::Igp;
  a.as_path.push_back({bgp::SegmentType::Sequence, {65002}});
  a.next_hop = ip("169.254.12.2");
  rib_.announce(b_, a, std::span<const Prefix>(ps.data(), ps.size() - 1));
  announce(b_, "2001:db8:1::/48", {65002}, "169.254.12.2");
  const auto inst = routing_->installed();
  EXPECT_EQ(inst.size(), ps.size());
  EXPECT_EQ(inst.distinct(), 1u);  // every prefix: "dev tun" + learned by peer 0
  EXPECT_GT(inst.bytes(), 0u);
  for (const auto& p : ps) {
    ASSERT_TRUE(inst.find(p)) << p.str();
    EXPECT_EQ(inst.at(p).tunnel_peers, std::vector<tunnel::PeerIndex>{0});
    EXPECT_EQ(tunnel_.learned(p), S{0});
    EXPECT_TRUE(fib_.desired(p));
  }
  size_t walked = 0;
  inst.for_each([&](const Prefix&, const Routing::Installed& v) {
    ++walked;
    EXPECT_TRUE(v.kernel);
  });
  EXPECT_EQ(walked, ps.size());
  EXPECT_THROW(inst.at(pfx("10.99.0.0/16")), std::out_of_range);
  rib_.withdraw(b_, std::span<const Prefix>(ps.data(), ps.size()));
  EXPECT_TRUE(routing_->installed().empty());
  EXPECT_EQ(routing_->installed().distinct(), 0u);
  for (const auto& p : ps) {
    EXPECT_FALSE(fib_.desired(p));
    EXPECT_TRUE(tunnel_.learned(p).empty());
  }
}

TEST_F(RoutingTest, SameRouteAgainTouchesNeitherTunnelNorFib) {
  announce(b_, "10.2.0.0/16", {65002}, "169.254.12.2");
  const Prefix p = pfx("10.2.0.0/16");
  tunnel_.batches.clear();
  // New attributes (longer AS path) but the same next hop: the RIB reports a best
  // change; what Routing installs is the same, so nothing is sent anywhere.
  announce(b_, "10.2.0.0/16", {65002, 65020}, "169.254.12.2");
  EXPECT_TRUE(tunnel_.batches.empty());
  EXPECT_EQ(tunnel_.learned(p), S{0});
  EXPECT_TRUE(fib_.desired(p));
  // A real move still goes through.
  announce(b_, "10.2.0.0/16", {65002}, "169.254.13.2");
  ASSERT_EQ(tunnel_.batches.size(), 1u);
  EXPECT_EQ(tunnel_.learned(p), S{1});
  EXPECT_EQ(routing_->installed().at(p).tunnel_peers, std::vector<tunnel::PeerIndex>{1});
}
