// Rib behaviour through its public API: import rules, RFC 8212, export rules
// (split horizon, route reflection, well-known communities, next-hop-self,
// AS prepend, LOCAL_PREF/MED handling, loops), update packing and coalescing,
// End-of-RIB, route refresh, graceful-restart stale handling, listeners,
// soft reconfiguration and counters.
#include <gtest/gtest.h>

#include <map>

#include "test_util.hpp"

namespace ferry::rib {
namespace {

using test::attrs;
using test::find_announce;
using test::ip;
using test::peer_cfg;
using test::pfx;
using test::pull_all;
using test::session;

struct Recorder : BestPathListener {
  std::vector<std::vector<BestChange>> batches;
  void on_best_changes(std::span<const BestChange> c) override {
    batches.emplace_back(c.begin(), c.end());
  }
};

struct RibFixture : ::testing::Test {
  Rib rib{test::options()};
  Prefix p1 = pfx("203.0.113.0/24");
  Prefix p2 = pfx("198.51.100.0/24");

  PeerId up(PeerConfig c, uint32_t rid, const char* local = "192.0.2.1") {
    PeerId id = rib.add_peer(c);
    rib.peer_up(id, session(rid, local));
    pull_all(rib, id);  // drain the initial dump
    return id;
  }
  void announce(PeerId p, const bgp::PathAttributes& a, Prefix x) {
    rib.announce(p, a, std::span(&x, 1));
  }
  void withdraw(PeerId p, Prefix x) { rib.withdraw(p, std::span(&x, 1)); }
};

// ---- import -------------------------------------------------------------------

TEST_F(RibFixture, EbgpLoopWithOwnAsIsRejected) {
  PeerId e = up(peer_cfg("e", "192.0.2.2", 65001), 2);
  announce(e, attrs({65001, 65000, 65002}, "192.0.2.2"), p1);
  auto v = rib.show_route(p1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].attrs);
  EXPECT_EQ(v[0].reason, LossReason::Rejected);
  EXPECT_EQ(rib.peer_status(e)->counters.loops_rejected, 1u);
  EXPECT_EQ(rib.peer_status(e)->counters.received, 1u);
  EXPECT_EQ(rib.peer_status(e)->counters.accepted, 0u);
}

TEST_F(RibFixture, EbgpLocalPrefIsIgnoredOnImport) {
  PeerId e = up(peer_cfg("e", "192.0.2.2", 65001), 2);
  auto a = attrs({65001}, "192.0.2.2");
  a.local_pref = 5000;
  announce(e, a, p1);
  auto v = rib.show_route(p1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].attrs->local_pref);           // ignored: the decision uses the default 100
  EXPECT_EQ(v[0].pre_policy->local_pref, 5000u);  // pre-policy kept verbatim
}

TEST_F(RibFixture, ReflectionLoopsAreRejected) {
  PeerId i = up(peer_cfg("i", "10.0.0.2", 65000), 2);
  auto a = attrs({}, "10.0.0.9");
  a.originator_id = 0x0a000001;  // our router id
  announce(i, a, p1);
  a.originator_id = 7;
  a.cluster_list = {5, 0x0a000001};  // our cluster id (defaults to the router id)
  announce(i, a, p2);
  EXPECT_FALSE(rib.show_route(p1)[0].attrs);
  EXPECT_FALSE(rib.show_route(p2)[0].attrs);
  EXPECT_EQ(rib.prefix_count(), 2u);  // kept pre-policy in Adj-RIB-In
}

TEST_F(RibFixture, Rfc8212EbgpWithoutPoliciesAcceptsAndSendsNothing) {
  PeerId e = up(peer_cfg("e", "192.0.2.2", 65001, {}, {}), 2);
  PeerId i = up(peer_cfg("i", "10.0.0.2", 65000, {}, {}), 3);
  auto st = rib.peer_status(e);
  EXPECT_TRUE(st->rfc8212_import_blocked);
  EXPECT_TRUE(st->rfc8212_export_blocked);
  EXPECT_FALSE(rib.peer_status(i)->rfc8212_import_blocked);
  announce(e, attrs({65001}, "192.0.2.2"), p1);
  EXPECT_FALSE(rib.show_route(p1)[0].attrs);    // rejected
  announce(i, attrs({65009}, "10.0.0.9"), p2);  // iBGP without policy: accepted
  ASSERT_TRUE(rib.show_route(p2)[0].attrs);
  PullResult r = pull_all(rib, e);
  EXPECT_TRUE(r.announce.empty());  // and nothing is exported to e
}

