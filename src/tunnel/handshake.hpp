// Per-peer Noise_IKpsk2 handshake state (wireguard.com/protocol "First
// Message" / "Second Message" / "Transport Data Key Derivation").
//
// Flow, initiator:  create_initiation -> (send, macs added by CookieGenerator)
//                   -> consume_response -> derive_keypair
// Flow, responder:  open_initiation (device level: decrypts the initiator's
//                   static key so the caller can find the peer) ->
//                   Handshake::accept_initiation (per peer: timestamp replay
//                   + flood checks) -> create_response -> derive_keypair
// Each public method takes the handshake's own mutex, so the handshake
// workers and the timer thread may call in concurrently. Randomness
// (ephemerals) and time are injected. derive_keypair returns the state to
// Zeroed but keeps the greatest timestamp and last initiation time seen,
// which replay and flood protection need across handshakes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "tunnel/keypair.hpp"
#include "tunnel/keys.hpp"
#include "tunnel/messages.hpp"
#include "tunnel/noise.hpp"
#include "tunnel/tai64n.hpp"
#include "tunnel/timers.hpp"

namespace ferry::tunnel {

// This device's static identity.
struct StaticIdentity {
  Key private_key{};
  Key public_key{};
  static StaticIdentity from_private(const Key& private_key);
};

enum class HandshakeState : uint8_t {
  Zeroed,
  InitiationCreated,   // initiator, waiting for the response
  InitiationConsumed,  // responder, about to answer
  ResponseCreated,     // responder, keys derivable
  ResponseConsumed,    // initiator, keys derivable
};

// Why a handshake message was refused (the caller counts these).
enum class HandshakeError : uint8_t {
  None,
  Decrypt,      // AEAD failed: not for us, corrupted, or wrong keys
  UnknownPeer,  // decrypted static key matches no configured peer
  Replay,       // TAI64N timestamp not newer than the last one from this peer
  Flood,        // initiations from this peer faster than 50/s
  WrongState,   // message does not fit the handshake's state
  WrongIndex,   // receiver index is not ours
  BadKey,       // a DH produced the all-zero point
};
const char* to_string(HandshakeError e);

// Result of the device-level first half of consuming an initiation.
struct OpenedInitiation {
  Key remote_static{};     // initiator's static public key (look the peer up by this)
  Key remote_ephemeral{};  // msg.unencrypted_ephemeral
  uint32_t sender_index = 0;
  Hash hash{};          // handshake hash after encrypted_static
  Hash chaining_key{};  // chaining key after the es DH
  std::array<uint8_t, Tai64n::kSize + kAeadTagSize> encrypted_timestamp{};
};

// Decrypts msg.encrypted_static with our static key. No peer state needed.
std::optional<OpenedInitiation> open_initiation(const StaticIdentity& local,
                                                const MessageInitiation& msg);

class Handshake {
 public:
  Handshake(const StaticIdentity& local, const Key& remote_static, const Key& preshared_key = {});
  ~Handshake();
  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;

  const Key& remote_static() const { return remote_static_; }
  void set_preshared_key(const Key& psk);
  HandshakeState state() const;
  uint32_t local_index() const;
  // Whether the precomputed static-static DH is valid (false: remote key is a low-order point).
  bool usable() const;

  // Initiator: builds a type-1 message (mac1/mac2 left zero: the caller
  // runs CookieGenerator::add_macs on the encoded bytes).
  std::optional<MessageInitiation> create_initiation(uint32_t local_index, const Tai64n& timestamp,
                                                     Rng& rng = system_rng());

  // Responder, second half: decrypts the timestamp, applies replay (strictly
  // newer TAI64N) and flood (>= 1/50 s since the previous one accepted)
  // protection, then stores the state. `now` is for flood protection.
  HandshakeError accept_initiation(const OpenedInitiation& opened, TimePoint now);

  // Responder: builds the type-2 message (macs left zero). State must be InitiationConsumed.
  std::optional<MessageResponse> create_response(uint32_t local_index, Rng& rng = system_rng());

  // Initiator: consumes the type-2 message (the caller found this handshake
  // by msg.receiver_index). State must be InitiationCreated.
  HandshakeError consume_response(const MessageResponse& msg);

  // Derives the transport keypair after ResponseCreated/ResponseConsumed and
  // zeroes the ephemeral state. nullptr in any other state.
  std::shared_ptr<Keypair> derive_keypair(TimePoint now);

  // Forget everything except replay/flood history (ZeroKeys timer).
  void clear();

  // For tests and the data path's index table.
  Tai64n last_timestamp() const;

 private:
  void clear_locked();

  mutable std::mutex mu_;
  StaticIdentity local_;
  Key remote_static_{};
  Key psk_{};
  Key precomputed_ss_{};  // DH(local static, remote static)
  bool ss_ok_ = false;
  HandshakeState state_ = HandshakeState::Zeroed;
  Hash hash_{};
  Hash chaining_key_{};
  Key local_ephemeral_{};  // private
  Key remote_ephemeral_{};
  uint32_t local_index_ = 0;
  uint32_t remote_index_ = 0;
  Tai64n last_timestamp_{};
  std::optional<TimePoint> last_initiation_consumption_;
};

// Device-level helper for the responder: open_initiation, find the peer's
// handshake via `lookup(remote_static)` (nullptr = unknown), accept it.
struct ConsumeInitiationResult {
  HandshakeError error = HandshakeError::None;
  Handshake* handshake = nullptr;
};
ConsumeInitiationResult consume_initiation(const StaticIdentity& local,
                                           const MessageInitiation& msg, TimePoint now,
                                           const std::function<Handshake*(const Key&)>& lookup);

}  // namespace ferry::tunnel
