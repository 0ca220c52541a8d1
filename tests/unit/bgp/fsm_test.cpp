// RFC 4271 §8 FSM transitions, driven with a fake clock.
#include "bgp/fsm.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::bgp {
namespace {

using namespace std::chrono_literals;

struct Recorder : FsmHooks {
  std::vector<std::string> log;
  std::vector<FsmNotify> notes;
  void fsm_connect() override { log.push_back("connect"); }
  void fsm_disconnect() override { log.push_back("disconnect"); }
  void fsm_send_open() override { log.push_back("open"); }
  void fsm_send_keepalive() override { log.push_back("keepalive"); }
  void fsm_send_notification(const FsmNotify& n) override {
    notes.push_back(n);
    log.push_back("notify " + std::to_string(n.code) + "/" + std::to_string(n.subcode));
  }
  void fsm_established() override { log.push_back("established"); }
  void fsm_session_down(const std::string&) override { log.push_back("down"); }
  void fsm_state_changed(FsmState, FsmState to) override {
    log.push_back(std::string("-> ") + fsm_state_name(to));
  }
  bool has(const std::string& s) const {
    for (auto& l : log)
      if (l == s) return true;
    return false;
  }
};

class FsmTest : public ::testing::Test {
 protected:
  FsmTime t0 = FsmTime{} + 1000s;
  Recorder rec;
  FsmConfig cfg;
  std::unique_ptr<Fsm> fsm;
  void SetUp() override { make(); }
  void make() { fsm = std::make_unique<Fsm>(rec, cfg); }
  void to_established(uint16_t peer_hold = 90) {
    fsm->handle(FsmEvent::ManualStart, t0);
    fsm->handle(FsmEvent::TcpCrAcked, t0);
    fsm->open_received(peer_hold, t0);
    fsm->handle(FsmEvent::KeepAliveMsg, t0);
    ASSERT_EQ(fsm->state(), FsmState::Established);
    rec.log.clear();
  }
};

TEST_F(FsmTest, IdleIgnoresEverythingButStart) {
  for (auto e : {FsmEvent::TcpCrAcked, FsmEvent::KeepAliveMsg, FsmEvent::UpdateMsg,
                 FsmEvent::HoldTimerExpires, FsmEvent::ManualStop}) {
    fsm->handle(e, t0);
    EXPECT_EQ(fsm->state(), FsmState::Idle);
  }
  EXPECT_TRUE(rec.log.empty());
  EXPECT_FALSE(fsm->next_deadline());
}

TEST_F(FsmTest, ManualStartConnectsAndArmsConnectRetry) {
  fsm->handle(FsmEvent::ManualStart, t0);
  EXPECT_EQ(fsm->state(), FsmState::Connect);
  EXPECT_TRUE(rec.has("connect"));
  EXPECT_EQ(fsm->connect_retry_deadline(), t0 + 5s);
}

TEST_F(FsmTest, ConnectRetryExpiryRetriesConnect) {
  fsm->handle(FsmEvent::ManualStart, t0);
  rec.log.clear();
  fsm->on_timer(t0 + 5s);
  EXPECT_EQ(fsm->state(), FsmState::Connect);
  EXPECT_EQ(rec.log, (std::vector<std::string>{"disconnect", "connect"}));
  EXPECT_EQ(fsm->connect_retry_deadline(), t0 + 10s);
}

TEST_F(FsmTest, ConnectFailureGoesActiveThenRetries) {
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpConnectionFails, t0 + 1s);
  EXPECT_EQ(fsm->state(), FsmState::Active);
  rec.log.clear();
  fsm->on_timer(t0 + 5s);
  EXPECT_EQ(fsm->state(), FsmState::Connect);
  EXPECT_TRUE(rec.has("connect"));
}

