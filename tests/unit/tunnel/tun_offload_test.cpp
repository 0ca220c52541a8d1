#include "tunnel/tun_offload.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace ferry::tunnel;

namespace {

constexpr size_t kIph = 20, kTcph = 32, kHdr = kIph + kTcph;

// An IPv4/TCP packet 10.0.0.1:1000 -> 10.0.0.2:2000 with a timestamp-sized option block.
std::vector<uint8_t> tcp4(uint32_t seq, size_t payload, uint8_t flags, uint8_t fill = 0) {
  std::vector<uint8_t> p(kHdr + payload);
  size_t total = p.size();
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[4] = 0x12;
  p[5] = 0x34;
  p[6] = 0x40;  // DF
  p[8] = 64;
  p[9] = 6;
  uint8_t a[8] = {10, 0, 0, 1, 10, 0, 0, 2};
  std::memcpy(&p[12], a, 8);
  uint8_t* t = &p[kIph];
  t[0] = 0x03, t[1] = 0xe8, t[2] = 0x07, t[3] = 0xd0;
  t[4] = static_cast<uint8_t>(seq >> 24), t[5] = static_cast<uint8_t>(seq >> 16);
  t[6] = static_cast<uint8_t>(seq >> 8), t[7] = static_cast<uint8_t>(seq);
  t[11] = 7;  // ack
  t[12] = (kTcph / 4) << 4;
  t[13] = flags;
  t[14] = 0xff;
  for (size_t i = 20; i < kTcph; ++i) t[i] = 1;  // NOP options
  for (size_t i = 0; i < payload; ++i) p[kHdr + i] = static_cast<uint8_t>(i * 7 + fill);
  // Valid checksums.
  uint16_t c = static_cast<uint16_t>(~csum_fold(csum_add(p.data(), kIph, 0)));
  p[10] = static_cast<uint8_t>(c >> 8), p[11] = static_cast<uint8_t>(c);
  uint64_t s = pseudo_header_sum(&p[12], &p[16], 4, 6, static_cast<uint32_t>(total - kIph));
  c = static_cast<uint16_t>(~csum_fold(csum_add(t, total - kIph, s)));
  t[16] = static_cast<uint8_t>(c >> 8), t[17] = static_cast<uint8_t>(c);
  return p;
}

bool ip_checksum_ok(const uint8_t* p) {
  return csum_fold(csum_add(p, kIph, 0)) == 0xffff;
}

std::vector<std::vector<uint8_t>> split(std::vector<uint8_t> in, const VnetHdr& h) {
  std::vector<std::vector<uint8_t>> segs;
  std::vector<uint8_t> cur;
  int n = gso_split(
      in, h,
      [&](size_t len) {
        cur.assign(len, 0);
        return cur.data();
      },
      [&](size_t len) { segs.emplace_back(cur.begin(), cur.begin() + len); });
  EXPECT_EQ(n, static_cast<int>(segs.size()));
  return segs;
}

VnetHdr gso_hdr(uint16_t mss) {
  VnetHdr h;
  h.flags = VnetHdr::kNeedsCsum;
  h.gso_type = VnetHdr::kGsoTcpV4;
  h.hdr_len = kHdr;
  h.gso_size = mss;
  h.csum_start = kIph;
  h.csum_offset = 16;
  return h;
}

}  // namespace

TEST(TunOffload, ChecksumMatchesRfc1071Example) {
  // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2 (folded).
  uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(csum_fold(csum_add(b, sizeof b, 0)), 0xddf2);
  EXPECT_EQ(csum_fold(csum_add(b, 7, 0)), csum_fold(0x0001 + 0xf203 + 0xf4f5 + 0xf600));
}

TEST(TunOffload, GsoSplitProducesValidSegments) {
  auto big = tcp4(1000, 4500, 0x18);  // ACK|PSH
  auto segs = split(big, gso_hdr(1000));
  ASSERT_EQ(segs.size(), 5u);
  for (size_t i = 0; i < segs.size(); ++i) {
    const auto& s = segs[i];
    size_t payload = i < 4 ? 1000 : 500;
    ASSERT_EQ(s.size(), kHdr + payload);
    EXPECT_EQ((s[2] << 8) | s[3], static_cast<int>(s.size()));
    EXPECT_EQ((s[4] << 8) | s[5], 0x1234 + static_cast<int>(i));
    EXPECT_TRUE(ip_checksum_ok(s.data())) << i;
    EXPECT_TRUE(tcp_checksum_ok(s.data(), s.size(), kIph, false)) << i;
    uint32_t seq = (uint32_t{s[24]} << 24) | (uint32_t{s[25]} << 16) | (s[26] << 8) | s[27];
    EXPECT_EQ(seq, 1000 + 1000 * i);
    EXPECT_EQ(s[kIph + 13], i < 4 ? 0x10 : 0x18);  // PSH only on the last
    EXPECT_EQ(0, std::memcmp(s.data() + kHdr, big.data() + kHdr + 1000 * i, payload));
  }
}

