#include "bgp/fsm.hpp"

#include <algorithm>
#include <array>

namespace ferry::bgp {

const char* fsm_state_name(FsmState s) {
  switch (s) {
    case FsmState::Idle:
      return "Idle";
    case FsmState::Connect:
      return "Connect";
    case FsmState::Active:
      return "Active";
    case FsmState::OpenSent:
      return "OpenSent";
    case FsmState::OpenConfirm:
      return "OpenConfirm";
    case FsmState::Established:
      return "Established";
  }
  return "?";
}

void Fsm::go(FsmState s) {
  if (s == state_) return;
  FsmState from = state_;
  state_ = s;
  hooks_.fsm_state_changed(from, s);
}

void Fsm::arm_hold(FsmTime now) {
  if (negotiated_hold_ == 0) {
    hold_deadline_.reset();
  } else {
    hold_deadline_ = now + std::chrono::seconds(negotiated_hold_);
  }
}

void Fsm::arm_keepalive(FsmTime now) {
  // §4.4 / §10: KeepaliveTime is one third of the hold time; hold 0 means none.
  if (negotiated_hold_ == 0) {
    keepalive_deadline_.reset();
  } else {
    keepalive_deadline_ = now + std::chrono::milliseconds(uint32_t{negotiated_hold_} * 1000 / 3);
  }
}

void Fsm::start(bool passive, FsmTime now) {
  passive_ = passive || cfg_.passive;
  idle_hold_deadline_.reset();
  connect_retry_deadline_ = now + cfg_.connect_retry;
  if (passive_) {
    go(FsmState::Active);
  } else {
    go(FsmState::Connect);
    hooks_.fsm_connect();
  }
}

void Fsm::to_idle(FsmTime now, bool automatic_restart, std::string reason,
                  std::optional<FsmDuration> restart_after) {
  bool was_established = state_ == FsmState::Established;
  connect_retry_deadline_.reset();
  hold_deadline_.reset();
  keepalive_deadline_.reset();
  idle_hold_deadline_.reset();
  negotiated_hold_ = 0;
  last_error_ = reason;
  if (automatic_restart) ++connect_retry_counter_;
  go(FsmState::Idle);
  hooks_.fsm_disconnect();
  if (was_established) hooks_.fsm_session_down(reason);
  if (automatic_restart && started_ && cfg_.auto_restart) {
    if (restart_after) {
      idle_hold_deadline_ = now + *restart_after;
    } else {
      idle_hold_deadline_ = now + idle_hold_;
      idle_hold_ = std::min<FsmDuration>(idle_hold_ * 2, cfg_.idle_hold_max);
    }
  }
}

void Fsm::send_notification_and_idle(const FsmNotify& n, FsmTime now, std::string reason,
                                     bool count) {
  hooks_.fsm_send_notification(n);
  to_idle(now, count, std::move(reason));
}

void Fsm::fsm_error(FsmTime now) {
  // RFC 6608 §4: the subcode names the state the unexpected event arrived in.
  uint8_t sub = state_ == FsmState::OpenSent      ? kFsmErrOpenSent
                : state_ == FsmState::OpenConfirm ? kFsmErrOpenConfirm
                                                  : kFsmErrEstablished;
  send_notification_and_idle(FsmNotify{kNotifyFsmError, sub, {}}, now,
                             std::string("unexpected event in ") + fsm_state_name(state_));
}

void Fsm::stop(bool manual, const FsmNotify& n, FsmTime now,
               std::optional<FsmDuration> restart_after) {
  if (manual) started_ = false;
  std::string reason = manual ? "administratively stopped" : "automatically stopped";
  if (n.code == kNotifyCease && n.subcode == kCeaseMaxPrefix) reason = "maximum prefixes exceeded";
  if (state_ == FsmState::Idle) {
    idle_hold_deadline_.reset();
    if (!manual && started_ && cfg_.auto_restart) {
      idle_hold_deadline_ = now + restart_after.value_or(idle_hold_);
    }
    return;
  }
  // A NOTIFICATION only makes sense once our OPEN is out (OpenSent and later).
  if (state_ == FsmState::OpenSent || state_ == FsmState::OpenConfirm ||
      state_ == FsmState::Established) {
    hooks_.fsm_send_notification(n);
  }
  if (manual) connect_retry_counter_ = 0;
  to_idle(now, !manual, reason, restart_after);
}

void Fsm::open_received(uint16_t peer_hold, FsmTime now) {
  switch (state_) {
    case FsmState::OpenSent:
      connect_retry_deadline_.reset();
      // §4.2: the hold time is the smaller of ours and the peer's.
      negotiated_hold_ = std::min(cfg_.hold_time, peer_hold);
      go(FsmState::OpenConfirm);
      hooks_.fsm_send_keepalive();
      arm_keepalive(now);
      arm_hold(now);
      return;
    case FsmState::OpenConfirm:
    case FsmState::Established:
      fsm_error(now);
      return;
    case FsmState::Connect:
    case FsmState::Active:
      to_idle(now, true, "OPEN without a connection");
      return;
    case FsmState::Idle:
      return;
  }
}

void Fsm::message_error(FsmEvent e, const FsmNotify& n, FsmTime now) {
  (void)e;
  switch (state_) {
    case FsmState::Idle:
      return;
    case FsmState::Connect:
    case FsmState::Active:
      to_idle(now, true, "malformed message");
      return;
    default:
      send_notification_and_idle(n, now, "malformed message sent by peer");
      return;
  }
}

void Fsm::message_sent(FsmTime now) {
  if (state_ == FsmState::OpenConfirm || state_ == FsmState::Established) arm_keepalive(now);
}

void Fsm::handle(FsmEvent e, FsmTime now) {
  // Start/stop events are the same in every state.
  switch (e) {
    case FsmEvent::ManualStart:
    case FsmEvent::ManualStartPassive:
      if (state_ == FsmState::Idle) {
        started_ = true;
        connect_retry_counter_ = 0;
        idle_hold_ = cfg_.idle_hold_initial;
        start(e == FsmEvent::ManualStartPassive, now);
      }
      return;
    case FsmEvent::AutomaticStart:
    case FsmEvent::AutomaticStartPassive:
      // §8.1.1: an IdleHold timer in progress holds automatic starts back.
      if (state_ == FsmState::Idle && !idle_hold_deadline_) {
        started_ = true;
        if (idle_hold_.count() == 0) idle_hold_ = cfg_.idle_hold_initial;
        start(e == FsmEvent::AutomaticStartPassive, now);
      }
      return;
    case FsmEvent::ManualStop:
      stop(true, FsmNotify{kNotifyCease, kCeaseAdminShutdown, {}}, now);
      return;
    case FsmEvent::AutomaticStop:
      stop(false, FsmNotify{kNotifyCease, kCeaseAdminReset, {}}, now);
      return;
    default:
      break;
  }

  switch (state_) {
    case FsmState::Idle:
      // §8.2.2 Idle: all other events are ignored, except the IdleHold timer restarting us.
      if (e == FsmEvent::IdleHoldTimerExpires && started_) {
        idle_hold_deadline_.reset();
        start(passive_, now);
      }
      return;

    case FsmState::Connect:
      switch (e) {
        case FsmEvent::ConnectRetryTimerExpires:
          hooks_.fsm_disconnect();
          connect_retry_deadline_ = now + cfg_.connect_retry;
          hooks_.fsm_connect();
          return;
        case FsmEvent::TcpCrAcked:
        case FsmEvent::TcpConnectionConfirmed:
          connect_retry_deadline_.reset();
          hold_deadline_ = now + cfg_.open_hold;
          go(FsmState::OpenSent);
          hooks_.fsm_send_open();
          return;
        case FsmEvent::TcpConnectionFails:
          hooks_.fsm_disconnect();
          if (!connect_retry_deadline_) connect_retry_deadline_ = now + cfg_.connect_retry;
          go(FsmState::Active);
          return;
        case FsmEvent::HoldTimerExpires:
        case FsmEvent::KeepaliveTimerExpires:
        case FsmEvent::IdleHoldTimerExpires:
          return;  // not running in this state
        default:
          to_idle(now, true, "unexpected event in Connect");
          return;
      }

    case FsmState::Active:
      switch (e) {
        case FsmEvent::ConnectRetryTimerExpires:
          connect_retry_deadline_ = now + cfg_.connect_retry;
          if (!passive_) {
            go(FsmState::Connect);
            hooks_.fsm_connect();
          }
          return;
        case FsmEvent::TcpCrAcked:
        case FsmEvent::TcpConnectionConfirmed:
          connect_retry_deadline_.reset();
          hold_deadline_ = now + cfg_.open_hold;
          go(FsmState::OpenSent);
          hooks_.fsm_send_open();
          return;
        case FsmEvent::TcpConnectionFails:
          hooks_.fsm_disconnect();
          if (!connect_retry_deadline_) connect_retry_deadline_ = now + cfg_.connect_retry;
          return;
        case FsmEvent::HoldTimerExpires:
        case FsmEvent::KeepaliveTimerExpires:
        case FsmEvent::IdleHoldTimerExpires:
          return;
        default:
          to_idle(now, true, "unexpected event in Active");
          return;
      }

    case FsmState::OpenSent:
      switch (e) {
        case FsmEvent::HoldTimerExpires:
          send_notification_and_idle(FsmNotify{kNotifyHoldTimerExpired, 0, {}}, now,
                                     "hold timer expired (no OPEN)");
          return;
        case FsmEvent::TcpConnectionFails:
          // §8.2.2 OpenSent: close, restart ConnectRetry, listen (Active).
          hooks_.fsm_disconnect();
          hold_deadline_.reset();
          connect_retry_deadline_ = now + cfg_.connect_retry;
          go(FsmState::Active);
          return;
        case FsmEvent::OpenCollisionDump:
          send_notification_and_idle(FsmNotify{kNotifyCease, kCeaseCollision, {}}, now,
                                     "connection collision");
          return;
        case FsmEvent::NotifMsgVerErr:
          to_idle(now, false, "peer rejected our version");
          return;
        case FsmEvent::NotifMsg:
          to_idle(now, true, "NOTIFICATION received");
          return;
        case FsmEvent::IdleHoldTimerExpires:
          return;
        default:
          fsm_error(now);
          return;
      }

    case FsmState::OpenConfirm:
      switch (e) {
        case FsmEvent::HoldTimerExpires:
          send_notification_and_idle(FsmNotify{kNotifyHoldTimerExpired, 0, {}}, now,
                                     "hold timer expired");
          return;
        case FsmEvent::KeepaliveTimerExpires:
          hooks_.fsm_send_keepalive();
          arm_keepalive(now);
          return;
        case FsmEvent::TcpConnectionFails:
        case FsmEvent::NotifMsg:
          to_idle(now, true, e == FsmEvent::NotifMsg ? "NOTIFICATION received" : "connection lost");
          return;
        case FsmEvent::NotifMsgVerErr:
          to_idle(now, false, "peer rejected our version");
          return;
        case FsmEvent::OpenCollisionDump:
          send_notification_and_idle(FsmNotify{kNotifyCease, kCeaseCollision, {}}, now,
                                     "connection collision");
          return;
        case FsmEvent::KeepAliveMsg:
          arm_hold(now);
          idle_hold_ = cfg_.idle_hold_initial;
          last_error_.clear();
          go(FsmState::Established);
          hooks_.fsm_established();
          return;
        case FsmEvent::IdleHoldTimerExpires:
          return;
        default:
          fsm_error(now);
          return;
      }

    case FsmState::Established:
      switch (e) {
        case FsmEvent::HoldTimerExpires:
          send_notification_and_idle(FsmNotify{kNotifyHoldTimerExpired, 0, {}}, now,
                                     "hold timer expired");
          return;
        case FsmEvent::KeepaliveTimerExpires:
          hooks_.fsm_send_keepalive();
          arm_keepalive(now);
          return;
        case FsmEvent::KeepAliveMsg:
        case FsmEvent::UpdateMsg:
          arm_hold(now);
          return;
        case FsmEvent::TcpConnectionFails:
          to_idle(now, true, "connection lost");
          return;
        case FsmEvent::NotifMsg:
        case FsmEvent::NotifMsgVerErr:
          to_idle(now, true, "NOTIFICATION received");
          return;
        case FsmEvent::OpenCollisionDump:
          send_notification_and_idle(FsmNotify{kNotifyCease, kCeaseCollision, {}}, now,
                                     "connection collision");
          return;
        case FsmEvent::IdleHoldTimerExpires:
          return;
        default:
          fsm_error(now);
          return;
      }
  }
}

std::optional<FsmTime> Fsm::next_deadline() const {
  std::optional<FsmTime> best;
  for (const auto* d :
       {&connect_retry_deadline_, &hold_deadline_, &keepalive_deadline_, &idle_hold_deadline_}) {
    if (*d && (!best || **d < *best)) best = *d;
  }
  return best;
}

void Fsm::on_timer(FsmTime now) {
  // Fire expired timers earliest first; each firing may re-arm or clear others.
  for (int guard = 0; guard < 16; ++guard) {
    std::optional<FsmTime>* first = nullptr;
    FsmEvent ev = FsmEvent::HoldTimerExpires;
    std::array<std::pair<std::optional<FsmTime>*, FsmEvent>, 4> timers{{
        {&hold_deadline_, FsmEvent::HoldTimerExpires},
        {&keepalive_deadline_, FsmEvent::KeepaliveTimerExpires},
        {&connect_retry_deadline_, FsmEvent::ConnectRetryTimerExpires},
        {&idle_hold_deadline_, FsmEvent::IdleHoldTimerExpires},
    }};
    for (auto& [d, e] : timers) {
      if (*d && **d <= now && (!first || **d < **first)) {
        first = d;
        ev = e;
      }
    }
    if (!first) return;
    first->reset();
    handle(ev, now);
  }
}

}  // namespace ferry::bgp
