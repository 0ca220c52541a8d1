// RFC 4271 §9.1 decision process: one test per step (it decides, and the
// loser reports that step), and order independence over every insertion and
// withdrawal order of a candidate set.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "rib/decision.hpp"
#include "test_util.hpp"

namespace ferry::rib {
namespace {

using test::attrs;
using test::ip;
using test::pfx;

// Two-candidate harness over decide(): candidate 0 must win at `why`.
struct Two {
  bgp::PathAttributes a = attrs({65001}, "10.0.0.1"), b = attrs({65001}, "10.0.0.2");
  Candidate ca, cb;
  Two() {
    ca.router_id = 1;
    cb.router_id = 1;
    ca.peer_address = ip("10.0.0.1");
    cb.peer_address = ip("10.0.0.1");
    ca.tiebreak = 1;
    cb.tiebreak = 2;
  }
  AttrSummary sa, sb;
  DecisionResult run(DecisionOptions o = {}) {
    sa = summarize(a);
    sb = summarize(b);
    ca.attrs = &sa;
    cb.attrs = &sb;
    std::vector<Candidate> v = {cb, ca};  // the winner is not first
    return decide(v, o);
  }
};

void expect_a_wins(Two& t, LossReason why, DecisionOptions o = {}) {
  DecisionResult r = t.run(o);
  ASSERT_EQ(r.best, 1);
  EXPECT_EQ(r.reasons[0], why) << loss_reason_name(r.reasons[0]);
  EXPECT_EQ(r.reasons[1], LossReason::None);
}

TEST(Decision, HighestWeightWinsBeforeLocalPref) {
  Two t;
  t.ca.weight = 200;
  t.cb.weight = 100;
  t.b.local_pref = 500;  // weight is compared first
  expect_a_wins(t, LossReason::Weight);
}

TEST(Decision, EqualWeightsLeaveTheDecisionToLocalPref) {
  Two t;
  t.ca.weight = 7;
  t.cb.weight = 7;
  t.a.local_pref = 200;
  expect_a_wins(t, LossReason::LocalPref);
}

TEST(Decision, LocalPrefHighestWins) {
  Two t;
  t.a.local_pref = 200;
  t.b.local_pref = 100;
  t.b.as_path.clear();  // shorter path must not matter
  expect_a_wins(t, LossReason::LocalPref);
}

TEST(Decision, MissingLocalPrefIsDefault100) {
  Two t;
  t.b.local_pref = 99;
  expect_a_wins(t, LossReason::LocalPref);
}

TEST(Decision, AsPathShortestWinsAndSetCountsOne) {
  Two t;
  t.a.as_path = {{bgp::SegmentType::Sequence, {65001}}, {bgp::SegmentType::Set, {1, 2, 3, 4}}};
  t.b.as_path = {{bgp::SegmentType::Sequence, {65001, 65002, 65003}}};
  t.b.origin = bgp::Origin::Igp;
  t.a.origin = bgp::Origin::Incomplete;  // origin comes later
  expect_a_wins(t, LossReason::AsPathLength);
}

TEST(Decision, OriginLowestWins) {
  Two t;
  t.a.origin = bgp::Origin::Egp;
  t.b.origin = bgp::Origin::Incomplete;
  t.a.med = 500;  // MED comes later
  expect_a_wins(t, LossReason::Origin);
}

TEST(Decision, MedLowestWinsFromSameNeighbourAs) {
  Two t;
  t.a.med = 10;
  t.b.med = 20;
  expect_a_wins(t, LossReason::Med);
}

TEST(Decision, MissingMedIsZero) {
  Two t;
  t.b.med = 1;
  expect_a_wins(t, LossReason::Med);
}

TEST(Decision, MedNotComparedAcrossAsesUnlessAlwaysCompare) {
  Two t;
  t.a.as_path = {{bgp::SegmentType::Sequence, {65001}}};
  t.b.as_path = {{bgp::SegmentType::Sequence, {65002}}};
  t.a.med = 50;
  t.b.med = 10;
  t.ca.router_id = 1;
  t.cb.router_id = 2;
  expect_a_wins(t, LossReason::RouterId);  // MED skipped, router id decides
  Two u = t;
  DecisionOptions o;
  o.always_compare_med = true;
  DecisionResult r = u.run(o);
  EXPECT_EQ(r.best, 0);  // b's lower MED wins now
  EXPECT_EQ(r.reasons[1], LossReason::Med);
}

TEST(Decision, EbgpOverIbgp) {
  Two t;
  t.cb.ibgp = true;
  t.ca.nh.igp_cost = 100;  // IGP cost comes later
  expect_a_wins(t, LossReason::EbgpOverIbgp);
}

TEST(Decision, LowestIgpCost) {
  Two t;
  t.ca.nh.igp_cost = 5;
  t.cb.nh.igp_cost = 6;
  t.ca.router_id = 9;  // router id comes later
  expect_a_wins(t, LossReason::IgpCost);
}

TEST(Decision, LowestRouterIdPrefersOriginatorId) {
  Two t;
  t.ca.router_id = 3;
  t.cb.router_id = 4;
  t.a.cluster_list = {1, 2, 3};  // cluster list comes later
  expect_a_wins(t, LossReason::RouterId);
}

TEST(Decision, ShortestClusterList) {
  Two t;
  t.a.cluster_list = {1};
  t.b.cluster_list = {1, 2};
  t.cb.peer_address = ip("10.0.0.0");  // peer address comes later
  expect_a_wins(t, LossReason::ClusterList);
}

TEST(Decision, LowestPeerAddress) {
  Two t;
  t.ca.peer_address = ip("10.0.0.1");
  t.cb.peer_address = ip("10.0.0.2");
  expect_a_wins(t, LossReason::PeerAddress);
}

TEST(Decision, UnreachableNextHopIsIneligible) {
  Two t;
  t.b.local_pref = 1000;
  t.cb.nh.reachable = false;
  expect_a_wins(t, LossReason::NextHopUnreachable);
}

TEST(Decision, RejectedPathIsNotACandidate) {
  Two t;
  DecisionResult r;
  AttrSummary sa = summarize(t.a);
  t.ca.attrs = &sa;
  t.cb.attrs = nullptr;
  std::vector<Candidate> v = {t.cb, t.ca};
  r = decide(v, {});
  EXPECT_EQ(r.best, 1);
  EXPECT_EQ(r.reasons[0], LossReason::Rejected);
}

TEST(Decision, NothingUsable) {
  Two t;
  t.ca.nh.reachable = false;
  t.cb.nh.reachable = false;
  DecisionResult r = t.run();
  EXPECT_EQ(r.best, -1);
  EXPECT_TRUE(r.active.empty());
}

TEST(Decision, EcmpUpToIgpCostStepWithDistinctNextHops) {
  bgp::PathAttributes a1 = attrs({65001}, "10.0.0.1"), a2 = attrs({65001}, "10.0.0.2"),
                      a3 = attrs({65001}, "10.0.0.2"), a4 = attrs({65002}, "10.0.0.4"),
                      a5 = attrs({65001}, "10.0.0.5");
  std::vector<Candidate> c(5);
  AttrSummary as[] = {summarize(a1), summarize(a2), summarize(a3), summarize(a4), summarize(a5)};
  for (int i = 0; i < 5; ++i) {
    c[i].attrs = &as[i];
    c[i].router_id = 10 + i;
    c[i].peer_address = ip("10.0.0." + std::to_string(i + 1));
    c[i].tiebreak = i;
  }
  c[4].nh.igp_cost = 1;  // worse IGP cost: not equal-cost
  DecisionOptions o;
  o.max_paths = 4;
  DecisionResult r = decide(c, o);
  EXPECT_EQ(r.best, 0);
  // a2 joins; a3 duplicates a2's next hop; a4 is from another AS; a5 costs more.
  EXPECT_EQ(r.active, (std::vector<int>{0, 1}));
  EXPECT_EQ(r.reasons[2], LossReason::RouterId);
  EXPECT_EQ(r.reasons[3], LossReason::RouterId);
  EXPECT_EQ(r.reasons[4], LossReason::IgpCost);
  o.multipath_relax = true;
  r = decide(c, o);
  EXPECT_EQ(r.active, (std::vector<int>{0, 1, 3}));
  o.max_paths = 2;
  r = decide(c, o);
  EXPECT_EQ(r.active, (std::vector<int>{0, 1}));
}

// ---- order independence through the Rib ------------------------------------------

struct Announcement {
  std::string peer_addr;
  uint32_t asn;
  uint32_t router_id;
  bgp::PathAttributes a;
};

// A candidate set where the MED step is non-transitive (the classic case
// that makes comparator-based implementations order dependent):
//   A: AS 65001 MED 10, B: AS 65002 MED 5, C: AS 65001 MED 5 (iBGP-free, eBGP all)
std::vector<Announcement> tricky_set() {
  std::vector<Announcement> v;
  auto mk = [](std::vector<uint32_t> path, const char* nh, std::optional<uint32_t> med) {
    bgp::PathAttributes a = attrs(std::move(path), nh);
    a.med = med;
    return a;
  };
  v.push_back({"10.0.0.1", 65001, 0x01010101, mk({65001}, "10.0.0.1", 10)});
  v.push_back({"10.0.0.2", 65002, 0x02020202, mk({65002}, "10.0.0.2", 5)});
  v.push_back({"10.0.0.3", 65001, 0x03030303, mk({65001}, "10.0.0.3", 5)});
  v.push_back({"10.0.0.4", 65003, 0x00000009, mk({65003, 65009}, "10.0.0.4", 0)});
  v.push_back({"10.0.0.5", 65002, 0x00000004, mk({65002}, "10.0.0.5", 50)});
  return v;
}

struct Outcome {
  std::string best;
  std::vector<NextHop> active;
  std::vector<std::pair<std::string, LossReason>> reasons;
  bool operator==(const Outcome&) const = default;
};

Outcome run_order(const std::vector<Announcement>& set, const std::vector<int>& order,
                  const std::vector<int>& withdraw_order, uint32_t max_paths) {
  RibOptions o = test::options();
  o.max_paths = max_paths;
  Rib rib(o);
  std::vector<PeerId> ids;
  for (const auto& s : set) {
    PeerId id = rib.add_peer(test::peer_cfg("p" + s.peer_addr, s.peer_addr, s.asn));
    rib.peer_up(id, test::session(s.router_id));
    ids.push_back(id);
  }
  Prefix p = pfx("203.0.113.0/24");
  for (int i : order) rib.announce(ids[i], set[i].a, std::span(&p, 1));
  for (int i : withdraw_order) rib.withdraw(ids[i], std::span(&p, 1));
  Outcome out;
  for (const auto& v : rib.show_route(p)) {
    if (v.best) out.best = v.peer_name;
    out.reasons.push_back({v.peer_name, v.reason});
  }
  std::sort(out.reasons.begin(), out.reasons.end());
  rib.for_each_best([&](const Prefix&, const PathView&, std::span<const NextHop> nh) {
    out.active.assign(nh.begin(), nh.end());
  });
  return out;
}

TEST(DecisionOrder, EveryInsertionOrderGivesTheSameBestAndEcmpSet) {
  auto set = tricky_set();
  for (uint32_t max_paths : {1u, 4u}) {
    std::vector<int> order(set.size());
    std::iota(order.begin(), order.end(), 0);
    Outcome ref = run_order(set, order, {}, max_paths);
    ASSERT_FALSE(ref.best.empty());
    int n = 0;
    do {
      Outcome got = run_order(set, order, {}, max_paths);
      ASSERT_EQ(got, ref) << "order #" << n;
      ++n;
    } while (std::next_permutation(order.begin(), order.end()));
    EXPECT_EQ(n, 120);
  }
}

TEST(DecisionOrder, ExpectedWinnerOfTheTrickySet) {
  // LOCAL_PREF equal; AS_PATH: D (len 2) out. ORIGIN equal. MED: A (10) loses
  // to C (5) in AS 65001; E (50) loses to B (5) in AS 65002. Then router id:
  // B 2.2.2.2 < C 3.3.3.3.
  auto set = tricky_set();
  Outcome o = run_order(set, {0, 1, 2, 3, 4}, {}, 1);
  EXPECT_EQ(o.best, "p10.0.0.2");
  std::map<std::string, LossReason> why(o.reasons.begin(), o.reasons.end());
  EXPECT_EQ(why["p10.0.0.1"], LossReason::Med);
  EXPECT_EQ(why["p10.0.0.3"], LossReason::RouterId);
  EXPECT_EQ(why["p10.0.0.4"], LossReason::AsPathLength);
  EXPECT_EQ(why["p10.0.0.5"], LossReason::Med);
  // With multipath relaxed off, ECMP stays within the best path's AS: B only.
  Outcome e = run_order(set, {0, 1, 2, 3, 4}, {}, 4);
  ASSERT_EQ(e.active.size(), 1u);
}

TEST(DecisionOrder, EveryWithdrawalOrderMatchesAFreshRib) {
  auto set = tricky_set();
  std::vector<int> all(set.size());
  std::iota(all.begin(), all.end(), 0);
  // Withdraw every 2-subset in both orders; compare with a RIB that only ever
  // saw the remaining paths.
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 5; ++j) {
      if (i == j) continue;
      std::vector<int> rest;
      for (int k : all)
        if (k != i && k != j) rest.push_back(k);
      std::vector<Announcement> rest_set;
      for (int k : rest) rest_set.push_back(set[k]);
      std::vector<int> rest_order(rest.size());
      std::iota(rest_order.begin(), rest_order.end(), 0);
      Outcome fresh = run_order(rest_set, rest_order, {}, 4);
      Outcome got = run_order(set, all, {i, j}, 4);
      // Reasons are reported only for the remaining paths in both.
      EXPECT_EQ(got.best, fresh.best) << i << "," << j;
      EXPECT_EQ(got.active.size(), fresh.active.size());
      EXPECT_EQ(got.reasons, fresh.reasons);
    }
  }
}

