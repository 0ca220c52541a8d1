// Handshake floods against a Device, stepped by hand so every count is exact:
// forged initiations with a valid mac1 (computable from the victim's public
// key alone) from many source addresses, interleaved with an established
// peer's data. Asserts the DoS mitigation of whitepaper §5.3: once the
// handshake queue is loaded, initiations without a valid mac2 are answered
// with cookie replies and cost no DH; the overflow is dropped as queue_full;
// data of established sessions is untouched; a genuine peer still completes
// a handshake (cookie, then mac2 on its retry); and a flooder that does the
// cookie round trip is held to the per-source rate limit.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "hostile_fakes.hpp"
#include "tunnel/cookie.hpp"
#include "tunnel/messages.hpp"

using namespace ferry;
using namespace ferry::tunnel;
using namespace ferry::tunnel::hostile;

namespace {

// A well-formed type-1 message with random contents and a correct mac1 for
// `victim` (so it passes the cheap check); mac2 is set only if `gen` holds a cookie.
std::vector<uint8_t> forged_initiation(CookieGenerator& gen, TimePoint now) {
  MessageInitiation m;
  m.sender_index = system_rng().u32();
  m.ephemeral = public_key(generate_private_key());
  system_rng().fill(m.encrypted_static);
  system_rng().fill(m.encrypted_timestamp);
  std::vector<uint8_t> out(kMessageInitiationSize);
  EXPECT_TRUE(encode(m, out));
  gen.add_macs(out, now);
  return out;
}

// 200 attacker addresses in 198.18.0.0/15 (RFC 2544 benchmarking space).
UdpEndpoint flood_source(size_t i) {
  std::string ip = "198.18." + std::to_string(i % 200 / 100) + "." + std::to_string(i % 100 + 1);
  return {*IpAddress::parse(ip), static_cast<uint16_t>(40000 + i % 7)};
}

size_t count_type(const FakeNet& net, uint8_t type, const UdpEndpoint& from, size_t since = 0) {
  size_t n = 0;
  for (size_t i = since; i < net.log.size(); ++i)
    n += net.log[i].data[0] == type && net.log[i].from == from;
  return n;
}

class HandshakeFlood : public PairTest {
 protected:
  // Drains B's inbox through its worker (32 datagrams per udp_step).
  void drain_b() {
    while (b->dev->udp_step(0) > 0) {
    }
  }
};

}  // namespace

TEST_F(HandshakeFlood, ForgedInitiationsGetCookiesAndDataKeepsFlowing) {
  establish();
  const size_t kFlood = 3000;  // > handshake_queue (1024)
  auto now = Clock::now();
  CookieGenerator gen(public_key(kb));
  size_t data_sent = 0;
  std::set<std::string> sources;
  for (size_t i = 0; i < kFlood; ++i) {
    auto from = flood_source(i);
    sources.insert(from.addr.str());
    net.inject(b->addr, forged_initiation(gen, now), from);
    if (i % 10 == 0) {  // the established peer keeps sending meanwhile
      a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1", 200));
      a->dev->tun_step(0);
      ++data_sent;
    }
  }
  ASSERT_EQ(sources.size(), 200u);
  size_t log_before = net.log.size();
  drain_b();
  // Data went straight through the workers, flood or not.
  EXPECT_EQ(b->tun->q.out.size(), data_sent);
  EXPECT_EQ(b->peer_drop(pb, Drop::DecryptFailed) + b->peer_drop(pb, Drop::Replay), 0u);
  // The handshake queue took 1024, the rest overflowed.
  EXPECT_EQ(b->dev_drop(Drop::QueueFull), kFlood - 1024);

  b->dev->handshake_step(now);
  // Under load: every queued initiation got a cookie reply (type 3) back to its
  // source, none reached the DH (no handshake_failed), none was a bad mac.
  size_t cookies = 0;
  for (size_t i = log_before; i < net.log.size(); ++i) {
    const auto& d = net.log[i];
    if (d.from == b->addr && d.data[0] == 3) {
      EXPECT_EQ(d.data.size(), kMessageCookieReplySize);
      EXPECT_EQ(d.to.addr.str().rfind("198.18.", 0), 0u);
      ++cookies;
    }
  }
  EXPECT_EQ(cookies, 1024u);
  EXPECT_EQ(b->dev_drop(Drop::HandshakeFailed), 0u);
  EXPECT_EQ(b->dev_drop(Drop::BadMac), 0u);
  EXPECT_EQ(b->dev_drop(Drop::RateLimited), 0u);

  // And B -> A still works on the established session.
  b->tun->q.in.push_back(ipv4("10.0.2.1", "10.0.1.1"));
  b->dev->tun_step(0);
  a->dev->udp_step(0);
  EXPECT_EQ(a->tun->q.out.size(), 1u);
}

// Below the load threshold (1/8 of the queue) there are no cookies: each
// forged initiation is opened and refused (handshake_failed), as in wireguard-go.
TEST_F(HandshakeFlood, LightForgeryIsRefusedWithoutCookies) {
  establish();
  auto now = Clock::now();
  CookieGenerator gen(public_key(kb));
  size_t log_before = net.log.size();
  for (size_t i = 0; i < 100; ++i)
    net.inject(b->addr, forged_initiation(gen, now), flood_source(i));
  drain_b();
  b->dev->handshake_step(now);
  EXPECT_EQ(b->dev_drop(Drop::HandshakeFailed), 100u);
  for (size_t i = log_before; i < net.log.size(); ++i) EXPECT_NE(net.log[i].data[0], 3);
}

