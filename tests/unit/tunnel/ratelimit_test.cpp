// Handshake rate limiter: burst then 20/s per source, IPv6 keyed by /64,
// independent sources, garbage collection and the table bound.
#include "tunnel/ratelimit.hpp"

#include <gtest/gtest.h>

#include "handshake_testutil.hpp"

namespace ferry::tunnel {
namespace {

using testing::t0;
using namespace std::chrono_literals;

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

TEST(RateLimit, BurstThenSteadyRate) {
  HandshakeRateLimiter rl;  // 20/s, burst 5
  const auto a = ip("192.0.2.1");
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += rl.allow(a, t0());
  EXPECT_EQ(allowed, 5);
  // 50 ms buys exactly one more packet.
  EXPECT_FALSE(rl.allow(a, t0() + 49ms));
  EXPECT_TRUE(rl.allow(a, t0() + 50ms));
  EXPECT_FALSE(rl.allow(a, t0() + 50ms));
  // Over one second at most 20 (+ nothing banked).
  allowed = 0;
  for (int ms = 51; ms <= 1050; ++ms) allowed += rl.allow(a, t0() + std::chrono::milliseconds(ms));
  EXPECT_EQ(allowed, 20);
}

TEST(RateLimit, SourcesAreIndependent) {
  HandshakeRateLimiter rl(20, 1);
  EXPECT_TRUE(rl.allow(ip("192.0.2.1"), t0()));
  EXPECT_FALSE(rl.allow(ip("192.0.2.1"), t0()));
  EXPECT_TRUE(rl.allow(ip("192.0.2.2"), t0()));
}

TEST(RateLimit, Ipv6SharesBucketPerSlash64) {
  HandshakeRateLimiter rl(20, 1);
  EXPECT_TRUE(rl.allow(ip("2001:db8:1:2::1"), t0()));
  EXPECT_FALSE(rl.allow(ip("2001:db8:1:2:ffff::9"), t0()));
  EXPECT_TRUE(rl.allow(ip("2001:db8:1:3::1"), t0()));
}

TEST(RateLimit, GarbageCollectsIdleEntries) {
  HandshakeRateLimiter rl;
  for (int i = 0; i < 100; ++i) {
    IpAddress a = IpAddress::v4(0x0a000000u + static_cast<uint32_t>(i));
    rl.allow(a, t0());
  }
  EXPECT_EQ(rl.size(), 100u);
  rl.allow(ip("192.0.2.1"), t0() + 3s);
  EXPECT_EQ(rl.size(), 1u);
}

TEST(RateLimit, BoundedTableRefusesNewSources) {
  HandshakeRateLimiter rl(20, 5, 4);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(rl.allow(IpAddress::v4(0x0a000000u + i), t0()));
  EXPECT_FALSE(rl.allow(ip("192.0.2.1"), t0()));
  EXPECT_TRUE(rl.allow(IpAddress::v4(0x0a000001u), t0()));  // known sources still served
  EXPECT_EQ(rl.size(), 4u);
}

}  // namespace
}  // namespace ferry::tunnel
