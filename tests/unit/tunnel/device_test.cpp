// Two Devices wired back to back through an in-memory UDP network and fake
// TUN queues, stepped by hand (no threads): handshake on first packet, data
// both ways, and the drop counters for the hostile cases.
#include "tunnel/device.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "hostile_fakes.hpp"

using namespace ferry;
using namespace ferry::tunnel;

namespace {

// The in-memory network, TUN fakes and the stepped node are shared with the
// hostile-input tests; this file's devices send with UDP GSO (the fake splits
// the segments).
using hostile::Datagram;
using hostile::FakeNet;
using hostile::FakeTun;
using hostile::FakeTunQueue;
using hostile::FakeUdpSocket;
using hostile::NodeOptions;

using hostile::ep;
using hostile::ipv4;

struct Node : hostile::Node {
  Node(FakeNet& net, UdpEndpoint self, Key priv, size_t hs_queue = 1024)
      : hostile::Node(net, self, priv, NodeOptions{.hs_queue = hs_queue, .gso = true}) {}
};

class DeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ka = generate_private_key();
    kb = generate_private_key();
    a = std::make_unique<Node>(net, ep("192.0.2.1", 51820), ka);
    b = std::make_unique<Node>(net, ep("192.0.2.2", 51820), kb);
    pa = a->dev->add_peer({"b", public_key(kb), {}, ep("192.0.2.2", 51820), 0});
    pb = b->dev->add_peer({"a", public_key(ka), {}, std::nullopt, 0});
    a->dev->routes().add_allowed(pa, *Prefix::parse("10.0.2.0/24"));
    b->dev->routes().add_allowed(pb, *Prefix::parse("10.0.1.0/24"));
  }
  void run(int rounds = 4) {
    for (int i = 0; i < rounds; ++i) {
      auto now = Clock::now();
      a->step(now);
      b->step(now);
    }
  }
  FakeNet net;
  Key ka, kb;
  std::unique_ptr<Node> a, b;
  PeerIndex pa = 0, pb = 0;
};

}  // namespace

TEST_F(DeviceTest, FirstPacketTriggersHandshakeAndIsDeliveredBothWays) {
  auto pkt = ipv4("10.0.1.1", "10.0.2.1");
  a->tun->q.in.push_back(pkt);
  run();
  ASSERT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_EQ(b->tun->q.out.front(), pkt);  // padding stripped, bytes intact
  // B learned A's endpoint from the handshake and answers without a new handshake.
  auto back = ipv4("10.0.2.1", "10.0.1.1", 1000);
  b->tun->q.in.push_back(back);
  run(2);
  ASSERT_EQ(a->tun->q.out.size(), 1u);
  EXPECT_EQ(a->tun->q.out.front(), back);
  auto sa = a->dev->stats()[pa];
  EXPECT_TRUE(sa.last_handshake_unix.has_value());
  EXPECT_GT(sa.tx_bytes, pkt.size());
  EXPECT_GT(sa.rx_bytes, back.size());
  ASSERT_TRUE(b->dev->stats()[pb].endpoint);
  EXPECT_EQ(*b->dev->stats()[pb].endpoint, ep("192.0.2.1", 51820));
}

TEST_F(DeviceTest, BatchOfPacketsIsEncryptedInOneStep) {
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  run();
  for (int i = 0; i < 50; ++i) a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.9", 1300));
  run(2);
  EXPECT_EQ(b->tun->q.out.size(), 51u);
}

TEST_F(DeviceTest, UnroutableDestinationCountsNoPeer) {
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.9.9.9"));
  run(1);
  EXPECT_EQ(a->dev->device_drops().get(Drop::NoPeer), 1u);
  EXPECT_TRUE(net.log.empty());
}

TEST_F(DeviceTest, SourceOutsideAllowedIpsIsDropped) {
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  run();
  ASSERT_EQ(b->tun->q.out.size(), 1u);
  a->tun->q.in.push_back(ipv4("10.7.7.7", "10.0.2.1"));  // spoofed inner source
  run(2);
  EXPECT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_EQ(b->peer_drop(pb, Drop::NotAllowedSource), 1u);
}

TEST_F(DeviceTest, ReplayedTransportMessageIsDroppedAndCounted) {
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  run();
  ASSERT_EQ(b->tun->q.out.size(), 1u);
  // Re-inject every transport message A ever sent.
  for (const auto& d : net.log)
    if (d.data[0] == 4 && d.from == ep("192.0.2.1", 51820))
      net.inbox[ep("192.0.2.2", 51820).str()].push_back(d);
  run(1);
  EXPECT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_GE(b->peer_drop(pb, Drop::Replay), 1u);
}

