// Golden bytes for the BMP encoder (RFC 7854 §4), field by field.
#include "bmp/message.hpp"

#include <gtest/gtest.h>

#include "bmp/route_monitor.hpp"

namespace ferry::bmp {
namespace {

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

PeerHeader peer4() {
  PeerHeader h;
  h.address = ip("192.0.2.1");
  h.asn = 65001;          // 0x0000fde9
  h.bgp_id = 0x0a000001;  // 10.0.0.1
  h.ts_sec = 0x5f000000;
  h.ts_usec = 42;
  return h;
}

// The 42-octet Per-Peer Header of peer4() with the given flags (§4.2).
std::vector<uint8_t> per_peer4(uint8_t flags) {
  return {0x00, flags,                                      // Peer Type, Flags
          0,    0,     0,    0,    0, 0, 0, 0,              // Peer Distinguisher
          0,    0,     0,    0,    0, 0, 0, 0, 0, 0, 0, 0,  // address: 12 zero octets,
          192,  0,     2,    1,                             // then the IPv4 address
          0x00, 0x00,  0xfd, 0xe9,                          // Peer AS
          0x0a, 0x00,  0x00, 0x01,                          // Peer BGP ID
          0x5f, 0x00,  0x00, 0x00,                          // Timestamp (s)
          0x00, 0x00,  0x00, 0x2a};                         // Timestamp (µs)
}

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

TEST(BmpMessage, InitiationCarriesSysDescrAndSysName) {
  std::vector<uint8_t> out;
  encode_initiation("gw1", "ferry 0.1", out);
  const std::vector<uint8_t> want = {3,   0,   0,   0,   6 + 4 + 9 + 4 + 3,
                                     4,  // Common Header, type 4
                                     0,   1,   0,   9,   'f',
                                     'e', 'r', 'r', 'y', ' ',
                                     '0', '.', '1',  // sysDescr TLV
                                     0,   2,   0,   3,   'g',
                                     'w', '1'};  // sysName TLV
  EXPECT_EQ(out, want);
}

TEST(BmpMessage, TerminationWithReasonAndString) {
  std::vector<uint8_t> out;
  encode_termination(kTermAdminClose, "bye", out);
  const std::vector<uint8_t> want = {3, 0, 0, 0, 6 + 7 + 6, 5,         // Common Header, type 5
                                     0, 0, 0, 3, 'b',       'y', 'e',  // Type 0: String
                                     0, 1, 0, 2, 0,         0};        // Type 1: Reason 0
  EXPECT_EQ(out, want);
  out.clear();
  encode_termination(kTermOutOfResources, "", out);
  EXPECT_EQ(out, (std::vector<uint8_t>{3, 0, 0, 0, 12, 5, 0, 1, 0, 2, 0, 2}));
}

TEST(BmpMessage, RouteMonitoringWrapsTheUpdate) {
  const std::vector<uint8_t> update(23, 0xab);  // opaque to the encoder
  std::vector<uint8_t> out;
  PeerHeader h = peer4();
  h.post_policy = true;
  encode_route_monitoring(h, update, out);
  const std::vector<uint8_t> want = cat({{3, 0, 0, 0, 6 + 42 + 23, 0}, per_peer4(kFlagL), update});
  EXPECT_EQ(out, want);
}

TEST(BmpMessage, PerPeerHeaderIpv6AndAdjRibOut) {
  PeerHeader h;
  h.address = ip("2001:db8::1");
  h.asn = 1;
  h.post_policy = true;
  h.adj_rib_out = true;
  std::vector<uint8_t> out;
  encode_peer_down(h, kDownDeconfigured, {}, out);
  ASSERT_EQ(out.size(), 6u + 42 + 1);
  EXPECT_EQ(out[5], 2);                         // Peer Down
  EXPECT_EQ(out[6], 0);                         // Peer Type: global
  EXPECT_EQ(out[7], kFlagV | kFlagL | kFlagO);  // 0xd0
  const std::vector<uint8_t> addr(out.begin() + 16, out.begin() + 32);
  EXPECT_EQ(addr,
            (std::vector<uint8_t>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(out.back(), 5);  // Reason 5, no data
}

TEST(BmpMessage, PeerDownWithNotificationAndFsmEvent) {
  const std::vector<uint8_t> notif = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0,    21,   3,    6,    2};  // Cease / Administrative Shutdown
  std::vector<uint8_t> out;
  encode_peer_down(peer4(), kDownRemoteNotification, notif, out);
  EXPECT_EQ(out, cat({{3, 0, 0, 0, 6 + 42 + 1 + 21, 2}, per_peer4(0), {3}, notif}));
  out.clear();
  encode_peer_down(peer4(), kDownLocalFsmEvent, std::vector<uint8_t>{0, 0}, out);
  EXPECT_EQ(out, cat({{3, 0, 0, 0, 6 + 42 + 3, 2}, per_peer4(0), {2, 0, 0}}));
}

TEST(BmpMessage, PeerUpCarriesAddressesPortsAndBothOpens) {
  const std::vector<uint8_t> sent = {1, 2, 3}, recv = {4, 5};  // opaque here
  PeerUpInfo info;
  info.local_address = ip("192.0.2.2");
  info.local_port = 179;
  info.remote_port = 0xc000;
  info.sent_open = sent;
  info.received_open = recv;
  std::vector<uint8_t> out;
  encode_peer_up(peer4(), info, out);
  const std::vector<uint8_t> want =
      cat({{3, 0, 0, 0, 6 + 42 + 16 + 4 + 5, 3},
           per_peer4(0),
           {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 2},  // Local Address
           {0, 179, 0xc0, 0x00},                                // Local Port, Remote Port
           sent,
           recv});
  EXPECT_EQ(out, want);
}

TEST(BmpMessage, StatsReportCountersAndGauges) {
  const Stat stats[] = {{kStatRejected, false, 7}, {kStatAdjRibIn, true, 0x100000000ull}};
  std::vector<uint8_t> out;
  encode_stats_report(peer4(), stats, out);
  const std::vector<uint8_t> want = cat({{3, 0, 0, 0, 6 + 42 + 4 + 8 + 12, 1},
                                         per_peer4(0),
                                         {0, 0, 0, 2},              // Stats Count
                                         {0, 0, 0, 4, 0, 0, 0, 7},  // type 0, 32-bit counter
                                         {0, 7, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0}});  // type 7, gauge
  EXPECT_EQ(out, want);
}

TEST(BmpRouteMonitor, AnnouncementIsOneUpdatePerMessage) {
  bgp::PathAttributes a;
  a.origin = bgp::Origin::Igp;
  a.next_hop = ip("192.0.2.1");
  a.as_path.push_back(bgp::AsPathSegment{bgp::SegmentType::Sequence, {65001}});
  const Prefix p[] = {*Prefix::parse("10.1.0.0/16")};
  RouteMonitorEncoder enc;
  std::vector<uint8_t> out;
  ASSERT_EQ(enc.announce(peer4(), a, p, out), 1u);
  // BMP: 6 + 42; UPDATE: header 19, withdrawn len 2, attr len 2, ORIGIN 4,
  // AS_PATH 3+2+4 (4-octet AS, RFC 7854 §4.2 A clear), NEXT_HOP 7, NLRI 3.
  const std::vector<uint8_t> update = cat({std::vector<uint8_t>(16, 0xff),
                                           {0, 19 + 2 + 2 + 4 + 9 + 7 + 3, 2},
                                           {0, 0},
                                           {0, 20},
                                           {0x40, 1, 1, 0},
                                           {0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9},
                                           {0x40, 3, 4, 192, 0, 2, 1},
                                           {16, 10, 1}});
  EXPECT_EQ(out,
            cat({{3, 0, 0, 0, static_cast<uint8_t>(48 + update.size()), 0}, per_peer4(0), update}));
  out.clear();
  ASSERT_EQ(enc.end_of_rib(peer4(), Family::V4, out), 1u);
  // RFC 4724 §2: the IPv4 End-of-RIB is an UPDATE with nothing in it (23 octets).
  EXPECT_EQ(out.size(), 48u + 23);
}

}  // namespace
}  // namespace ferry::bmp
