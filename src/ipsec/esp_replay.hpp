// ESP anti-replay (RFC 4303 §3.4.3, Appendix A) with 64-bit extended
// sequence numbers (RFC 4304), lock-free for several workers receiving under
// one SA: the bitmap is tunnel::ReplayWindow (the RFC 6479 ring of atomic
// blocks, accepting up to 8128 below the top); this class adds the SA's
// window size W (1024..8128) and the receiver's reconstruction of the high
// 32 bits that ESN leaves off the wire (Appendix A2.2).
//
// Use after authentication as the tunnel does: infer() and check() before
// the ICV (cheap pre-filter, nothing mutated), update() once the ICV was
// verified (false if another worker took the number meanwhile).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "tunnel/replay.hpp"

namespace ferry::ipsec {

class EspReplay {
 public:
  static constexpr uint32_t kMinWindow = 1024;
  static constexpr uint32_t kMaxWindow = static_cast<uint32_t>(tunnel::ReplayWindow::kWindowSize);

  EspReplay(uint32_t window, bool esn)
      : w_(std::clamp(window, kMinWindow, kMaxWindow)), esn_(esn) {}

  uint32_t window() const { return w_; }

  // The full sequence number the low half `seq` stands for: itself without
  // ESN; with ESN, Appendix A2.2 (the window's bottom decides whether the
  // high half is the top's, the next, or the previous). nullopt: would be
  // below sequence space.
  std::optional<uint64_t> infer(uint32_t seq) const {
    if (!esn_) return seq;
    const uint64_t top = win_.last();
    const uint32_t tl = static_cast<uint32_t>(top), th = static_cast<uint32_t>(top >> 32);
    const uint32_t bottom = tl - w_ + 1;  // mod 2^32
    uint32_t sh;
    if (tl >= w_ - 1) {  // Case A: the window lies within one subspace
      sh = seq >= bottom ? th : th + 1;
    } else {  // Case B: the window spans two subspaces
      if (seq >= bottom) {
        if (th == 0) return std::nullopt;
        sh = th - 1;
      } else {
        sh = th;
      }
    }
    return uint64_t{sh} << 32 | seq;
  }

  // Fresh and inside the window (sequence number 0 is never sent, RFC 4303 §3.3.3).
  bool check(uint64_t seq) const { return in_window(seq) && win_.check(seq); }
  // Marks `seq` as received; false if it was a replay or fell out of the window.
  bool update(uint64_t seq) { return in_window(seq) && win_.update(seq); }
  uint64_t last() const { return win_.last(); }

 private:
  bool in_window(uint64_t seq) const {
    if (seq == 0) return false;
    const uint64_t top = win_.last();
    return seq > top || top - seq < w_;
  }

  const uint32_t w_;
  const bool esn_;
  tunnel::ReplayWindow win_;
};

}  // namespace ferry::ipsec
