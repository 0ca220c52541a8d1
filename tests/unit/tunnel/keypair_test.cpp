// Keypairs: transport encrypt/decrypt in caller buffers (in place, padding,
// MTU cap), replay rejection after authentication, counter exhaustion,
// expiry, and the previous/current/next rotation rules.
#include "tunnel/keypair.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "handshake_testutil.hpp"

namespace ferry::tunnel {
namespace {

using testing::t0;
using namespace std::chrono_literals;

Key key_of(uint8_t v) {
  Key k;
  k.fill(v);
  return k;
}

// a sends with key 1 / receives with 2; b is its mirror.
std::pair<std::shared_ptr<Keypair>, std::shared_ptr<Keypair>> mirrored(uint32_t ia = 10,
                                                                       uint32_t ib = 20) {
  return {std::make_shared<Keypair>(key_of(1), key_of(2), ia, ib, true, t0()),
          std::make_shared<Keypair>(key_of(2), key_of(1), ib, ia, false, t0())};
}

std::shared_ptr<Keypair> kp(uint32_t idx, bool initiator) {
  return std::make_shared<Keypair>(key_of(3), key_of(4), idx, idx + 1000, initiator, t0());
}

TEST(Keypair, PaddingRules) {
  EXPECT_EQ(padded_size(0, 1420), 0u);
  EXPECT_EQ(padded_size(1, 1420), 16u);
  EXPECT_EQ(padded_size(16, 1420), 16u);
  EXPECT_EQ(padded_size(17, 1420), 32u);
  EXPECT_EQ(padded_size(1419, 1420), 1420u);  // capped at the MTU
  EXPECT_EQ(padded_size(1420, 1420), 1420u);
  EXPECT_EQ(padded_size(1419, 0), 1424u);
  EXPECT_EQ(transport_message_size(0, 1420), 32u);  // keepalive
}

TEST(Keypair, EncryptDecryptRoundTrip) {
  auto [a, b] = mirrored();
  std::vector<uint8_t> plain(100);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> msg(transport_message_size(plain.size(), 1420));
  auto n = a->encrypt(plain, msg, 1420);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 16u + 112u + 16u);
  auto v = parse_transport(std::span<const uint8_t>(msg.data(), *n));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header.receiver_index, 20u);
  EXPECT_EQ(v->header.counter, 0u);
  std::vector<uint8_t> out(112);
  auto m = b->decrypt(*v, out);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, 112u);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 100), plain);
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 100, out.end()), std::vector<uint8_t>(12, 0));
  EXPECT_EQ(a->send_counter(), 1u);
}

TEST(Keypair, InPlaceBothWays) {
  auto [a, b] = mirrored();
  std::vector<uint8_t> buf(16 + 1420 + 16);
  for (size_t i = 0; i < 1400; ++i) buf[16 + i] = static_cast<uint8_t>(i * 3);
  std::vector<uint8_t> expect(buf.begin() + 16, buf.begin() + 16 + 1400);
  auto n = a->encrypt(std::span<const uint8_t>(buf.data() + 16, 1400), buf, 1420);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 16u + 1408u + 16u);
  auto v = parse_transport(std::span<const uint8_t>(buf.data(), *n));
  ASSERT_TRUE(v);
  // Decrypt into the ciphertext's own bytes.
  std::span<uint8_t> out(buf.data() + 16, v->ciphertext.size());
  auto m = b->decrypt(*v, out);
  ASSERT_TRUE(m);
  EXPECT_EQ(std::vector<uint8_t>(buf.begin() + 16, buf.begin() + 16 + 1400), expect);
}

TEST(Keypair, KeepaliveIsEmpty) {
  auto [a, b] = mirrored();
  std::vector<uint8_t> msg(32), out(0);
  auto n = a->encrypt({}, msg);
  ASSERT_EQ(n, 32u);
  auto v = parse_transport(msg);
  auto m = b->decrypt(*v, out);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, 0u);
}