// ---- export -------------------------------------------------------------------

TEST_F(RibFixture, EbgpExportPrependsStripsAndSetsNextHopSelf) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3, "198.51.100.1");
  auto at = attrs({65001}, "192.0.2.2");
  at.med = 50;
  at.local_pref = 300;
  announce(a, at, p1);
  PullResult r = pull_all(rib, b);
  auto x = find_announce(r, p1);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->attrs->as_path[0].asns, (std::vector<uint32_t>{65000, 65001}));
  EXPECT_FALSE(x->attrs->local_pref);  // §5.1.5
  EXPECT_FALSE(x->attrs->med);         // §5.1.4
  EXPECT_EQ(x->attrs->next_hop, ip("198.51.100.1"));
  // Not sent back to where it came from.
  EXPECT_FALSE(find_announce(pull_all(rib, a), p1));
}

TEST_F(RibFixture, EbgpNextHopSelfCanBeTurnedOff) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  auto c = peer_cfg("b", "198.51.100.2", 65002);
  c.next_hop_self = false;
  PeerId b = up(c, 3, "198.51.100.1");
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  auto x = find_announce(pull_all(rib, b), p1);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->attrs->next_hop, ip("192.0.2.2"));
}

TEST_F(RibFixture, IbgpExportKeepsNextHopAndSetsLocalPref) {
  PeerId e = up(peer_cfg("e", "192.0.2.2", 65001), 2);
  PeerId i = up(peer_cfg("i", "10.0.0.2", 65000), 3, "10.0.0.1");
  announce(e, attrs({65001}, "192.0.2.2"), p1);
  auto x = find_announce(pull_all(rib, i), p1);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->attrs->next_hop, ip("192.0.2.2"));
  EXPECT_EQ(x->attrs->local_pref, 100u);
  EXPECT_EQ(x->attrs->as_path[0].asns, (std::vector<uint32_t>{65001}));  // no prepend inside the AS
}

TEST_F(RibFixture, SenderSideAsLoopCheck) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3);
  announce(a, attrs({65001, 65002, 65003}, "192.0.2.2"), p1);
  EXPECT_FALSE(find_announce(pull_all(rib, b), p1));
}

TEST_F(RibFixture, WellKnownCommunities) {
  PeerId src = up(peer_cfg("src", "10.0.0.2", 65000), 2);
  PeerId ibgp = up(peer_cfg("i", "10.0.0.3", 65000), 3);
  PeerId ebgp = up(peer_cfg("e", "192.0.2.2", 65001), 4);
  (void)ibgp;
  // From an RR client so the iBGP peer may receive it at all.
  auto c = peer_cfg("src", "10.0.0.2", 65000);
  c.route_reflector_client = true;
  rib.update_peer(src, c);
  Prefix no_export = pfx("10.10.0.0/16"), no_adv = pfx("10.20.0.0/16"),
         subconfed = pfx("10.30.0.0/16");
  auto a = attrs({65100}, "10.0.0.2");
  a.communities = {bgp::kNoExport};
  announce(src, a, no_export);
  a.communities = {bgp::kNoAdvertise};
  announce(src, a, no_adv);
  a.communities = {bgp::kNoExportSubconfed};
  announce(src, a, subconfed);
  PullResult ri = pull_all(rib, ibgp), re = pull_all(rib, ebgp);
  EXPECT_TRUE(find_announce(ri, no_export));
  EXPECT_TRUE(find_announce(ri, subconfed));
  EXPECT_FALSE(find_announce(ri, no_adv));
  EXPECT_FALSE(find_announce(re, no_export));
  EXPECT_FALSE(find_announce(re, subconfed));
  EXPECT_FALSE(find_announce(re, no_adv));
}

