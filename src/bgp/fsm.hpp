// BGP finite state machine (RFC 4271 §8), one instance per TCP connection.
//
// Pure logic: the FSM never touches sockets or clocks. The session feeds it
// events (RFC 4271 §8.1 numbering) together with the current time, and the FSM
// answers through FsmHooks (connect, send OPEN/KEEPALIVE/NOTIFICATION, drop
// the connection, established/down). Timers are deadlines kept inside the FSM;
// the session arms one real timer at next_deadline() and calls on_timer(now)
// when it fires, so unit tests drive every timer with a fake clock.
//
// Deviations from the letter of §8.2.2, chosen as BIRD/FRR/GoBGP do:
//  - a failed outgoing connect in Connect goes to Active (the ConnectRetry
//    timer keeps running and retries), instead of Idle;
//  - a NOTIFICATION received in OpenSent closes silently (no FSM error reply);
//  - no DelayOpen, and no timer jitter (deterministic tests);
//  - after an automatic transition to Idle the IdleHold timer (with doubling
//    backoff, reset on Established) generates AutomaticStart again
//    (DampPeerOscillations, §8.1.1).
// Connection collision (§6.8) needs two connections and so lives in the
// session; collision_close_outgoing() is the pure decision it uses, and
// OpenCollisionDump (event 23) is how the loser is closed (Cease 6/7).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/types.hpp"

namespace ferry::bgp {

using FsmClock = std::chrono::steady_clock;
using FsmTime = FsmClock::time_point;
using FsmDuration = std::chrono::milliseconds;

enum class FsmState : uint8_t { Idle, Connect, Active, OpenSent, OpenConfirm, Established };
const char* fsm_state_name(FsmState s);

// RFC 4271 §8.1 event numbers.
enum class FsmEvent : uint8_t {
  ManualStart = 1,
  ManualStop = 2,
  AutomaticStart = 3,
  ManualStartPassive = 4,
  AutomaticStartPassive = 5,
  AutomaticStop = 8,
  ConnectRetryTimerExpires = 9,
  HoldTimerExpires = 10,
  KeepaliveTimerExpires = 11,
  IdleHoldTimerExpires = 13,
  TcpCrAcked = 16,              // our outgoing connection completed
  TcpConnectionConfirmed = 17,  // an incoming connection was accepted
  TcpConnectionFails = 18,
  BgpOpen = 19,
  BgpHeaderErr = 21,
  BgpOpenMsgErr = 22,
  OpenCollisionDump = 23,
  NotifMsgVerErr = 24,
  NotifMsg = 25,
  KeepAliveMsg = 26,
  UpdateMsg = 27,
  UpdateMsgErr = 28,
};

// A NOTIFICATION to send (RFC 4271 §4.5). data is the error data field.
struct FsmNotify {
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::vector<uint8_t> data;
};

// RFC 4271 §4.5 / RFC 6608 / RFC 4486 codes the FSM itself emits.
constexpr uint8_t kNotifyHoldTimerExpired = 4;
constexpr uint8_t kNotifyFsmError = 5;
constexpr uint8_t kNotifyCease = 6;
constexpr uint8_t kFsmErrOpenSent = 1;     // RFC 6608 §4
constexpr uint8_t kFsmErrOpenConfirm = 2;  // RFC 6608 §4
constexpr uint8_t kFsmErrEstablished = 3;  // RFC 6608 §4
constexpr uint8_t kCeaseMaxPrefix = 1;     // RFC 4486 §4
constexpr uint8_t kCeaseAdminShutdown = 2;
constexpr uint8_t kCeasePeerDeconfigured = 3;
constexpr uint8_t kCeaseAdminReset = 4;
constexpr uint8_t kCeaseConnectionRejected = 5;
constexpr uint8_t kCeaseOtherConfigChange = 6;
constexpr uint8_t kCeaseCollision = 7;
constexpr uint8_t kCeaseOutOfResources = 8;
constexpr uint8_t kCeaseHardReset = 9;  // RFC 8538

struct FsmConfig {
  uint16_t hold_time = 90;  // proposed in our OPEN, seconds (0 or >= 3)
  FsmDuration connect_retry = std::chrono::seconds(5);
  bool passive = false;  // never initiate connections
  // §8.2.2: hold timer while waiting for the peer's OPEN ("large value", 4 min suggested).
  FsmDuration open_hold = std::chrono::seconds(240);
  FsmDuration idle_hold_initial = std::chrono::seconds(1);
  FsmDuration idle_hold_max = std::chrono::seconds(120);
  bool auto_restart = true;  // IdleHold timer re-starts the FSM after automatic stops
};

// The FSM's outputs. Implemented by the session (and by a recorder in tests).
class FsmHooks {
 public:
  virtual ~FsmHooks() = default;
  virtual void fsm_connect() = 0;     // start an outgoing TCP connection
  virtual void fsm_disconnect() = 0;  // close (and forget) the TCP connection
  virtual void fsm_send_open() = 0;
  virtual void fsm_send_keepalive() = 0;
  virtual void fsm_send_notification(const FsmNotify& n) = 0;
  virtual void fsm_established() = 0;
  // Left Established (routes of the session must be withdrawn or marked stale).
  virtual void fsm_session_down(const std::string& reason) = 0;
  virtual void fsm_state_changed(FsmState from, FsmState to) = 0;
};

// §6.8: which connection survives a collision. Returns true when the
// connection we initiated must be closed (local BGP ID lower than the remote's).
inline bool collision_close_outgoing(RouterId local, RouterId remote) {
  return local.value() < remote.value();
}

class Fsm {
 public:
  Fsm(FsmHooks& hooks, FsmConfig cfg) : hooks_(hooks), cfg_(cfg) {}
  Fsm(const Fsm&) = delete;
  Fsm& operator=(const Fsm&) = delete;

