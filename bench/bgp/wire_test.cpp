// Golden-byte tests for the load generator's private BGP codec: if it were
// wrong, the benchmark would measure a DUT rejecting garbage.
#include "wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "prefixgen.hpp"

namespace ferry::bench {
namespace {

std::vector<uint8_t> marker_header(uint16_t len, uint8_t type) {
  std::vector<uint8_t> v(16, 0xff);
  v.push_back(static_cast<uint8_t>(len >> 8));
  v.push_back(static_cast<uint8_t>(len));
  v.push_back(type);
  return v;
}

TEST(BenchWire, KeepaliveIsBareHeader) {  // RFC 4271 §4.4
  std::vector<uint8_t> out;
  encode_keepalive(out);
  EXPECT_EQ(out, marker_header(19, 4));
}

TEST(BenchWire, OpenCarriesAsTransAndFourOctetCapability) {
  std::vector<uint8_t> out;
  encode_open(out, {.asn = 4200000001u, .hold_time = 90, .router_id = 0x0a000001});
  std::vector<uint8_t> want = marker_header(29 + 2 + 6 + 6 + 2, 1);
  std::vector<uint8_t> body = {4,  0x5b, 0xa0,                    // version, AS_TRANS 23456
                               0,  90,                            // hold time
                               10, 0,    0,    1,                 // BGP identifier
                               16,                                // opt parm len
                               2,  14,                            // capabilities parameter
                               1,  4,    0,    1,    0,    1,     // MP IPv4 unicast
                               65, 4,    0xfa, 0x56, 0xea, 0x01,  // 4-octet AS 4200000001
                               2,  0};                            // route refresh
  want.insert(want.end(), body.begin(), body.end());
  EXPECT_EQ(out, want);
  auto info = parse_open(std::span(out).subspan(19));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->asn, 4200000001u);
  EXPECT_EQ(info->hold_time, 90);
}

TEST(BenchWire, AnnounceGoldenBytes) {
  std::vector<uint8_t> out;
  RouteAttrs a{{65002, 1}, 0x0a4d0002, {0xfde80064}};
  PrefixKey k1 = make_key(0xc6336400, 24);  // 198.51.100.0/24
  PrefixKey k2 = make_key(0x0b000000, 16);  // 11.0.0.0/16
  ASSERT_TRUE(encode_announce(out, a, std::vector<PrefixKey>{k1, k2}));
  std::vector<uint8_t> body = {0,    0,            // withdrawn length
                               0,    31,           // attribute length
                               0x40, 1,    1,  0,  // ORIGIN IGP
                               0x40, 2,    10, 2,    2,    0, 0,
                               0xfd, 0xea, 0,  0,    0,    1,        // AS_PATH 65002 1
                               0x40, 3,    4,  10,   77,   0, 2,     // NEXT_HOP 10.77.0.2
                               0xc0, 8,    4,  0xfd, 0xe8, 0, 0x64,  // COMMUNITIES 65000:100
                               24,   198,  51, 100,                  // NLRI
                               16,   11,   0};
  std::vector<uint8_t> want = marker_header(static_cast<uint16_t>(19 + body.size()), 2);
  want.insert(want.end(), body.begin(), body.end());
  EXPECT_EQ(out, want);

  std::vector<PrefixKey> seen;
  ASSERT_TRUE(scan_update(
      std::span(out).subspan(19), [](PrefixKey) { FAIL(); },
      [&](PrefixKey k) { seen.push_back(k); }));
  EXPECT_EQ(seen, (std::vector<PrefixKey>{k1, k2}));
}

TEST(BenchWire, WithdrawSplitsAtMaxMessageAndRoundTrips) {
  std::vector<PrefixKey> keys;
  for (uint32_t i = 0; i < 3000; ++i) keys.push_back(make_key(0x0b000000 + (i << 8), 24));
  std::vector<uint8_t> out;
  encode_withdraw(out, keys);
  FrameSplitter fs;
  fs.feed(out);
  std::vector<PrefixKey> got;
  int msgs = 0;
  while (auto f = fs.next()) {
    ++msgs;
    EXPECT_EQ(f->type, MsgType::Update);
    EXPECT_LE(f->body.size() + 19, kMaxMessage);
    ASSERT_TRUE(scan_update(
        f->body, [&](PrefixKey k) { got.push_back(k); }, [](PrefixKey) { FAIL(); }));
  }
  EXPECT_TRUE(fs.error().empty());
  EXPECT_EQ(msgs, 3);  // 3000 * 4 bytes > 2 messages of 4096
  EXPECT_EQ(got, keys);
}

TEST(BenchWire, ScanRejectsTruncatedPrefix) {
  std::vector<uint8_t> body = {0, 2, 24, 10, 0, 0};  // withdrawn len 2 but /24 needs 4 bytes
  EXPECT_FALSE(scan_update(
      body, [](PrefixKey) {}, [](PrefixKey) {}));
}

TEST(BenchWire, MpReachIpv4IsScanned) {  // RFC 4760 §3
  std::vector<uint8_t> body = {0, 0, 0, 12, 0x80, 14, 9, 0, 1, 1, 4, 10, 0, 0, 1, 0, 8, 12};
  body[3] = 12;
  std::vector<PrefixKey> got;
  ASSERT_TRUE(scan_update(
      body, [](PrefixKey) {}, [&](PrefixKey k) { got.push_back(k); }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(key_str(got[0]), "12.0.0.0/8");
}

TEST(BenchWire, SplitterWaitsForWholeMessageAndFlagsBadMarker) {
  std::vector<uint8_t> k;
  encode_keepalive(k);
  FrameSplitter fs;
  fs.feed(std::span(k).first(10));
  EXPECT_FALSE(fs.next());
  fs.feed(std::span(k).subspan(10));
  EXPECT_TRUE(fs.next());
  std::vector<uint8_t> bad(19, 0);
  fs.feed(bad);
  EXPECT_FALSE(fs.next());
  EXPECT_FALSE(fs.error().empty());
}

TEST(BenchPrefixGen, DistinctDeterministicAndRealisticMix) {
  Table a = make_table(20000, 7, 65002, 0x0a4d0002);
  Table b = make_table(20000, 7, 65002, 0x0a4d0002);
  ASSERT_EQ(a.sorted_keys, b.sorted_keys);
  std::set<PrefixKey> uniq(a.sorted_keys.begin(), a.sorted_keys.end());
  EXPECT_EQ(uniq.size(), 20000u);
  size_t n24 = std::count_if(a.sorted_keys.begin(), a.sorted_keys.end(),
                             [](PrefixKey k) { return key_len(k) == 24; });
  EXPECT_GT(n24, 20000u * 80 / 100);
  EXPECT_LT(n24, 20000u * 90 / 100);
  size_t with_comm = 0;
  for (const auto& g : a.groups) {
    EXPECT_GE(g.attrs.as_path.size(), 2u);
    EXPECT_LE(g.attrs.as_path.size(), 7u);
    EXPECT_EQ(g.attrs.as_path[0], 65002u);
    EXPECT_GE(g.prefixes.size(), 1u);
    EXPECT_LE(g.prefixes.size(), 5u);
    if (!g.attrs.communities.empty()) ++with_comm;
    for (auto k : g.prefixes) {
      uint8_t o1 = static_cast<uint8_t>(key_addr(k) >> 24);
      EXPECT_TRUE(o1 != 0 && o1 != 10 && o1 != 127 && o1 < 224) << key_str(k);
    }
  }
  EXPECT_EQ(with_comm, (a.groups.size() + 1) / 2);
}

}  // namespace
}  // namespace ferry::bench
