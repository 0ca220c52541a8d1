// Per-neighbor path preference and export knobs through the Rib API: a
// neighbor's LOCAL_PREF and weight on import and in the decision, AS_PATH
// prepend on export (active/standby tunnels), the export budget
// (max-prefixes-out: held back, released when space frees, aggregated,
// switched on and off by a reload without a reset), and why a prefix is not
// advertised to a neighbor.
#include <gtest/gtest.h>

#include <set>

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

struct KnobsFixture : ::testing::Test {
  Rib rib{test::options()};
  std::vector<BudgetStatus> warnings;

  KnobsFixture() {
    rib.set_budget_listener([this](PeerId, const BudgetStatus& b) { warnings.push_back(b); });
  }
  PeerId up(PeerConfig c, uint32_t rid, const char* local = "192.0.2.1") {
    PeerId id = rib.add_peer(c);
    rib.peer_up(id, session(rid, local));
    pull_all(rib, id);
    return id;
  }
  void announce(PeerId p, const bgp::PathAttributes& a, Prefix x) {
    rib.announce(p, a, std::span(&x, 1));
  }
  void withdraw(PeerId p, Prefix x) { rib.withdraw(p, std::span(&x, 1)); }
  static std::set<Prefix> announced(const PullResult& r) {
    std::set<Prefix> s;
    for (const auto& b : r.announce) s.insert(b.prefixes.begin(), b.prefixes.end());
    return s;
  }
  std::string reason(PeerId to, const Prefix& p) {
    for (const auto& s : rib.export_status(p))
      if (s.peer == to) return s.reason;
    return "none";
  }
};

TEST_F(KnobsFixture, NeighborLocalPrefAppliesToItsRoutesAndDecides) {
  PeerConfig ca = peer_cfg("primary", "192.0.2.2", 65001);
  ca.local_pref = 200;
  PeerId a = up(ca, 2);
  PeerId b = up(peer_cfg("backup", "192.0.2.3", 65002), 3);
  Prefix p = pfx("10.9.0.0/16");
  announce(b, attrs({65002}, "192.0.2.3"), p);                // shorter-equal path
  announce(a, attrs({65001, 65001, 65001}, "192.0.2.2"), p);  // longer AS_PATH
  auto v = rib.show_route(p);
  ASSERT_EQ(v.size(), 2u);
  for (const auto& x : v) {
    if (x.peer == a) {
      EXPECT_TRUE(x.best);
      EXPECT_EQ(x.attrs->local_pref, 200u);
    } else {
      EXPECT_EQ(x.reason, LossReason::LocalPref);
    }
  }
}

TEST_F(KnobsFixture, WeightDecidesBeforeLocalPref) {
  PeerConfig ca = peer_cfg("a", "192.0.2.2", 65001);
  ca.weight = 100;
  PeerConfig cb = peer_cfg("b", "192.0.2.3", 65002);
  cb.local_pref = 500;
  PeerId a = up(ca, 2);
  PeerId b = up(cb, 3);
  Prefix p = pfx("10.9.0.0/16");
  announce(a, attrs({65001}, "192.0.2.2"), p);
  announce(b, attrs({65002}, "192.0.2.3"), p);
  for (const auto& x : rib.show_route(p)) {
    if (x.peer == a) {
      EXPECT_TRUE(x.best);
    } else {
      EXPECT_EQ(x.reason, LossReason::Weight);
    }
  }
}

TEST_F(KnobsFixture, PrependAddsCopiesOfOurAsTowardsTheNeighbor) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerConfig cs = peer_cfg("standby", "198.51.100.2", 65002);
  cs.prepend = 2;
  PeerId s = up(cs, 3, "198.51.100.1");
  PeerId n = up(peer_cfg("normal", "198.51.100.3", 65003), 4, "198.51.100.1");
  Prefix p = pfx("10.9.0.0/16");
  announce(a, attrs({65001}, "192.0.2.2"), p);
  auto xs = find_announce(pull_all(rib, s), p);
  auto xn = find_announce(pull_all(rib, n), p);
  ASSERT_TRUE(xs && xn);
  EXPECT_EQ(xs->attrs->as_path[0].asns, (std::vector<uint32_t>{65000, 65000, 65000, 65001}));
  EXPECT_EQ(xn->attrs->as_path[0].asns, (std::vector<uint32_t>{65000, 65001}));
}