// A genuine peer (A restarted with a fresh session) handshakes while B is
// flooded: its first initiation is answered with a cookie like everyone
// else's; its retransmission carries mac2 and is accepted, so the session
// comes up and the packet A staged is delivered.
TEST_F(HandshakeFlood, GenuinePeerHandshakesThroughTheFloodWithMac2) {
  establish();
  std::this_thread::sleep_for(std::chrono::milliseconds(40));  // newer TAI64N, past 1/50 s
  a = std::make_unique<Node>(net, ep("192.0.2.1", 51820), ka);
  pa = a->dev->add_peer({"b", public_key(kb), {}, b->addr, 0});
  a->dev->routes().add_allowed(pa, pfx("10.0.2.0/24"));
  b->tun->q.out.clear();

  CookieGenerator gen(public_key(kb));
  auto flood = [&](TimePoint now) {
    for (size_t i = 0; i < 500; ++i)
      net.inject(b->addr, forged_initiation(gen, now), flood_source(i));
  };
  auto t0 = Clock::now();
  flood(t0);
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  a->step(t0);  // A's initiation lands behind 500 forged ones
  size_t mark = net.log.size();
  drain_b();
  b->dev->handshake_step(t0);
  EXPECT_EQ(count_type(net, 3, b->addr, mark), 501u);  // A got a cookie too
  EXPECT_EQ(count_type(net, 2, b->addr, mark), 0u);    // and no response yet
  a->step(t0);                                         // A stores the cookie
  EXPECT_TRUE(b->tun->q.out.empty());

  // REKEY_TIMEOUT (+ jitter) later A retransmits, with mac2; the flood goes on.
  auto t1 = t0 + std::chrono::seconds(6);
  flood(t1);
  mark = net.log.size();
  a->step(t1);
  drain_b();
  b->dev->handshake_step(t1);
  EXPECT_EQ(count_type(net, 2, b->addr, mark), 1u);  // one response: to A
  EXPECT_EQ(count_type(net, 3, b->addr, mark), 500u);
  for (int i = 0; i < 3; ++i) {
    a->step(t1);
    b->step(t1);
  }
  ASSERT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_TRUE(a->dev->stats()[pa.slot()].last_handshake_unix.has_value());
}

// An attacker that does the cookie round trip from one source proves its
// address (mac2), and is then limited to the per-source burst (5).
TEST_F(HandshakeFlood, CookieAwareFlooderIsRateLimitedPerSource) {
  establish();
  auto t0 = Clock::now();
  CookieGenerator bulk(public_key(kb));
  CookieGenerator smart(public_key(kb));
  const UdpEndpoint attacker = ep("203.0.113.66", 6666);
  auto load = [&](TimePoint now) {
    for (size_t i = 0; i < 300; ++i)
      net.inject(b->addr, forged_initiation(bulk, now), flood_source(i));
  };
  // Round 1: the attacker's message gets a cookie reply, which it opens.
  load(t0);
  net.inject(b->addr, forged_initiation(smart, t0), attacker);
  size_t mark = net.log.size();
  drain_b();
  b->dev->handshake_step(t0);
  std::optional<MessageCookieReply> reply;
  for (size_t i = mark; i < net.log.size(); ++i)
    if (net.log[i].to == attacker) reply = parse_cookie_reply(net.log[i].data);
  ASSERT_TRUE(reply);
  ASSERT_TRUE(smart.consume_reply(*reply, t0));

  // Round 2: 50 initiations with a valid mac2 from that one source, under load.
  auto t1 = t0 + std::chrono::milliseconds(1);
  load(t1);
  for (int i = 0; i < 50; ++i) net.inject(b->addr, forged_initiation(smart, t1), attacker);
  mark = net.log.size();
  uint64_t failed0 = b->dev_drop(Drop::HandshakeFailed);
  drain_b();
  b->dev->handshake_step(t1);
  EXPECT_EQ(count_type(net, 3, b->addr, mark), 300u);  // only the bulk got cookies
  EXPECT_EQ(b->dev_drop(Drop::RateLimited), 45u);
  // The 5 let through cost a DH and fail: the attacker's static key is unknown.
  EXPECT_EQ(b->dev_drop(Drop::HandshakeFailed) - failed0, 5u);
  // Nothing of this touched the established session.
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  a->dev->tun_step(0);
  b->dev->udp_step(0);
  EXPECT_EQ(b->tun->q.out.size(), 1u);
}

// mac1 is bound to the responder's key: initiations computed for some other
// public key are dropped as bad_mac before anything else, load or not.
TEST_F(HandshakeFlood, WrongMac1IsBadMacEvenUnderLoad) {
  establish();
  auto now = Clock::now();
  CookieGenerator wrong(public_key(generate_private_key()));
  size_t mark = net.log.size();
  for (size_t i = 0; i < 400; ++i)
    net.inject(b->addr, forged_initiation(wrong, now), flood_source(i));
  drain_b();
  b->dev->handshake_step(now);
  EXPECT_EQ(b->dev_drop(Drop::BadMac), 400u);
  EXPECT_EQ(net.log.size(), mark);  // not a single reply
}
