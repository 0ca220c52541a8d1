// PrefixMap against std::map under random inserts and erases, and the
// walker guarantee: without a rebuild, erasing never moves an element.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "rib/prefix_map.hpp"

namespace ferry::rib {
namespace {

Prefix random_prefix(std::mt19937& rng) {
  if (rng() % 4 == 0) {
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
    for (int i = 4; i < 8; ++i) b[i] = static_cast<uint8_t>(rng() % 4);
    return Prefix(IpAddress::v6_bytes(b), 32 + static_cast<int>(rng() % 33));
  }
  return Prefix(IpAddress::v4(0x0a000000u | (rng() % 4096) << 8), 16 + static_cast<int>(rng() % 9));
}

TEST(PrefixMap, MatchesStdMap) {
  std::mt19937 rng(7);
  PrefixMap<int> m;
  std::map<Prefix, int> ref;
  for (int step = 0; step < 200000; ++step) {
    Prefix p = random_prefix(rng);
    if (rng() % 3 == 0) {
      EXPECT_EQ(m.erase(p), ref.erase(p) == 1);
    } else {
      bool inserted = false;
      m.get(p, &inserted) = step;
      EXPECT_EQ(inserted, !ref.count(p));
      ref[p] = step;
    }
  }
  ASSERT_EQ(m.size(), ref.size());
  for (const auto& [p, v] : ref) {
    const int* got = m.find(p);
    ASSERT_TRUE(got) << p.str();
    EXPECT_EQ(*got, v);
  }
  size_t seen = 0;
  m.for_each([&](const Prefix& p, int v) {
    ++seen;
    EXPECT_EQ(ref.at(p), v);
  });
  EXPECT_EQ(seen, ref.size());
}

TEST(PrefixMap, EraseDoesNotMoveElements) {
  PrefixMap<int> m;
  for (int i = 0; i < 1000; ++i) m.get(Prefix(IpAddress::v4(0x0a000000u + i * 256), 24)) = i;
  uint64_t gen = m.generation(Family::V4);
  std::map<size_t, Prefix> slot_of;
  Prefix p;
  for (size_t i = 0; i < m.capacity(Family::V4); ++i)
    if (m.at(Family::V4, i, &p)) slot_of[i] = p;
  for (int i = 0; i < 1000; i += 2) m.erase(Prefix(IpAddress::v4(0x0a000000u + i * 256), 24));
  EXPECT_EQ(m.generation(Family::V4), gen);
  for (const auto& [slot, prefix] : slot_of) {
    Prefix q;
    int* v = m.at(Family::V4, slot, &q);
    bool erased = ((prefix.addr().v4_host_order() - 0x0a000000u) / 256) % 2 == 0;
    EXPECT_EQ(v == nullptr, erased);
    if (v) {
      EXPECT_EQ(q, prefix);
    }
  }
}

// The all-zero keys (default routes) must not be mistaken for the empty or
// erased slot markers.
TEST(PrefixMap, DefaultRoutesAndHostRoutes) {
  PrefixMap<int> m;
  Prefix d4 = *Prefix::parse("0.0.0.0/0"), d6 = *Prefix::parse("::/0");
  Prefix h4 = *Prefix::parse("255.255.255.255/32"), h6 = *Prefix::parse("ffff::1/128");
  EXPECT_EQ(m.find(d4), nullptr);
  m.get(d4) = 1;
  m.get(d6) = 2;
  m.get(h4) = 3;
  m.get(h6) = 4;
  for (int i = 0; i < 100; ++i)
    m.get(Prefix(IpAddress::v4(0x0a000000u + static_cast<uint32_t>(i) * 256), 24)) = 10;
  EXPECT_EQ(m.size(), 104u);
  EXPECT_EQ(*m.find(d4), 1);
  EXPECT_EQ(*m.find(d6), 2);
  EXPECT_EQ(*m.find(h4), 3);
  EXPECT_EQ(*m.find(h6), 4);
  EXPECT_TRUE(m.erase(d4));
  EXPECT_FALSE(m.erase(d4));
  EXPECT_EQ(m.find(d4), nullptr);
  EXPECT_EQ(*m.find(d6), 2);
  size_t seen = 0;
  m.for_each([&](const Prefix&, int) { ++seen; });
  EXPECT_EQ(seen, 103u);
}

TEST(PrefixMap, ShrinksWhenSparseAndKeepsTheRest) {
  PrefixMap<int> m;
  const int n = 100000;
  auto key = [](int i) {
    return Prefix(IpAddress::v4(0x0a000000u + static_cast<uint32_t>(i) * 256), 24);
  };
  for (int i = 0; i < n; ++i) m.get(key(i)) = i;
  size_t full_bytes = m.bytes();
  EXPECT_FALSE(m.shrink_if_sparse());  // dense: nothing to give back
  for (int i = 0; i < n; ++i)
    if (i % 10) {
      m.erase(key(i));
    }
  uint64_t gen = m.generation(Family::V4);
  EXPECT_TRUE(m.shrink_if_sparse());
  EXPECT_NE(m.generation(Family::V4), gen);
  EXPECT_LT(m.bytes(), full_bytes / 4);
  ASSERT_EQ(m.size(), static_cast<size_t>(n / 10));
  for (int i = 0; i < n; ++i) {
    const int* v = m.find(key(i));
    ASSERT_EQ(v != nullptr, i % 10 == 0) << i;
    if (v) {
      EXPECT_EQ(*v, i);
    }
  }
  for (int i = 0; i < n; i += 10) m.erase(key(i));
  EXPECT_TRUE(m.shrink_if_sparse());  // empty: freed entirely
  EXPECT_EQ(m.bytes(), 0u);
  m.get(key(1)) = 7;  // still usable
  EXPECT_EQ(*m.find(key(1)), 7);
}

}  // namespace
}  // namespace ferry::rib
