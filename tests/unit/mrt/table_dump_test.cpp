// TABLE_DUMP_V2 records against bytes laid out by hand from RFC 6396 §2 and §4.3.
#include <gtest/gtest.h>

#include "mrt/table_dump.hpp"

using namespace ferry;
using namespace ferry::mrt;

namespace {

constexpr uint32_t kTs = 1600000000;  // 0x5F5E1000

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

bgp::PathAttributes attrs(const char* next_hop) {
  bgp::PathAttributes a;
  a.origin = bgp::Origin::Igp;
  a.as_path = {{bgp::SegmentType::Sequence, {65002}}};
  a.next_hop = ip(next_hop);
  return a;
}

}  // namespace

TEST(MrtTableDump, PeerIndexTable) {
  const std::vector<Peer> peers = {{0x0AFF0002, ip("169.254.12.2"), 65002},
                                   {0, ip("fd99:12::2"), 4200000000u}};
  const std::vector<uint8_t> want = {
      0x5F, 0x5E, 0x10, 0x00,       // §2 Timestamp
      0x00, 0x0D,                   // Type 13 TABLE_DUMP_V2
      0x00, 0x01,                   // Subtype 1 PEER_INDEX_TABLE
      0x00, 0x00, 0x00, 0x31,       // Length 49
      0x0A, 0xFF, 0x00, 0x01,       // §4.3.1 Collector BGP ID 10.255.0.1
      0x00, 0x03, 'f',  'o',  'o',  // View Name Length, View Name
      0x00, 0x02,                   // Peer Count
      0x02,                         // Peer Type: IPv4 address, 4-octet AS
      0x0A, 0xFF, 0x00, 0x02,       // Peer BGP ID
      0xA9, 0xFE, 0x0C, 0x02,       // Peer IP Address 169.254.12.2
      0x00, 0x00, 0xFD, 0xEA,       // Peer AS 65002
      0x03,                         // Peer Type: IPv6 address, 4-octet AS
      0x00, 0x00, 0x00, 0x00,       // Peer BGP ID unknown
      0xFD, 0x99, 0x00, 0x12, 0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02,  // fd99:12::2
      0xFA, 0x56, 0xEA, 0x00,                                              // Peer AS 4200000000
  };
  EXPECT_EQ(peer_index_table(kTs, 0x0AFF0001, "foo", peers), want);
}

TEST(MrtTableDump, RibIpv4Unicast) {
  const auto a = attrs("169.254.12.2");
  const std::vector<RibEntry> e = {{0, kTs, &a}};
  const std::vector<uint8_t> want = {
      0x5F, 0x5E, 0x10, 0x00, 0x00, 0x0D, 0x00, 0x02,        // Subtype 2 RIB_IPV4_UNICAST
      0x00, 0x00, 0x00, 0x25,                                // Length 37
      0x00, 0x00, 0x00, 0x07,                                // §4.3.2 Sequence Number
      0x10, 0x0A, 0x02,                                      // Prefix Length 16, Prefix 10.2
      0x00, 0x01,                                            // Entry Count
      0x00, 0x00,                                            // §4.3.4 Peer Index
      0x5F, 0x5E, 0x10, 0x00,                                // Originated Time
      0x00, 0x14,                                            // Attribute Length 20
      0x40, 0x01, 0x01, 0x00,                                // ORIGIN IGP
      0x40, 0x02, 0x06, 0x02, 0x01, 0x00, 0x00, 0xFD, 0xEA,  // AS_PATH SEQ 65002, 4 octets
      0x40, 0x03, 0x04, 0xA9, 0xFE, 0x0C, 0x02,              // NEXT_HOP 169.254.12.2
  };
  EXPECT_EQ(rib_record(kTs, 7, *Prefix::parse("10.2.0.0/16"), e), want);
}