TEST_F(KnobsFixture, BudgetHoldsBackWarnsAndReleasesWhenSpaceFrees) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerConfig cc = peer_cfg("cloud", "169.254.0.1", 64512);
  cc.max_prefixes_out = 3;
  PeerId c = up(cc, 3, "169.254.0.2");
  std::vector<Prefix> ps;
  for (int i = 0; i < 5; ++i) ps.push_back(pfx("10." + std::to_string(i) + ".0.0/16"));
  for (const auto& p : ps) announce(a, attrs({65001}, "192.0.2.2"), p);
  PullResult r = pull_all(rib, c);
  EXPECT_EQ(announced(r), (std::set<Prefix>{ps[0], ps[1], ps[2]}));
  auto st = rib.peer_status(c)->budget;
  ASSERT_TRUE(st);
  EXPECT_EQ(st->used, 3u);
  EXPECT_EQ(st->held, 2u);
  EXPECT_EQ(rib.peer_status(c)->counters.advertised, 3u);
  ASSERT_EQ(warnings.size(), 1u);  // one warning, not one per pull
  EXPECT_EQ(reason(c, ps[4]), "export_budget");
  EXPECT_EQ(reason(c, ps[0]), "advertised");
  // A withdrawal frees a slot: the first held prefix takes it, in the same update.
  withdraw(a, ps[1]);
  r = pull_all(rib, c);
  EXPECT_EQ(r.withdraw, (std::vector<Prefix>{ps[1]}));
  EXPECT_EQ(announced(r), (std::set<Prefix>{ps[3]}));
  EXPECT_EQ(rib.peer_status(c)->budget->held, 1u);
  // Never a session reset: the peer stays up throughout.
  EXPECT_TRUE(rib.peer_status(c)->up);
}

TEST_F(KnobsFixture, BudgetAggregatesIntoACandidateTheSiteOwns) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerConfig cc = peer_cfg("cloud", "169.254.0.1", 64512);
  cc.max_prefixes_out = 2;
  cc.aggregate_candidates = {pfx("10.20.0.0/16")};
  PeerId c = up(cc, 3, "169.254.0.2");
  announce(a, attrs({65001}, "192.0.2.2"), pfx("172.16.0.0/24"));
  for (int i = 0; i < 4; ++i)
    announce(a, attrs({65001, 65010 + static_cast<uint32_t>(i)}, "192.0.2.2"),
             pfx("10.20." + std::to_string(i) + ".0/24"));
  PullResult r = pull_all(rib, c);
  EXPECT_EQ(announced(r), (std::set<Prefix>{pfx("10.20.0.0/16"), pfx("172.16.0.0/24")}));
  auto agg = find_announce(r, pfx("10.20.0.0/16"));
  ASSERT_TRUE(agg);
  // RFC 4271 §9.2.2.2: our AS and the common 65001, then an AS_SET of the rest.
  ASSERT_EQ(agg->attrs->as_path.size(), 2u);
  EXPECT_EQ(agg->attrs->as_path[0].asns, (std::vector<uint32_t>{65000, 65001}));
  EXPECT_EQ(agg->attrs->as_path[1].type, bgp::SegmentType::Set);
  EXPECT_EQ(agg->attrs->aggregator->asn, 65000u);
  EXPECT_EQ(reason(c, pfx("10.20.1.0/24")), "aggregated");
  // Withdrawing all but one more-specific: back under budget, the aggregate goes.
  for (int i = 1; i < 4; ++i) withdraw(a, pfx("10.20." + std::to_string(i) + ".0/24"));
  r = pull_all(rib, c);
  EXPECT_EQ(announced(r), (std::set<Prefix>{pfx("10.20.0.0/24")}));
  EXPECT_EQ(std::set<Prefix>(r.withdraw.begin(), r.withdraw.end()),
            (std::set<Prefix>{pfx("10.20.0.0/16")}));
}

