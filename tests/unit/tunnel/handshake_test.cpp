// Full Noise_IKpsk2 handshakes between two in-process peers: key agreement,
// preshared keys, timestamp replay and flood protection, state machine
// misuse, unknown peers, determinism with an injected RNG.
#include "tunnel/handshake.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "handshake_testutil.hpp"

namespace ferry::tunnel {
namespace {

using testing::SeqRng;
using testing::t0;

struct Pair {
  SeqRng rng{42};
  StaticIdentity a = StaticIdentity::from_private(generate_private_key(rng));
  StaticIdentity b = StaticIdentity::from_private(generate_private_key(rng));
  Key psk{};
  std::unique_ptr<Handshake> ha, hb;  // a's view of b, b's view of a
  explicit Pair(bool with_psk = false) {
    if (with_psk) rng.fill(psk);
    ha = std::make_unique<Handshake>(a, b.public_key, psk);
    hb = std::make_unique<Handshake>(b, a.public_key, psk);
  }
  Handshake* lookup_b(const Key& k) { return k == a.public_key ? hb.get() : nullptr; }
};

Tai64n ts(int64_t s) {
  return Tai64n::from_unix(1700000000 + s, 0);
}

// Runs a whole handshake a -> b and returns (a's keypair, b's keypair).
std::pair<std::shared_ptr<Keypair>, std::shared_ptr<Keypair>> handshake(Pair& p, int64_t when,
                                                                        TimePoint now) {
  auto init = p.ha->create_initiation(100, ts(when), p.rng);
  EXPECT_TRUE(init);
  if (!init) return {};
  // Through the wire codec, as the device would.
  std::vector<uint8_t> wire(kMessageInitiationSize);
  EXPECT_TRUE(encode(*init, wire));
  auto parsed = parse_initiation(wire);
  auto r = consume_initiation(p.b, *parsed, now, [&](const Key& k) { return p.lookup_b(k); });
  EXPECT_EQ(r.error, HandshakeError::None) << to_string(r.error);
  EXPECT_EQ(r.handshake, p.hb.get());
  EXPECT_EQ(p.hb->state(), HandshakeState::InitiationConsumed);
  auto resp = p.hb->create_response(200, p.rng);
  EXPECT_TRUE(resp);
  if (!resp) return {};
  EXPECT_EQ(resp->receiver_index, 100u);
  EXPECT_EQ(resp->sender_index, 200u);
  EXPECT_EQ(p.ha->consume_response(*resp), HandshakeError::None);
  auto ka = p.ha->derive_keypair(now);
  auto kb = p.hb->derive_keypair(now);
  return {ka, kb};
}

TEST(Handshake, DerivesMatchingTransportKeys) {
  Pair p;
  auto [ka, kb] = handshake(p, 0, t0());
  ASSERT_TRUE(ka && kb);
  EXPECT_TRUE(ka->is_initiator());
  EXPECT_FALSE(kb->is_initiator());
  EXPECT_EQ(ka->send_key(), kb->recv_key());
  EXPECT_EQ(ka->recv_key(), kb->send_key());
  EXPECT_NE(ka->send_key(), ka->recv_key());
  EXPECT_EQ(ka->local_index(), 100u);
  EXPECT_EQ(ka->remote_index(), 200u);
  EXPECT_EQ(kb->local_index(), 200u);
  EXPECT_EQ(kb->remote_index(), 100u);
  // Both sides are back to Zeroed; a second derive is refused.
  EXPECT_EQ(p.ha->state(), HandshakeState::Zeroed);
  EXPECT_EQ(p.hb->state(), HandshakeState::Zeroed);
  EXPECT_EQ(p.ha->derive_keypair(t0()), nullptr);

  // Transport both ways.
  std::vector<uint8_t> msg(64), out(64);
  const std::vector<uint8_t> hello = {'h', 'e', 'l', 'l', 'o'};
  auto n = ka->encrypt(hello, msg);
  ASSERT_TRUE(n);
  auto view = parse_transport(std::span<const uint8_t>(msg.data(), *n));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->header.receiver_index, 200u);
  auto m = kb->decrypt(*view, out);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, 16u);  // padded
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 5), hello);
  auto n2 = kb->encrypt(hello, msg);
  ASSERT_TRUE(n2);
  auto view2 = parse_transport(std::span<const uint8_t>(msg.data(), *n2));
  EXPECT_TRUE(ka->decrypt(*view2, out));
}

