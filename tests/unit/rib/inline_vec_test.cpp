// InlineVec against std::vector: same contents through the inline-to-heap
// spill, copies and moves, and equality with both kinds.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "rib/inline_vec.hpp"

namespace ferry::rib {
namespace {

TEST(InlineVec, StaysInlineUpToN) {
  InlineVec<int, 2> v;
  EXPECT_TRUE(v.empty());
  v.push_back(1);
  v.push_back(2);
  EXPECT_FALSE(v.on_heap());
  EXPECT_EQ(v.to_vector(), (std::vector<int>{1, 2}));
  v.push_back(3);  // spills: all three now on the heap, in order
  EXPECT_TRUE(v.on_heap());
  EXPECT_EQ(v.to_vector(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(v.front(), 1);
  EXPECT_EQ(v[2], 3);
  v.clear();
  EXPECT_TRUE(v.empty());
  EXPECT_FALSE(v.on_heap());
  v.push_back(9);
  EXPECT_EQ(v.to_vector(), (std::vector<int>{9}));
}

TEST(InlineVec, MatchesVectorUnderRandomUse) {
  std::mt19937 rng(3);
  for (int round = 0; round < 2000; ++round) {
    InlineVec<uint32_t, 2> v;
    std::vector<uint32_t> ref;
    size_t n = rng() % 7;
    for (size_t i = 0; i < n; ++i) {
      uint32_t x = rng();
      v.push_back(x);
      ref.push_back(x);
    }
    ASSERT_EQ(v.size(), ref.size());
    EXPECT_TRUE(v == ref);
    InlineVec<uint32_t, 2> copy = v;
    EXPECT_TRUE(copy == v);
    InlineVec<uint32_t, 2> moved = std::move(copy);
    EXPECT_TRUE(moved == ref);
    EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    InlineVec<uint32_t, 2> assigned;
    assigned.push_back(7);
    assigned = std::move(moved);
    EXPECT_TRUE(assigned == ref);
    if (!ref.empty()) {
      ref.back() ^= 1;
      EXPECT_FALSE(assigned == ref);
    }
  }
}

}  // namespace
}  // namespace ferry::rib
