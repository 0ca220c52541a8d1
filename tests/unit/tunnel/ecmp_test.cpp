// ECMP in the cryptokey table: learned prefixes as peer sets, static vs
// learned at one prefix, the inbound source check, and the flow hash
// (5-tuple / 3-tuple extraction, stickiness, spreading, minimal disruption,
// IPv4/IPv6 extension headers, truncated packets).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tunnel/cryptokey.hpp"
#include "tunnel/flow_hash.hpp"

using namespace ferry;
using namespace ferry::tunnel;

namespace {

Prefix P(const char* s) {
  return *Prefix::parse(s);
}
IpAddress A(const char* s) {
  return *IpAddress::parse(s);
}

constexpr uint64_t kSeed = 0x1234567890abcdefULL;

// IPv4 packet: 20-byte header, then `l4` (protocol header + payload).
std::vector<uint8_t> v4(const char* src, const char* dst, uint8_t proto, std::vector<uint8_t> l4,
                        uint16_t frag = 0) {
  std::vector<uint8_t> p(20);
  p[0] = 0x45;
  const size_t total = 20 + l4.size();
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[6] = static_cast<uint8_t>(frag >> 8);
  p[7] = static_cast<uint8_t>(frag);
  p[8] = 64;
  p[9] = proto;
  std::memcpy(&p[12], A(src).bytes(), 4);
  std::memcpy(&p[16], A(dst).bytes(), 4);
  p.insert(p.end(), l4.begin(), l4.end());
  return p;
}
// IPv6 packet: 40-byte header with Next Header `nh`, then `rest` (extension headers + L4).
std::vector<uint8_t> v6(const char* src, const char* dst, uint8_t nh, std::vector<uint8_t> rest) {
  std::vector<uint8_t> p(40);
  p[0] = 0x60;
  p[4] = static_cast<uint8_t>(rest.size() >> 8);
  p[5] = static_cast<uint8_t>(rest.size());
  p[6] = nh;
  p[7] = 64;
  std::memcpy(&p[8], A(src).bytes(), 16);
  std::memcpy(&p[24], A(dst).bytes(), 16);
  p.insert(p.end(), rest.begin(), rest.end());
  return p;
}
// UDP/TCP-style header start: ports, then filler.
std::vector<uint8_t> ports(uint16_t sp, uint16_t dp, size_t filler = 12) {
  std::vector<uint8_t> l4 = {static_cast<uint8_t>(sp >> 8), static_cast<uint8_t>(sp),
                             static_cast<uint8_t>(dp >> 8), static_cast<uint8_t>(dp)};
  l4.insert(l4.end(), filler, 0x5a);
  return l4;
}

uint64_t hash(const std::vector<uint8_t>& pkt, uint64_t seed = kSeed) {
  InnerPacket ip;
  EXPECT_TRUE(parse_inner(pkt, ip));
  return flow_hash(pkt, ip, seed);
}

PeerIndex out(const CryptokeySnapshot& s, const std::vector<uint8_t>& pkt) {
  InnerPacket ip;
  EXPECT_TRUE(parse_inner(pkt, ip));
  return s.route_out(ip, pkt);
}
bool in(const CryptokeySnapshot& s, const std::vector<uint8_t>& pkt, PeerIndex from) {
  InnerPacket ip;
  EXPECT_TRUE(parse_inner(pkt, ip));
  return s.allows(ip, from);
}

std::vector<uint8_t> udp_flow(int i) {
  return v4("10.1.0.1", "10.2.0.9", 17, ports(static_cast<uint16_t>(10000 + i), 5201));
}

}  // namespace

// ---------------------------------------------------------------- set semantics

