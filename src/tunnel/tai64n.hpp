// TAI64N timestamps as carried (encrypted) in handshake initiations
// (whitepaper §5.4.2). 12 bytes: big-endian TAI64 seconds label
// (2^62 + 10 + unix seconds) then big-endian nanoseconds. Like wireguard-go,
// the nanoseconds are whitened (low 24 bits cleared) so the timestamp does
// not leak a precise clock. The responder keeps the greatest timestamp seen
// per peer and rejects any initiation whose timestamp is not strictly newer
// (replay protection); comparison is bytewise, which orders big-endian fields.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>

namespace ferry::tunnel {

struct Tai64n {
  static constexpr size_t kSize = 12;
  std::array<uint8_t, kSize> bytes{};

  // From wall-clock time (system_clock), whitened.
  static Tai64n from_time(std::chrono::system_clock::time_point t);
  static Tai64n from_unix(int64_t seconds, uint32_t nanoseconds);
  static Tai64n now() { return from_time(std::chrono::system_clock::now()); }

  // True if this timestamp is strictly newer than `other`.
  bool after(const Tai64n& other) const { return bytes > other.bytes; }
  bool is_zero() const { return bytes == std::array<uint8_t, kSize>{}; }
  auto operator<=>(const Tai64n&) const = default;
};

}  // namespace ferry::tunnel
