// Rib behaviour at sizes the small tests do not reach: more receiving peers
// than the Adj-RIB-Out has per-prefix bits for (the rest use per-peer maps),
// and a large table announced and withdrawn in bulk (the prefix table grows,
// then shrinks back while withdrawals are still owed to the peers).
#include <gtest/gtest.h>

#include <set>

#include "test_util.hpp"

namespace ferry::rib {
namespace {

using test::attrs;
using test::peer_cfg;
using test::pull_all;
using test::session;

std::set<Prefix> announced(const PullResult& r) {
  std::set<Prefix> s;
  for (const auto& b : r.announce) s.insert(b.prefixes.begin(), b.prefixes.end());
  return s;
}

TEST(RibScale, MorePeersThanAdjOutBits) {
  Rib rib(test::options());
  PeerId src = rib.add_peer(peer_cfg("src", "192.0.2.2", 65001));
  rib.peer_up(src, session(2));
  pull_all(rib, src);
  std::vector<PeerId> out;
  for (uint32_t i = 0; i < 40; ++i) {
    std::string addr = "198.51.100." + std::to_string(10 + i);
    PeerId p = rib.add_peer(peer_cfg("p" + std::to_string(i), addr, 64600 + i));
    rib.peer_up(p, session(100 + i));
    EXPECT_EQ(pull_all(rib, p).announce.size(), 0u);
    out.push_back(p);
  }
  std::vector<Prefix> v = {test::pfx("203.0.113.0/24"), test::pfx("203.0.114.0/24"),
                           test::pfx("10.1.0.0/16")};
  rib.announce(src, attrs({65001, 65100}, "192.0.2.2"), v);
  // A second change before anyone pulled coalesces into one announcement.
  rib.announce(src, attrs({65001, 65200}, "192.0.2.2"), std::span(v.data(), 1));
  for (PeerId p : out) {
    PullResult r = pull_all(rib, p);
    EXPECT_EQ(announced(r), std::set<Prefix>(v.begin(), v.end())) << to_int(p);
    size_t n = 0;
    for (const auto& b : r.announce) n += b.prefixes.size();
    EXPECT_EQ(n, 3u) << to_int(p);  // each prefix once
    EXPECT_EQ(rib.peer_status(p)->counters.advertised, 3u);
  }
  rib.withdraw(src, std::span(v.data() + 1, 2));
  for (PeerId p : out) {
    PullResult r = pull_all(rib, p);
    EXPECT_TRUE(r.announce.empty());
    EXPECT_EQ(std::set<Prefix>(r.withdraw.begin(), r.withdraw.end()),
              std::set<Prefix>(v.begin() + 1, v.end()))
        << to_int(p);
    EXPECT_EQ(rib.peer_status(p)->counters.advertised, 1u);
  }
  // A peer that goes down and comes back gets the current table again.
  rib.peer_down(out.back());
  rib.peer_up(out.back(), session(139));
  PullResult again = pull_all(rib, out.back());
  EXPECT_EQ(announced(again), std::set<Prefix>{v[0]});
  EXPECT_EQ(again.end_of_rib.size(), 2u);
}

TEST(RibScale, BulkAnnounceAndWithdrawReleasesTheTable) {
  Rib rib(test::options());
  PeerId src = rib.add_peer(peer_cfg("src", "192.0.2.2", 65001));
  PeerId dst = rib.add_peer(peer_cfg("dst", "198.51.100.2", 65002));
  rib.peer_up(src, session(2));
  rib.peer_up(dst, session(3));
  pull_all(rib, src);
  pull_all(rib, dst);
  const uint32_t n = 20000;
  std::vector<Prefix> all;
  for (uint32_t i = 0; i < n; ++i) all.emplace_back(IpAddress::v4(0x0b000000u + i * 256), 24);
  for (uint32_t i = 0; i < n; i += 4)
    rib.announce(src, attrs({65001, 64512 + i % 400}, "192.0.2.2"), std::span(all.data() + i, 4));
  EXPECT_EQ(rib.prefix_count(), n);
  EXPECT_EQ(announced(pull_all(rib, dst)).size(), n);
  size_t full = rib.memory_stats().table_bytes;
  EXPECT_FALSE(rib.has_pending(src));  // its own routes are not queued back to it
  rib.withdraw(src, all);
  EXPECT_EQ(rib.prefix_count(), 0u);
  // Every withdrawal is still owed to dst, and is delivered exactly once.
  PullResult r = pull_all(rib, dst);
  EXPECT_EQ(r.withdraw.size(), n);
  EXPECT_EQ(std::set<Prefix>(r.withdraw.begin(), r.withdraw.end()).size(), n);
  EXPECT_EQ(rib.peer_status(dst)->counters.advertised, 0u);
  EXPECT_LT(rib.memory_stats().table_bytes, full / 10);
  EXPECT_EQ(rib.memory_stats().attr_sets, 0u);
  // And the table works as before.
  rib.announce(src, attrs({65001}, "192.0.2.2"), std::span(all.data(), 8));
  EXPECT_EQ(announced(pull_all(rib, dst)).size(), 8u);
}

}  // namespace
}  // namespace ferry::rib
