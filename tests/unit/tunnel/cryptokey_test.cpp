#include "tunnel/cryptokey.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>

using namespace ferry;
using namespace ferry::tunnel;

namespace {

Prefix P(const char* s) {
  return *Prefix::parse(s);
}
IpAddress A(const char* s) {
  return *IpAddress::parse(s);
}

// Reference: linear scan over all stored prefixes, longest wins.
PeerIndex brute(const std::map<Prefix, PeerIndex>& m, const IpAddress& a) {
  int best_len = -1;
  PeerIndex best = kNoPeer;
  for (const auto& [p, peer] : m)
    if (p.contains(a) && p.len() > best_len) {
      best_len = p.len();
      best = peer;
    }
  return best;
}

}  // namespace

TEST(CryptokeyTable, LongestMatchWinsV4AndV6) {
  CryptokeyTable t;
  t.add_allowed(1, P("10.0.0.0/8"));
  t.add_allowed(2, P("10.1.0.0/16"));
  t.add_allowed(3, P("10.1.2.3/32"));
  t.add_allowed(4, P("0.0.0.0/0"));
  t.add_allowed(5, P("2001:db8::/32"));
  t.add_allowed(6, P("2001:db8:1::/48"));
  auto s = t.snapshot();
  EXPECT_EQ(s->lookup(A("10.9.9.9")), 1u);
  EXPECT_EQ(s->lookup(A("10.1.9.9")), 2u);
  EXPECT_EQ(s->lookup(A("10.1.2.3")), 3u);
  EXPECT_EQ(s->lookup(A("10.1.2.4")), 2u);
  EXPECT_EQ(s->lookup(A("192.0.2.1")), 4u);
  EXPECT_EQ(s->lookup(A("2001:db8:1::1")), 6u);
  EXPECT_EQ(s->lookup(A("2001:db8:2::1")), 5u);
  EXPECT_EQ(s->lookup(A("2001:db9::1")), kNoPeer);
}

TEST(CryptokeyTable, AddMovesPrefixBetweenPeersAndRemoveChecksOwner) {
  CryptokeyTable t;
  t.add_allowed(1, P("192.168.0.0/24"));
  t.add_allowed(2, P("192.168.0.0/24"));  // moves, like `wg set ... allowed-ips`
  EXPECT_EQ(t.snapshot()->lookup(A("192.168.0.7")), 2u);
  EXPECT_FALSE(t.remove_allowed(1, P("192.168.0.0/24")));
  EXPECT_EQ(t.snapshot()->lookup(A("192.168.0.7")), 2u);
  EXPECT_TRUE(t.remove_allowed(2, P("192.168.0.0/24")));
  EXPECT_EQ(t.snapshot()->lookup(A("192.168.0.7")), kNoPeer);
  EXPECT_EQ(t.size(), 0u);
}

TEST(CryptokeyTable, LearnedWithdrawalDoesNotRemoveStatic) {
  CryptokeyTable t;
  t.add_allowed(1, P("10.0.0.0/24"), AllowedOrigin::Static);
  EXPECT_FALSE(t.remove_allowed(1, P("10.0.0.0/24"), AllowedOrigin::Learned));
  EXPECT_EQ(t.snapshot()->lookup(A("10.0.0.1")), 1u);
  t.add_allowed(1, P("10.0.1.0/24"), AllowedOrigin::Learned);
  EXPECT_EQ(t.prefixes_of(1, AllowedOrigin::Learned), std::vector<Prefix>{P("10.0.1.0/24")});
  EXPECT_EQ(t.prefixes_of(1, AllowedOrigin::Static), std::vector<Prefix>{P("10.0.0.0/24")});
  auto o = t.owner(P("10.0.1.0/24"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->first, 1u);
  EXPECT_EQ(o->second, AllowedOrigin::Learned);
}

TEST(CryptokeyTable, BatchedApplyPublishesOnceAndOldSnapshotsStayValid) {
  CryptokeyTable t;
  auto before = t.snapshot();
  uint64_t g0 = t.generation();
  std::vector<AllowedChange> ch;
  for (int i = 0; i < 256; ++i)
    ch.push_back({AllowedChange::Op::Add, static_cast<PeerIndex>(i),
                  Prefix(IpAddress::v4((10u << 24) | (i << 8)), 24), AllowedOrigin::Learned});
  EXPECT_EQ(t.apply(ch), 256u);
  EXPECT_EQ(t.generation(), g0 + 1);
  EXPECT_EQ(before->lookup(A("10.0.5.1")), kNoPeer);  // readers of the old snapshot unaffected
  EXPECT_EQ(t.snapshot()->lookup(A("10.0.5.1")), 5u);
  t.remove_peer(5);
  EXPECT_EQ(t.snapshot()->lookup(A("10.0.5.1")), kNoPeer);
  EXPECT_EQ(t.snapshot()->lookup(A("10.0.6.1")), 6u);
}

// Random inserts and removals against a brute-force reference, both families,
// with lengths chosen so that prefixes nest and split each other often.
TEST(CryptokeyTable, RandomizedAgainstBruteForce) {
  for (Family fam : {Family::V4, Family::V6}) {
    std::mt19937_64 rng(fam == Family::V4 ? 1 : 2);
    CryptokeyTable t;
    std::map<Prefix, PeerIndex> ref;
    auto rand_addr = [&] {
      uint8_t b[16] = {};
      uint64_t x = rng(), y = rng();
      std::memcpy(b, &x, 8);
      std::memcpy(b + 8, &y, 8);
      b[0] = static_cast<uint8_t>(b[0] & 0x0f);  // cluster to force shared paths
      return IpAddress::from_bytes(fam, b);
    };
    int bits = family_bits(fam);
    for (int round = 0; round < 3000; ++round) {
      int len = static_cast<int>(rng() % (bits + 1));
      Prefix p(rand_addr(), len);
      if (rng() % 3 == 0 && !ref.empty()) {
        auto it = ref.begin();
        std::advance(it, rng() % ref.size());
        EXPECT_TRUE(t.remove_allowed(it->second, it->first));
        ref.erase(it);
      } else {
        PeerIndex peer = static_cast<PeerIndex>(rng() % 7);
        t.add_allowed(peer, p);
        ref[p] = peer;
      }
      if (round % 200 == 0) {
        auto s = t.snapshot();
        for (int q = 0; q < 50; ++q) {
          IpAddress a = rand_addr();
          ASSERT_EQ(s->lookup(a), brute(ref, a)) << a.str();
        }
        // Also probe addresses inside stored prefixes.
        for (const auto& [pp, peer] : ref) ASSERT_EQ(s->lookup(pp.addr()), brute(ref, pp.addr()));
      }
    }
    EXPECT_EQ(t.size(), ref.size());
  }
}

// Readers on other threads keep walking snapshots while the writer publishes.
TEST(CryptokeyTable, ConcurrentReadersSeeConsistentSnapshots) {
  CryptokeyTable t;
  t.add_allowed(1, P("10.0.0.0/8"));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0};
  std::thread reader([&] {
    CryptokeyReader r(t);
    while (!stop.load()) {
      r.refresh();
      uint8_t a[4] = {10, 1, 2, 3};
      PeerIndex p = r.get().lookup_v4(a);
      if (p != 1 && p != 2) bad++;
    }
  });
  for (int i = 0; i < 2000; ++i) {
    t.add_allowed(2, P("10.1.0.0/16"));
    t.remove_allowed(2, P("10.1.0.0/16"));
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0u);
}