TEST(Ecmp, LearnedAddsJoinTheSetAndRemovesLeaveIt) {
  CryptokeyTable t(kSeed);
  const Prefix p = P("10.2.0.0/16");
  t.add_allowed(1, p, AllowedOrigin::Learned);
  t.add_allowed(2, p, AllowedOrigin::Learned);
  t.add_allowed(2, p, AllowedOrigin::Learned);  // already a member: no change
  EXPECT_EQ(t.peers_of(p), (std::vector<PeerIndex>{1, 2}));
  EXPECT_EQ(t.snapshot()->lookup_all(A("10.2.3.4")), (std::vector<PeerIndex>{1, 2}));
  EXPECT_EQ(t.prefixes_of(1, AllowedOrigin::Learned), std::vector<Prefix>{p});
  EXPECT_EQ(t.prefixes_of(2, AllowedOrigin::Learned), std::vector<Prefix>{p});
  EXPECT_EQ(t.count_of(2, AllowedOrigin::Learned), 1u);
  EXPECT_EQ(t.set_count(), 1u);
  EXPECT_FALSE(t.remove_allowed(3, p, AllowedOrigin::Learned));  // not a member
  EXPECT_TRUE(t.remove_allowed(1, p, AllowedOrigin::Learned));
  EXPECT_EQ(t.peers_of(p), std::vector<PeerIndex>{2});
  EXPECT_EQ(t.set_count(), 0u);  // a single peer is stored inline
  EXPECT_TRUE(t.remove_allowed(2, p, AllowedOrigin::Learned));
  EXPECT_TRUE(t.peers_of(p).empty());
  EXPECT_EQ(t.size(), 0u);
}

TEST(Ecmp, IdenticalSetsAreSharedAndFreedWithTheirLastPrefix) {
  CryptokeyTable t(kSeed);
  std::vector<AllowedChange> ch;
  for (int i = 0; i < 100; ++i)
    for (PeerIndex peer : {4u, 7u})
      ch.push_back({AllowedChange::Op::Add, peer, Prefix(IpAddress::v4((10u << 24) | (i << 8)), 24),
                    AllowedOrigin::Learned});
  EXPECT_EQ(t.apply(ch), 200u);
  EXPECT_EQ(t.set_count(), 1u);
  t.remove_peer(4);
  EXPECT_EQ(t.set_count(), 0u);
  EXPECT_EQ(t.count_of(7, AllowedOrigin::Learned), 100u);
  EXPECT_EQ(t.snapshot()->lookup(A("10.0.42.1")), 7u);
}

TEST(Ecmp, SetIsBoundedAndOverflowIsCounted) {
  CryptokeyTable t(kSeed);
  const Prefix p = P("fd00:2::/48");
  for (uint32_t i = 0; i < kMaxEcmpPeers + 3; ++i) t.add_allowed(i, p, AllowedOrigin::Learned);
  EXPECT_EQ(t.peers_of(p).size(), kMaxEcmpPeers);
  EXPECT_EQ(t.set_overflows(), 3u);
}

TEST(Ecmp, BatchSwapsTheSetInOnePublish) {
  CryptokeyTable t(kSeed);
  const Prefix p = P("10.2.0.0/16");
  t.add_allowed(1, p, AllowedOrigin::Learned);
  t.add_allowed(2, p, AllowedOrigin::Learned);
  auto before = t.snapshot();
  const uint64_t g = t.generation();
  std::vector<AllowedChange> ch = {{AllowedChange::Op::Remove, 1, p, AllowedOrigin::Learned},
                                   {AllowedChange::Op::Add, 3, p, AllowedOrigin::Learned}};
  EXPECT_EQ(t.apply(ch), 2u);
  EXPECT_EQ(t.generation(), g + 1);
  EXPECT_EQ(before->lookup_all(A("10.2.0.1")), (std::vector<PeerIndex>{1, 2}));  // unchanged
  EXPECT_EQ(t.snapshot()->lookup_all(A("10.2.0.1")), (std::vector<PeerIndex>{2, 3}));
  // No flow goes to the removed peer any more; none is accepted from it.
  auto s = t.snapshot();
  for (int i = 0; i < 500; ++i) EXPECT_NE(out(*s, udp_flow(i)), 1u);
  auto from_b = v4("10.2.0.7", "10.1.0.1", 17, ports(1, 2));
  EXPECT_FALSE(in(*s, from_b, 1));
  EXPECT_TRUE(in(*s, from_b, 2));
  EXPECT_TRUE(in(*s, from_b, 3));
}