TEST(TunOffload, CoalescerRebuildsTheSuperPacket) {
  auto big = tcp4(1000, 4500, 0x18);
  auto segs = split(big, gso_hdr(1000));
  TcpCoalescer c;
  std::vector<std::vector<uint8_t>> writes;
  auto w = [&](uint8_t* p, size_t n) { writes.emplace_back(p, p + n); };
  std::vector<std::vector<uint8_t>> bufs;
  for (auto& s : segs) {
    bufs.emplace_back(VnetHdr::kSize, 0);
    bufs.back().insert(bufs.back().end(), s.begin(), s.end());
  }
  for (auto& b : bufs) c.add(b.data() + VnetHdr::kSize, b.size() - VnetHdr::kSize, w);
  c.flush(w);
  ASSERT_EQ(writes.size(), 1u);
  VnetHdr h = VnetHdr::read(writes[0].data());
  EXPECT_EQ(h.gso_type, VnetHdr::kGsoTcpV4);
  EXPECT_EQ(h.gso_size, 1000);
  EXPECT_EQ(h.hdr_len, kHdr);
  EXPECT_EQ(h.flags, VnetHdr::kNeedsCsum);
  std::vector<uint8_t> merged(writes[0].begin() + VnetHdr::kSize, writes[0].end());
  ASSERT_EQ(merged.size(), big.size());
  EXPECT_TRUE(ip_checksum_ok(merged.data()));
  EXPECT_EQ(0, std::memcmp(merged.data() + kHdr, big.data() + kHdr, 4500));
  EXPECT_EQ(merged[kIph + 13], 0x18);
  // What the kernel would do with it: split again -> the same segments.
  EXPECT_EQ(split(merged, h), segs);
}

TEST(TunOffload, CoalescerKeepsOrderAndRefusesGapsAndBadChecksums) {
  TcpCoalescer c;
  std::vector<std::vector<uint8_t>> writes;
  auto w = [&](uint8_t* p, size_t n) { writes.emplace_back(p, p + n); };
  std::vector<std::vector<uint8_t>> pk = {tcp4(0, 100, 0x10), tcp4(100, 100, 0x10),
                                          tcp4(300, 100, 0x10),  // gap: new group
                                          tcp4(400, 100, 0x10), tcp4(500, 100, 0x10)};
  pk[4][kHdr + 3] ^= 0xff;  // corrupt payload: checksum no longer valid -> alone
  std::vector<std::vector<uint8_t>> bufs;
  for (auto& s : pk) {
    bufs.emplace_back(VnetHdr::kSize, 0);
    bufs.back().insert(bufs.back().end(), s.begin(), s.end());
  }
  for (auto& b : bufs) c.add(b.data() + VnetHdr::kSize, b.size() - VnetHdr::kSize, w);
  c.flush(w);
  ASSERT_EQ(writes.size(), 3u);
  EXPECT_EQ(writes[0].size(), VnetHdr::kSize + kHdr + 200);
  EXPECT_EQ(writes[1].size(), VnetHdr::kSize + kHdr + 200);
  EXPECT_EQ(VnetHdr::read(writes[2].data()).gso_type, VnetHdr::kGsoNone);
  EXPECT_EQ(writes[2].size(), VnetHdr::kSize + kHdr + 100);
}

TEST(TunOffload, CompleteChecksumOfPartialPacket) {
  auto p = tcp4(1, 333, 0x18);
  // Seed the TCP checksum with the pseudo-header sum, as the kernel does for CHECKSUM_PARTIAL.
  uint16_t ps = csum_fold(pseudo_header_sum(&p[12], &p[16], 4, 6, p.size() - kIph));
  p[kIph + 16] = static_cast<uint8_t>(ps >> 8);
  p[kIph + 17] = static_cast<uint8_t>(ps);
  EXPECT_FALSE(tcp_checksum_ok(p.data(), p.size(), kIph, false));
  VnetHdr h;
  h.flags = VnetHdr::kNeedsCsum;
  h.csum_start = kIph;
  h.csum_offset = 16;
  ASSERT_TRUE(complete_checksum(p, h));
  EXPECT_TRUE(tcp_checksum_ok(p.data(), p.size(), kIph, false));
}

TEST(TunOffload, MalformedGsoHeaderIsRejected) {
  auto big = tcp4(0, 3000, 0x10);
  VnetHdr h = gso_hdr(1000);
  h.hdr_len = 9000;  // beyond the packet
  int calls = 0;
  EXPECT_EQ(gso_split(
                big, h, [&](size_t) -> uint8_t* { return nullptr; }, [&](size_t) { ++calls; }),
            -1);
  h = gso_hdr(0);
  EXPECT_EQ(gso_split(
                big, h, [&](size_t) -> uint8_t* { return nullptr; }, [&](size_t) { ++calls; }),
            -1);
  EXPECT_EQ(calls, 0);
}