TEST(Handshake, PresharedKeyMustMatch) {
  Pair p(true);
  auto [ka, kb] = handshake(p, 0, t0());
  ASSERT_TRUE(ka && kb);
  EXPECT_EQ(ka->send_key(), kb->recv_key());

  // Same statics, different PSK on the responder: the response does not authenticate.
  Pair q(true);
  Key other = q.psk;
  other[0] ^= 1;
  q.hb->set_preshared_key(other);
  auto init = q.ha->create_initiation(1, ts(0), q.rng);
  auto r = consume_initiation(q.b, *init, t0(), [&](const Key& k) { return q.lookup_b(k); });
  ASSERT_EQ(r.error, HandshakeError::None);  // the PSK is only mixed in at the response
  auto resp = q.hb->create_response(2, q.rng);
  ASSERT_TRUE(resp);
  EXPECT_EQ(q.ha->consume_response(*resp), HandshakeError::Decrypt);
  EXPECT_EQ(q.ha->state(), HandshakeState::InitiationCreated);
}

TEST(Handshake, PskChangesKeys) {
  Pair p(false), q(true);
  auto [ka, kb] = handshake(p, 0, t0());
  auto [qa, qb] = handshake(q, 0, t0());
  ASSERT_TRUE(ka && qa);
  EXPECT_NE(ka->send_key(), qa->send_key());
}

TEST(Handshake, ReplayedInitiationRejected) {
  Pair p;
  auto init = p.ha->create_initiation(7, ts(10), p.rng);
  ASSERT_TRUE(init);
  auto look = [&](const Key& k) { return p.lookup_b(k); };
  EXPECT_EQ(consume_initiation(p.b, *init, t0(), look).error, HandshakeError::None);
  // Same message later: timestamp not newer.
  EXPECT_EQ(consume_initiation(p.b, *init, t0() + std::chrono::seconds(1), look).error,
            HandshakeError::Replay);
  // An older timestamp is also refused, a newer one is accepted.
  auto older = p.ha->create_initiation(8, ts(9), p.rng);
  EXPECT_EQ(consume_initiation(p.b, *older, t0() + std::chrono::seconds(2), look).error,
            HandshakeError::Replay);
  auto newer = p.ha->create_initiation(9, ts(11), p.rng);
  EXPECT_EQ(consume_initiation(p.b, *newer, t0() + std::chrono::seconds(3), look).error,
            HandshakeError::None);
  EXPECT_EQ(p.hb->last_timestamp(), ts(11));
}

TEST(Handshake, InitiationFloodRejected) {
  Pair p;
  auto look = [&](const Key& k) { return p.lookup_b(k); };
  auto i1 = p.ha->create_initiation(1, ts(1), p.rng);
  auto i2 = p.ha->create_initiation(2, ts(2), p.rng);
  auto i3 = p.ha->create_initiation(3, ts(3), p.rng);
  EXPECT_EQ(consume_initiation(p.b, *i1, t0(), look).error, HandshakeError::None);
  // Newer timestamp but within 1/50 s of the last accepted one.
  EXPECT_EQ(consume_initiation(p.b, *i2, t0() + std::chrono::milliseconds(19), look).error,
            HandshakeError::Flood);
  EXPECT_EQ(consume_initiation(p.b, *i3, t0() + std::chrono::milliseconds(20), look).error,
            HandshakeError::None);
}

TEST(Handshake, UnknownPeerAndWrongResponder) {
  Pair p;
  auto init = p.ha->create_initiation(1, ts(1), p.rng);
  auto r = consume_initiation(p.b, *init, t0(), [](const Key&) { return nullptr; });
  EXPECT_EQ(r.error, HandshakeError::UnknownPeer);
  // A third party cannot even open it (it was encrypted to b's static key).
  SeqRng rng(7);
  StaticIdentity c = StaticIdentity::from_private(generate_private_key(rng));
  EXPECT_FALSE(open_initiation(c, *init));
  EXPECT_TRUE(open_initiation(p.b, *init));
}

