// Timer state machine driven by a fake clock: retransmission with jitter
// and give-up after REKEY_ATTEMPT_TIME, passive and persistent keepalives,
// new handshake when data goes unanswered, key zeroing, rekey decisions
// and the test scale factor.
#include "tunnel/timers.hpp"

#include <gtest/gtest.h>

#include "handshake_testutil.hpp"

namespace ferry::tunnel {
namespace {

using testing::ConstRng;
using testing::SeqRng;
using testing::t0;
using namespace std::chrono_literals;

TEST(Timers, RetransmitUntilGiveUp) {
  ConstRng zero(0);  // no jitter
  PeerTimers t({}, zero);
  TimePoint now = t0();
  t.on_handshake_initiated(now, false);
  EXPECT_FALSE(t.poll(now + 4999ms).any());
  int retries = 0;
  TimerActions a;
  for (;;) {
    auto d = t.next_deadline();
    ASSERT_TRUE(d);
    now = *d;
    a = t.poll(now);
    if (a.give_up) break;
    ASSERT_TRUE(a.send_initiation);
    ASSERT_TRUE(a.is_retry);
    ++retries;
    t.on_handshake_initiated(now, true);
    ASSERT_LT(retries, 100);
  }
  // Retries every REKEY_TIMEOUT for REKEY_ATTEMPT_TIME (90 s / 5 s + 1), then give up.
  EXPECT_EQ(retries, kMaxHandshakeAttempts + 1);
  EXPECT_GE(now - t0(), kRekeyAttemptTime);
  EXPECT_FALSE(a.send_initiation);
  // Keys are scheduled for zeroing 3 x REJECT_AFTER_TIME later.
  EXPECT_TRUE(t.zero_keys_armed());
  EXPECT_FALSE(t.poll(now + 539s).zero_keys);
  EXPECT_TRUE(t.poll(now + 540s).zero_keys);
}

TEST(Timers, JitterBounded) {
  SeqRng rng(11);
  PeerTimers t({}, rng);
  for (int i = 0; i < 200; ++i) {
    t.on_handshake_initiated(t0(), false);
    auto d = *t.next_deadline() - t0();
    ASSERT_GE(d, kRekeyTimeout);
    ASSERT_LT(d, kRekeyTimeout + kMaxJitter);
  }
}

TEST(Timers, HandshakeCompleteStopsRetransmit) {
  ConstRng zero(0);
  PeerTimers t({}, zero);
  t.on_handshake_initiated(t0(), false);
  auto a = t.poll(t0() + 5s);
  ASSERT_TRUE(a.send_initiation);
  t.on_handshake_initiated(t0() + 5s, true);
  EXPECT_EQ(t.handshake_attempts(), 1);
  t.on_handshake_complete(t0() + 6s);
  EXPECT_EQ(t.handshake_attempts(), 0);
  EXPECT_FALSE(t.retransmit_armed());
  EXPECT_FALSE(t.poll(t0() + 100s).send_initiation);
  EXPECT_EQ(t.last_handshake(), t0() + 6s);
}

TEST(Timers, NewHandshakeWhenDataUnanswered) {
  ConstRng zero(0);
  PeerTimers t({}, zero);
  t.on_data_sent(t0());
  t.on_data_sent(t0() + 3s);  // does not push the deadline
  EXPECT_FALSE(t.poll(t0() + 14999ms).any());
  auto a = t.poll(t0() + 15s);  // KEEPALIVE_TIMEOUT + REKEY_TIMEOUT
  EXPECT_TRUE(a.send_initiation);
  EXPECT_FALSE(a.is_retry);

  // An authenticated packet from the peer cancels it.
  PeerTimers u({}, zero);
  u.on_data_sent(t0());
  u.on_any_authenticated_packet_received(t0() + 1s);
  EXPECT_FALSE(u.poll(t0() + 60s).any());
}

TEST(Timers, PassiveKeepalive) {
  PeerTimers t;
  t.on_data_received(t0());
  EXPECT_TRUE(t.keepalive_armed());
  EXPECT_FALSE(t.poll(t0() + 9s).send_keepalive);
  EXPECT_TRUE(t.poll(t0() + 10s).send_keepalive);
  EXPECT_FALSE(t.keepalive_armed());

  // Anything authenticated we send in between makes the keepalive unnecessary.
  PeerTimers u;
  u.on_data_received(t0());
  u.on_any_authenticated_packet_sent(t0() + 2s);
  EXPECT_FALSE(u.poll(t0() + 20s).send_keepalive);
}

TEST(Timers, AnotherKeepaliveWhenDataKeepsArriving) {
  PeerTimers t;
  t.on_data_received(t0());
  t.on_data_received(t0() + 5s);  // while armed: remember to send another
  EXPECT_TRUE(t.poll(t0() + 10s).send_keepalive);
  EXPECT_TRUE(t.keepalive_armed());
  EXPECT_TRUE(t.poll(t0() + 20s).send_keepalive);
  EXPECT_FALSE(t.keepalive_armed());
}

TEST(Timers, PersistentKeepalive) {
  TimerConfig cfg;
  cfg.persistent_keepalive = 25s;
  PeerTimers t(cfg);
  t.on_any_authenticated_packet_traversal(t0());
  EXPECT_FALSE(t.poll(t0() + 24s).send_keepalive);
  t.on_any_authenticated_packet_traversal(t0() + 10s);  // pushes it
  EXPECT_FALSE(t.poll(t0() + 25s).send_keepalive);
  EXPECT_TRUE(t.poll(t0() + 35s).send_keepalive);
  // Off by default.
  PeerTimers off;
  off.on_any_authenticated_packet_traversal(t0());
  EXPECT_FALSE(off.persistent_keepalive_armed());
}

TEST(Timers, ZeroKeysAfterSession) {
  PeerTimers t;
  t.on_session_derived(t0());
  EXPECT_FALSE(t.poll(t0() + 539s).zero_keys);
  t.on_session_derived(t0() + 100s);  // a newer session pushes it
  EXPECT_FALSE(t.poll(t0() + 540s).zero_keys);
  EXPECT_TRUE(t.poll(t0() + 640s).zero_keys);
}

TEST(Timers, InitiationRateLimit) {
  ConstRng zero(0);
  PeerTimers t({}, zero);
  EXPECT_TRUE(t.may_send_initiation(t0()));
  t.on_handshake_initiated(t0(), false);
  EXPECT_FALSE(t.may_send_initiation(t0() + 4s));
  EXPECT_TRUE(t.may_send_initiation(t0() + 5s));
}

TEST(Timers, RekeyDecisions) {
  PeerTimers t;
  // Initiator rekeys after REKEY_AFTER_TIME; the responder never does by time.
  EXPECT_FALSE(t.should_rekey_on_send(true, t0(), 10, t0() + 120s));
  EXPECT_TRUE(t.should_rekey_on_send(true, t0(), 10, t0() + 121s));
  EXPECT_FALSE(t.should_rekey_on_send(false, t0(), 10, t0() + 170s));
  // Either side rekeys after REKEY_AFTER_MESSAGES.
  EXPECT_TRUE(t.should_rekey_on_send(false, t0(), kRekeyAfterMessages + 1, t0()));
  EXPECT_FALSE(t.should_rekey_on_send(false, t0(), kRekeyAfterMessages, t0()));
  // On receive: once, when older than REJECT - KEEPALIVE - REKEY_TIMEOUT = 165 s.
  EXPECT_FALSE(t.should_rekey_on_receive(true, t0(), t0() + 165s));
  EXPECT_FALSE(t.should_rekey_on_receive(false, t0(), t0() + 166s));
  EXPECT_TRUE(t.should_rekey_on_receive(true, t0(), t0() + 166s));
  EXPECT_FALSE(t.should_rekey_on_receive(true, t0(), t0() + 167s));
  t.on_handshake_complete(t0() + 168s);
  EXPECT_TRUE(t.should_rekey_on_receive(true, t0(), t0() + 169s));
}

TEST(Timers, ScaleShortensEverything) {
  ConstRng zero(0);
  TimerConfig cfg;
  cfg.scale = 0.01;
  PeerTimers t(cfg, zero);
  t.on_handshake_initiated(t0(), false);
  EXPECT_EQ(*t.next_deadline(), t0() + 50ms);
  t.on_handshake_complete(t0());
  t.on_data_received(t0());
  EXPECT_EQ(*t.next_deadline(), t0() + 100ms);
  EXPECT_TRUE(t.should_rekey_on_send(true, t0(), 0, t0() + 1201ms));
  EXPECT_EQ(cfg.reject_after_time(), 1800ms);
}

TEST(Timers, StopDisarmsAll) {
  TimerConfig cfg;
  cfg.persistent_keepalive = 1s;
  PeerTimers t(cfg);
  t.on_handshake_initiated(t0(), false);
  t.on_data_received(t0());
  t.on_data_sent(t0());
  t.on_session_derived(t0());
  t.on_any_authenticated_packet_traversal(t0());
  t.stop();
  EXPECT_FALSE(t.next_deadline());
  EXPECT_FALSE(t.poll(t0() + 1000s).any());
}

}  // namespace
}  // namespace ferry::tunnel
