// TAI64N: golden encoding, whitening of nanoseconds, ordering.
#include "tunnel/tai64n.hpp"

#include <gtest/gtest.h>

namespace ferry::tunnel {
namespace {

TEST(Tai64n, UnixEpochGolden) {
  Tai64n t = Tai64n::from_unix(0, 0);
  const std::array<uint8_t, 12> golden = {0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0};
  EXPECT_EQ(t.bytes, golden);
}

TEST(Tai64n, FieldsAreBigEndian) {
  // 2026-01-01T00:00:00Z = 1767225600 = 0x6955B900; + 0x400000000000000a.
  Tai64n t = Tai64n::from_unix(1767225600, 0x3f000000);
  const std::array<uint8_t, 12> golden = {0x40, 0, 0, 0, 0x69, 0x55, 0xb9, 0x0a, 0x3f, 0, 0, 0};
  EXPECT_EQ(t.bytes, golden);
}

TEST(Tai64n, NanosecondsWhitened) {
  // Low 24 bits are dropped: times within ~16.7 ms compare equal.
  EXPECT_EQ(Tai64n::from_unix(100, 0x00ffffff), Tai64n::from_unix(100, 0));
  EXPECT_EQ(Tai64n::from_unix(100, 0x01000001).bytes[8], 0x01);
}

TEST(Tai64n, Ordering) {
  Tai64n a = Tai64n::from_unix(100, 0);
  Tai64n b = Tai64n::from_unix(100, 0x02000000);
  Tai64n c = Tai64n::from_unix(101, 0);
  EXPECT_TRUE(b.after(a));
  EXPECT_TRUE(c.after(b));
  EXPECT_FALSE(a.after(a));
  EXPECT_FALSE(a.after(c));
  EXPECT_TRUE(a.after(Tai64n{}));
  EXPECT_TRUE(Tai64n{}.is_zero());
}

TEST(Tai64n, FromTimeMatchesFromUnix) {
  auto tp = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000) +
                                                  std::chrono::nanoseconds(123456789));
  EXPECT_EQ(Tai64n::from_time(tp), Tai64n::from_unix(1700000000, 123456789));
  EXPECT_TRUE(Tai64n::now().after(Tai64n::from_unix(1700000000, 0)));
}

}  // namespace
}  // namespace ferry::tunnel
