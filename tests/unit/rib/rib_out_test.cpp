// AdjRibOut through its own interface, on a LocRib and PeerTable assembled by
// hand (no Rib façade): the initial-dump walk and End-of-RIB (RFC 4724 §2),
// pull budgets, coalescing of queued changes, withdrawals of what was sent,
// split horizon towards the source peer, session reset, peers beyond the
// Adj-RIB-Out bits, route refresh (RFC 2918), re-export after a reload and
// the pending callback.
#include "rib/rib_out.hpp"

#include <gtest/gtest.h>

#include <set>

#include "test_util.hpp"

namespace ferry::rib {
namespace {

using test::attrs;
using test::peer_cfg;
using test::pfx;
using test::session;

struct AdjRibOutFixture : ::testing::Test {
  // Declaration order is destruction order backwards: the AttrTable must
  // outlive everything holding AttrRefs.
  RibOptions opts = test::options();
  AttrTable table;
  PolicyEngine policy;
  PeerTable peers;
  LocRib loc{opts, peers, {}};
  ExportRules rules{table, policy, opts, peers};
  AdjRibOut out{loc, peers, rules};
  std::vector<PeerId> notified;
  Prefix p1 = pfx("203.0.113.0/24");
  Prefix p2 = pfx("198.51.100.0/24");
  Prefix p3 = pfx("192.0.2.0/24");

  AdjRibOutFixture() {
    loc.set_change_sink(&out);
    out.set_pending_callback([this](PeerId p) { notified.push_back(p); });
  }
  PeerId add(const PeerConfig& c) {
    PeerId p = peers.add(c, opts.local_asn);
    out.add_peer(p);
    return p;
  }
  void up(PeerId p, uint32_t rid) {
    peers.session_up(p, session(rid));
    out.session_up(p);
  }
  // The peer's path for x (what LocRib gets from the import side).
  void set(PeerId p, const Prefix& x, const bgp::PathAttributes& a) {
    AttrRef r = table.intern(a);
    loc.begin_call();
    loc.set_path(x, to_int(p), r, r);
    loc.end_call();
  }
  void remove(PeerId p, const Prefix& x) {
    loc.begin_call();
    loc.remove_path(x, to_int(p));
    loc.end_call();
  }
  PullResult drain(PeerId p) {
    PullResult all;
    for (int i = 0; i < 100; ++i) {
      PullResult r = out.pull(p, 1000);
      for (auto& b : r.announce) all.announce.push_back(std::move(b));
      all.withdraw.insert(all.withdraw.end(), r.withdraw.begin(), r.withdraw.end());
      all.end_of_rib.insert(all.end_of_rib.end(), r.end_of_rib.begin(), r.end_of_rib.end());
      if (!r.more) break;
    }
    return all;
  }
  static std::set<Prefix> announced(const PullResult& r) {
    std::set<Prefix> s;
    for (const auto& b : r.announce) s.insert(b.prefixes.begin(), b.prefixes.end());
    return s;
  }
};

TEST_F(AdjRibOutFixture, SessionUpSendsTheTablePackedThenEndOfRib) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  PeerId b = add(peer_cfg("b", "198.51.100.2", 65002));
  up(a, 2);
  drain(a);
  set(a, p1, attrs({65001}, "192.0.2.2"));
  set(a, p2, attrs({65001}, "192.0.2.2"));
  up(b, 3);
  EXPECT_TRUE(out.has_pending(b));
  PullResult r = drain(b);
  ASSERT_EQ(r.announce.size(), 1u);  // one attribute set: one batch
  EXPECT_EQ(announced(r), (std::set<Prefix>{p1, p2}));
  // RFC 4271 §5.1.2 / next-hop-self towards an eBGP peer.
  ASSERT_EQ(r.announce[0].attrs->as_path.size(), 1u);
  EXPECT_EQ(r.announce[0].attrs->as_path[0].asns, (std::vector<uint32_t>{65000, 65001}));
  EXPECT_EQ(r.announce[0].attrs->next_hop, test::ip("192.0.2.1"));
  EXPECT_EQ(r.end_of_rib, (std::vector<Family>{Family::V4, Family::V6}));
  EXPECT_TRUE(r.withdraw.empty());
  EXPECT_EQ(out.advertised(b), 2u);
  EXPECT_EQ(out.advertised_total(), 2u);
  EXPECT_FALSE(out.has_pending(b));
}

TEST_F(AdjRibOutFixture, BudgetLimitsOnePullAndEndOfRibFollowsItsFamily) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  PeerId b = add(peer_cfg("b", "198.51.100.2", 65002));
  up(a, 2);
  drain(a);
  for (const Prefix& x : {p1, p2, p3}) set(a, x, attrs({65001}, "192.0.2.2"));
  up(b, 3);
  PullResult first = out.pull(b, 2);
  EXPECT_EQ(announced(first).size(), 2u);
  EXPECT_TRUE(first.more);
  // The (empty) IPv6 table is done; IPv4's End-of-RIB waits for its last prefix.
  EXPECT_EQ(first.end_of_rib, (std::vector<Family>{Family::V6}));
  PullResult second = out.pull(b, 2);
  EXPECT_EQ(announced(second).size(), 1u);
  EXPECT_EQ(second.end_of_rib, (std::vector<Family>{Family::V4}));
  EXPECT_FALSE(second.more);
}