TEST_F(RibFixture, IbgpSplitHorizonWithoutReflection) {
  PeerId i1 = up(peer_cfg("i1", "10.0.0.2", 65000), 2);
  PeerId i2 = up(peer_cfg("i2", "10.0.0.3", 65000), 3);
  PeerId e = up(peer_cfg("e", "192.0.2.2", 65001), 4);
  announce(i1, attrs({65100}, "10.0.0.2"), p1);
  EXPECT_FALSE(find_announce(pull_all(rib, i2), p1));
  EXPECT_TRUE(find_announce(pull_all(rib, e), p1));
}

TEST_F(RibFixture, RouteReflectionClientAndNonClientRules) {
  auto cc = [](const char* n, const char* a) {
    auto c = peer_cfg(n, a, 65000);
    c.route_reflector_client = true;
    return c;
  };
  PeerId c1 = up(cc("c1", "10.0.0.2"), 0x02020202);
  PeerId c2 = up(cc("c2", "10.0.0.3"), 0x03030303);
  PeerId n1 = up(peer_cfg("n1", "10.0.0.4", 65000), 0x04040404);
  PeerId n2 = up(peer_cfg("n2", "10.0.0.5", 65000), 0x05050505);
  (void)n2;
  // From a client: to all other clients and non-clients, with ORIGINATOR_ID
  // and CLUSTER_LIST set (RFC 4456 §8).
  announce(c1, attrs({}, "10.0.0.2"), p1);
  auto x = find_announce(pull_all(rib, c2), p1);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->attrs->originator_id, 0x02020202u);
  EXPECT_EQ(x->attrs->cluster_list, (std::vector<uint32_t>{0x0a000001}));
  EXPECT_EQ(x->attrs->next_hop, ip("10.0.0.2"));  // unchanged on reflection
  EXPECT_TRUE(find_announce(pull_all(rib, n1), p1));
  EXPECT_FALSE(find_announce(pull_all(rib, c1), p1));
  // From a non-client: to clients only; an existing ORIGINATOR_ID is kept and
  // our cluster id is prepended.
  auto a = attrs({}, "10.0.0.4");
  a.originator_id = 0x09090909;
  a.cluster_list = {0x77};
  announce(n1, a, p2);
  x = find_announce(pull_all(rib, c1), p2);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->attrs->originator_id, 0x09090909u);
  EXPECT_EQ(x->attrs->cluster_list, (std::vector<uint32_t>{0x0a000001, 0x77}));
  EXPECT_FALSE(find_announce(pull_all(rib, n2), p2));
}

TEST_F(RibFixture, LocalRoutesExportWithNextHopSelfAndWinAtEqualLocalPref) {
  PeerId e = up(peer_cfg("e", "192.0.2.2", 65001), 2);
  PeerId i = up(peer_cfg("i", "10.0.0.2", 65000), 3, "10.0.0.1");
  announce(e, attrs({65001}, "192.0.2.2"), p1);
  rib.originate(RouteSource::Network, p1, bgp::PathAttributes{});
  auto v = rib.show_route(p1);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].best);
  EXPECT_EQ(v[0].source, RouteSource::Network);
  EXPECT_EQ(v[0].attrs->origin, bgp::Origin::Igp);
  EXPECT_EQ(v[1].reason, LossReason::AsPathLength);
  PullResult r = pull_all(rib, e);
  auto x = find_announce(r, p1);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->attrs->as_path[0].asns, (std::vector<uint32_t>{65000}));
  EXPECT_EQ(x->attrs->next_hop, ip("192.0.2.1"));
  x = find_announce(pull_all(rib, i), p1);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->attrs->next_hop, ip("10.0.0.1"));
  EXPECT_TRUE(x->attrs->as_path.empty());
  rib.unoriginate(RouteSource::Network, p1);
  EXPECT_TRUE(rib.show_route(p1)[0].best);
  EXPECT_EQ(rib.show_route(p1)[0].peer, e);
}

