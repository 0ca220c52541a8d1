#include "tunnel/tai64n.hpp"

namespace ferry::tunnel {
namespace {
// TAI64 label of the unix epoch: 2^62 + 10 (TAI-UTC offset in 1970), as wireguard-go uses.
constexpr uint64_t kTai64Base = 0x400000000000000aULL;
// Clearing the low 24 bits of the nanoseconds rounds to ~16.8 ms, so the
// timestamp is not a fine-grained clock oracle (wireguard-go's whitenerMask).
constexpr uint32_t kWhitenerMask = 0x1000000 - 1;
}  // namespace

Tai64n Tai64n::from_unix(int64_t seconds, uint32_t nanoseconds) {
  Tai64n t;
  const uint64_t secs = kTai64Base + static_cast<uint64_t>(seconds);
  const uint32_t nano = nanoseconds & ~kWhitenerMask;
  for (int i = 0; i < 8; ++i) t.bytes[i] = static_cast<uint8_t>(secs >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) t.bytes[8 + i] = static_cast<uint8_t>(nano >> (24 - 8 * i));
  return t;
}

Tai64n Tai64n::from_time(std::chrono::system_clock::time_point t) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  int64_t secs = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --secs;
  }
  return from_unix(secs, static_cast<uint32_t>(rem));
}

}  // namespace ferry::tunnel
