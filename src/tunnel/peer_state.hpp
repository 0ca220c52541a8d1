// Everything the WireGuard protocol keeps for one peer, and the glue that
// runs a handshake step end to end: Handshake (Noise state), KeypairSet
// (previous/current/next), CookieGenerator (mac1/mac2 on what we send) and
// PeerTimers. The data path (Device) owns sockets, the index table and
// the peer's endpoint; it calls these methods and performs the returned
// actions. Timers are serialised by the PeerState's own mutex; the data
// path takes keypairs from KeypairSet (a short mutex, then a shared_ptr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "tunnel/cookie.hpp"
#include "tunnel/handshake.hpp"
#include "tunnel/keypair.hpp"
#include "tunnel/messages.hpp"
#include "tunnel/tai64n.hpp"
#include "tunnel/timers.hpp"

namespace ferry::tunnel {

struct SessionOutcome {
  std::shared_ptr<Keypair> keypair;  // newly derived
  KeypairSet::Dropped dropped;       // free these keypairs' local indices
  size_t message_len = 0;            // bytes written (responder: the response)
};

class PeerState {
 public:
  PeerState(const StaticIdentity& local, const Key& remote_public, const Key& preshared_key = {},
            TimerConfig cfg = {}, Rng& rng = system_rng());

  const Key& remote_public() const { return handshake_.remote_static(); }
  Handshake& handshake() { return handshake_; }
  KeypairSet& keypairs() { return keypairs_; }
  CookieGenerator& cookies() { return cookies_; }
  // Timers are not thread-safe on their own: lock timers_mutex() around use,
  // or use the helpers below which do.
  PeerTimers& timers() { return timers_; }
  std::mutex& timers_mutex() { return timers_mu_; }

  // Initiator: full type-1 message with macs into out (>= 148 bytes); marks
  // the handshake initiated in the timers. nullopt if the handshake is unusable.
  std::optional<size_t> write_initiation(uint32_t local_index, std::span<uint8_t> out,
                                         TimePoint now, const Tai64n& timestamp, bool is_retry);
  // Responder, after Handshake::accept_initiation succeeded: full type-2
  // message into out (>= 92 bytes), keypair derived and installed as `next`.
  std::optional<SessionOutcome> write_response(uint32_t local_index, std::span<uint8_t> out,
                                               TimePoint now);
  // Initiator: a type-2 message arrived for this peer (mac1 already
  // checked); derives and installs the keypair as current.
  // On success the caller should send a keepalive (or queued data) at once.
  HandshakeError complete_as_initiator(const MessageResponse& msg, TimePoint now,
                                       SessionOutcome* out);
  // An authenticated transport message arrived under kp (plaintext_len 0 = keepalive).
  // Promotes `next` if needed, feeds the timers. Returns true if this confirmed
  // the session (responder: first message under `next`); the caller should then
  // send the packets it queued while waiting for a session.
  bool on_transport_received(const Keypair* kp, size_t plaintext_len, TimePoint now,
                             KeypairSet::Dropped* dropped = nullptr);
  // We sent a transport message (plaintext_len 0 = keepalive).
  void on_transport_sent(size_t plaintext_len, TimePoint now);
  // Timer poll under the lock; on zero_keys the keypairs and handshake are
  // wiped here. Retired keypairs whose grace ended are dropped too. Every
  // keypair dropped is added to `dropped` (the caller frees their indices).
  TimerActions poll_timers(TimePoint now, KeypairSet::Dropped* dropped = nullptr);
  // Earliest of the timers' deadline and the retired keypairs' expiry.
  std::optional<TimePoint> next_deadline();

 private:
  Rng* rng_;
  Handshake handshake_;
  KeypairSet keypairs_;
  CookieGenerator cookies_;
  std::mutex timers_mu_;
  PeerTimers timers_;
};

}  // namespace ferry::tunnel
