#include "bfd/session.hpp"

#include <algorithm>

namespace ferry::bfd {

// RFC 5880 §6.8.3: while not Up, DesiredMinTxInterval is at least one second.
constexpr uint32_t kSlowTxUs = 1000000;

Session::Session(uint32_t local_discriminator, Timers timers,
                 std::function<uint32_t(uint32_t)> jitter)
    : local_discr_(local_discriminator), cfg_(timers), jitter_(std::move(jitter)) {}

uint32_t Session::effective_desired_tx_us() const {
  return state_ == State::Up ? cfg_.desired_min_tx_us : std::max(cfg_.desired_min_tx_us, kSlowTxUs);
}

Micros Session::tx_interval() const {
  // §6.8.7: the larger of our DesiredMinTx and the remote's RequiredMinRx.
  return Micros(std::max(effective_desired_tx_us(), remote_min_rx_us_));
}

Micros Session::detection_time() const {
  if (remote_detect_mult_ == 0) return Micros(0);
  // §6.8.4, asynchronous mode: remote DetectMult × max(our RequiredMinRx, remote DesiredMinTx).
  return Micros(uint64_t{remote_detect_mult_} *
                std::max(cfg_.required_min_rx_us, remote_desired_tx_us_));
}

void Session::schedule_tx(Clock::time_point now) {
  // §6.8.7: jitter of up to 25% below the interval; up to 10%..25% when DetectMult is 1.
  const uint64_t iv = static_cast<uint64_t>(tx_interval().count());
  const uint32_t span = static_cast<uint32_t>(iv / 4);
  uint64_t reduce = span ? jitter_(span) : 0;
  if (cfg_.detect_mult == 1) reduce = std::max<uint64_t>(reduce, iv / 10);
  next_tx_ = now + Micros(iv - reduce);
}

ControlPacket Session::make_packet(bool final) const {
  ControlPacket p;
  p.state = state_;
  p.diag = diag_;
  p.detect_mult = cfg_.detect_mult;
  p.my_discriminator = local_discr_;
  p.your_discriminator = remote_discr_;
  p.desired_min_tx_us = effective_desired_tx_us();
  p.required_min_rx_us = state_ == State::AdminDown ? 0 : cfg_.required_min_rx_us;
  p.required_min_echo_rx_us = 0;  // no echo function
  p.final = final;
  p.poll = !final && poll_outstanding_;
  return p;
}

void Session::set_state(State s, Diag d, Clock::time_point now) {
  if (s == state_) return;
  const State from = state_;
  const uint32_t old_tx = effective_desired_tx_us();
  state_ = s;
  diag_ = d;
  if (s == State::Up) ++up_transitions_;
  if (from == State::Up) ++down_transitions_;
  if (s == State::Down || s == State::AdminDown) {
    detect_deadline_.reset();
    if (d == Diag::ControlDetectionTimeExpired) remote_discr_ = 0;  // §6.8.1
  }
  // §6.8.3: a change of DesiredMinTxInterval is signalled with a Poll Sequence.
  if (effective_desired_tx_us() != old_tx && s != State::AdminDown) poll_outstanding_ = true;
  next_tx_ = now;  // announce the new state at once
  if (on_state_change) on_state_change(from, s, d);
}

bool Session::receive(const ControlPacket& p, Clock::time_point now) {
  // §6.8.6: a non-zero Your Discriminator must be ours; a zero one is only
  // valid while the remote is Down or AdminDown.
  if (p.your_discriminator != 0 && p.your_discriminator != local_discr_) return false;
  if (p.your_discriminator == 0 && p.state != State::Down && p.state != State::AdminDown)
    return false;
  remote_discr_ = p.my_discriminator;
  remote_state_ = p.state;
  remote_min_rx_us_ = std::max<uint32_t>(p.required_min_rx_us, 1);
  remote_desired_tx_us_ = p.desired_min_tx_us;
  remote_detect_mult_ = p.detect_mult;
  if (p.final) poll_outstanding_ = false;
  if (state_ == State::AdminDown) return false;

  if (p.state == State::AdminDown) {
    if (state_ != State::Down) set_state(State::Down, Diag::NeighborSignaledDown, now);
  } else if (state_ == State::Down) {
    if (p.state == State::Down)
      set_state(State::Init, Diag::None, now);
    else if (p.state == State::Init)
      set_state(State::Up, Diag::None, now);
  } else if (state_ == State::Init) {
    if (p.state == State::Init || p.state == State::Up) set_state(State::Up, Diag::None, now);
  } else if (state_ == State::Up) {
    if (p.state == State::Down) set_state(State::Down, Diag::NeighborSignaledDown, now);
  }
  if (state_ == State::Init || state_ == State::Up) detect_deadline_ = now + detection_time();
  // The remote's RequiredMinRx may have grown; never send faster than it asks.
  if (next_tx_ > now + tx_interval()) schedule_tx(now);
  return p.poll;
}

std::optional<ControlPacket> Session::tick(Clock::time_point now) {
  if (detect_deadline_ && now >= *detect_deadline_ &&
      (state_ == State::Init || state_ == State::Up)) {
    set_state(State::Down, Diag::ControlDetectionTimeExpired, now);
  }
  // §6.8.7: a system MUST NOT send periodic packets once the remote signalled
  // RequiredMinRxInterval of zero.
  if (now >= next_tx_ && remote_min_rx_us_ != 0) {
    schedule_tx(now);
    return make_packet();
  }
  return std::nullopt;
}

Clock::time_point Session::next_event() const {
  if (detect_deadline_ && *detect_deadline_ < next_tx_) return *detect_deadline_;
  return next_tx_;
}

void Session::set_admin_down(bool down, Clock::time_point now) {
  if (down)
    set_state(State::AdminDown, Diag::AdministrativelyDown, now);
  else if (state_ == State::AdminDown)
    set_state(State::Down, Diag::None, now);
}

}  // namespace ferry::bfd