TEST_F(FsmTest, PassiveStartWaitsInActive) {
  fsm->handle(FsmEvent::ManualStartPassive, t0);
  EXPECT_EQ(fsm->state(), FsmState::Active);
  EXPECT_FALSE(rec.has("connect"));
  fsm->on_timer(t0 + 5s);  // passive: the retry timer never initiates
  EXPECT_EQ(fsm->state(), FsmState::Active);
  EXPECT_FALSE(rec.has("connect"));
  fsm->handle(FsmEvent::TcpConnectionConfirmed, t0 + 6s);
  EXPECT_EQ(fsm->state(), FsmState::OpenSent);
  EXPECT_TRUE(rec.has("open"));
}

TEST_F(FsmTest, PassiveConfigMakesManualStartPassive) {
  cfg.passive = true;
  make();
  fsm->handle(FsmEvent::ManualStart, t0);
  EXPECT_EQ(fsm->state(), FsmState::Active);
  EXPECT_FALSE(rec.has("connect"));
}

TEST_F(FsmTest, ConnectedSendsOpenWithLargeHoldTimer) {
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpCrAcked, t0);
  EXPECT_EQ(fsm->state(), FsmState::OpenSent);
  EXPECT_TRUE(rec.has("open"));
  EXPECT_EQ(fsm->hold_deadline(), t0 + 240s);  // §8.2.2: large initial hold
  EXPECT_FALSE(fsm->connect_retry_deadline());
}

TEST_F(FsmTest, OpenSentHoldExpirySendsHoldTimerExpired) {
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpCrAcked, t0);
  fsm->on_timer(t0 + 239s);
  EXPECT_EQ(fsm->state(), FsmState::OpenSent);
  fsm->on_timer(t0 + 240s);
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  ASSERT_EQ(rec.notes.size(), 1u);
  EXPECT_EQ(rec.notes[0].code, 4);
  EXPECT_EQ(fsm->connect_retry_counter(), 1u);
}

TEST_F(FsmTest, OpenSentConnectionLossGoesActive) {
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpCrAcked, t0);
  fsm->handle(FsmEvent::TcpConnectionFails, t0 + 1s);
  EXPECT_EQ(fsm->state(), FsmState::Active);
  EXPECT_EQ(fsm->connect_retry_deadline(), t0 + 6s);
}

TEST_F(FsmTest, OpenNegotiatesMinimumHoldAndKeepaliveThird) {
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpCrAcked, t0);
  rec.log.clear();
  fsm->open_received(30, t0);
  EXPECT_EQ(fsm->state(), FsmState::OpenConfirm);
  EXPECT_EQ(fsm->negotiated_hold(), 30);
  EXPECT_TRUE(rec.has("keepalive"));
  EXPECT_EQ(fsm->hold_deadline(), t0 + 30s);
  EXPECT_EQ(fsm->keepalive_deadline(), t0 + 10s);
}

TEST_F(FsmTest, OurHoldTimeWinsWhenSmaller) {
  cfg.hold_time = 9;
  make();
  to_established(180);
  EXPECT_EQ(fsm->negotiated_hold(), 9);
  EXPECT_EQ(fsm->keepalive_deadline(), t0 + 3s);
}

TEST_F(FsmTest, HoldZeroMeansNoKeepalivesAndNoHoldTimer) {
  to_established(0);
  EXPECT_EQ(fsm->negotiated_hold(), 0);
  EXPECT_FALSE(fsm->hold_deadline());
  EXPECT_FALSE(fsm->keepalive_deadline());
  EXPECT_FALSE(fsm->next_deadline());
  fsm->on_timer(t0 + 100000s);
  EXPECT_EQ(fsm->state(), FsmState::Established);
}

TEST_F(FsmTest, OpenConfirmKeepaliveEstablishes) {
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpCrAcked, t0);
  fsm->open_received(90, t0);
  fsm->handle(FsmEvent::KeepAliveMsg, t0 + 1s);
  EXPECT_EQ(fsm->state(), FsmState::Established);
  EXPECT_TRUE(rec.has("established"));
  EXPECT_EQ(fsm->hold_deadline(), t0 + 91s);
}

