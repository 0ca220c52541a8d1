#include "tunnel/timers.hpp"

#include "tunnel/time_source.hpp"

namespace ferry::tunnel {

Duration TimerConfig::scaled(Duration d) const {
  if (scale == 1.0 || scale <= 0.0) return d;
  return Duration(static_cast<Duration::rep>(static_cast<double>(d.count()) * scale));
}

Duration PeerTimers::jitter() {
  const auto max = cfg_.max_jitter().count();
  if (max <= 0) return Duration{0};
  return Duration(static_cast<Duration::rep>(rng_->u32() % static_cast<uint64_t>(max)));
}

void PeerTimers::on_data_sent(TimePoint now) {
  // Sent data but may not hear back: if nothing authenticated arrives in
  // KEEPALIVE_TIMEOUT + REKEY_TIMEOUT, start a new handshake (§6.2).
  if (!new_handshake_)
    new_handshake_ = now + cfg_.keepalive_timeout() + cfg_.rekey_timeout() + jitter();
}

void PeerTimers::on_data_received(TimePoint now) {
  // Passive keepalive (§6.5): answer data with a keepalive if we have
  // nothing to send within KEEPALIVE_TIMEOUT.
  if (!send_keepalive_) {
    send_keepalive_ = now + cfg_.keepalive_timeout();
  } else {
    need_another_keepalive_ = true;
  }
}

void PeerTimers::on_any_authenticated_packet_sent(TimePoint) {
  send_keepalive_.reset();
}

void PeerTimers::on_any_authenticated_packet_received(TimePoint) {
  new_handshake_.reset();
}

void PeerTimers::on_any_authenticated_packet_traversal(TimePoint now) {
  if (cfg_.persistent_keepalive.count() > 0)
    persistent_keepalive_ = now + cfg_.persistent_keepalive;
}

void PeerTimers::on_handshake_initiated(TimePoint now, bool is_retry) {
  if (!is_retry) attempts_ = 0;
  last_initiation_sent_ = now;
  retransmit_ = now + cfg_.rekey_timeout() + jitter();
}

void PeerTimers::on_handshake_complete(TimePoint now) {
  retransmit_.reset();
  attempts_ = 0;
  sent_last_minute_handshake_ = false;
  last_handshake_ = now;
}

void PeerTimers::on_session_derived(TimePoint now) {
  // Keys are wiped 3 x REJECT_AFTER_TIME after the last session (§6.3).
  zero_keys_ = now + 3 * cfg_.reject_after_time();
}

void PeerTimers::stop() {
  retransmit_.reset();
  send_keepalive_.reset();
  new_handshake_.reset();
  zero_keys_.reset();
  persistent_keepalive_.reset();
  need_another_keepalive_ = false;
}

TimerActions PeerTimers::poll(TimePoint now) {
  TimerActions a;
  auto due = [now](std::optional<TimePoint>& t) {
    if (t && *t <= now) {
      t.reset();
      return true;
    }
    return false;
  };
  if (due(retransmit_)) {
    if (attempts_ > kMaxHandshakeAttempts) {
      // REKEY_ATTEMPT_TIME exhausted: stop trying until new data is sent,
      // and make sure the keys die eventually.
      a.give_up = true;
      send_keepalive_.reset();
      if (!zero_keys_) zero_keys_ = now + 3 * cfg_.reject_after_time();
    } else {
      ++attempts_;
      a.send_initiation = true;
      a.is_retry = true;
    }
  }
  if (due(new_handshake_)) {
    if (!a.send_initiation) {
      a.send_initiation = true;
      a.is_retry = false;
    }
  }
  if (due(send_keepalive_)) {
    a.send_keepalive = true;
    if (need_another_keepalive_) {
      need_another_keepalive_ = false;
      send_keepalive_ = now + cfg_.keepalive_timeout();
    }
  }
  if (due(persistent_keepalive_)) {
    if (cfg_.persistent_keepalive.count() > 0) a.send_keepalive = true;
  }
  if (due(zero_keys_)) {
    a.zero_keys = true;
    // Nothing is left to retransmit or keep alive once keys are gone.
    a.send_initiation = false;
    a.send_keepalive = false;
    retransmit_.reset();
    new_handshake_.reset();
    send_keepalive_.reset();
  }
  return a;
}

std::optional<TimePoint> PeerTimers::next_deadline() const {
  std::optional<TimePoint> best;
  for (const auto* t :
       {&retransmit_, &send_keepalive_, &new_handshake_, &zero_keys_, &persistent_keepalive_}) {
    if (*t && (!best || **t < *best)) best = *t;
  }
  return best;
}

bool PeerTimers::may_send_initiation(TimePoint now) const {
  return !last_initiation_sent_ || now - *last_initiation_sent_ >= cfg_.rekey_timeout();
}

bool PeerTimers::should_rekey_on_send(bool is_initiator, TimePoint keypair_created,
                                      uint64_t send_counter, TimePoint now) const {
  return send_counter > kRekeyAfterMessages ||
         (is_initiator && now - keypair_created > cfg_.rekey_after_time());
}

bool PeerTimers::should_rekey_on_receive(bool is_initiator, TimePoint keypair_created,
                                         TimePoint now) {
  if (sent_last_minute_handshake_ || !is_initiator) return false;
  const Duration limit = cfg_.reject_after_time() - cfg_.keepalive_timeout() - cfg_.rekey_timeout();
  if (now - keypair_created <= limit) return false;
  sent_last_minute_handshake_ = true;
  return true;
}

const TimeSource& system_time() {
  struct System final : TimeSource {
    TimePoint now() const override { return Clock::now(); }
    std::chrono::system_clock::time_point wall() const override {
      return std::chrono::system_clock::now();
    }
  };
  static const System s;
  return s;
}

}  // namespace ferry::tunnel
