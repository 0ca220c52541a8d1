#include "tunnel/replay.hpp"

#include "tunnel/timers.hpp"

namespace ferry::tunnel {

namespace {
// A slot holds 32 bits naming its block. Blocks within 2^32 of each other
// get distinct tags from their low 32 bits; the high bits are mixed in so a
// counter that jumped by a multiple of 2^32 blocks (legal, if odd) does not
// inherit the bits of the block it would alias. Tags are only compared for
// equality: a (2^-32) collision with a stale block can cost a drop, never a
// replay, because a counter's own bit stays set while it is inside the window.
uint32_t block_tag(uint64_t counter) {
  const uint64_t block = counter / ReplayWindow::kBlockBits;
  const uint32_t high = static_cast<uint32_t>(block >> 32);
  return static_cast<uint32_t>(block) ^ (high * 0x9e3779b1u) ^ (high >> 15);
}
uint64_t bit_of(uint64_t counter) {
  return uint64_t{1} << (counter % ReplayWindow::kBlockBits);
}
}  // namespace

bool ReplayWindow::check(uint64_t counter) const {
  if (counter >= kRejectAfterMessages) return false;
  const uint64_t last = last_.load(std::memory_order_acquire);
  if (counter > last) return true;
  if (last - counter > kWindowSize) return false;
  const uint64_t v = ring_[(counter / kBlockBits) % kRingBlocks].load(std::memory_order_acquire);
  // A slot holding another block holds nothing of this one.
  return static_cast<uint32_t>(v >> 32) != block_tag(counter) || (v & bit_of(counter)) == 0;
}

bool ReplayWindow::update(uint64_t counter) {
  if (counter >= kRejectAfterMessages) return false;
  // Advance the window's top (a monotonic maximum).
  uint64_t last = last_.load(std::memory_order_acquire);
  while (counter > last && !last_.compare_exchange_weak(last, counter, std::memory_order_acq_rel)) {
  }
  if (counter <= last && last - counter > kWindowSize) return false;
  const uint32_t tag = block_tag(counter);
  const uint64_t bit = bit_of(counter);
  std::atomic<uint64_t>& slot = ring_[(counter / kBlockBits) % kRingBlocks];
  uint64_t v = slot.load(std::memory_order_acquire);
  for (;;) {
    uint64_t next;
    if (static_cast<uint32_t>(v >> 32) == tag) {
      if (v & bit) return false;  // replay
      next = v | bit;
    } else {
      // The slot holds another block. While this counter is inside the
      // window, its block is the only one of the window that maps to this
      // slot, so the other block is stale and is replaced. Once the window
      // moved past this counter (another worker went ahead), it is too old;
      // a worker that wrote a newer block here changed the slot, so the
      // compare-and-swap below fails and this check runs again.
      const uint64_t top = last_.load(std::memory_order_acquire);
      if (top - counter > kWindowSize) return false;
      next = uint64_t{tag} << 32 | bit;
    }
    if (slot.compare_exchange_weak(v, next, std::memory_order_acq_rel)) return true;
  }
}

void ReplayWindow::reset() {
  last_.store(0, std::memory_order_relaxed);
  for (auto& s : ring_) s.store(0, std::memory_order_relaxed);
}

}  // namespace ferry::tunnel