// ---------------------------------------------------------------- static vs learned

TEST(Ecmp, StaticWinsAtTheSamePrefixAndTheLearnedSetComesBack) {
  CryptokeyTable t(kSeed);
  const Prefix p = P("10.3.0.0/16");
  t.add_allowed(1, p, AllowedOrigin::Learned);
  t.add_allowed(2, p, AllowedOrigin::Learned);
  t.add_allowed(5, p, AllowedOrigin::Static);
  auto s = t.snapshot();
  auto pkt = v4("10.3.0.1", "10.1.0.1", 17, ports(1, 2));
  EXPECT_TRUE(in(*s, pkt, 5));
  EXPECT_FALSE(in(*s, pkt, 1));
  EXPECT_EQ(out(*s, v4("10.1.0.1", "10.3.0.1", 17, ports(1, 2))), 5u);
  // Learned edits under the static entry change nothing the data plane sees.
  const uint64_t g = t.generation();
  EXPECT_FALSE(t.remove_allowed(2, p, AllowedOrigin::Learned));
  t.add_allowed(3, p, AllowedOrigin::Learned);
  EXPECT_EQ(t.generation(), g);
  EXPECT_EQ(t.owner(p)->second, AllowedOrigin::Static);
  EXPECT_TRUE(t.prefixes_of(1, AllowedOrigin::Learned).empty());  // shadowed: not in effect
  // A learned withdrawal never removes the static entry; removing the static restores {1, 3}.
  EXPECT_FALSE(t.remove_allowed(5, p, AllowedOrigin::Learned));
  EXPECT_TRUE(t.remove_allowed(5, p, AllowedOrigin::Static));
  EXPECT_EQ(t.peers_of(p), (std::vector<PeerIndex>{1, 3}));
  EXPECT_EQ(t.owner(p)->second, AllowedOrigin::Learned);
  // clear_learned reaches shadowed sets too.
  t.add_allowed(5, p, AllowedOrigin::Static);
  t.clear_learned(1);
  t.clear_learned(3);
  EXPECT_TRUE(t.remove_allowed(5, p, AllowedOrigin::Static));
  EXPECT_EQ(t.size(), 0u);
}

TEST(Ecmp, StaticStaysSingleOwnerAndLongestMatchDecidesAcrossOrigins) {
  CryptokeyTable t(kSeed);
  t.add_allowed(1, P("10.2.0.0/16"), AllowedOrigin::Learned);
  t.add_allowed(2, P("10.2.0.0/16"), AllowedOrigin::Learned);
  t.add_allowed(3, P("10.2.9.0/24"), AllowedOrigin::Static);
  t.add_allowed(4, P("10.2.9.0/24"), AllowedOrigin::Static);  // moves, WireGuard semantics
  auto s = t.snapshot();
  EXPECT_EQ(s->lookup_all(A("10.2.9.1")), std::vector<PeerIndex>{4});
  EXPECT_FALSE(in(*s, v4("10.2.9.1", "10.1.0.1", 6, ports(1, 2)), 1));
  EXPECT_TRUE(in(*s, v4("10.2.8.1", "10.1.0.1", 6, ports(1, 2)), 1));
  EXPECT_TRUE(in(*s, v4("10.2.8.1", "10.1.0.1", 6, ports(1, 2)), 2));
  EXPECT_FALSE(in(*s, v4("10.9.8.1", "10.1.0.1", 6, ports(1, 2)), 1));  // no match at all
  EXPECT_EQ(out(*s, v4("10.1.0.1", "10.9.0.1", 6, ports(1, 2))), kNoPeer);
}

// ---------------------------------------------------------------- flow hash