  FsmState state() const { return state_; }
  const FsmConfig& config() const { return cfg_; }
  void set_config(const FsmConfig& cfg) { cfg_ = cfg; }
  // Collision winner on a second connection taking over as the peer's FSM: from now on it
  // restarts itself like a started FSM (passive or not).
  void adopt(const FsmConfig& cfg, bool passive) {
    cfg_ = cfg;
    passive_ = passive || cfg.passive;
    started_ = true;
    if (idle_hold_.count() == 0) idle_hold_ = cfg.idle_hold_initial;
  }

  // Feeds an event without payload.
  void handle(FsmEvent e, FsmTime now);
  // Event 19 with the peer's hold time (the OPEN was validated by the caller).
  void open_received(uint16_t peer_hold, FsmTime now);
  // Events 21/22/28: a malformed message; n is the NOTIFICATION to send.
  void message_error(FsmEvent e, const FsmNotify& n, FsmTime now);
  // Event 2 (manual) or 8 (automatic) with a custom NOTIFICATION (Cease + RFC 8203 text,
  // max-prefix 6/1 ...). restart_after: delay before AutomaticStart (automatic stops only;
  // std::nullopt uses the IdleHold backoff).
  void stop(bool manual, const FsmNotify& n, FsmTime now,
            std::optional<FsmDuration> restart_after = std::nullopt);
  // Restarts the KeepaliveTimer after we sent a KEEPALIVE or UPDATE (§8.2.2 Established).
  void message_sent(FsmTime now);

  // Earliest armed timer, if any.
  std::optional<FsmTime> next_deadline() const;
  // Fires every timer whose deadline is <= now.
  void on_timer(FsmTime now);

  // Hold time agreed in OpenConfirm/Established: min(ours, peer's) (§4.2).
  uint16_t negotiated_hold() const { return negotiated_hold_; }
  uint32_t connect_retry_counter() const { return connect_retry_counter_; }
  FsmDuration current_idle_hold() const { return idle_hold_; }
  bool idle_hold_running() const { return idle_hold_deadline_.has_value(); }
  std::optional<FsmTime> hold_deadline() const { return hold_deadline_; }
  std::optional<FsmTime> keepalive_deadline() const { return keepalive_deadline_; }
  std::optional<FsmTime> connect_retry_deadline() const { return connect_retry_deadline_; }
  const std::string& last_error() const { return last_error_; }

 private:
  void go(FsmState s);
  // Every transition to Idle: stop timers, drop connection, schedule restart.
  void to_idle(FsmTime now, bool automatic_restart, std::string reason,
               std::optional<FsmDuration> restart_after = std::nullopt);
  void start(bool passive, FsmTime now);
  void fsm_error(FsmTime now);
  void send_notification_and_idle(const FsmNotify& n, FsmTime now, std::string reason,
                                  bool count = true);
  void arm_hold(FsmTime now);
  void arm_keepalive(FsmTime now);

  FsmHooks& hooks_;
  FsmConfig cfg_;
  FsmState state_ = FsmState::Idle;
  bool passive_ = false;  // started with a passive-start event
  bool started_ = false;  // ManualStart seen and no ManualStop since
  uint16_t negotiated_hold_ = 0;
  uint32_t connect_retry_counter_ = 0;
  FsmDuration idle_hold_{0};
  std::optional<FsmTime> connect_retry_deadline_;
  std::optional<FsmTime> hold_deadline_;
  std::optional<FsmTime> keepalive_deadline_;
  std::optional<FsmTime> idle_hold_deadline_;
  std::string last_error_;
};

}  // namespace ferry::bgp