TEST(Handshake, TamperedInitiationRejected) {
  Pair p;
  auto init = p.ha->create_initiation(1, ts(1), p.rng);
  auto look = [&](const Key& k) { return p.lookup_b(k); };
  for (size_t field = 0; field < 3; ++field) {
    MessageInitiation m = *init;
    if (field == 0) m.ephemeral[3] ^= 1;
    if (field == 1) m.encrypted_static[40] ^= 1;
    if (field == 2) m.encrypted_timestamp[5] ^= 1;
    EXPECT_EQ(consume_initiation(p.b, m, t0(), look).error, HandshakeError::Decrypt) << field;
  }
  EXPECT_EQ(p.hb->state(), HandshakeState::Zeroed);
}

TEST(Handshake, StateMachineMisuse) {
  Pair p;
  // No response before an initiation was consumed.
  EXPECT_FALSE(p.hb->create_response(1, p.rng));
  MessageResponse bogus;
  EXPECT_EQ(p.ha->consume_response(bogus), HandshakeError::WrongState);
  auto init = p.ha->create_initiation(5, ts(1), p.rng);
  ASSERT_TRUE(init);
  bogus.receiver_index = 6;
  EXPECT_EQ(p.ha->consume_response(bogus), HandshakeError::WrongIndex);
  bogus.receiver_index = 5;
  EXPECT_NE(p.ha->consume_response(bogus), HandshakeError::None);
  // A response replayed after completion is refused.
  auto r = consume_initiation(p.b, *init, t0(), [&](const Key& k) { return p.lookup_b(k); });
  ASSERT_EQ(r.error, HandshakeError::None);
  auto resp = p.hb->create_response(9, p.rng);
  ASSERT_EQ(p.ha->consume_response(*resp), HandshakeError::None);
  EXPECT_EQ(p.ha->consume_response(*resp), HandshakeError::WrongState);
  ASSERT_TRUE(p.ha->derive_keypair(t0()));
  EXPECT_EQ(p.ha->consume_response(*resp), HandshakeError::WrongState);
}

TEST(Handshake, NewInitiationSupersedesOld) {
  Pair p;
  auto first = p.ha->create_initiation(1, ts(1), p.rng);
  auto second = p.ha->create_initiation(2, ts(2), p.rng);
  auto look = [&](const Key& k) { return p.lookup_b(k); };
  // b answers the first one; a has moved on, so the response is for an unknown index.
  ASSERT_EQ(consume_initiation(p.b, *first, t0(), look).error, HandshakeError::None);
  auto resp = p.hb->create_response(3, p.rng);
  EXPECT_EQ(p.ha->consume_response(*resp), HandshakeError::WrongIndex);
  ASSERT_EQ(consume_initiation(p.b, *second, t0() + std::chrono::seconds(1), look).error,
            HandshakeError::None);
  auto resp2 = p.hb->create_response(4, p.rng);
  EXPECT_EQ(p.ha->consume_response(*resp2), HandshakeError::None);
}

TEST(Handshake, DeterministicWithInjectedRng) {
  // Same keys + same RNG stream + same timestamp => byte-identical messages.
  auto run = [] {
    Pair p;
    auto init = p.ha->create_initiation(0x01020304, ts(5), p.rng);
    std::vector<uint8_t> wire(kMessageInitiationSize);
    encode(*init, wire);
    return wire;
  };
  auto w1 = run(), w2 = run();
  EXPECT_EQ(w1, w2);
  // Different RNG stream => different ephemeral.
  Pair p;
  p.rng = SeqRng(99);
  auto init = p.ha->create_initiation(0x01020304, ts(5), p.rng);
  std::vector<uint8_t> w3(kMessageInitiationSize);
  encode(*init, w3);
  EXPECT_NE(w1, w3);
}

TEST(Handshake, LowOrderRemoteStaticIsUnusable) {
  SeqRng rng(3);
  StaticIdentity a = StaticIdentity::from_private(generate_private_key(rng));
  Handshake h(a, Key{});
  EXPECT_FALSE(h.usable());
  EXPECT_FALSE(h.create_initiation(1, ts(0), rng));
}

TEST(Handshake, LowOrderEphemeralRejected) {
  Pair p;
  auto init = p.ha->create_initiation(1, ts(1), p.rng);
  MessageInitiation m = *init;
  m.ephemeral = Key{};
  EXPECT_FALSE(open_initiation(p.b, m));
}

}  // namespace
}  // namespace ferry::tunnel