TEST_F(FsmTest, OpenConfirmSendsKeepalivesOnTimer) {
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpCrAcked, t0);
  fsm->open_received(90, t0);
  rec.log.clear();
  fsm->on_timer(t0 + 30s);
  EXPECT_EQ(rec.log, std::vector<std::string>{"keepalive"});
  EXPECT_EQ(fsm->keepalive_deadline(), t0 + 60s);
}

TEST_F(FsmTest, UnexpectedMessagesGiveFsmErrorPerState) {
  // RFC 6608: subcode 1 in OpenSent, 2 in OpenConfirm, 3 in Established.
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpCrAcked, t0);
  fsm->handle(FsmEvent::UpdateMsg, t0);
  ASSERT_EQ(rec.notes.size(), 1u);
  EXPECT_EQ(rec.notes.back().code, 5);
  EXPECT_EQ(rec.notes.back().subcode, 1);
  EXPECT_EQ(fsm->state(), FsmState::Idle);

  make();
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpCrAcked, t0);
  fsm->open_received(90, t0);
  fsm->handle(FsmEvent::UpdateMsg, t0);
  EXPECT_EQ(rec.notes.back().subcode, 2);

  make();
  to_established();
  fsm->open_received(90, t0);
  EXPECT_EQ(rec.notes.back().code, 5);
  EXPECT_EQ(rec.notes.back().subcode, 3);
  EXPECT_TRUE(rec.has("down"));
}

TEST_F(FsmTest, EstablishedMessagesRestartHoldTimer) {
  to_established(90);
  fsm->handle(FsmEvent::UpdateMsg, t0 + 50s);
  EXPECT_EQ(fsm->hold_deadline(), t0 + 140s);
  fsm->handle(FsmEvent::KeepAliveMsg, t0 + 100s);
  EXPECT_EQ(fsm->hold_deadline(), t0 + 190s);
}

TEST_F(FsmTest, EstablishedHoldExpiryTearsDown) {
  to_established(9);
  fsm->on_timer(t0 + 3s);  // keepalive
  fsm->on_timer(t0 + 6s);  // keepalive
  EXPECT_EQ(fsm->state(), FsmState::Established);
  fsm->on_timer(t0 + 9s);
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  EXPECT_EQ(rec.notes.back().code, 4);
  EXPECT_TRUE(rec.has("down"));
  EXPECT_TRUE(rec.has("disconnect"));
}

TEST_F(FsmTest, SentMessageRestartsKeepaliveTimer) {
  to_established(90);
  fsm->message_sent(t0 + 20s);
  EXPECT_EQ(fsm->keepalive_deadline(), t0 + 50s);
}

TEST_F(FsmTest, ManualStopSendsCeaseAndStaysIdle) {
  to_established();
  fsm->stop(true, FsmNotify{6, 2, {3, 'b', 'y', 'e'}}, t0 + 1s);
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  EXPECT_EQ(rec.notes.back().code, 6);
  EXPECT_EQ(rec.notes.back().subcode, 2);
  EXPECT_EQ(rec.notes.back().data.size(), 4u);
  EXPECT_FALSE(fsm->idle_hold_running());
  EXPECT_FALSE(fsm->next_deadline());
  EXPECT_EQ(fsm->connect_retry_counter(), 0u);
}

TEST_F(FsmTest, ManualStopBeforeOpenSendsNothing) {
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::ManualStop, t0);
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  EXPECT_TRUE(rec.notes.empty());
}

TEST_F(FsmTest, AutomaticStopRestartsAfterGivenDelay) {
  // Max-prefix tear-down: Cease 6/1, reconnect after max_prefix_restart.
  to_established();
  fsm->stop(false, FsmNotify{6, 1, {}}, t0, std::chrono::seconds(60));
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  EXPECT_EQ(fsm->last_error(), "maximum prefixes exceeded");
  EXPECT_EQ(fsm->next_deadline(), t0 + 60s);
  fsm->on_timer(t0 + 59s);
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  fsm->on_timer(t0 + 60s);
  EXPECT_EQ(fsm->state(), FsmState::Connect);
}

