#include "bfd/session.hpp"

#include <gtest/gtest.h>

using namespace ferry::bfd;
using namespace std::chrono_literals;

namespace {

Timers fast() {
  return Timers{300000, 300000, 3};
}
uint32_t no_jitter(uint32_t) {
  return 0;
}

// Delivers every packet each side produces to the other until both are quiet at `now`.
void exchange(Session& a, Session& b, Clock::time_point now) {
  for (int i = 0; i < 10; ++i) {
    bool any = false;
    if (auto p = a.tick(now)) {
      any = true;
      if (b.receive(*p, now)) a.receive(b.make_packet(true), now);
    }
    if (auto p = b.tick(now)) {
      any = true;
      if (a.receive(*p, now)) b.receive(a.make_packet(true), now);
    }
    if (!any) break;
  }
}

TEST(BfdSession, ThreeWayHandshakeReachesUp) {
  Session a(1, fast(), no_jitter), b(2, fast(), no_jitter);
  auto t = Clock::time_point{} + 1s;
  exchange(a, b, t);
  EXPECT_EQ(a.state(), State::Up);
  EXPECT_EQ(b.state(), State::Up);
  EXPECT_EQ(a.remote_discriminator(), 2u);
  EXPECT_EQ(b.remote_discriminator(), 1u);
}

TEST(BfdSession, DownToInitToUpPerTransitionTable) {
  Session s(7, fast(), no_jitter);
  auto t = Clock::time_point{} + 1s;
  ControlPacket p;
  p.my_discriminator = 9;
  p.state = State::Down;
  s.receive(p, t);
  EXPECT_EQ(s.state(), State::Init);
  p.state = State::Up;
  p.your_discriminator = 7;
  s.receive(p, t);
  EXPECT_EQ(s.state(), State::Up);
}

TEST(BfdSession, ZeroYourDiscriminatorOnlyWhileRemoteDown) {
  Session s(7, fast(), no_jitter);
  ControlPacket p;
  p.my_discriminator = 9;
  p.state = State::Up;  // Up with your_discr 0 is invalid
  s.receive(p, Clock::time_point{});
  EXPECT_EQ(s.state(), State::Down);
  EXPECT_EQ(s.remote_discriminator(), 0u);
  p.your_discriminator = 8;  // not ours
  p.state = State::Init;
  s.receive(p, Clock::time_point{});
  EXPECT_EQ(s.state(), State::Down);
}

TEST(BfdSession, DetectionTimeExpiryTakesSessionDown) {
  Session a(1, fast(), no_jitter), b(2, fast(), no_jitter);
  auto t = Clock::time_point{} + 1s;
  exchange(a, b, t);
  ASSERT_EQ(a.state(), State::Up);
  // Finish the poll sequence so both sides advertise the fast interval.
  exchange(a, b, t + 1ms);
  State seen_from = State::AdminDown, seen_to = State::AdminDown;
  Diag seen_diag = Diag::None;
  a.on_state_change = [&](State f, State to, Diag d) {
    seen_from = f;
    seen_to = to;
    seen_diag = d;
  };
  // Detection time = 3 x max(300 ms, remote desired tx 300 ms) = 900 ms.
  EXPECT_EQ(a.detection_time(), Micros(900000));
  a.tick(t + 899ms);
  EXPECT_EQ(a.state(), State::Up);
  a.tick(t + 1ms + 900ms);
  EXPECT_EQ(a.state(), State::Down);
  EXPECT_EQ(a.local_diag(), Diag::ControlDetectionTimeExpired);
  EXPECT_EQ(seen_from, State::Up);
  EXPECT_EQ(seen_to, State::Down);
  EXPECT_EQ(seen_diag, Diag::ControlDetectionTimeExpired);
  EXPECT_EQ(a.remote_discriminator(), 0u);  // RFC 5880 §6.8.1
}

TEST(BfdSession, NeighborSignalsDown) {
  Session a(1, fast(), no_jitter), b(2, fast(), no_jitter);
  auto t = Clock::time_point{} + 1s;
  exchange(a, b, t);
  b.set_admin_down(true, t);
  a.receive(b.make_packet(), t);
  EXPECT_EQ(a.state(), State::Down);
  EXPECT_EQ(a.local_diag(), Diag::NeighborSignaledDown);
  EXPECT_EQ(b.state(), State::AdminDown);
}

TEST(BfdSession, SlowTxUntilUpThenPollSequence) {
  Session a(1, fast(), no_jitter), b(2, fast(), no_jitter);
  auto t = Clock::time_point{} + 1s;
  EXPECT_EQ(a.make_packet().desired_min_tx_us, 1000000u);  // RFC 5880 §6.8.3
  b.receive(a.make_packet(), t);                           // b: Down -> Init
  ASSERT_EQ(b.state(), State::Init);
  a.receive(b.make_packet(), t);  // a: Down -> Up (remote Init)
  ASSERT_EQ(a.state(), State::Up);
  ControlPacket p = a.make_packet();
  EXPECT_EQ(p.desired_min_tx_us, 300000u);
  EXPECT_TRUE(p.poll);  // the faster interval is signalled with a Poll
  // b answers the Poll with Final, which ends a's poll sequence.
  EXPECT_TRUE(b.receive(p, t));
  EXPECT_EQ(b.state(), State::Up);
  ControlPacket f = b.make_packet(true);
  EXPECT_TRUE(f.final);
  EXPECT_FALSE(f.poll);
  a.receive(f, t);
  EXPECT_FALSE(a.make_packet().poll);
}

TEST(BfdSession, TxIntervalHonoursRemoteRequiredMinRx) {
  Session a(1, fast(), no_jitter);
  ControlPacket p;
  p.my_discriminator = 9;
  p.state = State::Down;
  p.required_min_rx_us = 2000000;
  p.desired_min_tx_us = 1000000;
  a.receive(p, Clock::time_point{});
  EXPECT_EQ(a.tx_interval(), Micros(2000000));
}

TEST(BfdSession, JitterReducesIntervalByAtMostAQuarter) {
  uint32_t asked = 0;
  Session a(1, fast(), [&](uint32_t n) {
    asked = n;
    return n - 1;
  });
  auto t = Clock::time_point{} + 1s;
  ASSERT_TRUE(a.tick(t));
  // Down: 1 s interval, jitter span 250 ms, so the next TX is at 750 ms..1 s.
  EXPECT_EQ(asked, 250000u);
  EXPECT_GE(a.next_event() - t, 750ms);
  EXPECT_LE(a.next_event() - t, 1s);
}

}  // namespace
