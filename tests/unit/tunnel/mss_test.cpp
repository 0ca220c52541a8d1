// TCP MSS clamping (tunnel/mss.hpp) on crafted SYNs: IPv4 and IPv6, the
// checksum still valid afterwards (RFC 1624 incremental update), options
// before the MSS, and what is left alone (non-SYN, small MSS, fragments,
// malformed options, extension headers); then through PacketPath both ways.
#include "tunnel/mss.hpp"

#include <gtest/gtest.h>

#include <map>

#include "hostile_fakes.hpp"
#include "tunnel/packet_path.hpp"
#include "tunnel/tun_offload.hpp"

using namespace ferry;
using namespace ferry::tunnel;

namespace {

// A TCP segment with `options`, in IPv4 or IPv6, with a correct TCP checksum.
std::vector<uint8_t> tcp_packet(bool v6, uint8_t flags, std::vector<uint8_t> options,
                                uint16_t frag = 0) {
  while (options.size() % 4) options.push_back(0);
  const size_t iph = v6 ? 40 : 20, tcph = 20 + options.size();
  std::vector<uint8_t> p(iph + tcph, 0);
  const size_t total = p.size();
  if (v6) {
    p[0] = 0x60;
    p[4] = static_cast<uint8_t>(tcph >> 8);
    p[5] = static_cast<uint8_t>(tcph);
    p[6] = 6;
    p[7] = 64;
    p[8] = 0xfd;
    p[23] = 1;  // fd00::1
    p[24] = 0xfd;
    p[39] = 2;  // fd00::2
  } else {
    p[0] = 0x45;
    p[2] = static_cast<uint8_t>(total >> 8);
    p[3] = static_cast<uint8_t>(total);
    p[6] = static_cast<uint8_t>(frag >> 8);
    p[7] = static_cast<uint8_t>(frag);
    p[8] = 64;
    p[9] = 6;
    const uint8_t src[4] = {10, 0, 1, 1}, dst[4] = {10, 0, 2, 1};
    std::memcpy(&p[12], src, 4);
    std::memcpy(&p[16], dst, 4);
  }
  uint8_t* t = p.data() + iph;
  t[1] = 80;  // ports 80 -> 443
  t[3] = 0xbb;
  t[3] = 187;
  t[12] = static_cast<uint8_t>((tcph / 4) << 4);
  t[13] = flags;
  t[15] = 0xff;  // window
  std::memcpy(t + 20, options.data(), options.size());
  const size_t alen = v6 ? 16 : 4;
  const uint8_t* src = p.data() + (v6 ? 8 : 12);
  uint64_t s = pseudo_header_sum(src, src + alen, alen, 6, static_cast<uint32_t>(tcph));
  const uint16_t c = static_cast<uint16_t>(~csum_fold(csum_add(t, tcph, s)));
  t[16] = static_cast<uint8_t>(c >> 8);
  t[17] = static_cast<uint8_t>(c);
  return p;
}

std::vector<uint8_t> mss_opt(uint16_t mss) {
  return {2, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)};
}

uint16_t mss_of(const std::vector<uint8_t>& p, size_t at) {
  return static_cast<uint16_t>(p[at] << 8 | p[at + 1]);
}

bool clamp(std::vector<uint8_t>& p, size_t mtu = 1420) {
  InnerPacket ip;
  EXPECT_TRUE(parse_inner(p, ip));
  return clamp_mss(p.data(), ip, mtu);
}

bool checksum_ok(const std::vector<uint8_t>& p) {
  const bool v6 = (p[0] >> 4) == 6;
  return tcp_checksum_ok(p.data(), p.size(), v6 ? 40 : 20, v6);
}

constexpr uint8_t kSyn = 0x02, kSynAck = 0x12, kAck = 0x10;

TEST(MssClamp, Ipv4SynIsLoweredToMtuMinus40AndStaysValid) {
  auto p = tcp_packet(false, kSyn, mss_opt(1460));
  ASSERT_TRUE(checksum_ok(p));
  EXPECT_TRUE(clamp(p));
  EXPECT_EQ(mss_of(p, 20 + 22), 1380);
  EXPECT_TRUE(checksum_ok(p));
}

TEST(MssClamp, Ipv6SynAckIsLoweredToMtuMinus60AndStaysValid) {
  // NOP, NOP, window scale, then MSS: the option walk must reach it.
  std::vector<uint8_t> opts = {1, 1, 3, 3, 7};
  for (uint8_t b : mss_opt(1440)) opts.push_back(b);
  auto p = tcp_packet(true, kSynAck, opts);
  ASSERT_TRUE(checksum_ok(p));
  EXPECT_TRUE(clamp(p));
  EXPECT_EQ(mss_of(p, 40 + 20 + 5 + 2), 1360);
  EXPECT_TRUE(checksum_ok(p));
  EXPECT_EQ(max_mss(1420, true), 1360);
  EXPECT_EQ(max_mss(1420, false), 1380);
}