TEST_F(DeviceTest, TamperedTransportMessageFailsDecryption) {
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  run();
  net.log.clear();
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  a->dev->tun_step(0);
  ASSERT_EQ(net.log.size(), 1u);
  auto& q = net.inbox[ep("192.0.2.2", 51820).str()];
  ASSERT_EQ(q.size(), 1u);
  q.front().data[30] ^= 1;
  b->dev->udp_step(0);
  EXPECT_EQ(b->peer_drop(pb, Drop::DecryptFailed), 1u);
  EXPECT_EQ(b->tun->q.out.size(), 1u);
}

TEST_F(DeviceTest, WrongPeerKeyFailsHandshakeWithNothingDecrypted) {
  FakeNet net2;
  Node c(net2, ep("192.0.2.3", 51820), generate_private_key());
  Node d(net2, ep("192.0.2.4", 51820), generate_private_key());
  auto pc =
      c.dev->add_peer({"d", public_key(generate_private_key()), {}, ep("192.0.2.4", 51820), 0});
  c.dev->routes().add_allowed(pc, *Prefix::parse("10.0.0.0/8"));
  d.dev->add_peer({"c", public_key(generate_private_key()), {}, std::nullopt, 0});
  c.tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  for (int i = 0; i < 3; ++i) {
    c.step(Clock::now());
    d.step(Clock::now());
  }
  EXPECT_TRUE(d.tun->q.out.empty());
  // mac1 is keyed with the responder's public key, which c got wrong.
  EXPECT_GE(d.dev->device_drops().get(Drop::BadMac), 1u);
  EXPECT_FALSE(c.dev->stats()[pc].last_handshake_unix.has_value());
}

TEST_F(DeviceTest, EndpointRoamsToSourceOfAuthenticatedPackets) {
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  run();
  a->udp->sock_.from_override = ep("198.51.100.7", 40000);
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  run(1);
  ASSERT_EQ(b->tun->q.out.size(), 2u);
  EXPECT_EQ(*b->dev->stats()[pb].endpoint, ep("198.51.100.7", 40000));
}

TEST_F(DeviceTest, GarbageDatagramsAreCountedNotFatal) {
  auto& q = net.inbox[ep("192.0.2.2", 51820).str()];
  q.push_back({{1, 2, 3}, ep("203.0.113.1", 1), {}});
  q.push_back({std::vector<uint8_t>(148, 0), ep("203.0.113.1", 1), {}});  // type 0
  std::vector<uint8_t> init(148, 0);
  init[0] = 1;  // initiation with a bad mac1
  q.push_back({init, ep("203.0.113.1", 1), {}});
  std::vector<uint8_t> data(40, 0);
  data[0] = 4;  // transport for an unknown index
  q.push_back({data, ep("203.0.113.1", 1), {}});
  run(1);
  EXPECT_EQ(b->dev->device_drops().get(Drop::TooShort), 2u);
  EXPECT_EQ(b->dev->device_drops().get(Drop::BadMac), 1u);
  EXPECT_EQ(b->dev->device_drops().get(Drop::NoKeypair), 1u);
}

TEST_F(DeviceTest, RemovedPeerNoLongerReceives) {
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  run();
  b->dev->remove_peer(pb);
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  run(1);
  EXPECT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_EQ(b->dev->device_drops().get(Drop::NoKeypair), 1u);
}

// Under load (here: any handshake message, since the queue holds only 8) the
// responder answers an initiation without a valid mac2 with a cookie reply; the
// initiator stores the cookie, and its retransmission (REKEY_TIMEOUT later)
// carries mac2 and completes the handshake.
TEST(DeviceLoad, CookieReplyThenRetryWithMac2Succeeds) {
  FakeNet net;
  Key kc = generate_private_key(), kd = generate_private_key();
  Node c(net, ep("192.0.2.3", 51820), kc);
  Node d(net, ep("192.0.2.4", 51820), kd, /*hs_queue=*/8);
  auto pc = c.dev->add_peer({"d", public_key(kd), {}, ep("192.0.2.4", 51820), 0});
  auto pd = d.dev->add_peer({"c", public_key(kc), {}, std::nullopt, 0});
  c.dev->routes().add_allowed(pc, *Prefix::parse("10.0.2.0/24"));
  d.dev->routes().add_allowed(pd, *Prefix::parse("10.0.1.0/24"));
  c.tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  auto t0 = Clock::now();
  c.step(t0);  // initiation out
  d.step(t0);  // under load, no mac2: cookie reply
  c.step(t0);  // cookie stored
  EXPECT_TRUE(d.tun->q.out.empty());
  size_t cookie_replies = 0;
  for (const auto& m : net.log) cookie_replies += m.data[0] == 3;
  EXPECT_EQ(cookie_replies, 1u);
  EXPECT_EQ(d.dev->cookie_replies_sent(), 1u);
  EXPECT_EQ(c.dev->cookie_replies_sent(), 0u);
  EXPECT_FALSE(c.dev->stats()[pc].last_handshake_unix.has_value());
  auto t1 = t0 + std::chrono::seconds(6);  // past REKEY_TIMEOUT + jitter: retransmission
  for (int i = 0; i < 3; ++i) {
    c.step(t1);
    d.step(t1);
  }
  ASSERT_EQ(d.tun->q.out.size(), 1u);  // the staged packet arrived
  EXPECT_TRUE(c.dev->stats()[pc].last_handshake_unix.has_value());
}