TEST_F(AdjRibOutFixture, ChangesCoalesceIntoOneUpdateOfTheLatestState) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  PeerId b = add(peer_cfg("b", "198.51.100.2", 65002));
  up(a, 2);
  up(b, 3);
  drain(a);
  drain(b);
  set(a, p1, attrs({65001}, "192.0.2.2"));
  set(a, p1, attrs({65001, 65010}, "192.0.2.2"));
  EXPECT_EQ(out.queued(b), 1u);
  PullResult r = drain(b);
  ASSERT_EQ(r.announce.size(), 1u);
  ASSERT_EQ(r.announce[0].prefixes.size(), 1u);
  EXPECT_EQ(r.announce[0].attrs->as_path[0].asns, (std::vector<uint32_t>{65000, 65001, 65010}));
}

TEST_F(AdjRibOutFixture, WithdrawsOnlyWhatWasSent) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  PeerId b = add(peer_cfg("b", "198.51.100.2", 65002));
  up(a, 2);
  up(b, 3);
  drain(a);
  drain(b);
  set(a, p1, attrs({65001}, "192.0.2.2"));
  drain(b);
  EXPECT_EQ(out.advertised(b), 1u);
  // p2 is announced and withdrawn before b pulls: b was never sent it.
  set(a, p2, attrs({65001}, "192.0.2.2"));
  remove(a, p2);
  remove(a, p1);
  PullResult r = drain(b);
  EXPECT_TRUE(r.announce.empty());
  EXPECT_EQ(r.withdraw, (std::vector<Prefix>{p1}));
  EXPECT_EQ(out.advertised(b), 0u);
  // Nothing holds the entries any more: they are gone from the table.
  EXPECT_EQ(loc.find(p1), nullptr);
  EXPECT_EQ(loc.find(p2), nullptr);
}

TEST_F(AdjRibOutFixture, NothingIsQueuedForTheSourcePeer) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  PeerId b = add(peer_cfg("b", "198.51.100.2", 65002));
  up(a, 2);
  up(b, 3);
  drain(a);
  drain(b);
  set(a, p1, attrs({65001}, "192.0.2.2"));
  EXPECT_EQ(out.queued(a), 0u);
  EXPECT_FALSE(out.has_pending(a));
  EXPECT_EQ(out.queued(b), 1u);
}

TEST_F(AdjRibOutFixture, SessionDownForgetsWhatWasSentAndQueued) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  PeerId b = add(peer_cfg("b", "198.51.100.2", 65002));
  up(a, 2);
  up(b, 3);
  drain(a);
  drain(b);
  set(a, p1, attrs({65001}, "192.0.2.2"));
  drain(b);
  set(a, p2, attrs({65001}, "192.0.2.2"));
  EXPECT_EQ(out.queued(b), 1u);
  peers.session_down(b);
  out.session_down(b);
  EXPECT_EQ(out.advertised(b), 0u);
  EXPECT_EQ(out.queued(b), 0u);
  EXPECT_FALSE(out.has_pending(b));
  int n = 0;
  out.for_each_advertised(b, [&](const AdvertisedRoute&) { ++n; });
  EXPECT_EQ(n, 0);
  EXPECT_TRUE(out.pull(b, 10).announce.empty());
}

