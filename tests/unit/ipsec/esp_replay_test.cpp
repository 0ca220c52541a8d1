// ESP anti-replay (RFC 4303 §3.4.3) and the receiver's reconstruction of
// the ESN high bits (RFC 4303 Appendix A2.2, RFC 4304).
#include "ipsec/esp_replay.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using namespace ferry::ipsec;

namespace {

TEST(EspReplay, AcceptsEachNumberOnceInsideTheWindow) {
  EspReplay r(1024, false);
  EXPECT_FALSE(r.check(0));  // RFC 4303 §3.3.3: the first packet is 1
  EXPECT_TRUE(r.update(1));
  EXPECT_FALSE(r.check(1));
  EXPECT_FALSE(r.update(1));
  EXPECT_TRUE(r.update(5000));
  EXPECT_TRUE(r.update(3977));  // 5000 - 1023: the window's bottom
  EXPECT_FALSE(r.check(3976));  // just below it
  EXPECT_FALSE(r.update(3976));
  EXPECT_TRUE(r.update(4999));  // out of order inside the window
  EXPECT_FALSE(r.update(4999));
  EXPECT_EQ(r.last(), 5000u);
}

TEST(EspReplay, WindowIsClampedToAtLeast1024) {
  EspReplay small(32, false);
  EXPECT_EQ(small.window(), EspReplay::kMinWindow);
  EspReplay big(1u << 20, false);
  EXPECT_EQ(big.window(), EspReplay::kMaxWindow);
  EXPECT_TRUE(big.update(10000));
  EXPECT_TRUE(big.update(10000 - EspReplay::kMaxWindow + 1));
  EXPECT_FALSE(big.check(10000 - EspReplay::kMaxWindow));
}

TEST(EspReplay, WithoutEsnTheWireNumberIsTheNumber) {
  EspReplay r(1024, false);
  r.update(0xfffffff0u);
  EXPECT_EQ(r.infer(5), 5u);  // no wrap without ESN: the SA must be rekeyed first
}

TEST(EspReplay, InfersTheHighHalfAcrossTheWrap) {
  EspReplay r(1024, true);
  // Case A (Appendix A2.2): Tl >= W - 1.
  ASSERT_TRUE(r.update((uint64_t{2} << 32) | 0xfffffff0u));
  EXPECT_EQ(*r.infer(0xffffffe0u), (uint64_t{2} << 32) | 0xffffffe0u);  // late, same subspace
  EXPECT_EQ(*r.infer(3), (uint64_t{3} << 32) | 3);                      // ahead: wrapped
  ASSERT_TRUE(r.update(*r.infer(3)));
  // Case B: Tl < W - 1; a late packet from before the wrap belongs to Th - 1.
  EXPECT_EQ(*r.infer(0xfffffffau), (uint64_t{2} << 32) | 0xfffffffau);
  EXPECT_TRUE(r.update(*r.infer(0xfffffffau)));
  EXPECT_EQ(*r.infer(500), (uint64_t{3} << 32) | 500);
  EXPECT_FALSE(r.update((uint64_t{2} << 32) | 0xfffffff0u));  // already seen
}

TEST(EspReplay, InferenceNeverGoesBelowSequenceSpace) {
  EspReplay r(1024, true);
  ASSERT_TRUE(r.update(10));
  EXPECT_FALSE(r.infer(0xfffffff0u).has_value());  // would be subspace -1
  EXPECT_EQ(*r.infer(11), 11u);
}

TEST(EspReplay, ConcurrentWorkersAcceptEachNumberExactlyOnce) {
  EspReplay r(4096, true);
  constexpr uint64_t kCount = 20000;
  std::vector<uint64_t> accepted(4);
  std::vector<std::thread> ts;
  for (size_t t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (uint64_t s = 1; s <= kCount; ++s)
        if (r.update(s)) ++accepted[t];
    });
  for (auto& t : ts) t.join();
  uint64_t total = 0;
  for (auto a : accepted) total += a;
  // Every number goes through at least once unless the window moved past it
  // first; never twice.
  EXPECT_LE(total, kCount);
  EXPECT_GE(total, 1u);
  EXPECT_EQ(r.last(), kCount);
}

}  // namespace