// iBGP / route-reflection candidates: IGP cost from the resolver, ORIGINATOR_ID
// versus router id, CLUSTER_LIST length, and an unreachable next hop.
TEST(DecisionOrder, IbgpReflectedCandidatesAreOrderIndependentToo) {
  struct In {
    std::string addr;
    uint32_t asn, rid;
    bgp::PathAttributes a;
  };
  auto mk = [](const char* nh, std::optional<uint32_t> orig, std::vector<uint32_t> cl) {
    bgp::PathAttributes a = attrs({65010}, nh);
    a.local_pref = 100;
    a.originator_id = orig;
    a.cluster_list = std::move(cl);
    return a;
  };
  std::vector<In> set = {
      {"10.0.0.1", 65000, 0x05050505, mk("10.1.0.1", 0x09090909, {1})},   // cost 10
      {"10.0.0.2", 65000, 0x06060606, mk("10.1.0.2", std::nullopt, {})},  // cost 10, rid 6.6.6.6
      {"10.0.0.3", 65000, 0x01010101,
       mk("10.1.0.3", 0x06060606, {1, 2})},  // cost 10, orig 6.6.6.6, longer CL
      {"10.0.0.4", 65000, 0x02020202, mk("10.1.0.4", std::nullopt, {})},  // cost 20
      {"10.0.0.5", 65000, 0x00000001, mk("10.9.9.9", std::nullopt, {})},  // unreachable
  };
  auto resolve = [](const IpAddress& nh) {
    if (nh == ip("10.9.9.9")) return NextHopInfo{false, 0};
    return NextHopInfo{true, nh == ip("10.1.0.4") ? 20u : 10u};
  };
  auto run = [&](const std::vector<int>& order) {
    RibOptions o = test::options();
    o.max_paths = 2;
    Rib rib(o, resolve);
    std::vector<PeerId> ids;
    for (const auto& s : set) {
      PeerId id = rib.add_peer(test::peer_cfg("p" + s.addr, s.addr, s.asn));
      rib.peer_up(id, test::session(s.rid));
      ids.push_back(id);
    }
    Prefix p = pfx("203.0.113.0/24");
    for (int i : order)
      rib.announce(ids[static_cast<size_t>(i)], set[static_cast<size_t>(i)].a, std::span(&p, 1));
    std::map<std::string, std::pair<bool, LossReason>> out;
    for (const auto& v : rib.show_route(p)) out[v.peer_name] = {v.active, v.reason};
    return out;
  };
  std::vector<int> order = {0, 1, 2, 3, 4};
  auto ref = run(order);
  // 10.0.0.2 (router id 6.6.6.6, empty CLUSTER_LIST) is best: 10.0.0.3 ties on
  // router id through its ORIGINATOR_ID 6.6.6.6 and loses only at the cluster
  // list, so it is the second ECMP member (the pool is everything equal up to
  // the IGP cost step, taken in tie-break order); 10.0.0.1 (ORIGINATOR_ID
  // 9.9.9.9) would be third and stays out with max_paths 2.
  EXPECT_EQ(ref["p10.0.0.2"], std::make_pair(true, LossReason::None));
  EXPECT_EQ(ref["p10.0.0.3"], std::make_pair(true, LossReason::None));
  EXPECT_EQ(ref["p10.0.0.1"], std::make_pair(false, LossReason::RouterId));
  EXPECT_EQ(ref["p10.0.0.4"], std::make_pair(false, LossReason::IgpCost));
  EXPECT_EQ(ref["p10.0.0.5"], std::make_pair(false, LossReason::NextHopUnreachable));
  int n = 0;
  do {
    ASSERT_EQ(run(order), ref) << "order #" << n;
    ++n;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(n, 120);
}

}  // namespace
}  // namespace ferry::rib
