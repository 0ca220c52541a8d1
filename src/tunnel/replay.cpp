#include "tunnel/replay.hpp"

#include "tunnel/timers.hpp"

namespace ferry::tunnel {

// RFC 6479 §2: the bitmap is a ring of blocks; advancing the window clears
// only the blocks that slide in, so the cost is independent of the jump.

bool ReplayWindow::check(uint64_t counter) const {
  if (counter >= kRejectAfterMessages) return false;
  if (counter > last_) return true;
  if (last_ - counter > kWindowSize) return false;
  const size_t block = (counter / kBlockBits) % kRingBlocks;
  const uint64_t bit = uint64_t{1} << (counter % kBlockBits);
  return (ring_[block] & bit) == 0;
}

bool ReplayWindow::update(uint64_t counter) {
  if (counter >= kRejectAfterMessages) return false;
  const uint64_t index_block = counter / kBlockBits;
  if (counter > last_) {
    const uint64_t current = last_ / kBlockBits;
    uint64_t diff = index_block - current;
    if (diff > kRingBlocks) diff = kRingBlocks;
    for (uint64_t i = current + 1; i <= current + diff; ++i) ring_[i % kRingBlocks] = 0;
    last_ = counter;
  } else if (last_ - counter > kWindowSize) {
    return false;
  }
  const size_t block = index_block % kRingBlocks;
  const uint64_t bit = uint64_t{1} << (counter % kBlockBits);
  const uint64_t old = ring_[block];
  ring_[block] = old | bit;
  return old != ring_[block];
}

void ReplayWindow::reset() {
  last_ = 0;
  ring_.fill(0);
}

}  // namespace ferry::tunnel