TEST(FlowHash, PortsCountForPortProtocolsOnly) {
  for (uint8_t proto : {6, 17, 132, 33, 136}) {
    EXPECT_NE(hash(v4("10.1.0.1", "10.2.0.1", proto, ports(1000, 80))),
              hash(v4("10.1.0.1", "10.2.0.1", proto, ports(1001, 80))))
        << int(proto);
    EXPECT_NE(hash(v4("10.1.0.1", "10.2.0.1", proto, ports(1000, 80))),
              hash(v4("10.1.0.1", "10.2.0.1", proto, ports(1000, 81))))
        << int(proto);
  }
  // ICMP (1), ESP (50), GRE (47): the 3-tuple; the payload does not matter.
  for (uint8_t proto : {1, 50, 47})
    EXPECT_EQ(hash(v4("10.1.0.1", "10.2.0.1", proto, ports(1000, 80))),
              hash(v4("10.1.0.1", "10.2.0.1", proto, ports(2000, 90))));
  // Addresses and protocol do.
  EXPECT_NE(hash(v4("10.1.0.1", "10.2.0.1", 1, {})), hash(v4("10.1.0.2", "10.2.0.1", 1, {})));
  EXPECT_NE(hash(v4("10.1.0.1", "10.2.0.1", 1, {})), hash(v4("10.1.0.1", "10.2.0.2", 1, {})));
  EXPECT_NE(hash(v4("10.1.0.1", "10.2.0.1", 1, {})), hash(v4("10.1.0.1", "10.2.0.1", 47, {})));
  // The seed changes the hash.
  auto pkt = v4("10.1.0.1", "10.2.0.1", 17, ports(1000, 80));
  EXPECT_NE(hash(pkt, 1), hash(pkt, 2));
  // Only the IP packet counts: trailing padding after Total Length is ignored.
  auto padded = pkt;
  padded.resize(padded.size() + 7, 0xee);
  EXPECT_EQ(hash(pkt), hash(padded));
}

TEST(FlowHash, Ipv4FragmentsUseTheThreeTuple) {
  // RFC 791: MF flag (0x2000) or a fragment offset -> every fragment hashes alike,
  // whatever bytes sit where the ports would be.
  auto first = v4("10.1.0.1", "10.2.0.1", 17, ports(1000, 80), 0x2000);
  auto later = v4("10.1.0.1", "10.2.0.1", 17, ports(7777, 9999), 0x00b9);
  EXPECT_EQ(hash(first), hash(later));
  // DF alone (0x4000) is not a fragment.
  EXPECT_NE(hash(v4("10.1.0.1", "10.2.0.1", 17, ports(1000, 80), 0x4000)),
            hash(v4("10.1.0.1", "10.2.0.1", 17, ports(1001, 80), 0x4000)));
  EXPECT_EQ(hash(v4("10.1.0.1", "10.2.0.1", 17, ports(1000, 80), 0x4000)),
            hash(v4("10.1.0.1", "10.2.0.1", 17, ports(1000, 80))));
}

TEST(FlowHash, Ipv4OptionsAndTruncation) {
  // IHL 6 (one 4-byte option): ports start at 24.
  auto opt = v4("10.1.0.1", "10.2.0.1", 17, {});
  opt[0] = 0x46;
  std::vector<uint8_t> tail = {1, 1, 1, 1, 0x03, 0xe8, 0x00, 0x50, 0, 0, 0, 0};
  opt.insert(opt.end(), tail.begin(), tail.end());
  opt[3] = static_cast<uint8_t>(opt.size());
  EXPECT_EQ(hash(opt), hash(v4("10.1.0.1", "10.2.0.1", 17, ports(1000, 80))));
  // A UDP packet cut inside its ports hashes on the 3-tuple (no read past Total Length):
  // the same as a fragment of that flow.
  auto cut = v4("10.1.0.1", "10.2.0.1", 17, {0x03, 0xe8});
  EXPECT_EQ(hash(cut), hash(v4("10.1.0.1", "10.2.0.1", 17, ports(5, 6), 0x2000)));
  // An IHL pointing past the packet: same.
  auto bad_ihl = v4("10.1.0.1", "10.2.0.1", 17, ports(1000, 80));
  bad_ihl[0] = 0x4f;  // 60-byte header in a 36-byte packet
  EXPECT_EQ(hash(bad_ihl), hash(v4("10.1.0.1", "10.2.0.1", 17, {}, 0x2000)));
}