TEST(MrtTableDump, RibIpv6UnicastHasAbbreviatedMpReach) {
  const auto a = attrs("fd99:12::2");
  const std::vector<RibEntry> e = {{1, kTs, &a}};
  const std::vector<uint8_t> want = {
      0x5F,
      0x5E,
      0x10,
      0x00,
      0x00,
      0x0D,
      0x00,
      0x04,  // Subtype 4 RIB_IPV6_UNICAST
      0x00,
      0x00,
      0x00,
      0x36,  // Length 54
      0x00,
      0x00,
      0x00,
      0x01,  // Sequence Number
      0x30,
      0xFD,
      0x00,
      0x00,
      0x02,
      0x00,
      0x00,  // /48 fd00:2::
      0x00,
      0x01,  // Entry Count
      0x00,
      0x01,  // Peer Index 1
      0x5F,
      0x5E,
      0x10,
      0x00,  // Originated Time
      0x00,
      0x21,  // Attribute Length 33
      0x40,
      0x01,
      0x01,
      0x00,
      0x40,
      0x02,
      0x06,
      0x02,
      0x01,
      0x00,
      0x00,
      0xFD,
      0xEA,
      // §4.3.4: MP_REACH_NLRI with only Next Hop Length (16) and Next Hop.
      0x80,
      0x0E,
      0x11,
      0x10,
      0xFD,
      0x99,
      0x00,
      0x12,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0x00,
      0x02,
  };
  EXPECT_EQ(rib_record(kTs, 1, *Prefix::parse("fd00:2::/48"), e), want);
}

TEST(MrtTableDump, LinkLocalNextHopMakes32Octets) {
  auto a = attrs("fd99:12::2");
  a.next_hop_ll = ip("fe80::1");
  const auto b = rib_attributes(a, Family::V6);
  ASSERT_GE(b.size(), 36u);
  const std::vector<uint8_t> tail(b.end() - 36, b.end());
  EXPECT_EQ(tail[0], 0x80);
  EXPECT_EQ(tail[1], 14);
  EXPECT_EQ(tail[2], 33);
  EXPECT_EQ(tail[3], 32);
  EXPECT_EQ(tail[4 + 16], 0xFE);
  EXPECT_EQ(tail[4 + 17], 0x80);
}

TEST(MrtTableDump, DefaultRouteAndHostPrefix) {
  const auto a = attrs("10.0.0.1");
  const std::vector<RibEntry> e = {{0, 0, &a}};
  const auto d = rib_record(0, 0, *Prefix::parse("0.0.0.0/0"), e);
  EXPECT_EQ(d[16], 0);     // prefix length 0, no prefix octets
  EXPECT_EQ(d[17], 0x00);  // entry count high byte follows at once
  EXPECT_EQ(d[18], 0x01);
  const auto h = rib_record(0, 0, *Prefix::parse("192.0.2.1/32"), e);
  EXPECT_EQ(std::vector<uint8_t>(h.begin() + 16, h.begin() + 21),
            (std::vector<uint8_t>{32, 192, 0, 2, 1}));
}

TEST(MrtBase64, RoundTripAndStrictness) {
  const std::vector<uint8_t> in = {0, 1, 2, 0xfe, 0xff};
  for (size_t n = 0; n <= in.size(); ++n) {
    std::span<const uint8_t> s(in.data(), n);
    const std::string e = base64_encode(s);
    std::vector<uint8_t> back;
    ASSERT_TRUE(base64_decode(e, back)) << e;
    EXPECT_EQ(back, std::vector<uint8_t>(s.begin(), s.end()));
  }
  EXPECT_EQ(base64_encode(std::vector<uint8_t>{'f', 'o', 'o', 'b'}), "Zm9vYg==");  // RFC 4648 §10
  std::vector<uint8_t> out;
  EXPECT_FALSE(base64_decode("Zm9", out));
  EXPECT_FALSE(base64_decode("Zm9vYh==", out));  // non-zero padding bits
  EXPECT_FALSE(base64_decode("Zg==Zg==", out));  // padding in the middle
  EXPECT_FALSE(base64_decode("Z g=", out));
}
