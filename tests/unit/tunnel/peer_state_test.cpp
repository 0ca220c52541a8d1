// Two PeerStates talking through byte buffers, as the device would drive
// them: a handshake with macs checked, the responder's `next` keypair
// confirmed by the first data packet, a cookie round trip under load,
// rekeying with previous/current rotation, and key zeroing by the timers.
#include "tunnel/peer_state.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "handshake_testutil.hpp"
#include "tunnel/cookie.hpp"

namespace ferry::tunnel {
namespace {

using testing::ConstRng;
using testing::SeqRng;
using testing::t0;
using namespace std::chrono_literals;

struct Sides {
  SeqRng rng{77};
  ConstRng nojitter{0};
  StaticIdentity a = StaticIdentity::from_private(generate_private_key(rng));
  StaticIdentity b = StaticIdentity::from_private(generate_private_key(rng));
  PeerState pa{a, b.public_key, {}, {}, nojitter};  // a's view of b
  PeerState pb{b, a.public_key, {}, {}, nojitter};  // b's view of a
  CookieChecker ca{a.public_key, {}, rng};
  CookieChecker cb{b.public_key, {}, rng};
  int64_t clock = 0;

  // a initiates, b answers; returns (a's keypair, b's keypair).
  std::pair<std::shared_ptr<Keypair>, std::shared_ptr<Keypair>> handshake(TimePoint now,
                                                                          uint32_t ia,
                                                                          uint32_t ib) {
    std::vector<uint8_t> init(kMessageInitiationSize);
    EXPECT_TRUE(
        pa.write_initiation(ia, init, now, Tai64n::from_unix(1700000000 + ++clock, 0), false));
    EXPECT_TRUE(cb.check_mac1(init));
    auto r = consume_initiation(b, *parse_initiation(init), now, [&](const Key& k) {
      return k == pb.remote_public() ? &pb.handshake() : nullptr;
    });
    EXPECT_EQ(r.error, HandshakeError::None);
    std::vector<uint8_t> resp(kMessageResponseSize);
    auto sb = pb.write_response(ib, resp, now);
    EXPECT_TRUE(sb);
    EXPECT_TRUE(ca.check_mac1(resp));
    SessionOutcome sa;
    EXPECT_EQ(pa.complete_as_initiator(*parse_response(resp), now, &sa), HandshakeError::None);
    return {sa.keypair, sb ? sb->keypair : nullptr};
  }
};

// Sends one data packet from `from` on kp to `to`, which decrypts it with rx.
bool deliver(PeerState& from, Keypair& kp, PeerState& to, Keypair& rx, size_t len, TimePoint now) {
  std::vector<uint8_t> plain(len, 0x5a), msg(transport_message_size(len, 1420)), out(msg.size());
  auto n = kp.encrypt(plain, msg, 1420);
  if (!n) return false;
  from.on_transport_sent(len, now);
  auto v = parse_transport(std::span<const uint8_t>(msg.data(), *n));
  if (!v) return false;
  auto m = rx.decrypt(*v, out);
  if (!m) return false;
  to.on_transport_received(&rx, *m, now);
  return true;
}

TEST(PeerState, HandshakeThenConfirmation) {
  Sides s;
  auto [ka, kb] = s.handshake(t0(), 1, 2);
  ASSERT_TRUE(ka && kb);
  EXPECT_EQ(s.pa.keypairs().current(), ka);
  EXPECT_EQ(s.pb.keypairs().next(), kb);
  EXPECT_EQ(s.pb.keypairs().current(), nullptr);
  EXPECT_FALSE(s.pa.timers().retransmit_armed());
  EXPECT_TRUE(s.pa.timers().zero_keys_armed());
  // a's first packet (here a keepalive) confirms b's keypair.
  ASSERT_TRUE(deliver(s.pa, *ka, s.pb, *kb, 0, t0()));
  EXPECT_EQ(s.pb.keypairs().current(), kb);
  EXPECT_EQ(s.pb.keypairs().next(), nullptr);
  EXPECT_TRUE(s.pb.timers().last_handshake());
  // Data b -> a now works.
  EXPECT_TRUE(deliver(s.pb, *kb, s.pa, *ka, 100, t0() + 1s));
  // a received data: a passive keepalive is armed.
  EXPECT_TRUE(s.pa.timers().keepalive_armed());
}

TEST(PeerState, RekeyRotatesKeypairs) {
  Sides s;
  auto [a1, b1] = s.handshake(t0(), 1, 2);
  ASSERT_TRUE(deliver(s.pa, *a1, s.pb, *b1, 10, t0()));
  auto [a2, b2] = s.handshake(t0() + 121s, 3, 4);
  EXPECT_EQ(s.pa.keypairs().current(), a2);
  EXPECT_EQ(s.pa.keypairs().previous(), a1);
  // b keeps sending on b1 until a uses the new keys.
  EXPECT_EQ(s.pb.keypairs().current(), b1);
  EXPECT_EQ(s.pb.keypairs().next(), b2);
  // In-flight traffic on the old keys is still accepted by a (previous).
  EXPECT_TRUE(deliver(s.pb, *b1, s.pa, *a1, 10, t0() + 122s));
  ASSERT_TRUE(deliver(s.pa, *a2, s.pb, *b2, 10, t0() + 122s));
  EXPECT_EQ(s.pb.keypairs().current(), b2);
  EXPECT_EQ(s.pb.keypairs().previous(), b1);
}

TEST(PeerState, CookieUnderLoad) {
  Sides s;
  const auto src = CookieSource::from(*IpAddress::parse("198.51.100.4"), 51820);
  TimePoint now = t0();
  std::vector<uint8_t> init(kMessageInitiationSize);
  ASSERT_TRUE(s.pa.write_initiation(1, init, now, Tai64n::from_unix(1700000001, 0), false));
  // b is under load: mac1 is fine but there is no mac2, so b sends a cookie reply.
  ASSERT_TRUE(s.cb.check_mac1(init));
  ASSERT_FALSE(s.cb.check_mac2(init, src, now));
  auto parsed = parse_initiation(init);
  auto reply = s.cb.create_reply(init, parsed->sender_index, src, now);
  ASSERT_TRUE(reply);
  ASSERT_TRUE(s.pa.cookies().consume_reply(*reply, now));
  // a's retransmission carries mac2 and gets through.
  std::vector<uint8_t> retry(kMessageInitiationSize);
  ASSERT_TRUE(s.pa.write_initiation(1, retry, now + 5s, Tai64n::from_unix(1700000006, 0), true));
  EXPECT_TRUE(s.cb.check_mac2(retry, src, now + 5s));
  auto r = consume_initiation(s.b, *parse_initiation(retry), now + 5s,
                              [&](const Key&) { return &s.pb.handshake(); });
  EXPECT_EQ(r.error, HandshakeError::None);
}

TEST(PeerState, TimersZeroKeys) {
  Sides s;
  auto [ka, kb] = s.handshake(t0(), 1, 2);
  ASSERT_TRUE(ka);
  KeypairSet::Dropped zeroed;
  EXPECT_FALSE(s.pa.poll_timers(t0() + 539s, &zeroed).zero_keys);
  EXPECT_EQ(zeroed.size(), 0u);
  auto act = s.pa.poll_timers(t0() + 540s, &zeroed);
  EXPECT_TRUE(act.zero_keys);
  EXPECT_EQ(s.pa.keypairs().current(), nullptr);
  EXPECT_TRUE(zeroed.contains(ka.get()));
  EXPECT_EQ(zeroed.size(), 1u);
}

TEST(PeerState, UnansweredDataTriggersHandshake) {
  Sides s;
  auto [ka, kb] = s.handshake(t0(), 1, 2);
  ASSERT_TRUE(deliver(s.pa, *ka, s.pb, *kb, 50, t0() + 1s));
  // b never answers: after KEEPALIVE + REKEY_TIMEOUT a wants a new handshake.
  auto act = s.pa.poll_timers(t0() + 16s);
  EXPECT_TRUE(act.send_initiation);
  // b, having received data and sent nothing, sends a keepalive after 10 s.
  EXPECT_TRUE(s.pb.poll_timers(t0() + 11s).send_keepalive);
}

}  // namespace
}  // namespace ferry::tunnel