TEST_F(AdjRibOutFixture, PeersBeyondTheAdjRibOutBitsUseTheirOwnMaps) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  up(a, 2);
  drain(a);
  std::vector<PeerId> many;
  for (int i = 0; i < kAdvBits + 2; ++i) {
    std::string addr = "10.1.0." + std::to_string(i + 1);
    PeerId p = add(peer_cfg("p" + std::to_string(i), addr, 65100 + static_cast<uint32_t>(i)));
    up(p, 100 + static_cast<uint32_t>(i));
    drain(p);
    many.push_back(p);
  }
  set(a, p1, attrs({65001}, "192.0.2.2"));
  for (PeerId p : many) {
    PullResult r = drain(p);
    EXPECT_EQ(announced(r), (std::set<Prefix>{p1})) << to_int(p);
    EXPECT_EQ(out.advertised(p), 1u);
  }
  remove(a, p1);
  for (PeerId p : many) {
    EXPECT_EQ(drain(p).withdraw, (std::vector<Prefix>{p1})) << to_int(p);
    EXPECT_EQ(out.advertised(p), 0u);
  }
  EXPECT_EQ(loc.find(p1), nullptr);
}

TEST_F(AdjRibOutFixture, ForEachAdvertisedShowsExportedAttributesAndPending) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  PeerId b = add(peer_cfg("b", "198.51.100.2", 65002));
  up(a, 2);
  up(b, 3);
  drain(a);
  drain(b);
  set(a, p1, attrs({65001}, "192.0.2.2"));
  drain(b);
  set(a, p1, attrs({65001, 65010}, "192.0.2.2"));  // queued, not pulled
  std::vector<AdvertisedRoute> seen;
  out.for_each_advertised(b, [&](const AdvertisedRoute& r) { seen.push_back(r); });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].prefix, p1);
  EXPECT_TRUE(seen[0].pending);
  ASSERT_TRUE(seen[0].attrs);
  EXPECT_EQ(seen[0].attrs->as_path[0].asns, (std::vector<uint32_t>{65000, 65001, 65010}));
}

TEST_F(AdjRibOutFixture, RouteRefreshResendsTheFamilyWithoutEndOfRib) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  PeerId b = add(peer_cfg("b", "198.51.100.2", 65002));
  up(a, 2);
  up(b, 3);
  drain(a);
  set(a, p1, attrs({65001}, "192.0.2.2"));
  drain(b);
  out.route_refresh(b, Family::V4);
  PullResult r = drain(b);
  EXPECT_EQ(announced(r), (std::set<Prefix>{p1}));
  EXPECT_TRUE(r.end_of_rib.empty());
  EXPECT_EQ(out.advertised(b), 1u);
}

TEST_F(AdjRibOutFixture, ReexportOnlyToPeersWhoseExportSettingsChanged) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  PeerId b = add(peer_cfg("b", "198.51.100.2", 65002));
  PeerId c = add(peer_cfg("c", "203.0.113.2", 65003));
  up(a, 2);
  up(b, 3);
  up(c, 4);
  drain(a);
  set(a, p1, attrs({65001}, "192.0.2.2"));
  drain(b);
  drain(c);
  peers.reconfigure(b, peer_cfg("b", "198.51.100.2", 65002, {"accept-all"}, {"reject-all"}),
                    opts.local_asn);
  out.reexport_changed(policy);
  EXPECT_TRUE(out.has_pending(b));
  EXPECT_FALSE(out.has_pending(c));
  PullResult r = drain(b);
  EXPECT_EQ(r.withdraw, (std::vector<Prefix>{p1}));
  EXPECT_EQ(out.advertised(b), 0u);
  EXPECT_EQ(out.advertised(c), 1u);
}

TEST_F(AdjRibOutFixture, PendingCallbackFiresOncePerTransition) {
  PeerId a = add(peer_cfg("a", "192.0.2.2", 65001));
  PeerId b = add(peer_cfg("b", "198.51.100.2", 65002));
  up(a, 2);
  up(b, 3);
  drain(a);
  drain(b);
  notified.clear();
  set(a, p1, attrs({65001}, "192.0.2.2"));
  set(a, p2, attrs({65001}, "192.0.2.2"));
  EXPECT_EQ(notified, (std::vector<PeerId>{b}));  // two prefixes queued, one call
  drain(b);
  set(a, p3, attrs({65001}, "192.0.2.2"));
  EXPECT_EQ(notified, (std::vector<PeerId>{b, b}));  // drained, then pending again
}

}  // namespace
}  // namespace ferry::rib
