// One BFD session in asynchronous mode (RFC 5880 §6.8), as pure logic.
//
// The driver (bfd.hpp) feeds it received packets and the current time, asks
// it when the next event is due, and sends the packets it produces. Nothing
// here touches a socket or a clock, so every transition is unit-testable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "bfd/packet.hpp"

namespace ferry::bfd {

using Clock = std::chrono::steady_clock;
using Micros = std::chrono::microseconds;

struct Timers {
  uint32_t desired_min_tx_us = 300000;
  uint32_t required_min_rx_us = 300000;
  uint8_t detect_mult = 3;
};

class Session {
 public:
  // jitter(n) returns a value in [0, n); injected so tests are deterministic.
  Session(uint32_t local_discriminator, Timers timers, std::function<uint32_t(uint32_t)> jitter);

  // RFC 5880 §6.8.6, after decode()'s stateless checks. Returns true when a
  // reply must go out at once (a Poll was received: answer with Final).
  bool receive(const ControlPacket& p, Clock::time_point now);
  // Runs expired timers: detection time (→ Down, diag 1) and periodic TX.
  // Returns the packet to send now, if any.
  std::optional<ControlPacket> tick(Clock::time_point now);
  // The packet to send right now (for Final replies); does not move the TX schedule.
  ControlPacket make_packet(bool final = false) const;
  // Earliest time tick() has work to do.
  Clock::time_point next_event() const;

  void set_admin_down(bool down, Clock::time_point now);

  State state() const { return state_; }
  Diag local_diag() const { return diag_; }
  uint32_t local_discriminator() const { return local_discr_; }
  uint32_t remote_discriminator() const { return remote_discr_; }
  State remote_state() const { return remote_state_; }
  // Detection time currently in force (RFC 5880 §6.8.4), zero before the first packet.
  Micros detection_time() const;
  Micros tx_interval() const;
  uint64_t up_transitions() const { return up_transitions_; }
  uint64_t down_transitions() const { return down_transitions_; }
  std::function<void(State from, State to, Diag why)> on_state_change;

 private:
  void set_state(State s, Diag d, Clock::time_point now);
  uint32_t effective_desired_tx_us() const;
  void schedule_tx(Clock::time_point now);

  uint32_t local_discr_;
  Timers cfg_;
  std::function<uint32_t(uint32_t)> jitter_;
  State state_ = State::Down;
  Diag diag_ = Diag::None;
  uint32_t remote_discr_ = 0;
  State remote_state_ = State::Down;
  uint32_t remote_min_rx_us_ = 1;
  uint32_t remote_desired_tx_us_ = 0;
  uint8_t remote_detect_mult_ = 0;
  bool poll_outstanding_ = false;
  // Set on every valid packet while Init/Up; cleared when the session goes Down.
  std::optional<Clock::time_point> detect_deadline_;
  Clock::time_point next_tx_{};
  uint64_t up_transitions_ = 0;
  uint64_t down_transitions_ = 0;
};

}  // namespace ferry::bfd