TEST_F(RibFixture, ExportPolicyRejectsAndSetsMedThatCrossesTheBorder) {
  config::PolicyConfig p;
  p.name = "out";
  config::PolicyTerm t;
  t.match.prefixes = {config::PrefixMatch{pfx("198.51.100.0/24"), -1, -1}};
  t.action = config::PolicyAction::Reject;
  config::PolicyTerm t2;
  t2.set.med = 42;
  t2.action = config::PolicyAction::Accept;
  p.terms = {t, t2};
  rib.set_policies({p});
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002, {"accept-all"}, {"out"}), 3);
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  announce(a, attrs({65001}, "192.0.2.2"), p2);
  PullResult r = pull_all(rib, b);
  ASSERT_TRUE(find_announce(r, p1));
  EXPECT_EQ(find_announce(r, p1)->attrs->med, 42u);
  EXPECT_FALSE(find_announce(r, p2));
}

// ---- update generation ------------------------------------------------------------

TEST_F(RibFixture, InitialDumpPacksByAttributeSetThenEndOfRib) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  std::vector<Prefix> set1, set2;
  for (int i = 0; i < 50; ++i) set1.push_back(pfx("10.1." + std::to_string(i) + ".0/24"));
  for (int i = 0; i < 30; ++i) set2.push_back(pfx("10.2." + std::to_string(i) + ".0/24"));
  rib.announce(a, attrs({65001}, "192.0.2.2"), set1);
  rib.announce(a, attrs({65001, 65005}, "192.0.2.2"), set2);
  PeerId b = rib.add_peer(peer_cfg("b", "198.51.100.2", 65002));
  PeerSession s = session(3, "198.51.100.1");
  s.families = {Family::V4};
  rib.peer_up(b, s);
  EXPECT_TRUE(rib.has_pending(b));
  PullResult r = pull_all(rib, b);
  ASSERT_EQ(r.announce.size(), 2u);  // two attribute sets, two batches
  EXPECT_EQ(r.announce[0].prefixes.size() + r.announce[1].prefixes.size(), 80u);
  EXPECT_EQ(r.end_of_rib, (std::vector<Family>{Family::V4}));
  EXPECT_FALSE(rib.has_pending(b));
  EXPECT_EQ(rib.peer_status(b)->counters.advertised, 80u);
}

TEST_F(RibFixture, DumpWithConcurrentChangesSendsEachPrefixOnceThenEndOfRib) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  std::vector<Prefix> v;
  for (int i = 0; i < 200; ++i) v.push_back(pfx("10.4." + std::to_string(i) + ".0/24"));
  rib.announce(a, attrs({65001}, "192.0.2.2"), v);
  PeerId b = rib.add_peer(peer_cfg("b", "198.51.100.2", 65002));
  PeerSession s = session(3, "198.51.100.1");
  s.families = {Family::V4};
  rib.peer_up(b, s);
  std::map<Prefix, int> sent;
  std::vector<std::string> events;
  bool eor = false;
  for (int round = 0; round < 1000; ++round) {
    // Change some prefixes (and add new ones) between small pulls, which
    // also grows and rebuilds the prefix table under the walk.
    if (round < 10) {
      std::vector<Prefix> changed = {v[static_cast<size_t>(round)],
                                     v[static_cast<size_t>(199 - round)]};
      for (int k = 0; k < 20; ++k)
        changed.push_back(
            pfx("10.5." + std::to_string(round) + "." + std::to_string(k * 8) + "/29"));
      rib.announce(a, attrs({65001, 65100 + static_cast<uint32_t>(round)}, "192.0.2.2"), changed);
    }
    PullResult r = rib.pull_updates(b, 7);
    for (const auto& batch : r.announce)
      for (const auto& p : batch.prefixes) {
        EXPECT_FALSE(eor) << "announcement after End-of-RIB for an initial prefix";
        ++sent[p];
      }
    if (!r.end_of_rib.empty()) eor = true;
    if (!r.more) break;
  }
  EXPECT_TRUE(eor);
  // Every prefix was sent exactly once unless it changed after being sent.
  for (const auto& [p, n] : sent) EXPECT_LE(n, 2) << p.str();
  EXPECT_EQ(sent.size(), 200u + 10u * 20u);
  // Prefixes that never changed: exactly once (changed ones may legitimately
  // go twice: the walk sent the old state, the queue the new one).
  for (int i = 10; i < 190; ++i) EXPECT_EQ(sent[v[static_cast<size_t>(i)]], 1) << i;
}