TEST(MssClamp, ChecksumStaysValidAtEveryOptionAlignment) {
  for (bool v6 : {false, true})
    for (int nops = 0; nops < 4; ++nops) {
      std::vector<uint8_t> opts(static_cast<size_t>(nops), 1);
      for (uint8_t b : mss_opt(65000)) opts.push_back(b);
      auto p = tcp_packet(v6, kSyn, opts);
      ASSERT_TRUE(checksum_ok(p));
      EXPECT_TRUE(clamp(p, 1500));
      EXPECT_EQ(mss_of(p, (v6 ? 40u : 20u) + 20 + static_cast<size_t>(nops) + 2), v6 ? 1440 : 1460);
      EXPECT_TRUE(checksum_ok(p)) << "v6=" << v6 << " nops=" << nops;
    }
}

TEST(MssClamp, WhatIsLeftAlone) {
  auto small = tcp_packet(false, kSyn, mss_opt(1200));
  EXPECT_FALSE(clamp(small));
  EXPECT_EQ(mss_of(small, 42), 1200);
  auto ack = tcp_packet(false, kAck, mss_opt(1460));  // not a SYN
  EXPECT_FALSE(clamp(ack));
  auto frag = tcp_packet(false, kSyn, mss_opt(1460), 0x0010);  // offset != 0
  EXPECT_FALSE(clamp(frag));
  auto bad = tcp_packet(false, kSyn, {8, 30, 0, 0});  // option longer than the header
  EXPECT_FALSE(clamp(bad));
  auto zero = tcp_packet(false, kSyn, {2, 0, 5, 0xb4});  // length 0: malformed
  EXPECT_FALSE(clamp(zero));
  auto none = tcp_packet(true, kSyn, {1, 1, 1, 1});  // no MSS option
  EXPECT_FALSE(clamp(none));
  auto ext = tcp_packet(true, kSyn, mss_opt(1460));
  ext[6] = 0;  // hop-by-hop first: not parsed through
  EXPECT_FALSE(clamp(ext));
  for (const auto* p : {&small, &ack, &frag, &bad, &zero, &none}) EXPECT_TRUE(checksum_ok(*p));
}

// Through the shared data path: outbound (TUN -> tunnel) and inbound.
class PassThrough : public PacketProtocol {
 public:
  PeerCounters counters;
  size_t headroom() const override { return 16; }
  size_t max_overhead() const override { return 16; }
  void tx_begin(size_t, TimePoint) override {}
  Sealed seal(size_t, PeerIndex, std::span<uint8_t>, size_t n, TimePoint) override {
    return {16 + n, &counters, hostile::ep("192.0.2.2", 1000)};
  }
  void tx_end(size_t, TimePoint) override {}
  void rx_begin(size_t, TimePoint) override {}
  Opened open(size_t, std::span<uint8_t> d, const UdpEndpoint&, TimePoint) override {
    return {d.size() - 16, PeerIndex(1), &counters};
  }
  void rx_end(size_t, TimePoint) override {}
};

TEST(MssClamp, PacketPathClampsBothWaysUnlessTurnedOff) {
  hostile::FakeNet net;
  hostile::FakeTun tun_a, tun_b;
  hostile::FakeUdp udp_a(net, hostile::ep("192.0.2.1", 1000), false);
  hostile::FakeUdp udp_b(net, hostile::ep("192.0.2.2", 1000), false);
  CryptokeyTable routes_a, routes_b;
  routes_a.add_allowed(1, hostile::pfx("10.0.2.0/24"));
  routes_b.add_allowed(1, hostile::pfx("10.0.1.0/24"));
  DropCounters drops_a, drops_b;
  PassThrough proto_a, proto_b;
  PacketPath a(proto_a, tun_a, udp_a, routes_a, system_time(), drops_a, 1420, 1);
  PacketPath b(proto_b, tun_b, udp_b, routes_b, system_time(), drops_b, 1280, 1);
  tun_a.q.in.push_back(tcp_packet(false, kSyn, mss_opt(1460)));
  a.tun_step(0);
  b.udp_step(0);
  ASSERT_EQ(tun_b.q.out.size(), 1u);
  auto got = tun_b.q.out.front();
  // Clamped on the way out (MTU 1420) and again on the way in (MTU 1280).
  EXPECT_EQ(mss_of(got, 42), 1240);
  EXPECT_TRUE(checksum_ok(got));
  b.set_mss_clamp(false);
  tun_b.q.out.clear();
  tun_a.q.in.push_back(tcp_packet(false, kSyn, mss_opt(1460)));
  a.tun_step(0);
  b.udp_step(0);
  ASSERT_EQ(tun_b.q.out.size(), 1u);
  EXPECT_EQ(mss_of(tun_b.q.out.front(), 42), 1380);  // only a's clamp
}

}  // namespace
