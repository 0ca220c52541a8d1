// ESP through the shared packet path on the fake network: nodes A, B and C
// with ChildSaPairs installed by the test (as the IKE engine would), stepped
// by hand. A carries peer 1 (B, 10.0.2.0/24, fd00:2::/64) and peer 2 (C,
// 10.0.3.0/24); B and C carry A as their peer 1 (10.0.1.0/24, fd00:1::/64).
#include "ipsec/esp_protocol.hpp"

#include <gtest/gtest.h>

#include "../tunnel/hostile_fakes.hpp"
#include "ipsec/ike_io.hpp"

using namespace ferry;
using namespace ferry::ipsec;
using namespace ferry::tunnel::hostile;
using tunnel::Drop;
using tunnel::PeerIndex;

namespace {

struct Node {
  Node(FakeNet& net, tunnel::UdpEndpoint self)
      : self(self), udp(net, self), sad(1), proto(sad, ike, drops, 1) {}
  void build() {
    path = std::make_unique<tunnel::PacketPath>(proto, tun, udp, routes, tunnel::system_time(),
                                                drops, 1420, 1);
  }
  size_t pump() { return path->udp_step(0); }
  tunnel::UdpEndpoint self;
  FakeTun tun;
  FakeUdp udp;
  tunnel::CryptokeyTable routes;
  tunnel::DropCounters drops;
  Sad sad;
  IkeInbox ike;
  EspProtocol proto;
  std::unique_ptr<tunnel::PacketPath> path;
};

struct Transform {
  EspCipher cipher;
  EspInteg integ;
  bool esn;
};

EspSaKeys keys(uint32_t spi, Transform t, uint8_t seed) {
  EspSaKeys k;
  k.spi = spi;
  k.cipher = t.cipher;
  k.integ = t.integ;
  for (size_t i = 0; i < cipher_keymat_len(t.cipher); ++i)
    k.enc_key.push_back(static_cast<uint8_t>(seed * 31 + i));
  for (size_t i = 0; i < integ_keymat_len(t.integ); ++i)
    k.integ_key.push_back(static_cast<uint8_t>(seed * 17 + i * 3));
  return k;
}

// Installs one CHILD_SA pair between x (its peer px) and y (its peer py).
// `spi` is x's outbound SPI; y's outbound is spi + 1.
void connect(Node& x, PeerIndex px, Node& y, PeerIndex py, uint32_t spi, Transform t) {
  ChildSaPair a, b;
  a.peer = px;
  a.out = keys(spi, t, static_cast<uint8_t>(spi));
  a.in = keys(spi + 1, t, static_cast<uint8_t>(spi + 1));
  a.esn = t.esn;
  a.remote = y.self;
  b.peer = py;
  b.in = a.out;
  b.out = a.in;
  b.esn = t.esn;
  b.remote = x.self;
  x.sad.install(a);
  y.sad.install(b);
}

class EspProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a.routes.add_allowed(1, pfx("10.0.2.0/24"));
    a.routes.add_allowed(1, pfx("fd00:2::/64"));
    a.routes.add_allowed(2, pfx("10.0.3.0/24"));
    b.routes.add_allowed(1, pfx("10.0.1.0/24"));
    b.routes.add_allowed(1, pfx("fd00:1::/64"));
    c.routes.add_allowed(1, pfx("10.0.1.0/24"));
    a.build();
    b.build();
    c.build();
    a.sad.add_peer(1);
    a.sad.add_peer(2);
    b.sad.add_peer(1);
    c.sad.add_peer(1);
  }
  // Sends `pkt` from x's TUN and delivers what arrives at y; returns what y's TUN got.
  std::vector<std::vector<uint8_t>> carry(Node& x, Node& y, std::vector<uint8_t> pkt) {
    x.tun.q.in.push_back(std::move(pkt));
    x.path->tun_step(0);
    y.pump();
    std::vector<std::vector<uint8_t>> out(y.tun.q.out.begin(), y.tun.q.out.end());
    y.tun.q.out.clear();
    return out;
  }
  uint64_t peer_drop(Node& n, PeerIndex p, EspDrop d) {
    return Sad::Reader(n.sad).peer(p)->drops.get(d);
  }
  FakeNet net;
  Node a{net, ep("192.0.2.1", 4500)};
  Node b{net, ep("192.0.2.2", 4500)};
  Node c{net, ep("192.0.2.3", 4500)};
};

const Transform kTransforms[] = {
    {EspCipher::kAesGcm16_128, EspInteg::kNone, false},
    {EspCipher::kAesGcm16_256, EspInteg::kNone, true},
    {EspCipher::kAesCbc128, EspInteg::kHmacSha256_128, false},
    {EspCipher::kAesCbc256, EspInteg::kHmacSha384_192, true},
    {EspCipher::kAesCbc256, EspInteg::kHmacSha512_256, false},
};