TEST_F(RibFixture, BudgetLimitsEachPull) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3, "198.51.100.1");
  std::vector<Prefix> v;
  for (int i = 0; i < 25; ++i) v.push_back(pfx("10.1." + std::to_string(i) + ".0/24"));
  rib.announce(a, attrs({65001}, "192.0.2.2"), v);
  size_t total = 0;
  int calls = 0;
  for (;;) {
    PullResult r = rib.pull_updates(b, 10);
    size_t n = 0;
    for (auto& x : r.announce) n += x.prefixes.size();
    EXPECT_LE(n, 10u);
    total += n;
    ++calls;
    if (!r.more) break;
  }
  EXPECT_EQ(total, 25u);
  EXPECT_EQ(calls, 3);
}

TEST_F(RibFixture, PendingChangesCoalesce) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3, "198.51.100.1");
  int wakeups = 0;
  rib.set_pending_callback([&](PeerId p) { wakeups += p == b; });
  // Flap twice before b pulls: one announcement in the latest state.
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  withdraw(a, p1);
  announce(a, attrs({65001, 65007}, "192.0.2.2"), p1);
  EXPECT_EQ(wakeups, 1);
  PullResult r = pull_all(rib, b);
  ASSERT_EQ(r.announce.size(), 1u);
  ASSERT_EQ(r.announce[0].prefixes.size(), 1u);
  EXPECT_EQ(r.announce[0].attrs->as_path[0].asns, (std::vector<uint32_t>{65000, 65001, 65007}));
  EXPECT_TRUE(r.withdraw.empty());
  // Announce + withdraw before a pull of something never sent: nothing at all.
  announce(a, attrs({65001}, "192.0.2.2"), p2);
  withdraw(a, p2);
  r = pull_all(rib, b);
  EXPECT_TRUE(r.announce.empty());
  EXPECT_TRUE(r.withdraw.empty());
  // A real withdrawal of something sent.
  withdraw(a, p1);
  r = pull_all(rib, b);
  EXPECT_EQ(r.withdraw, (std::vector<Prefix>{p1}));
  EXPECT_EQ(rib.peer_status(b)->counters.advertised, 0u);
}

TEST_F(RibFixture, RouteRefreshResendsTheTable) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3, "198.51.100.1");
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  EXPECT_TRUE(find_announce(pull_all(rib, b), p1));
  EXPECT_TRUE(pull_all(rib, b).announce.empty());
  rib.route_refresh(b, Family::V4);
  PullResult r = pull_all(rib, b);
  EXPECT_TRUE(find_announce(r, p1));
  EXPECT_TRUE(r.end_of_rib.empty());
}

TEST_F(RibFixture, ManyPeersBeyondTheAdvertisedBitmap) {
  PeerId src = up(peer_cfg("src", "192.0.2.2", 65001), 2);
  std::vector<PeerId> rx;
  for (int i = 0; i < 40; ++i) {
    std::string addr = "198.51.100." + std::to_string(10 + i);
    rx.push_back(up(peer_cfg("r" + std::to_string(i), addr, 65100 + i), 100 + i, "198.51.100.1"));
  }
  announce(src, attrs({65001}, "192.0.2.2"), p1);
  for (PeerId r : rx) EXPECT_TRUE(find_announce(pull_all(rib, r), p1));
  withdraw(src, p1);
  for (PeerId r : rx) {
    EXPECT_EQ(pull_all(rib, r).withdraw, (std::vector<Prefix>{p1}));
    EXPECT_EQ(rib.peer_status(r)->counters.advertised, 0u);
  }
  EXPECT_EQ(rib.prefix_count(), 0u);
}

// ---- graceful restart ------------------------------------------------------------