// ECMP through the real data path: A has two peers B1 and B2 sharing one learned
// prefix (10.0.2.0/24). Distinct flows land on both, one flow stays on one peer,
// both may send from the shared prefix, and after B2 is withdrawn nothing goes to
// or is accepted from it.
TEST(DeviceEcmp, FlowsSpreadOverPeersAndWithdrawalSwitchesBothDirections) {
  FakeNet net;
  Key ka = generate_private_key(), k1 = generate_private_key(), k2 = generate_private_key();
  Node a(net, ep("192.0.2.1", 51820), ka);
  Node b1(net, ep("192.0.2.11", 51820), k1);
  Node b2(net, ep("192.0.2.12", 51820), k2);
  auto p1 = a.dev->add_peer({"b1", public_key(k1), {}, ep("192.0.2.11", 51820), 0});
  auto p2 = a.dev->add_peer({"b2", public_key(k2), {}, ep("192.0.2.12", 51820), 0});
  for (Node* b : {&b1, &b2}) {
    auto pa = b->dev->add_peer({"a", public_key(ka), {}, std::nullopt, 0});
    b->dev->routes().add_allowed(pa, *Prefix::parse("10.0.1.0/24"));
  }
  const Prefix lan_b = *Prefix::parse("10.0.2.0/24");
  a.dev->routes().apply(
      std::vector<AllowedChange>{{AllowedChange::Op::Add, p1, lan_b, AllowedOrigin::Learned},
                                 {AllowedChange::Op::Add, p2, lan_b, AllowedOrigin::Learned}});
  auto flow = [](int i) {
    auto p = ipv4("10.0.1.1", "10.0.2.9");
    p[6] = p[7] = 0;                       // not a fragment (ipv4() fills these with 0xab)
    p[20] = static_cast<uint8_t>(i >> 8);  // UDP source port
    p[21] = static_cast<uint8_t>(i);
    return p;
  };
  auto run = [&](int rounds) {
    for (int i = 0; i < rounds; ++i) {
      auto now = Clock::now();
      a.step(now);
      b1.step(now);
      b2.step(now);
    }
  };
  for (int i = 0; i < 64; ++i) a.tun->q.in.push_back(flow(1000 + i));
  run(4);
  const size_t n1 = b1.tun->q.out.size(), n2 = b2.tun->q.out.size();
  EXPECT_EQ(n1 + n2, 64u);
  EXPECT_GT(n1, 10u);
  EXPECT_GT(n2, 10u);
  // One flow, repeated: all of it on one peer.
  b1.tun->q.out.clear();
  b2.tun->q.out.clear();
  for (int i = 0; i < 20; ++i) a.tun->q.in.push_back(flow(4242));
  run(2);
  EXPECT_TRUE((b1.tun->q.out.size() == 20u && b2.tun->q.out.empty()) ||
              (b2.tun->q.out.size() == 20u && b1.tun->q.out.empty()));
  // Both may send from the shared prefix.
  b1.tun->q.in.push_back(ipv4("10.0.2.5", "10.0.1.1"));
  b2.tun->q.in.push_back(ipv4("10.0.2.6", "10.0.1.1"));
  run(2);
  EXPECT_EQ(a.tun->q.out.size(), 2u);
  // Withdraw B2: every flow goes to B1, B2's packets from the prefix are dropped.
  a.dev->routes().remove_allowed(p2, lan_b, AllowedOrigin::Learned);
  b1.tun->q.out.clear();
  b2.tun->q.out.clear();
  for (int i = 0; i < 64; ++i) a.tun->q.in.push_back(flow(1000 + i));
  b2.tun->q.in.push_back(ipv4("10.0.2.6", "10.0.1.1"));
  run(3);
  EXPECT_EQ(b1.tun->q.out.size(), 64u);
  EXPECT_TRUE(b2.tun->q.out.empty());
  EXPECT_EQ(a.tun->q.out.size(), 2u);
  EXPECT_EQ(a.peer_drop(p2, Drop::NotAllowedSource), 1u);
}
