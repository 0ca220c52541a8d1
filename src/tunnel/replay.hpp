// Anti-replay sliding window for transport counters (RFC 6479 bitmap ring,
// as wireguard-go does). The ring holds kRingBits = 8192 bits in 64-bit
// blocks; one block is always being recycled, so the window accepts any
// counter no more than kWindowSize = 8128 below the greatest one seen
// (same as wireguard-go). Counters >= REJECT_AFTER_MESSAGES are refused.
//
// Use only after authentication: check() is a cheap pre-filter before the
// AEAD (never mutates), update() marks the counter after the AEAD succeeded
// and returns false if another thread marked it in between. Not
// synchronised: the owner (Keypair) serialises update() calls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ferry::tunnel {

class ReplayWindow {
 public:
  static constexpr size_t kBlockBits = 64;
  static constexpr size_t kRingBlocks = 128;
  static constexpr size_t kRingBits = kRingBlocks * kBlockBits;            // 8192
  static constexpr uint64_t kWindowSize = (kRingBlocks - 1) * kBlockBits;  // 8128

  // True if `counter` could be accepted (fresh and inside the window).
  bool check(uint64_t counter) const;
  // Marks `counter` as received; false if it was already marked or is out of window.
  bool update(uint64_t counter);
  // check + update (for a single-threaded caller after decryption).
  bool check_and_update(uint64_t counter) { return update(counter); }
  void reset();
  // Greatest counter accepted so far (0 if none).
  uint64_t last() const { return last_; }

 private:
  uint64_t last_ = 0;
  std::array<uint64_t, kRingBlocks> ring_{};
};

}  // namespace ferry::tunnel
