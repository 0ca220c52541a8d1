// Fixed identities shared by the WireGuard fuzz targets and the corpus
// generator, so seeds in corpus/ are valid messages for the fuzzed state:
// responder R (us), initiator I (a configured peer), a handshake of I's
// waiting for a response under index kInitIndex, and a transport keypair.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "tunnel/cookie.hpp"
#include "tunnel/handshake.hpp"
#include "tunnel/keypair.hpp"

namespace ferry::tunnel::fuzz {

class FixedRng final : public Rng {
 public:
  explicit FixedRng(uint8_t v) : v_(v) {}
  void fill(std::span<uint8_t> out) override {
    for (auto& b : out) b = v_++;
  }

 private:
  uint8_t v_;
};

inline Key fixed_key(uint8_t seed) {
  Key k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(seed + 7 * i);
  clamp_private_key(k);
  return k;
}

inline constexpr uint32_t kInitIndex = 0x11111111;
inline constexpr uint32_t kRespIndex = 0x22222222;
inline constexpr uint32_t kTransportIndex = 0x33333333;

inline TimePoint fuzz_now() {
  return TimePoint(std::chrono::hours(10));
}
inline Tai64n fuzz_timestamp() {
  return Tai64n::from_unix(1700000000, 0);
}

struct Fixture {
  StaticIdentity responder = StaticIdentity::from_private(fixed_key(1));
  StaticIdentity initiator = StaticIdentity::from_private(fixed_key(2));
  Key psk = fixed_key(3);

  Key send_key() const { return fixed_key(4); }
  Key recv_key() const { return fixed_key(5); }
};

inline const Fixture& fixture() {
  static const Fixture f;
  return f;
}

}  // namespace ferry::tunnel::fuzz