TEST_F(EspProtocolTest, CarriesTrafficBothWaysWithEveryTransform) {
  uint32_t spi = 0x1000;
  for (const auto& t : kTransforms) {
    SCOPED_TRACE(cipher_name(t.cipher));
    connect(a, 1, b, 1, spi, t);
    spi += 0x10;
    auto v4 = ipv4("10.0.1.5", "10.0.2.7", 300);
    auto got = carry(a, b, v4);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], v4);
    auto v6 = ipv6("fd00:2::9", "fd00:1::3", 1000);
    got = carry(b, a, v6);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], v6);
    // On the wire: ESP in UDP to port 4500, SPI of the installed pair, sequence 1.
    const auto& wire = net.log.back().data;
    ASSERT_GE(wire.size(), 8u);
    EXPECT_EQ(parse_esp_header(wire)->spi, spi - 0x10 + 1);  // B's outbound SPI
    EXPECT_EQ(parse_esp_header(wire)->seq, 1u);
  }
  EXPECT_EQ(Sad::Reader(a.sad).peer(1)->counters.rx_packets.load(), std::size(kTransforms));
  EXPECT_EQ(b.drops.get(Drop::NoKeypair), 0u);
}

TEST_F(EspProtocolTest, RekeyUnderTrafficLosesNothing) {
  const Transform t{EspCipher::kAesGcm16_256, EspInteg::kNone, true};
  connect(a, 1, b, 1, 0x100, t);
  std::vector<std::vector<uint8_t>> sent;
  auto send = [&](int n) {
    for (int i = 0; i < n; ++i) {
      sent.push_back(ipv4("10.0.1.1", "10.0.2.1", 100 + static_cast<size_t>(sent.size())));
      a.tun.q.in.push_back(sent.back());
    }
    a.path->tun_step(0);
  };
  send(10);  // in flight under the old SA when the rekey happens
  // The new pair: B installs first (it answers the CREATE_CHILD_SA), then A.
  connect(a, 1, b, 1, 0x200, t);
  send(10);  // A sends under the new SA at once
  b.pump();
  b.pump();
  ASSERT_EQ(b.tun.q.out.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(b.tun.q.out[i], sent[i]) << i;
  EXPECT_EQ(b.sad.stats(0x100, false).packets, 10u);  // old inbound SA, by our SPI
  EXPECT_EQ(b.sad.stats(0x200, false).packets, 10u);
  // The Delete exchange removes the old pair on both sides; traffic goes on.
  a.sad.remove(1, 0x101);
  b.sad.remove(1, 0x100);
  b.tun.q.out.clear();
  auto got = carry(a, b, ipv4("10.0.1.1", "10.0.2.1", 64));
  EXPECT_EQ(got.size(), 1u);
  got = carry(b, a, ipv4("10.0.2.1", "10.0.1.1", 64));
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(Sad::Reader(b.sad).peer(1)->counters.drops.get(Drop::Replay), 0u);
  EXPECT_EQ(b.sad.drops().get(EspDrop::UnknownSpi), 0u);
  // A message of the removed SA is now an unknown SPI.
  auto old = net.log.front();
  net.inject(b.self, old.data, old.from);
  b.pump();
  EXPECT_EQ(b.sad.drops().get(EspDrop::UnknownSpi), 1u);
}

TEST_F(EspProtocolTest, ReplayedTamperedAndGarbageDatagramsAreDroppedAndCounted) {
  const Transform t{EspCipher::kAesCbc128, EspInteg::kHmacSha256_128, false};
  connect(a, 1, b, 1, 0x300, t);
  connect(a, 2, c, 1, 0x400, t);
  ASSERT_EQ(carry(a, b, ipv4("10.0.1.1", "10.0.2.1", 80)).size(), 1u);
  const auto good = net.log.back();
  net.inject(b.self, good.data, good.from);  // replay
  a.tun.q.in.push_back(ipv4("10.0.1.1", "10.0.2.1", 80));
  a.path->tun_step(0);
  net.inbox[b.self.str()].back().data[40] ^= 0x80;  // a fresh sequence number, tampered
  net.inject(b.self, {1, 2, 3, 4, 5}, good.from);   // too short for ESP
  net.inject(b.self, {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 9}, good.from);  // unknown SPI
  net.inject(b.self, {0xff}, good.from);                                   // NAT-keepalive
  net.inject(b.self, {0, 0, 0, 0, 0x11, 0x22}, good.from);                 // IKE behind the marker
  b.pump();
  EXPECT_TRUE(b.tun.q.out.empty());
  EXPECT_EQ(peer_drop(b, 1, EspDrop::Replay), 1u);
  EXPECT_EQ(peer_drop(b, 1, EspDrop::AuthFailed), 1u);
  EXPECT_EQ(b.sad.drops().get(EspDrop::Malformed), 1u);
  EXPECT_EQ(b.sad.drops().get(EspDrop::UnknownSpi), 1u);
  EXPECT_EQ(b.proto.keepalives(), 1u);
  EXPECT_EQ(b.sad.stats(0x300, false).replayed, 1u);
  EXPECT_EQ(b.sad.stats(0x300, false).auth_failed, 1u);
  auto ike = b.ike.drain();
  ASSERT_EQ(ike.size(), 1u);
  EXPECT_EQ(ike[0].msg, (std::vector<uint8_t>{0x11, 0x22}));
  EXPECT_EQ(ike[0].from, a.self);
  // The other peer is unaffected, and so is B's own SA.
  auto to_c = ipv4("10.0.1.1", "10.0.3.9", 50);
  auto got = carry(a, c, to_c);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], to_c);
  EXPECT_EQ(carry(a, b, ipv4("10.0.1.1", "10.0.2.1", 80)).size(), 1u);
  EXPECT_EQ(carry(c, a, ipv4("10.0.3.9", "10.0.1.1", 50)).size(), 1u);
}

