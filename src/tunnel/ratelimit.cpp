#include "tunnel/ratelimit.hpp"

#include <algorithm>
#include <cstring>

namespace ferry::tunnel {
namespace {
constexpr int64_t kNsPerSec = 1000000000;
constexpr std::chrono::seconds kGcInterval(1);

std::array<uint8_t, 9> bucket_key(const IpAddress& src) {
  // Family tag, then the IPv4 address or the IPv6 /64.
  std::array<uint8_t, 9> k{};
  k[0] = src.is_v4() ? 4 : 6;
  std::memcpy(k.data() + 1, src.bytes(), src.is_v4() ? 4 : 8);
  return k;
}
}  // namespace

size_t HandshakeRateLimiter::KeyHash::operator()(const std::array<uint8_t, 9>& k) const {
  // FNV-1a; the table is bounded, so collisions cost time, never memory.
  uint64_t h = 1469598103934665603ULL;
  for (uint8_t b : k) h = (h ^ b) * 1099511628211ULL;
  return static_cast<size_t>(h);
}

HandshakeRateLimiter::HandshakeRateLimiter(uint32_t per_second, uint32_t burst, size_t max_entries)
    : cost_ns_(kNsPerSec / (per_second ? per_second : 1)),
      max_tokens_(cost_ns_ * (burst ? burst : 1)),
      max_entries_(max_entries) {}

void HandshakeRateLimiter::gc(TimePoint now) {
  if (now - last_gc_ < kGcInterval) return;
  last_gc_ = now;
  for (auto it = table_.begin(); it != table_.end();) {
    if (now - it->second.last > kGcInterval) {
      it = table_.erase(it);
    } else {
      ++it;
    }
  }
}

bool HandshakeRateLimiter::allow(const IpAddress& src, TimePoint now) {
  std::lock_guard lock(mu_);
  gc(now);
  const auto key = bucket_key(src);
  auto it = table_.find(key);
  if (it == table_.end()) {
    if (table_.size() >= max_entries_) return false;
    table_.emplace(key, Bucket{max_tokens_ - cost_ns_, now});
    return true;
  }
  Bucket& b = it->second;
  if (now > b.last) {
    const int64_t elapsed = std::chrono::duration_cast<Duration>(now - b.last).count();
    b.tokens = elapsed >= max_tokens_ ? max_tokens_ : std::min(max_tokens_, b.tokens + elapsed);
    b.last = now;
  }
  if (b.tokens >= cost_ns_) {
    b.tokens -= cost_ns_;
    return true;
  }
  return false;
}

size_t HandshakeRateLimiter::size() const {
  std::lock_guard lock(mu_);
  return table_.size();
}

void HandshakeRateLimiter::clear() {
  std::lock_guard lock(mu_);
  table_.clear();
}

}  // namespace ferry::tunnel
