#include "tunnel/peer_state.hpp"

namespace ferry::tunnel {

PeerState::PeerState(const StaticIdentity& local, const Key& remote_public,
                     const Key& preshared_key, TimerConfig cfg, Rng& rng)
    : rng_(&rng),
      handshake_(local, remote_public, preshared_key),
      keypairs_(cfg.rekey_timeout()),
      cookies_(remote_public, cfg),
      timers_(cfg, rng) {}

std::optional<size_t> PeerState::write_initiation(uint32_t local_index, std::span<uint8_t> out,
                                                  TimePoint now, const Tai64n& timestamp,
                                                  bool is_retry) {
  if (out.size() < kMessageInitiationSize) return std::nullopt;
  auto m = handshake_.create_initiation(local_index, timestamp, *rng_);
  if (!m || !encode(*m, out)) return std::nullopt;
  cookies_.add_macs(out.first(kMessageInitiationSize), now);
  std::lock_guard lock(timers_mu_);
  timers_.on_any_authenticated_packet_traversal(now);
  timers_.on_any_authenticated_packet_sent(now);
  timers_.on_handshake_initiated(now, is_retry);
  return kMessageInitiationSize;
}

std::optional<SessionOutcome> PeerState::write_response(uint32_t local_index,
                                                        std::span<uint8_t> out, TimePoint now) {
  if (out.size() < kMessageResponseSize) return std::nullopt;
  auto m = handshake_.create_response(local_index, *rng_);
  if (!m || !encode(*m, out)) return std::nullopt;
  cookies_.add_macs(out.first(kMessageResponseSize), now);
  SessionOutcome o;
  o.keypair = handshake_.derive_keypair(now);
  if (!o.keypair) return std::nullopt;
  o.dropped = keypairs_.install(o.keypair, now);
  o.message_len = kMessageResponseSize;
  std::lock_guard lock(timers_mu_);
  timers_.on_session_derived(now);
  timers_.on_any_authenticated_packet_traversal(now);
  timers_.on_any_authenticated_packet_sent(now);
  return o;
}

HandshakeError PeerState::complete_as_initiator(const MessageResponse& msg, TimePoint now,
                                                SessionOutcome* out) {
  HandshakeError err = handshake_.consume_response(msg);
  if (err != HandshakeError::None) return err;
  SessionOutcome o;
  o.keypair = handshake_.derive_keypair(now);
  if (!o.keypair) return HandshakeError::WrongState;
  o.dropped = keypairs_.install(o.keypair, now);
  {
    std::lock_guard lock(timers_mu_);
    timers_.on_any_authenticated_packet_traversal(now);
    timers_.on_any_authenticated_packet_received(now);
    timers_.on_session_derived(now);
    timers_.on_handshake_complete(now);
  }
  if (out) *out = std::move(o);
  return HandshakeError::None;
}

bool PeerState::on_transport_received(const Keypair* kp, size_t plaintext_len, TimePoint now,
                                      KeypairSet::Dropped* dropped) {
  const bool confirmed = keypairs_.received_with(kp, now, dropped);
  std::lock_guard lock(timers_mu_);
  if (confirmed) timers_.on_handshake_complete(now);
  timers_.on_any_authenticated_packet_received(now);
  timers_.on_any_authenticated_packet_traversal(now);
  if (plaintext_len > 0) timers_.on_data_received(now);
  return confirmed;
}

void PeerState::on_transport_sent(size_t plaintext_len, TimePoint now) {
  std::lock_guard lock(timers_mu_);
  timers_.on_any_authenticated_packet_traversal(now);
  timers_.on_any_authenticated_packet_sent(now);
  if (plaintext_len > 0) timers_.on_data_sent(now);
}

TimerActions PeerState::poll_timers(TimePoint now, KeypairSet::Dropped* dropped) {
  TimerActions a;
  {
    std::lock_guard lock(timers_mu_);
    a = timers_.poll(now);
  }
  KeypairSet::Dropped gone = keypairs_.expire(now);
  if (a.zero_keys) {
    for (auto& kp : keypairs_.clear().kps) gone.add(std::move(kp));
    handshake_.clear();
  }
  if (dropped) *dropped = std::move(gone);
  return a;
}

std::optional<TimePoint> PeerState::next_deadline() {
  std::optional<TimePoint> t = keypairs_.next_expiry();
  std::lock_guard lock(timers_mu_);
  if (auto d = timers_.next_deadline(); d && (!t || *d < *t)) t = d;
  return t;
}

}  // namespace ferry::tunnel