TEST(FlowHash, Ipv6ExtensionHeadersAreSkipped) {
  const char* s = "fd00:1::1";
  const char* d = "fd00:2::9";
  const uint64_t plain = hash(v6(s, d, 17, ports(1000, 80)));
  EXPECT_NE(plain, hash(v6(s, d, 17, ports(1001, 80))));
  // Hop-by-Hop (8 bytes) then Destination Options (16 bytes) then UDP: same flow key.
  std::vector<uint8_t> chain = {60, 0, 1, 4,  0, 0, 0, 0,                           // HBH, len 0
                                17, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // DO, len 1
  auto l4 = ports(1000, 80);
  chain.insert(chain.end(), l4.begin(), l4.end());
  EXPECT_EQ(hash(v6(s, d, 0, chain)), plain);
  // AH (RFC 4302: Payload Len 4 -> (4 + 2) * 4 = 24 bytes).
  std::vector<uint8_t> ah = {17, 4};
  ah.resize(24, 0x77);
  ah.insert(ah.end(), l4.begin(), l4.end());
  EXPECT_EQ(hash(v6(s, d, 51, ah)), plain);
  // Atomic fragment (offset 0, M 0): ports still count.
  std::vector<uint8_t> atomic = {17, 0, 0, 0, 0, 0, 0, 1};
  atomic.insert(atomic.end(), l4.begin(), l4.end());
  EXPECT_EQ(hash(v6(s, d, 44, atomic)), plain);
  // Real fragments (M set / non-zero offset): the 3-tuple, the same for every fragment.
  std::vector<uint8_t> f1 = {17, 0, 0x00, 0x01, 0, 0, 0, 1};
  f1.insert(f1.end(), l4.begin(), l4.end());
  std::vector<uint8_t> f2 = {17, 0, 0x05, 0x28, 0, 0, 0, 1, 9, 9, 9, 9};
  EXPECT_EQ(hash(v6(s, d, 44, f1)), hash(v6(s, d, 44, f2)));
  EXPECT_NE(hash(v6(s, d, 44, f1)), plain);
  // ICMPv6: 3-tuple.
  EXPECT_EQ(hash(v6(s, d, 58, ports(1, 2))), hash(v6(s, d, 58, ports(3, 4))));
}

TEST(FlowHash, Ipv6TruncatedChainsStayInBounds) {
  const char* s = "fd00:1::1";
  const char* d = "fd00:2::9";
  // HBH claiming 2048 bytes in a 4-byte payload: the walk stops, no port read.
  EXPECT_EQ(hash(v6(s, d, 0, {17, 255, 0, 0})), hash(v6(s, d, 0, {17, 255, 0, 1})));
  // A header cut after one byte.
  hash(v6(s, d, 60, {17}));
  // Fragment header cut short.
  hash(v6(s, d, 44, {17, 0, 0}));
  // A chain longer than kMaxExtHeaders: stops there (3-tuple on the last header seen).
  std::vector<uint8_t> many;
  for (int i = 0; i < kMaxExtHeaders + 2; ++i) {
    std::vector<uint8_t> h = {60, 0, 0, 0, 0, 0, 0, 0};
    many.insert(many.end(), h.begin(), h.end());
  }
  auto a = many, b = many;
  auto pa = ports(1, 2), pb = ports(3, 4);
  a.insert(a.end(), pa.begin(), pa.end());
  b.insert(b.end(), pb.begin(), pb.end());
  EXPECT_EQ(hash(v6(s, d, 60, a)), hash(v6(s, d, 60, b)));
}

// ---------------------------------------------------------------- spreading and stickiness

TEST(Ecmp, FlowsStickAndSpreadOverThePeerSet) {
  CryptokeyTable t(kSeed);
  for (PeerIndex p : {1u, 2u}) t.add_allowed(p, P("10.2.0.0/16"), AllowedOrigin::Learned);
  for (PeerIndex p : {1u, 2u, 3u, 4u}) t.add_allowed(p, P("fd00:2::/48"), AllowedOrigin::Learned);
  auto s = t.snapshot();
  constexpr int kFlows = 20000;
  std::map<PeerIndex, int> n4, n6;
  for (int i = 0; i < kFlows; ++i) {
    auto p4 = udp_flow(i);
    PeerIndex a = out(*s, p4);
    EXPECT_EQ(out(*s, p4), a);  // deterministic
    ++n4[a];
    auto p6 = v6("fd00:1::1", "fd00:2::9", 6, ports(static_cast<uint16_t>(i), 443));
    ++n6[out(*s, p6)];
  }
  ASSERT_EQ(n4.size(), 2u);
  for (auto [peer, n] : n4) {
    EXPECT_GT(n, kFlows * 45 / 100) << peer;  // a fair split is 50% +- 0.7% (2 sigma)
    EXPECT_LT(n, kFlows * 55 / 100) << peer;
  }
  ASSERT_EQ(n6.size(), 4u);
  for (auto [peer, n] : n6) {
    EXPECT_GT(n, kFlows * 22 / 100) << peer;
    EXPECT_LT(n, kFlows * 28 / 100) << peer;
  }
  // Unrelated table changes (new publishes) keep every flow where it was.
  std::vector<PeerIndex> before;
  for (int i = 0; i < 2000; ++i) before.push_back(out(*s, udp_flow(i)));
  t.add_allowed(9, P("192.168.0.0/16"));
  t.add_allowed(8, P("10.2.0.0/16"), AllowedOrigin::Learned);
  t.remove_allowed(8, P("10.2.0.0/16"), AllowedOrigin::Learned);
  auto s2 = t.snapshot();
  ASSERT_NE(s.get(), s2.get());
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(out(*s2, udp_flow(i)), before[static_cast<size_t>(i)]);
}

TEST(Ecmp, AddingOrRemovingAPeerMovesOnlyThatPeersFlows) {
  CryptokeyTable t(kSeed);
  const Prefix p = P("10.2.0.0/16");
  for (PeerIndex x : {1u, 2u, 3u}) t.add_allowed(x, p, AllowedOrigin::Learned);
  constexpr int kFlows = 6000;
  std::vector<PeerIndex> three;
  for (int i = 0; i < kFlows; ++i) three.push_back(out(*t.snapshot(), udp_flow(i)));
  // Join: a flow either stays or moves to the new peer.
  t.add_allowed(4, p, AllowedOrigin::Learned);
  int moved = 0;
  for (int i = 0; i < kFlows; ++i) {
    PeerIndex now = out(*t.snapshot(), udp_flow(i));
    if (now != three[static_cast<size_t>(i)]) {
      EXPECT_EQ(now, 4u);
      ++moved;
    }
  }
  EXPECT_GT(moved, kFlows / 5);  // about a quarter
  EXPECT_LT(moved, kFlows * 3 / 10);
  // Leave: only the leaving peer's flows move.
  t.remove_allowed(4, p, AllowedOrigin::Learned);
  t.remove_allowed(2, p, AllowedOrigin::Learned);
  for (int i = 0; i < kFlows; ++i) {
    PeerIndex now = out(*t.snapshot(), udp_flow(i));
    EXPECT_NE(now, 2u);
    if (three[static_cast<size_t>(i)] != 2u) {
      EXPECT_EQ(now, three[static_cast<size_t>(i)]);
    }
  }
}

TEST(Ecmp, AnotherSeedPicksDifferentlyButJustAsFairly) {
  CryptokeyTable a(1), b(2);
  for (auto* t : {&a, &b})
    for (PeerIndex p : {1u, 2u}) t->add_allowed(p, P("10.2.0.0/16"), AllowedOrigin::Learned);
  int differ = 0;
  for (int i = 0; i < 1000; ++i)
    differ += out(*a.snapshot(), udp_flow(i)) != out(*b.snapshot(), udp_flow(i));
  EXPECT_GT(differ, 300);
  EXPECT_LT(differ, 700);
  CryptokeyTable r1, r2;  // random seeds
  EXPECT_NE(r1.snapshot()->seed(), 0u);
  EXPECT_NE(r1.snapshot()->seed(), r2.snapshot()->seed());
}
