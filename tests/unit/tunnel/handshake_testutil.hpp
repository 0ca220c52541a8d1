// Test helpers shared by the protocol tests: a deterministic Rng and a
// fake steady clock origin.
#pragma once

#include <cstdint>
#include <span>

#include "tunnel/keys.hpp"
#include "tunnel/timers.hpp"

namespace ferry::tunnel::testing {

// Deterministic byte stream (xorshift64*), seeded per test.
class SeqRng final : public Rng {
 public:
  explicit SeqRng(uint64_t seed = 1) : s_(seed ? seed : 1) {}
  void fill(std::span<uint8_t> out) override {
    for (auto& b : out) {
      s_ ^= s_ >> 12;
      s_ ^= s_ << 25;
      s_ ^= s_ >> 27;
      b = static_cast<uint8_t>((s_ * 2685821657736338717ULL) >> 56);
    }
  }

 private:
  uint64_t s_;
};

// Fixed bytes: every fill() writes `value`.
class ConstRng final : public Rng {
 public:
  explicit ConstRng(uint8_t v) : v_(v) {}
  void fill(std::span<uint8_t> out) override {
    for (auto& b : out) b = v_;
  }

 private:
  uint8_t v_;
};

inline TimePoint t0() {
  return TimePoint(std::chrono::hours(1000));
}

}  // namespace ferry::tunnel::testing