TEST_F(KnobsFixture, ReloadSwitchesTheBudgetOnAndOffWithoutAReset) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerConfig cc = peer_cfg("cloud", "169.254.0.1", 64512);
  PeerId c = up(cc, 3, "169.254.0.2");
  std::vector<Prefix> ps;
  for (int i = 0; i < 4; ++i) ps.push_back(pfx("10." + std::to_string(i) + ".0.0/16"));
  for (const auto& p : ps) announce(a, attrs({65001}, "192.0.2.2"), p);
  EXPECT_EQ(announced(pull_all(rib, c)).size(), 4u);
  cc.max_prefixes_out = 2;
  rib.update_peer(c, cc);
  rib.reapply_policies();
  PullResult r = pull_all(rib, c);
  EXPECT_EQ(std::set<Prefix>(r.withdraw.begin(), r.withdraw.end()),
            (std::set<Prefix>{ps[2], ps[3]}));
  EXPECT_EQ(rib.peer_status(c)->counters.advertised, 2u);
  cc.max_prefixes_out.reset();
  rib.update_peer(c, cc);
  rib.reapply_policies();
  r = pull_all(rib, c);
  EXPECT_EQ(announced(r), (std::set<Prefix>{ps[0], ps[1], ps[2], ps[3]}));
  EXPECT_TRUE(r.withdraw.empty());
  EXPECT_EQ(rib.peer_status(c)->counters.advertised, 4u);
  EXPECT_FALSE(rib.peer_status(c)->budget);
}

TEST_F(KnobsFixture, ExportStatusNamesTheRuleThatStopsARoute) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId ib = up(peer_cfg("ibgp", "10.0.0.2", 65000), 4, "10.0.0.1");
  PeerId ib2 = up(peer_cfg("ibgp2", "10.0.0.3", 65000), 5, "10.0.0.1");
  PeerId none = up(peer_cfg("nopolicy", "198.51.100.5", 65005, {"accept-all"}, {}), 6);
  PeerId loop = up(peer_cfg("loop", "198.51.100.6", 65010), 7);
  PeerId down = rib.add_peer(peer_cfg("down", "198.51.100.7", 65007));
  Prefix p = pfx("10.9.0.0/16");
  announce(a, attrs({65001, 65010}, "192.0.2.2"), p);
  Prefix q = pfx("10.10.0.0/16");
  auto ne = attrs({65000}, "10.0.0.9");
  ne.local_pref = 100;
  ne.communities = {bgp::kNoExport};
  announce(ib, ne, q);
  EXPECT_EQ(reason(ib, p), "pending");  // exportable, not pulled yet
  pull_all(rib, ib);
  EXPECT_EQ(reason(a, p), "learned_from_this_neighbor");
  EXPECT_EQ(reason(ib, p), "advertised");
  EXPECT_EQ(reason(none, p), "rfc8212_no_export_policy");
  EXPECT_EQ(reason(loop, p), "as_path_loop");
  EXPECT_EQ(reason(down, p), "not_established");
  EXPECT_EQ(reason(a, q), "no_export");
  EXPECT_EQ(reason(ib2, q), "ibgp_split_horizon");
  EXPECT_EQ(reason(ib, pfx("10.99.0.0/16")), "no_route");
}

TEST_F(KnobsFixture, SuspendedExportWithdrawsEverythingAndResumesWithoutAReset) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId c = up(peer_cfg("c", "198.51.100.2", 65002), 3, "198.51.100.1");
  Prefix p = pfx("10.9.0.0/16"), q = pfx("10.10.0.0/16");
  announce(a, attrs({65001}, "192.0.2.2"), p);
  announce(a, attrs({65001}, "192.0.2.2"), q);
  EXPECT_EQ(announced(pull_all(rib, c)).size(), 2u);
  rib.set_export_suspended(c, true);  // the health check c depends on went down
  PullResult r = pull_all(rib, c);
  EXPECT_EQ(std::set<Prefix>(r.withdraw.begin(), r.withdraw.end()), (std::set<Prefix>{p, q}));
  EXPECT_EQ(reason(c, p), "health_check");
  // New routes stay out while suspended.
  Prefix n = pfx("10.11.0.0/16");
  announce(a, attrs({65001}, "192.0.2.2"), n);
  EXPECT_TRUE(pull_all(rib, c).announce.empty());
  // A session flap does not lift the suspension.
  rib.peer_down(c);
  rib.peer_up(c, session(3, "198.51.100.1"));
  EXPECT_TRUE(pull_all(rib, c).announce.empty());
  rib.set_export_suspended(c, false);
  EXPECT_EQ(announced(pull_all(rib, c)), (std::set<Prefix>{p, q, n}));
  EXPECT_TRUE(rib.peer_status(c)->up);
}

}  // namespace
}  // namespace ferry::rib
