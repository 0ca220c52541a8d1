// Per-peer WireGuard timer state machine (whitepaper §6 "Timers & Stateless
// UX", mirroring the behaviour of wireguard-go's timers.go), as pure logic:
// the owner feeds events with an explicit `now` and asks poll(now) which
// actions are due; next_deadline() says when to poll again. No threads, no
// real clock, so unit tests drive it with a fake clock. All durations are
// multiplied by `scale` (config tunnel.timer_scale, test-only, 1.0 = real).
//
// Timers (each either armed with a deadline or idle):
//   retransmit_handshake  REKEY_TIMEOUT + jitter after we sent an initiation;
//                         fires SendInitiation(retry) until REKEY_ATTEMPT_TIME,
//                         then GiveUp (drop staged packets) and arm zero_keys.
//   send_keepalive        KEEPALIVE_TIMEOUT after data received with nothing
//                         authenticated sent back -> SendKeepalive.
//   new_handshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after data
//                         sent with nothing authenticated received -> SendInitiation.
//   zero_keys             3 x REJECT_AFTER_TIME after the last session was
//                         derived -> ZeroKeys (wipe keypairs and handshake).
//   persistent_keepalive  interval after any authenticated packet traversal.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "tunnel/keys.hpp"

namespace ferry::tunnel {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::nanoseconds;

// Protocol constants (whitepaper §6.1).
inline constexpr uint64_t kRekeyAfterMessages = uint64_t{1} << 60;
inline constexpr uint64_t kRejectAfterMessages = ~uint64_t{0} - (uint64_t{1} << 13);  // 2^64-2^13-1
inline constexpr Duration kRekeyAfterTime = std::chrono::seconds(120);
inline constexpr Duration kRejectAfterTime = std::chrono::seconds(180);
inline constexpr Duration kRekeyAttemptTime = std::chrono::seconds(90);
inline constexpr Duration kRekeyTimeout = std::chrono::seconds(5);
inline constexpr Duration kKeepaliveTimeout = std::chrono::seconds(10);
inline constexpr Duration kCookieRefreshTime = std::chrono::seconds(120);
inline constexpr Duration kHandshakeInitiationRate = std::chrono::milliseconds(20);  // 1/50 s
inline constexpr Duration kMaxJitter = std::chrono::milliseconds(333);
// REKEY_ATTEMPT_TIME / REKEY_TIMEOUT retransmissions before giving up.
inline constexpr int kMaxHandshakeAttempts = 18;

// Durations after applying the test scale factor.
struct TimerConfig {
  double scale = 1.0;
  Duration persistent_keepalive{0};  // 0 = off (not scaled: it is configured in seconds)

  Duration scaled(Duration d) const;
  Duration rekey_after_time() const { return scaled(kRekeyAfterTime); }
  Duration reject_after_time() const { return scaled(kRejectAfterTime); }
  Duration rekey_timeout() const { return scaled(kRekeyTimeout); }
  Duration keepalive_timeout() const { return scaled(kKeepaliveTimeout); }
  Duration cookie_refresh_time() const { return scaled(kCookieRefreshTime); }
  Duration max_jitter() const { return scaled(kMaxJitter); }
};

// Actions the owner must perform after poll(). Several may be set at once.
struct TimerActions {
  bool send_initiation = false;  // start (or retry) a handshake
  bool is_retry = false;         // the initiation is a retransmission (keep attempt count)
  bool send_keepalive = false;   // send an empty transport message
  bool give_up = false;          // handshake attempts exhausted: drop staged packets
  bool zero_keys = false;        // wipe all keypairs and handshake state
  bool any() const { return send_initiation || send_keepalive || give_up || zero_keys; }
};

class PeerTimers {
 public:
  explicit PeerTimers(TimerConfig cfg = {}, Rng& rng = system_rng()) : cfg_(cfg), rng_(&rng) {}

  const TimerConfig& config() const { return cfg_; }
  void set_persistent_keepalive(Duration interval) { cfg_.persistent_keepalive = interval; }

  // Events (named after wireguard-go's timers* hooks).
  void on_data_sent(TimePoint now);
  void on_data_received(TimePoint now);
  void on_any_authenticated_packet_sent(TimePoint now);
  void on_any_authenticated_packet_received(TimePoint now);
  void on_any_authenticated_packet_traversal(TimePoint now);
  // An initiation was sent. is_retry=false resets the attempt counter.
  void on_handshake_initiated(TimePoint now, bool is_retry);
  void on_handshake_complete(TimePoint now);
  void on_session_derived(TimePoint now);
  // Peer removed or keys zeroed: disarm everything.
  void stop();

  // Fires every due timer and returns what to do.
  TimerActions poll(TimePoint now);
  // Earliest armed deadline, if any.
  std::optional<TimePoint> next_deadline() const;

  // Rate limit on sending initiations: at most one per REKEY_TIMEOUT
  // (whitepaper §6.4). True if allowed; the caller then sends and calls
  // on_handshake_initiated.
  bool may_send_initiation(TimePoint now) const;

  // keepKeyFresh on send: rekey when the current keypair's send counter
  // passed REKEY_AFTER_MESSAGES, or we initiated it REKEY_AFTER_TIME ago.
  bool should_rekey_on_send(bool is_initiator, TimePoint keypair_created, uint64_t send_counter,
                            TimePoint now) const;
  // keepKeyFresh on receive: the initiator rekeys once if its keypair is
  // older than REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT.
  // Sets an internal "sent last-minute handshake" flag cleared on handshake complete.
  bool should_rekey_on_receive(bool is_initiator, TimePoint keypair_created, TimePoint now);

  int handshake_attempts() const { return attempts_; }
  std::optional<TimePoint> last_handshake() const { return last_handshake_; }
  bool retransmit_armed() const { return retransmit_.has_value(); }
  bool keepalive_armed() const { return send_keepalive_.has_value(); }
  bool new_handshake_armed() const { return new_handshake_.has_value(); }
  bool zero_keys_armed() const { return zero_keys_.has_value(); }
  bool persistent_keepalive_armed() const { return persistent_keepalive_.has_value(); }

 private:
  Duration jitter();

  TimerConfig cfg_;
  Rng* rng_;
  std::optional<TimePoint> retransmit_;
  std::optional<TimePoint> send_keepalive_;
  std::optional<TimePoint> new_handshake_;
  std::optional<TimePoint> zero_keys_;
  std::optional<TimePoint> persistent_keepalive_;
  std::optional<TimePoint> last_initiation_sent_;
  std::optional<TimePoint> last_handshake_;
  int attempts_ = 0;
  bool need_another_keepalive_ = false;
  bool sent_last_minute_handshake_ = false;
};

}  // namespace ferry::tunnel
