// Interning: identical values share one node, handles count references, the
// compact encoding round-trips every field, and the summary matches.
#include <gtest/gtest.h>

#include "rib/attr_table.hpp"

namespace ferry::rib {
namespace {

bgp::PathAttributes full() {
  bgp::PathAttributes a;
  a.origin = bgp::Origin::Egp;
  a.as_path = {{bgp::SegmentType::Sequence, {65001, 4200000000u}},
               {bgp::SegmentType::Set, {1, 2, 3}},
               {bgp::SegmentType::ConfedSequence, {64512}}};
  a.next_hop = *IpAddress::parse("2001:db8::1");
  a.next_hop_ll = *IpAddress::parse("fe80::1");
  a.med = 0;
  a.local_pref = 250;
  a.atomic_aggregate = true;
  a.aggregator = bgp::Aggregator{65009, *IpAddress::parse("192.0.2.9")};
  a.communities = {0xFFFFFF01, 0xFDE80064};
  a.ext_communities = {0x0002FDE900000064ULL};
  a.large_communities = {{65000, 1, 2}, {4200000000u, 3, 4}};
  a.originator_id = 0x01020304;
  a.cluster_list = {7, 8};
  a.unknown = {{0xC0, 99, {1, 2, 3}}, {0xE0, 100, {}}};
  return a;
}

TEST(AttrTable, RoundTripsEveryField) {
  AttrTable t;
  bgp::PathAttributes a = full();
  AttrRef r = t.intern(a);
  EXPECT_EQ(*r, a);
  bgp::PathAttributes empty;
  EXPECT_EQ(*t.intern(empty), empty);
}

TEST(AttrTable, SummaryMatchesTheValue) {
  AttrTable t;
  AttrRef r = t.intern(full());
  const AttrSummary& s = r.summary();
  EXPECT_EQ(s.local_pref_or(100), 250u);
  EXPECT_EQ(s.med_or_zero(), 0u);
  EXPECT_TRUE(s.has & AttrSummary::kHasMed);
  EXPECT_EQ(s.as_path_len, 3);  // 2 + set counts 1 + confed counts 0
  EXPECT_EQ(s.neighbor_as, 65001u);
  EXPECT_EQ(s.originator_id, 0x01020304u);
  EXPECT_EQ(s.cluster_len, 2);
  EXPECT_EQ(s.origin, bgp::Origin::Egp);
  EXPECT_EQ(s.nh(), IpAddress::parse("2001:db8::1"));
}

TEST(AttrTable, IdenticalValuesShareANodeAndAreFreedWithTheLastHandle) {
  AttrTable t;
  bgp::PathAttributes a = full();
  AttrRef r1 = t.intern(a);
  AttrRef r2 = t.intern(full());
  EXPECT_EQ(r1, r2);
  EXPECT_EQ(r1.use_count(), 2u);
  a.med = 1;
  AttrRef r3 = t.intern(a);
  EXPECT_NE(r1, r3);
  EXPECT_EQ(t.size(), 2u);
  {
    AttrRef copy = r3;
    EXPECT_EQ(r3.use_count(), 2u);
  }
  r3 = AttrRef();
  EXPECT_EQ(t.size(), 1u);
  r1 = AttrRef();
  EXPECT_EQ(t.size(), 1u);
  r2 = AttrRef();
  EXPECT_EQ(t.size(), 0u);
}

TEST(AttrTable, ManyDistinctValuesSurviveGrowthAndChurn) {
  AttrTable t;
  std::vector<AttrRef> keep;
  for (uint32_t i = 0; i < 5000; ++i) {
    bgp::PathAttributes a;
    a.as_path = {{bgp::SegmentType::Sequence, {i}}};
    AttrRef r = t.intern(a);
    if (i % 3 == 0) keep.push_back(r);  // the rest are freed at once
  }
  EXPECT_EQ(t.size(), keep.size());
  for (uint32_t i = 0; i < 5000; i += 3) {
    bgp::PathAttributes a;
    a.as_path = {{bgp::SegmentType::Sequence, {i}}};
    EXPECT_EQ(t.intern(a), keep[i / 3]);
  }
}

}  // namespace
}  // namespace ferry::rib
