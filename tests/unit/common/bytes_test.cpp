#include "common/bytes.hpp"

#include <gtest/gtest.h>

using namespace ferry;

TEST(ByteReader, ReadsBigEndianAndStopsAtEnd) {
  const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
  ByteReader r(buf, sizeof buf);
  EXPECT_EQ(*r.u8(), 0x01);
  EXPECT_EQ(*r.u16(), 0x0203);
  EXPECT_EQ(*r.u32(), 0x04050607u);
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.u8());
  EXPECT_FALSE(r.u16());
}

TEST(ByteReader, ShortReadDoesNotConsume) {
  const uint8_t buf[] = {0xaa, 0xbb, 0xcc};
  ByteReader r(buf, sizeof buf);
  EXPECT_FALSE(r.u32());
  EXPECT_EQ(r.remaining(), 3u);
  EXPECT_EQ(*r.u24(), 0xaabbccu);
}

TEST(ByteReader, SubReaderIsBounded) {
  const uint8_t buf[] = {2, 0x11, 0x22, 0x33};
  ByteReader r(buf, sizeof buf);
  auto len = r.u8();
  auto sub = r.sub(*len);
  ASSERT_TRUE(sub);
  EXPECT_EQ(*sub->u16(), 0x1122);
  EXPECT_FALSE(sub->u8());  // cannot see 0x33
  EXPECT_EQ(*r.u8(), 0x33);
  EXPECT_FALSE(r.sub(1));
}

TEST(ByteReader, LittleEndian) {
  const uint8_t buf[] = {1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
  ByteReader r(buf, sizeof buf);
  EXPECT_EQ(*r.u32_le(), 1u);
  EXPECT_EQ(*r.u64_le(), 2u);
}

TEST(ByteWriter, WritesAndPatches) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(1);
  auto at = w.placeholder_u16();
  w.u32(0xdeadbeef);
  w.patch_u16(at, 4);
  w.u64(0x0102030405060708ULL);
  const std::vector<uint8_t> want = {1, 0, 4, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(out, want);
}

TEST(SpanWriter, OverflowIsStickyAndSafe) {
  uint8_t buf[4] = {};
  SpanWriter w(buf);
  w.u16(0x0102);
  w.u32(0xffffffff);  // does not fit
  EXPECT_TRUE(w.overflow());
  w.u8(9);  // ignored after overflow
  EXPECT_EQ(w.size(), 2u);
  EXPECT_EQ(buf[2], 0);
}
