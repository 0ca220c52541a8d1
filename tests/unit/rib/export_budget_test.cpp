// The export budget planner (max-prefixes-out): everything while it fits; over
// the budget, aggregate candidates replace what they cover (the most saving
// first), the rest is held back in an order that does not depend on arrival;
// and RFC 4271 §9.2.2.2 aggregate attributes.
#include "rib/export_budget.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.hpp"

namespace ferry::rib {
namespace {

using test::attrs;
using test::ip;
using test::pfx;

struct BudgetFixture : ::testing::Test {
  AttrTable table;
  std::map<Prefix, AttrRef> want;
  int aggregates_built = 0;
  AggregateFn agg = [this](const Prefix&, std::span<const AttrRef> parts) {
    ++aggregates_built;
    return table.intern(aggregate_attrs(parts, 65000, ip("10.0.0.1")));
  };
  AttrRef a(std::vector<uint32_t> path) {
    return table.intern(attrs(std::move(path), "192.0.2.1"));
  }
  void add(const std::string& p, std::vector<uint32_t> path = {65000, 65001}) {
    want[pfx(p)] = a(std::move(path));
  }
};

TEST_F(BudgetFixture, EverythingFitsUnderTheBudget) {
  add("10.1.0.0/24");
  add("10.2.0.0/24");
  BudgetPlan p = plan_budget(want, 2, {}, agg);
  EXPECT_EQ(p.out, want);
  EXPECT_TRUE(p.held.empty());
  EXPECT_EQ(aggregates_built, 0);
}

TEST_F(BudgetFixture, OverTheBudgetShorterPrefixesAreKeptThenPrefixOrder) {
  add("10.1.0.0/24");
  add("10.2.0.0/16");
  add("10.3.0.0/24");
  add("10.0.0.0/25");
  BudgetPlan p = plan_budget(want, 2, {}, agg);
  ASSERT_EQ(p.out.size(), 2u);
  EXPECT_TRUE(p.out.count(pfx("10.2.0.0/16")));
  EXPECT_TRUE(p.out.count(pfx("10.1.0.0/24")));
  EXPECT_EQ(p.held, (std::vector<Prefix>{pfx("10.0.0.0/25"), pfx("10.3.0.0/24")}));
}

TEST_F(BudgetFixture, AggregateCandidateReplacesTheMoreSpecificsItCovers) {
  for (int i = 0; i < 6; ++i) add("10.20." + std::to_string(i) + ".0/24");
  add("172.16.0.0/24");
  std::vector<Prefix> cands = {pfx("10.20.0.0/16"), pfx("192.168.0.0/16")};
  BudgetPlan p = plan_budget(want, 3, cands, agg);
  EXPECT_EQ(p.out.size(), 2u);
  EXPECT_TRUE(p.out.count(pfx("10.20.0.0/16")));
  EXPECT_TRUE(p.out.count(pfx("172.16.0.0/24")));
  EXPECT_EQ(p.aggregates, (std::vector<Prefix>{pfx("10.20.0.0/16")}));
  EXPECT_EQ(p.aggregated.size(), 6u);
  EXPECT_TRUE(p.held.empty());
}

TEST_F(BudgetFixture, TheLongestCandidateThatSavesEnoughIsChosen) {
  for (int i = 0; i < 4; ++i) add("10.1." + std::to_string(i) + ".0/24");
  for (int i = 0; i < 2; ++i) add("10.2." + std::to_string(i) + ".0/24");
  std::vector<Prefix> cands = {pfx("10.0.0.0/8"), pfx("10.1.0.0/16"), pfx("10.2.0.0/16")};
  // One entry too many: 10.2/16 (2 -> 1) is enough and hides the least.
  BudgetPlan p = plan_budget(want, 5, cands, agg);
  EXPECT_EQ(p.aggregates, (std::vector<Prefix>{pfx("10.2.0.0/16")}));
  EXPECT_EQ(p.out.size(), 5u);
  // Three too many: only 10.1/16 (4 -> 1) or the /8 save enough; the /16 is longer.
  p = plan_budget(want, 3, cands, agg);
  EXPECT_EQ(p.aggregates, (std::vector<Prefix>{pfx("10.1.0.0/16")}));
  EXPECT_EQ(p.out.size(), 3u);
  // Two entries without the /16s' 4 + 2: only the /8 saves enough alone.
  cands = {pfx("10.0.0.0/8"), pfx("10.1.0.0/16")};
  p = plan_budget(want, 2, cands, agg);
  EXPECT_EQ(p.aggregates, (std::vector<Prefix>{pfx("10.0.0.0/8")}));
  // Without a sufficient one: the most saving first, then again.
  cands = {pfx("10.1.0.0/16"), pfx("10.2.0.0/16")};
  p = plan_budget(want, 2, cands, agg);
  EXPECT_EQ(p.out.size(), 2u);
  EXPECT_EQ(p.aggregates.size(), 2u);
  cands = {pfx("10.0.0.0/8"), pfx("10.1.0.0/16"), pfx("10.2.0.0/16")};
  // A budget of one takes the /8.
  p = plan_budget(want, 1, cands, agg);
  EXPECT_EQ(p.out.size(), 1u);
  EXPECT_TRUE(p.out.count(pfx("10.0.0.0/8")));
}

TEST_F(BudgetFixture, ACandidateThatIsARouteKeepsItsOwnAttributes) {
  add("10.5.0.0/16", {65000, 65009});
  add("10.5.1.0/24");
  add("10.5.2.0/24");
  BudgetPlan p = plan_budget(want, 1, std::vector<Prefix>{pfx("10.5.0.0/16")}, agg);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out.at(pfx("10.5.0.0/16")), want.at(pfx("10.5.0.0/16")));
  EXPECT_EQ(aggregates_built, 0);
}

TEST_F(BudgetFixture, ResultDoesNotDependOnTheOrderRoutesArrived) {
  std::vector<std::string> v = {"10.1.0.0/24", "10.2.0.0/23", "10.3.0.0/24", "10.4.0.0/22",
                                "10.5.0.0/24"};
  std::sort(v.begin(), v.end());
  std::optional<BudgetPlan> first;
  do {
    want.clear();
    for (const auto& s : v) add(s);
    BudgetPlan p = plan_budget(want, 3, {}, agg);
    if (!first)
      first = p;
    else {
      EXPECT_EQ(p.out, first->out);
      EXPECT_EQ(p.held, first->held);
    }
  } while (std::next_permutation(v.begin(), v.end()));
}

TEST(AggregateAttrs, Rfc4271Section9_2_2_2) {
  AttrTable table;
  auto x = attrs({65000, 65001, 65010}, "192.0.2.1", bgp::Origin::Igp);
  x.med = 10;
  x.communities = {0xfde80001};
  auto y = attrs({65000, 65002}, "192.0.2.1", bgp::Origin::Egp);
  y.med = 20;
  y.atomic_aggregate = true;
  y.communities = {0xfde80002};
  std::vector<AttrRef> parts = {table.intern(x), table.intern(y)};
  bgp::PathAttributes a = aggregate_attrs(parts, 65000, ip("10.0.0.1"));
  EXPECT_EQ(a.origin, bgp::Origin::Egp);  // the worst ORIGIN
  ASSERT_EQ(a.as_path.size(), 2u);        // common sequence, then AS_SET of the rest
  EXPECT_EQ(a.as_path[0].type, bgp::SegmentType::Sequence);
  EXPECT_EQ(a.as_path[0].asns, (std::vector<uint32_t>{65000}));
  EXPECT_EQ(a.as_path[1].type, bgp::SegmentType::Set);
  EXPECT_EQ(a.as_path[1].asns, (std::vector<uint32_t>{65001, 65002, 65010}));
  EXPECT_FALSE(a.med);              // MEDs differ
  EXPECT_TRUE(a.atomic_aggregate);  // one part had it
  EXPECT_EQ(a.communities, (std::vector<uint32_t>{0xfde80001, 0xfde80002}));
  ASSERT_TRUE(a.aggregator);
  EXPECT_EQ(a.aggregator->asn, 65000u);
  EXPECT_EQ(a.aggregator->address, ip("10.0.0.1"));
  EXPECT_EQ(a.next_hop, ip("192.0.2.1"));
  // Equal paths stay as they are.
  std::vector<AttrRef> same = {table.intern(x), table.intern(x)};
  EXPECT_EQ(aggregate_attrs(same, 65000, ip("10.0.0.1")).as_path, x.as_path);
}

}  // namespace
}  // namespace ferry::rib
