// Anti-replay window (RFC 6479 ring): in order, out of order, duplicates,
// too old, window edge, big jumps (wrap of the ring), the REJECT limit, and
// that check() never mutates.
#include "tunnel/replay.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tunnel/timers.hpp"

namespace ferry::tunnel {
namespace {

TEST(Replay, InOrderAndDuplicates) {
  ReplayWindow w;
  for (uint64_t i = 0; i < 20000; ++i) {
    ASSERT_TRUE(w.check(i)) << i;
    ASSERT_TRUE(w.update(i)) << i;
    ASSERT_FALSE(w.check(i)) << i;
    ASSERT_FALSE(w.update(i)) << i;
  }
  EXPECT_EQ(w.last(), 19999u);
}

TEST(Replay, ZeroIsAcceptedOnce) {
  ReplayWindow w;
  EXPECT_TRUE(w.update(0));
  EXPECT_FALSE(w.update(0));
}

TEST(Replay, OutOfOrderWithinWindow) {
  ReplayWindow w;
  EXPECT_TRUE(w.update(100));
  EXPECT_TRUE(w.update(50));
  EXPECT_TRUE(w.update(99));
  EXPECT_TRUE(w.update(0));
  EXPECT_FALSE(w.update(50));
  EXPECT_FALSE(w.update(100));
  EXPECT_TRUE(w.update(101));
  EXPECT_TRUE(w.update(98));
}

TEST(Replay, WindowEdge) {
  ReplayWindow w;
  const uint64_t top = 100000;
  ASSERT_TRUE(w.update(top));
  // Exactly kWindowSize behind is still inside; one more is too old.
  EXPECT_TRUE(w.check(top - ReplayWindow::kWindowSize));
  EXPECT_FALSE(w.check(top - ReplayWindow::kWindowSize - 1));
  EXPECT_TRUE(w.update(top - ReplayWindow::kWindowSize));
  EXPECT_FALSE(w.update(top - ReplayWindow::kWindowSize - 1));
  EXPECT_FALSE(w.update(0));
  EXPECT_GE(ReplayWindow::kRingBits, 8192u);
}

TEST(Replay, ReorderedBurstAcrossBlocks) {
  ReplayWindow w;
  // Deliver 0..4095 in reverse after the highest arrives first.
  ASSERT_TRUE(w.update(4095));
  for (uint64_t i = 4095; i-- > 0;) ASSERT_TRUE(w.update(i)) << i;
  for (uint64_t i = 0; i < 4096; ++i) ASSERT_FALSE(w.check(i)) << i;
}

TEST(Replay, LargeJumpClearsRing) {
  ReplayWindow w;
  for (uint64_t i = 0; i < 8192; ++i) ASSERT_TRUE(w.update(i));
  // Jump by far more than the ring: every old bit must be forgotten, so a
  // counter that maps to the same ring slot as an old one is accepted.
  const uint64_t far = 1'000'000 * ReplayWindow::kRingBits + 5;
  ASSERT_TRUE(w.update(far));
  EXPECT_TRUE(w.update(far - 1));
  EXPECT_TRUE(w.update(far - ReplayWindow::kWindowSize));
  EXPECT_FALSE(w.update(8191));
}

TEST(Replay, JumpOfOneBlockKeepsRecentBits) {
  ReplayWindow w;
  ASSERT_TRUE(w.update(10));
  ASSERT_TRUE(w.update(70));  // next block
  EXPECT_FALSE(w.update(10));
  ASSERT_TRUE(w.update(64 * 130));  // ring wraps past block 0 and 1
  EXPECT_FALSE(w.check(70));        // too old now (more than window behind)
  EXPECT_TRUE(w.update(64 * 130 - 64));
}

TEST(Replay, CheckDoesNotMutate) {
  ReplayWindow w;
  ASSERT_TRUE(w.update(5));
  EXPECT_TRUE(w.check(1000));
  EXPECT_EQ(w.last(), 5u);
  EXPECT_TRUE(w.update(4));
}

TEST(Replay, RejectAfterMessagesLimit) {
  ReplayWindow w;
  EXPECT_FALSE(w.check(kRejectAfterMessages));
  EXPECT_FALSE(w.update(kRejectAfterMessages));
  EXPECT_FALSE(w.update(~uint64_t{0}));
  EXPECT_TRUE(w.update(kRejectAfterMessages - 1));
  EXPECT_FALSE(w.update(kRejectAfterMessages - 1));
}

TEST(Replay, Reset) {
  ReplayWindow w;
  ASSERT_TRUE(w.update(7));
  w.reset();
  EXPECT_TRUE(w.update(7));
}

// A jump by a multiple of 2^32 blocks (the REKEY_AFTER_MESSAGES boundary is
// one) lands on ring slots whose old blocks share the low bits of the block
// number: none of their bits may carry over.
TEST(Replay, JumpByAPowerOfTwoDoesNotInheritOldBits) {
  ReplayWindow w;
  for (uint64_t i = 0; i < 4000; ++i) ASSERT_TRUE(w.update(i));
  const uint64_t base = kRekeyAfterMessages;  // 2^60
  for (uint64_t i = 1; i < 4000; ++i) ASSERT_TRUE(w.update(base + i)) << i;
  for (uint64_t i = 1; i < 4000; ++i) ASSERT_FALSE(w.update(base + i)) << i;
}

// Workers receiving under one keypair at once: every counter is accepted
// exactly once across threads, whatever the interleaving.
TEST(Replay, ConcurrentUpdatesAcceptEachCounterOnce) {
  ReplayWindow w;
  constexpr uint64_t kCounters = 200000;
  constexpr int kThreads = 4;
  std::vector<std::atomic<int>> accepted(kCounters);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      // Every thread offers every counter, in a slightly different order, so
      // they race on the same slots while the window advances.
      for (uint64_t base = 0; base < kCounters; base += 64) {
        for (uint64_t j = 0; j < 64 && base + j < kCounters; ++j) {
          uint64_t c = base + ((j * (2 * static_cast<uint64_t>(t) + 1)) % 64);
          if (w.update(c)) accepted[c].fetch_add(1);
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  for (uint64_t c = 0; c < kCounters; ++c) ASSERT_EQ(accepted[c].load(), 1) << c;
}

}  // namespace
}  // namespace ferry::tunnel
