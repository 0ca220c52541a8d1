// PathAttributes queries, hashing and formatting (bgp/attributes.hpp).
#include "bgp/attributes.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

using namespace ferry;
using namespace ferry::bgp;

namespace {
PathAttributes path(std::vector<AsPathSegment> segs) {
  PathAttributes a;
  a.as_path = std::move(segs);
  return a;
}
}  // namespace

TEST(Attributes, AsPathLengthNeighborAndOrigin) {
  auto a = path({{SegmentType::ConfedSequence, {64512, 64513}},
                 {SegmentType::Sequence, {65001, 65002}},
                 {SegmentType::Set, {1, 2, 3}},
                 {SegmentType::Sequence, {65003}}});
  // RFC 4271 §9.1.2.2 (a): set counts one; RFC 5065: confed segments zero.
  EXPECT_EQ(a.as_path_length(), 4);
  EXPECT_EQ(a.neighbor_as(), 65001u);
  EXPECT_EQ(a.origin_as(), 65003u);
  EXPECT_TRUE(a.as_path_contains(2));
  EXPECT_FALSE(a.as_path_contains(4));

  auto set_last = path({{SegmentType::Sequence, {65001}}, {SegmentType::Set, {7, 8}}});
  EXPECT_EQ(set_last.origin_as(), 0u);  // RFC 6811: no single origin
  EXPECT_EQ(path({}).as_path_length(), 0);
  EXPECT_EQ(path({}).neighbor_as(), 0u);
  EXPECT_EQ(path({}).origin_as(), 0u);
  EXPECT_EQ(path({{SegmentType::Set, {5}}}).neighbor_as(), 0u);
}

TEST(Attributes, Communities) {
  PathAttributes a;
  a.communities = {0xfde90064, kNoExport};
  EXPECT_TRUE(a.has_community(kNoExport));
  EXPECT_FALSE(a.has_community(kNoAdvertise));
  EXPECT_EQ(format_community(0xfde90064), "65001:100");
  EXPECT_EQ(format_community(kNoExport), "65535:65281");
  EXPECT_EQ(format_large_community({4200000000u, 1, 2}), "4200000000:1:2");
}

TEST(Attributes, ExtendedCommunityFormats) {
  // RFC 4360 §3.1: type 0x00 subtype 0x02, AS 65001, value 100.
  EXPECT_EQ(format_ext_community(0x0002fde900000064ULL), "rt:65001:100");
  EXPECT_EQ(format_ext_community(0x0003fde900000064ULL), "soo:65001:100");
  // §3.2: IPv4 address specific, 192.0.2.1:7.
  EXPECT_EQ(format_ext_community(0x0102c00002010007ULL), "rt:192.0.2.1:7");
  // RFC 5668: four-octet AS specific, 4200000000:9.
  EXPECT_EQ(format_ext_community(0x0202fa56ea000009ULL), "rt:4200000000:9");
  EXPECT_EQ(format_ext_community(0x4300000000000001ULL), "0x4300000000000001");
}

TEST(Attributes, AsPathFormat) {
  auto a = path({{SegmentType::ConfedSequence, {64512}},
                 {SegmentType::Sequence, {65001, 65002}},
                 {SegmentType::Set, {1, 2}},
                 {SegmentType::ConfedSet, {64513, 64514}}});
  EXPECT_EQ(format_as_path(a.as_path), "(64512) 65001 65002 {1 2} [64513 64514]");
  EXPECT_EQ(format_as_path({}), "");
}

TEST(Attributes, HashFollowsEquality) {
  PathAttributes a;
  a.origin = Origin::Igp;
  a.as_path = {{SegmentType::Sequence, {65001}}};
  a.next_hop = *IpAddress::parse("192.0.2.1");
  a.communities = {1, 2};
  PathAttributes b = a;
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.hash(), b.hash());
  std::unordered_set<size_t> seen{a.hash()};
  // Each single-field change gives a different value and (here) hash.
  std::vector<PathAttributes> variants;
  for (int i = 0; i < 10; ++i) variants.push_back(a);
  variants[0].origin = Origin::Egp;
  variants[1].as_path[0].asns.push_back(65002);
  variants[2].next_hop = *IpAddress::parse("192.0.2.2");
  variants[3].med = 0;
  variants[4].local_pref = 100;
  variants[5].atomic_aggregate = true;
  variants[6].communities = {2, 1};
  variants[7].ext_communities = {1};
  variants[8].large_communities = {{1, 2, 3}};
  variants[9].unknown = {{0xc0, 99, {1}}};
  for (const auto& v : variants) {
    EXPECT_NE(v, a);
    EXPECT_TRUE(seen.insert(v.hash()).second);
  }
  EXPECT_EQ(std::hash<PathAttributes>{}(a), a.hash());
}
