// PathList: inline storage for one path, heap array from two, back inline
// when it shrinks; contents and AttrRef reference counts must survive every
// transition, moves included (the prefix table moves lists when it rebuilds).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "rib/path_list.hpp"
#include "test_util.hpp"

namespace ferry::rib {
namespace {

Path make_path(const AttrRef& a, uint32_t peer) {
  Path p;
  p.pre = a;
  p.post = a;
  p.peer = peer;
  return p;
}

std::vector<uint32_t> peers_of(const PathList& l) {
  std::vector<uint32_t> v;
  for (const Path& p : l) v.push_back(p.peer);
  return v;
}

TEST(PathList, OnePathIsInline) {
  AttrTable t;
  AttrRef a = t.intern(test::attrs({65001}, "192.0.2.1"));
  PathList l;
  EXPECT_TRUE(l.empty());
  l.insert(0, make_path(a, 9));
  EXPECT_TRUE(l.inline_storage());
  EXPECT_EQ(l.capacity(), 0u);
  EXPECT_EQ(a.use_count(), 3u);  // a + pre + post
  EXPECT_EQ(l[0].peer, 9u);
  l.insert(1, make_path(a, 12));  // second path: heap
  EXPECT_FALSE(l.inline_storage());
  EXPECT_EQ(peers_of(l), (std::vector<uint32_t>{9, 12}));
  l.insert(0, make_path(a, 8));
  EXPECT_EQ(peers_of(l), (std::vector<uint32_t>{8, 9, 12}));
  EXPECT_EQ(a.use_count(), 7u);
  l.erase(1);
  EXPECT_EQ(peers_of(l), (std::vector<uint32_t>{8, 12}));
  l.erase(0);  // one left: inline again
  EXPECT_TRUE(l.inline_storage());
  EXPECT_EQ(peers_of(l), (std::vector<uint32_t>{12}));
  EXPECT_EQ(a.use_count(), 3u);
  l.erase(0);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(a.use_count(), 1u);
}

TEST(PathList, MovesKeepPathsAndBits) {
  AttrTable t;
  AttrRef a = t.intern(test::attrs({65001}, "192.0.2.1"));
  for (size_t n : {0u, 1u, 2u, 5u}) {
    PathList l;
    for (uint32_t i = 0; i < n; ++i) l.insert(i, make_path(a, i));
    l.adv = 5;
    l.queued = 2;
    PathList m(std::move(l));
    EXPECT_TRUE(l.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(l.adv, 0u);
    EXPECT_EQ(m.size(), n);
    EXPECT_EQ(m.adv, 5u);
    EXPECT_EQ(m.queued, 2u);
    PathList k;
    k.insert(0, make_path(a, 99));
    k = std::move(m);  // drops k's own path
    EXPECT_EQ(k.size(), n);
    for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(k[i].peer, i);
    EXPECT_EQ(a.use_count(), 1u + 2u * n);
  }
  EXPECT_EQ(a.use_count(), 1u);
}

TEST(PathList, MatchesVectorUnderRandomUse) {
  AttrTable t;
  AttrRef a = t.intern(test::attrs({65001}, "192.0.2.1"));
  std::mt19937 rng(5);
  PathList l;
  std::vector<uint32_t> ref;
  for (int step = 0; step < 20000; ++step) {
    if (!ref.empty() && rng() % 2) {
      size_t at = rng() % ref.size();
      l.erase(at);
      ref.erase(ref.begin() + static_cast<long>(at));
    } else if (ref.size() < 6) {
      size_t at = ref.empty() ? 0 : rng() % (ref.size() + 1);
      uint32_t peer = rng();
      l.insert(at, make_path(a, peer));
      ref.insert(ref.begin() + static_cast<long>(at), peer);
    }
    ASSERT_EQ(peers_of(l), ref);
    ASSERT_EQ(l.inline_storage(), ref.size() <= 1);
    ASSERT_EQ(a.use_count(), 1u + 2u * ref.size());
  }
}

}  // namespace
}  // namespace ferry::rib