TEST_F(FsmTest, IdleHoldBacksOffAndResetsOnEstablished) {
  fsm->handle(FsmEvent::ManualStart, t0);
  FsmTime t = t0;
  std::vector<FsmDuration> waits;
  for (int i = 0; i < 4; ++i) {
    fsm->handle(FsmEvent::TcpCrAcked, t);
    fsm->handle(FsmEvent::UpdateMsg, t);  // FSM error in OpenSent -> Idle
    ASSERT_EQ(fsm->state(), FsmState::Idle);
    auto d = *fsm->next_deadline();
    waits.push_back(std::chrono::duration_cast<FsmDuration>(d - t));
    // AutomaticStart is held back while the IdleHold timer runs.
    fsm->handle(FsmEvent::AutomaticStart, t);
    EXPECT_EQ(fsm->state(), FsmState::Idle);
    t = d;
    fsm->on_timer(t);
    ASSERT_EQ(fsm->state(), FsmState::Connect);
  }
  EXPECT_EQ(waits, (std::vector<FsmDuration>{1s, 2s, 4s, 8s}));
  fsm->handle(FsmEvent::TcpCrAcked, t);
  fsm->open_received(90, t);
  fsm->handle(FsmEvent::KeepAliveMsg, t);
  EXPECT_EQ(fsm->current_idle_hold(), FsmDuration(1s));
}

TEST_F(FsmTest, NotificationReceivedDropsToIdle) {
  to_established();
  fsm->handle(FsmEvent::NotifMsg, t0);
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  EXPECT_TRUE(rec.notes.empty());  // never answer a NOTIFICATION
  EXPECT_TRUE(rec.has("down"));
}

TEST_F(FsmTest, UpdateErrorSendsGivenNotification) {
  to_established();
  fsm->message_error(FsmEvent::UpdateMsgErr, FsmNotify{3, 1, {}}, t0);
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  EXPECT_EQ(rec.notes.back().code, 3);
  EXPECT_EQ(rec.notes.back().subcode, 1);
}

TEST_F(FsmTest, OpenErrorInOpenSent) {
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpCrAcked, t0);
  fsm->message_error(FsmEvent::BgpOpenMsgErr, FsmNotify{2, 2, {}}, t0);
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  EXPECT_EQ(rec.notes.back().code, 2);
  EXPECT_EQ(rec.notes.back().subcode, 2);
}

TEST_F(FsmTest, CollisionDumpSendsCease7) {
  fsm->handle(FsmEvent::ManualStart, t0);
  fsm->handle(FsmEvent::TcpCrAcked, t0);
  fsm->open_received(90, t0);
  fsm->handle(FsmEvent::OpenCollisionDump, t0);
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  EXPECT_EQ(rec.notes.back().code, 6);
  EXPECT_EQ(rec.notes.back().subcode, 7);
}

TEST_F(FsmTest, CollisionDumpInOpenSent) {
  fsm->handle(FsmEvent::ManualStartPassive, t0);
  fsm->handle(FsmEvent::TcpConnectionConfirmed, t0);
  fsm->handle(FsmEvent::OpenCollisionDump, t0);
  EXPECT_EQ(fsm->state(), FsmState::Idle);
  EXPECT_EQ(rec.notes.back().subcode, 7);
}

TEST(Collision, HigherIdentifierKeepsItsOwnConnection) {
  // §6.8: if the local ID is lower, close the connection the local system initiated.
  EXPECT_TRUE(collision_close_outgoing(RouterId(0x0a000001), RouterId(0x0a000002)));
  EXPECT_FALSE(collision_close_outgoing(RouterId(0x0a000002), RouterId(0x0a000001)));
  // Compared as unsigned 32-bit integers, not as signed.
  EXPECT_TRUE(collision_close_outgoing(RouterId(0x01000000), RouterId(0xc0000001)));
}

}  // namespace
}  // namespace ferry::bgp