TEST(Keypair, ReplayAndForgeryRejected) {
  auto [a, b] = mirrored();
  std::vector<uint8_t> plain(32, 7), msg(64), out(64);
  auto n = a->encrypt(plain, msg);
  auto v = parse_transport(std::span<const uint8_t>(msg.data(), *n));
  ASSERT_TRUE(b->decrypt(*v, out));
  EXPECT_FALSE(b->decrypt(*v, out));  // replay
  // A forged message with a fresh counter must not move the window.
  std::vector<uint8_t> forged = msg;
  forged[8] = 0x50;  // counter 80
  auto fv = parse_transport(std::span<const uint8_t>(forged.data(), *n));
  EXPECT_FALSE(b->decrypt(*fv, out));
  EXPECT_TRUE(b->replay_check(80));
  // Wrong receiver index is refused.
  auto n2 = a->encrypt(plain, msg);
  auto v2 = parse_transport(std::span<const uint8_t>(msg.data(), *n2));
  TransportView wrong = *v2;
  wrong.header.receiver_index = 99;
  EXPECT_FALSE(b->decrypt(wrong, out));
  EXPECT_TRUE(b->decrypt(*v2, out));
  // Out-of-order within the window is fine.
  std::vector<uint8_t> m3(64), m4(64);
  auto n3 = a->encrypt(plain, m3);
  auto n4 = a->encrypt(plain, m4);
  EXPECT_TRUE(b->decrypt(*parse_transport(std::span<const uint8_t>(m4.data(), *n4)), out));
  EXPECT_TRUE(b->decrypt(*parse_transport(std::span<const uint8_t>(m3.data(), *n3)), out));
}

TEST(Keypair, ShortBuffersRefused) {
  auto [a, b] = mirrored();
  std::vector<uint8_t> plain(20), small(16 + 32 + 15);
  EXPECT_FALSE(a->encrypt(plain, small));
  EXPECT_EQ(a->send_counter(), 0u);  // no counter burnt
  std::vector<uint8_t> msg(64), out(31);
  auto n = a->encrypt(plain, msg);
  auto v = parse_transport(std::span<const uint8_t>(msg.data(), *n));
  EXPECT_FALSE(b->decrypt(*v, out));
}

TEST(Keypair, ExpiresAfterRejectTime) {
  auto [a, b] = mirrored();
  std::vector<uint8_t> msg(32), out(0);
  EXPECT_TRUE(a->encrypt({}, msg, 0, t0() + 179s, kRejectAfterTime));
  EXPECT_FALSE(a->encrypt({}, msg, 0, t0() + 180s, kRejectAfterTime));
  auto n = a->encrypt({}, msg);
  auto v = parse_transport(msg);
  ASSERT_TRUE(n && v);
  EXPECT_FALSE(b->decrypt(*v, out, t0() + 181s, kRejectAfterTime));
  EXPECT_TRUE(b->decrypt(*v, out, t0() + 10s, kRejectAfterTime));
}

TEST(Keypair, CounterExhaustion) {
  auto [a, b] = mirrored();
  EXPECT_EQ(kRejectAfterMessages, 0xffffffffffffdfffULL);  // 2^64 - 2^13 - 1
  a->set_send_counter_for_testing(kRejectAfterMessages - 1);
  std::vector<uint8_t> msg(32), out(0);
  auto n = a->encrypt({}, msg);
  ASSERT_TRUE(n);  // the last allowed counter
  auto v = parse_transport(msg);
  EXPECT_EQ(v->header.counter, kRejectAfterMessages - 1);
  EXPECT_TRUE(b->decrypt(*v, out));
  // Exhausted: refused, and it stays refused (the counter saturates, never wraps).
  EXPECT_FALSE(a->encrypt({}, msg));
  EXPECT_FALSE(a->encrypt({}, msg));
  EXPECT_FALSE(a->next_send_counter());
  EXPECT_EQ(a->send_counter(), kRejectAfterMessages);
}

