// Per-source token bucket for handshake messages, consulted only while the
// device is under load and only after mac2 proved the source address
// (whitepaper §5.3; same defaults as wireguard-go: 20 per second, burst 5).
// IPv4 sources are keyed by address, IPv6 by their /64, so one host cannot
// dodge the limit by hopping through its subnet. The table is bounded: when
// full, unknown sources are refused (under attack that is the safe side).
// Entries idle for more than a second are garbage-collected lazily.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "common/ip.hpp"
#include "tunnel/timers.hpp"

namespace ferry::tunnel {

class HandshakeRateLimiter {
 public:
  explicit HandshakeRateLimiter(uint32_t per_second = 20, uint32_t burst = 5,
                                size_t max_entries = 1 << 16);
  // True if one more handshake from `src` may be processed at `now`.
  bool allow(const IpAddress& src, TimePoint now);
  size_t size() const;
  void clear();

 private:
  struct Bucket {
    int64_t tokens;  // in nanoseconds of "packet cost" units
    TimePoint last;
  };
  struct KeyHash {
    size_t operator()(const std::array<uint8_t, 9>& k) const;
  };
  void gc(TimePoint now);

  int64_t cost_ns_;     // 1 s / per_second
  int64_t max_tokens_;  // cost * burst
  size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::array<uint8_t, 9>, Bucket, KeyHash> table_;
  TimePoint last_gc_{};
};

}  // namespace ferry::tunnel