TEST_F(RibFixture, GracefulRestartStaleMarkAndSweep) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  Prefix v6 = pfx("2001:db8:1::/48");
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  announce(a, attrs({65001}, "192.0.2.2"), p2);
  announce(a, attrs({65001}, "2001:db8::2"), v6);
  rib.peer_down(a, true);
  auto v = rib.show_route(p1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].stale);
  EXPECT_TRUE(v[0].best);  // still used while the peer restarts
  rib.peer_up(a, session(2));
  announce(a, attrs({65001}, "192.0.2.2"), p1);  // refreshed
  EXPECT_FALSE(rib.show_route(p1)[0].stale);
  rib.end_of_rib(a, Family::V4);  // sweeps p2 only
  EXPECT_EQ(rib.show_route(p2).size(), 0u);
  EXPECT_EQ(rib.show_route(p1).size(), 1u);
  ASSERT_EQ(rib.show_route(v6).size(), 1u);
  EXPECT_EQ(rib.sweep_stale(a, Family::V6), 1u);  // the timer path
  EXPECT_EQ(rib.show_route(v6).size(), 0u);
}

TEST_F(RibFixture, SelectionDeferralDecidesNothingUntilItEnds) {
  // RFC 4724 §4.1: a restarting speaker defers route selection until
  // End-of-RIB from its peers (or the deferral timer).
  Recorder rec;
  rib.add_listener(&rec);
  rib.set_selection_deferred(true);
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3, "198.51.100.1");
  auto longer = attrs({65001, 65009}, "192.0.2.2");
  announce(a, longer, p1);  // alone it would win, then lose to b's path
  announce(b, attrs({65002}, "198.51.100.2"), p1);
  EXPECT_TRUE(rec.batches.empty());  // nothing reaches the FIB
  for (const auto& v : rib.show_route(p1)) EXPECT_FALSE(v.best);
  EXPECT_TRUE(pull_all(rib, a).announce.empty());  // nor the peers
  rib.set_selection_deferred(false);
  ASSERT_EQ(rec.batches.size(), 1u);  // one decision per prefix, straight to the final best
  ASSERT_EQ(rec.batches[0].size(), 1u);
  EXPECT_EQ(rec.batches[0][0].next_hops.at(0).address, ip("198.51.100.2"));
  EXPECT_TRUE(find_announce(pull_all(rib, a), p1));
  rib.remove_listener(&rec);
}

TEST_F(RibFixture, PeerDownRemovesRoutesAndWithdrawsFromOthers) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3, "198.51.100.1");
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  pull_all(rib, b);
  rib.peer_down(a);
  EXPECT_EQ(rib.prefix_count(), 0u);
  EXPECT_EQ(pull_all(rib, b).withdraw, (std::vector<Prefix>{p1}));
  EXPECT_EQ(rib.peer_status(a)->counters.received, 0u);
}

TEST_F(RibFixture, RemovePeerDropsItsRoutesAndFreesItsSlot) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3, "198.51.100.1");
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  pull_all(rib, b);
  EXPECT_EQ(test::peer_at(rib, ip("192.0.2.2")), a);
  rib.remove_peer(a);
  EXPECT_FALSE(rib.peer_status(a));
  EXPECT_FALSE(test::peer_at(rib, ip("192.0.2.2")));
  EXPECT_EQ(rib.peers().size(), 1u);
  EXPECT_EQ(rib.prefix_count(), 0u);
  EXPECT_EQ(pull_all(rib, b).withdraw, (std::vector<Prefix>{p1}));
  // A new peer reuses the Adj-RIB-Out bit without inheriting state.
  PeerId c = up(peer_cfg("c", "203.0.113.2", 65003), 4, "203.0.113.1");
  EXPECT_EQ(rib.peer_status(c)->counters.advertised, 0u);
  announce(b, attrs({65002}, "198.51.100.2"), p2);
  EXPECT_TRUE(find_announce(pull_all(rib, c), p2));
}

// ---- best-path feed -------------------------------------------------------------------