TEST(Keypair, ConcurrentWorkersShareOneKeypair) {
  // Data-path workers encrypt on one keypair in parallel: counters must be
  // unique. Then they decrypt the same messages, each twice, in parallel:
  // every message must be accepted exactly once.
  auto [a, b] = mirrored();
  constexpr int kThreads = 4, kPerThread = 2000;
  std::vector<std::vector<std::vector<uint8_t>>> sent(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      std::vector<uint8_t> plain(100, static_cast<uint8_t>(t));
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<uint8_t> m(transport_message_size(plain.size(), 1420));
        auto n = a->encrypt(plain, m, 1420);
        if (!n) continue;
        m.resize(*n);
        sent[t].push_back(std::move(m));
      }
    });
  }
  for (auto& t : ts) t.join();
  ts.clear();
  std::set<uint64_t> counters;
  std::vector<std::vector<uint8_t>> all;
  for (auto& v : sent) {
    for (auto& m : v) {
      counters.insert(parse_transport(m)->header.counter);
      all.push_back(m);
    }
  }
  ASSERT_EQ(all.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(counters.size(), all.size());
  std::atomic<int> accepted{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      std::vector<uint8_t> out(2048);
      // Each message is offered by two threads.
      for (size_t i = 0; i < all.size(); ++i) {
        if (i % kThreads != static_cast<size_t>(t) && (i + 1) % kThreads != static_cast<size_t>(t))
          continue;
        auto v = parse_transport(all[i]);
        if (b->decrypt(*v, out)) accepted.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(accepted.load(), kThreads * kPerThread);
}

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);
const Duration kGrace = kRekeyTimeout;

TEST(KeypairSet, InitiatorRotation) {
  KeypairSet s;
  auto k1 = kp(1, true), k2 = kp(2, true), k3 = kp(3, true);
  auto d1 = s.install(k1, kT0);
  EXPECT_EQ(s.current(), k1);
  EXPECT_EQ(s.previous(), nullptr);
  EXPECT_EQ(d1.size(), 0u);
  s.install(k2, kT0);
  EXPECT_EQ(s.current(), k2);
  EXPECT_EQ(s.previous(), k1);
  auto d3 = s.install(k3, kT0);
  EXPECT_EQ(s.current(), k3);
  EXPECT_EQ(s.previous(), k2);
  EXPECT_EQ(d3.size(), 0u);  // the old previous retires instead of being dropped
  EXPECT_EQ(s.find(2), k2);
  EXPECT_EQ(s.find(1), k1);  // still decrypts during the grace period
  EXPECT_EQ(s.expire(kT0 + kGrace - std::chrono::milliseconds(1)).size(), 0u);
  auto gone = s.expire(kT0 + kGrace);
  EXPECT_TRUE(gone.contains(k1.get()));
  EXPECT_EQ(gone.size(), 1u);
  EXPECT_EQ(s.find(1), nullptr);
  EXPECT_EQ(s.next_expiry(), std::nullopt);
}

TEST(KeypairSet, ResponderNextUntilConfirmed) {
  KeypairSet s;
  auto k1 = kp(1, true);
  s.install(k1, kT0);
  auto r = kp(2, false);
  s.install(r, kT0);
  // Not usable for sending until the initiator uses it.
  EXPECT_EQ(s.current(), k1);
  EXPECT_EQ(s.next(), r);
  EXPECT_EQ(s.previous(), nullptr);
  EXPECT_FALSE(s.received_with(k1.get(), kT0));  // traffic on current changes nothing
  EXPECT_EQ(s.next(), r);
  KeypairSet::Dropped d;
  EXPECT_TRUE(s.received_with(r.get(), kT0, &d));
  EXPECT_EQ(s.current(), r);
  EXPECT_EQ(s.previous(), k1);
  EXPECT_EQ(s.next(), nullptr);
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(s.received_with(r.get(), kT0));
}

TEST(KeypairSet, ResponderReplacesPendingNext) {
  KeypairSet s;
  auto r1 = kp(1, false), r2 = kp(2, false);
  s.install(r1, kT0);
  auto d = s.install(r2, kT0);
  EXPECT_EQ(s.next(), r2);
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(s.received_with(r1.get(), kT0));  // a retired keypair is never promoted
  EXPECT_EQ(s.find(1), r1);                      // but decrypts for the grace period
  EXPECT_EQ(s.next_expiry(), kT0 + kGrace);
  EXPECT_TRUE(s.expire(kT0 + kGrace).contains(r1.get()));
}

TEST(KeypairSet, InitiatorWhileNextPending) {
  // We answered the peer (next pending) and then our own initiation completed.
  KeypairSet s;
  auto c = kp(1, true), n = kp(2, false), mine = kp(3, true);
  s.install(c, kT0);
  s.install(n, kT0);
  auto d = s.install(mine, kT0);
  EXPECT_EQ(s.current(), mine);
  EXPECT_EQ(s.previous(), n);  // the peer uses it if its handshake completed
  EXPECT_EQ(s.next(), nullptr);
  EXPECT_EQ(d.size(), 0u);
  EXPECT_EQ(s.find(1), c);  // and the old current if its handshake crossed ours
  EXPECT_TRUE(s.expire(kT0 + kGrace).contains(c.get()));
}

// Simultaneous initiations on both sides (each side answers the other's
// initiation, then completes its own): every keypair either side may still
// send under stays decryptable on the other until the grace ends.
TEST(KeypairSet, CrossingHandshakesKeepWhatThePeerSendsUnder) {
  KeypairSet a, b;
  auto c_a = kp(1, true), c_b = kp(11, false);  // the established session, both ends
  a.install(c_a, kT0);
  b.install(c_b, kT0);
  ASSERT_TRUE(b.received_with(c_b.get(), kT0));
  // Both initiate; each answers the other's initiation (responder install) ...
  auto nb_at_a = kp(2, false), na_at_b = kp(12, false);
  a.install(nb_at_a, kT0);
  b.install(na_at_b, kT0);
  // ... A's own handshake then completes (B's failed: its state was replaced).
  auto na_at_a = kp(3, true);
  a.install(na_at_a, kT0);
  // B still sends under its current, the old session: A must still decrypt it.
  EXPECT_EQ(b.current(), c_b);
  EXPECT_EQ(a.find(1), c_a);
  // A sends under its new current; B promotes its next on that.
  EXPECT_TRUE(b.received_with(na_at_b.get(), kT0));
  EXPECT_EQ(b.current(), na_at_b);
}

TEST(KeypairSet, RetiredAreBoundedOldestFirst) {
  KeypairSet s;
  std::vector<KeypairSet::Ptr> all;
  KeypairSet::Dropped dropped;
  for (uint32_t i = 1; i <= 8; ++i) {
    all.push_back(kp(i, false));
    auto d = s.install(all.back(), kT0 + std::chrono::milliseconds(i));
    for (auto& k : d.kps) dropped.add(std::move(k));
  }
  EXPECT_EQ(s.retired_count(), KeypairSet::kMaxRetired);
  EXPECT_EQ(s.next(), all[7]);
  // 7 retired in all, the 3 oldest dropped at once to make room.
  EXPECT_EQ(dropped.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(dropped.contains(all[static_cast<size_t>(i)].get()));
  for (uint32_t i = 4; i <= 7; ++i) EXPECT_EQ(s.find(i), all[i - 1]);
}

TEST(KeypairSet, ClearReturnsAll) {
  KeypairSet s;
  s.install(kp(1, true), kT0);
  s.install(kp(2, true), kT0);
  s.install(kp(3, false), kT0);
  auto all = s.clear();
  EXPECT_EQ(all.size(), 3u);  // current, next and the retired previous
  EXPECT_EQ(s.current(), nullptr);
  EXPECT_EQ(s.find(1), nullptr);
  EXPECT_EQ(s.retired_count(), 0u);
}

}  // namespace
}  // namespace ferry::tunnel
