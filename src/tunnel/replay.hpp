// Anti-replay sliding window for transport counters (whitepaper §5.4.6; the
// ring of bitmap blocks of RFC 6479), safe for concurrent use without locks:
// several workers may receive under one keypair at once.
//
// The window accepts any counter no more than kWindowSize = 8128 below the
// greatest one accepted (as wireguard-go) and each counter once. Counters >=
// REJECT_AFTER_MESSAGES are refused. The ring has kRingBlocks slots of 32
// counters; each slot is one atomic word holding a 32-bit tag of its block
// (counter / 32) beside the block's bitmap, so a slot that still holds an
// older block reads as empty: advancing the window clears nothing, and a
// counter is marked with one compare-and-swap on its slot.
//
// Use only after authentication: check() is a cheap pre-filter before the
// AEAD (never mutates); update() marks the counter after the AEAD succeeded
// and returns false if it was already marked (another thread may have marked
// it in between) or has fallen out of the window.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ferry::tunnel {

class ReplayWindow {
 public:
  static constexpr size_t kBlockBits = 32;
  static constexpr size_t kRingBlocks = 256;
  static constexpr size_t kRingBits = kRingBlocks * kBlockBits;  // 8192
  static constexpr uint64_t kWindowSize = 8128;
  // Every counter of the window, and the slot being reused, fit in the ring.
  static_assert(kWindowSize / kBlockBits + 2 <= kRingBlocks);

  // True if `counter` could be accepted (fresh and inside the window).
  bool check(uint64_t counter) const;
  // Marks `counter` as received; false if it was already marked or is out of window.
  bool update(uint64_t counter);
  void reset();
  // Greatest counter accepted so far (0 if none).
  uint64_t last() const { return last_.load(std::memory_order_acquire); }

 private:
  std::atomic<uint64_t> last_{0};
  std::array<std::atomic<uint64_t>, kRingBlocks> ring_{};  // block << 32 | bitmap
};

}  // namespace ferry::tunnel