TEST_F(RibFixture, ListenerGetsBatchesWithEcmpNextHops) {
  RibOptions o = test::options();
  o.max_paths = 2;
  rib.set_options(o);
  Recorder rec;
  rib.add_listener(&rec);
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "192.0.2.3", 65001), 3);
  std::vector<Prefix> both = {p1, p2};
  rib.announce(a, attrs({65001}, "192.0.2.2"), both);
  ASSERT_EQ(rec.batches.size(), 1u);  // one call, one batch
  EXPECT_EQ(rec.batches[0].size(), 2u);
  announce(b, attrs({65001}, "192.0.2.3"), p1);
  ASSERT_EQ(rec.batches.size(), 2u);
  ASSERT_EQ(rec.batches[1].size(), 1u);
  EXPECT_EQ(rec.batches[1][0].next_hops,
            (std::vector<NextHop>{{ip("192.0.2.2"), a}, {ip("192.0.2.3"), b}}));
  withdraw(a, p1);
  withdraw(b, p1);
  ASSERT_EQ(rec.batches.size(), 4u);
  EXPECT_TRUE(rec.batches[3][0].next_hops.empty());  // gone
  size_t with_next_hops = 0;
  rib.for_each_best([&](const Prefix&, const PathView&, std::span<const NextHop> nh) {
    if (!nh.empty()) ++with_next_hops;
  });
  EXPECT_EQ(with_next_hops, 1u);
  rib.remove_listener(&rec);
}

TEST_F(RibFixture, UnreachableNextHopFromResolver) {
  bool reachable = true;
  Rib r(test::options(), [&](const IpAddress&) { return NextHopInfo{reachable, 10}; });
  PeerId a = r.add_peer(peer_cfg("a", "192.0.2.2", 65001));
  r.peer_up(a, session(2));
  r.announce(a, attrs({65001}, "192.0.2.2"), std::span(&p1, 1));
  EXPECT_TRUE(r.show_route(p1)[0].best);
  EXPECT_EQ(r.show_route(p1)[0].igp_cost, 10u);
  reachable = false;
  r.next_hops_changed();
  EXPECT_FALSE(r.show_route(p1)[0].best);
  EXPECT_EQ(r.show_route(p1)[0].reason, LossReason::NextHopUnreachable);
}

// ---- soft reconfiguration ---------------------------------------------------------------

TEST_F(RibFixture, ReapplyPoliciesUsesStoredPrePolicyRoutes) {
  config::PolicyConfig lp;
  lp.name = "lp";
  config::PolicyTerm t;
  t.set.local_pref = 250;
  t.action = config::PolicyAction::Accept;
  lp.terms = {t};
  rib.set_policies({lp});
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001, {"reject-all"}), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3, "198.51.100.1");
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  EXPECT_FALSE(rib.show_route(p1)[0].attrs);
  EXPECT_TRUE(pull_all(rib, b).announce.empty());
  rib.update_peer(a, peer_cfg("a", "192.0.2.2", 65001, {"lp"}));
  rib.reapply_policies();
  auto v = rib.show_route(p1);
  ASSERT_TRUE(v[0].attrs);
  EXPECT_EQ(v[0].attrs->local_pref, 250u);
  EXPECT_EQ(rib.peer_status(a)->counters.accepted, 1u);
  EXPECT_TRUE(find_announce(pull_all(rib, b), p1));
  // Export side: b's policy becomes reject-all: withdrawn without a reset.
  rib.update_peer(b, peer_cfg("b", "198.51.100.2", 65002, {"accept-all"}, {"reject-all"}));
  rib.reapply_policies();
  EXPECT_EQ(pull_all(rib, b).withdraw, (std::vector<Prefix>{p1}));
}

TEST_F(RibFixture, ReloadWithoutExportChangesSendsNothing) {
  config::PolicyConfig out;
  out.name = "out";
  out.default_action = config::PolicyAction::Accept;
  rib.set_policies({out});
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002, {"accept-all"}, {"out"}), 3, "198.51.100.1");
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  EXPECT_TRUE(find_announce(pull_all(rib, b), p1));
  rib.set_policies({out});  // same content
  rib.reapply_policies();
  EXPECT_FALSE(rib.has_pending(b));
  // A real change to a policy b uses: re-exported.
  config::PolicyTerm t;
  t.set.med = 5;
  t.action = config::PolicyAction::Accept;
  out.terms = {t};
  rib.set_policies({out});
  rib.reapply_policies();
  auto x = find_announce(pull_all(rib, b), p1);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->attrs->med, 5u);
}