TEST_F(EspProtocolTest, APeerMaySendOnlyFromItsOwnPrefixes) {
  const Transform t{EspCipher::kAesGcm16_128, EspInteg::kNone, false};
  connect(a, 1, b, 1, 0x500, t);
  connect(a, 2, c, 1, 0x600, t);
  // C's SA is genuine, but the source 10.0.2.1 belongs to B (cryptokey routing).
  auto got = carry(c, a, ipv4("10.0.2.1", "10.0.1.1", 40));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(Sad::Reader(a.sad).peer(2)->counters.drops.get(Drop::NotAllowedSource), 1u);
}

TEST_F(EspProtocolTest, WithoutAnSaOrAtTheEndOfSequenceSpaceNothingIsSent) {
  const Transform t{EspCipher::kAesGcm16_128, EspInteg::kNone, false};
  EXPECT_TRUE(carry(a, b, ipv4("10.0.1.1", "10.0.2.1", 40)).empty());
  EXPECT_EQ(peer_drop(a, 1, EspDrop::NoSa), 1u);
  connect(a, 1, b, 1, 0x700, t);
  Sad::Reader(a.sad).outbound(1)->last_seq.store(0xfffffffe);
  EXPECT_EQ(carry(a, b, ipv4("10.0.1.1", "10.0.2.1", 40)).size(), 1u);  // 2^32 - 1: the last
  EXPECT_TRUE(carry(a, b, ipv4("10.0.1.1", "10.0.2.1", 40)).empty());
  EXPECT_EQ(peer_drop(a, 1, EspDrop::SeqExhausted), 1u);
  // Removing the current pair (the IKE SA died) leaves the peer without an SA.
  a.sad.remove(1, 0x701);
  EXPECT_TRUE(carry(a, b, ipv4("10.0.1.1", "10.0.2.1", 40)).empty());
  EXPECT_EQ(peer_drop(a, 1, EspDrop::NoSa), 2u);
}

TEST_F(EspProtocolTest, RefusesPairsWithBadKeysAndFollowsEndpointChanges) {
  ChildSaPair bad;
  bad.peer = 1;
  bad.in = keys(0x800, {EspCipher::kAesGcm16_128, EspInteg::kNone, false}, 1);
  bad.out = bad.in;
  bad.out.enc_key.pop_back();
  a.sad.install(bad);
  EXPECT_EQ(a.sad.install_failures(), 1u);
  connect(a, 1, b, 1, 0x900, {EspCipher::kAesGcm16_128, EspInteg::kNone, false});
  a.sad.set_endpoint(1, ep("198.51.100.1", 61000));  // NAT-T port floated
  a.tun.q.in.push_back(ipv4("10.0.1.1", "10.0.2.1", 40));
  a.path->tun_step(0);
  EXPECT_EQ(net.log.back().to, ep("198.51.100.1", 61000));
  auto j = a.sad.show_peer(1);
  ASSERT_EQ(j["child_sas"].size(), 1u);
  EXPECT_EQ(j["child_sas"][0]["spi_out"], "00000900");
  EXPECT_EQ(j["child_sas"][0]["tx_packets"], 1u);
  EXPECT_EQ(j["esp_endpoint"], "198.51.100.1:61000");
}

TEST(IkeSocketSender, PrependsTheNonEspMarkerOnlyOnPort4500) {
  FakeNet net;
  FakeUdpSocket s500(net, ep("192.0.2.1", 500)), s4500(net, ep("192.0.2.1", 4500));
  IkeSocketSender out(&s500, s4500);
  const std::vector<uint8_t> msg = {0xaa, 0xbb, 0xcc};
  out.send_ike(msg, ep("192.0.2.9", 500), false);
  out.send_ike(msg, ep("192.0.2.9", 4500), true);
  ASSERT_EQ(net.log.size(), 2u);
  EXPECT_EQ(net.log[0].data, msg);
  EXPECT_EQ(net.log[0].from.port, 500);
  EXPECT_EQ(net.log[1].data, (std::vector<uint8_t>{0, 0, 0, 0, 0xaa, 0xbb, 0xcc}));
  EXPECT_EQ(net.log[1].from.port, 4500);
  EXPECT_EQ(out.failures(), 0u);
}

}  // namespace