TEST_F(RibFixture, ReapplyReevaluatesOnlyPeersWhoseImportChanged) {
  config::PolicyConfig in;
  in.name = "in";
  in.default_action = config::PolicyAction::Accept;
  rib.set_policies({in});
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001, {"in"}), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3, "198.51.100.1");
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  announce(b, attrs({65002}, "198.51.100.2"), p2);
  // Nothing changed (the same policies again): nobody's paths are walked.
  rib.set_policies({in});
  rib.reapply_policies();
  EXPECT_EQ(rib.peer_status(a)->counters.reevaluated, 0u);
  EXPECT_EQ(rib.peer_status(b)->counters.reevaluated, 0u);
  // a's import policy changes: only a's stored paths go through it again.
  in.default_action = config::PolicyAction::Reject;
  rib.set_policies({in});
  rib.reapply_policies();
  EXPECT_EQ(rib.peer_status(a)->counters.reevaluated, 1u);
  EXPECT_EQ(rib.peer_status(b)->counters.reevaluated, 0u);
  EXPECT_FALSE(rib.show_route(p1)[0].attrs);
  EXPECT_TRUE(rib.show_route(p2)[0].attrs);
  // b's own import list changes: only b.
  rib.update_peer(b, peer_cfg("b", "198.51.100.2", 65002, {"in"}));
  rib.reapply_policies();
  EXPECT_EQ(rib.peer_status(a)->counters.reevaluated, 1u);
  EXPECT_EQ(rib.peer_status(b)->counters.reevaluated, 1u);
  EXPECT_FALSE(rib.show_route(p2)[0].attrs);
}

TEST_F(RibFixture, WideningAnExportPolicyKeepsWhatItAcceptedBefore) {
  config::PolicyConfig out;
  out.name = "out";
  out.default_action = config::PolicyAction::Reject;
  config::PolicyTerm t;
  t.name = "lan";
  t.action = config::PolicyAction::Accept;
  t.match.prefixes = {config::PrefixMatch{pfx("203.0.113.0/24"), -1, 24}};
  out.terms = {t};
  rib.set_policies({out});
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002, {"accept-all"}, {"out"}), 3, "198.51.100.1");
  announce(a, attrs({65001}, "192.0.2.2"), p1);
  announce(a, attrs({65001}, "192.0.2.2"), p2);
  auto r = pull_all(rib, b);
  EXPECT_TRUE(find_announce(r, p1));
  EXPECT_FALSE(find_announce(r, p2));
  out.terms[0].match.prefixes.push_back(config::PrefixMatch{pfx("198.51.0.0/16"), -1, 24});
  rib.set_policies({out});
  rib.reapply_policies();
  r = pull_all(rib, b);
  EXPECT_TRUE(find_announce(r, p2));
  EXPECT_TRUE(r.withdraw.empty());
  EXPECT_EQ(rib.peer_status(b)->counters.advertised, 2u);
}

TEST_F(RibFixture, InterningSharesAttributeSetsAndFreesThem) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  std::vector<Prefix> v;
  for (int i = 0; i < 100; ++i) v.push_back(pfx("10.3." + std::to_string(i) + ".0/24"));
  rib.announce(a, attrs({65001}, "192.0.2.2"), v);
  MemoryStats m = rib.memory_stats();
  EXPECT_EQ(m.prefixes, 100u);
  EXPECT_EQ(m.paths, 100u);
  EXPECT_LE(m.attr_sets, 2u);  // pre-policy + post-policy (LOCAL_PREF 100 added)
  rib.withdraw(a, v);
  EXPECT_EQ(rib.memory_stats().attr_sets, 0u);
  EXPECT_EQ(rib.prefix_count(), 0u);
}

}  // namespace
}  // namespace ferry::rib
