// Internal state of ike::Engine: peers, their IKE SAs and CHILD_SAs, and the
// one outstanding request per IKE SA (window size 1, RFC 7296 §2.3).
//
// Ownership: Engine::Impl owns the Peers; a Peer owns its IKE SAs (at most one
// established "current" SA, plus half-open ones, and during an IKE rekey the
// old SA until its Delete exchange ends, RFC 7296 §2.18); an IkeSa owns its
// CHILD_SAs. The ESP data plane only ever sees ChildSaPair copies through
// ChildSaSink; the inbound SPI (chosen here) is the handle for remove().
//
// Files: engine.cpp (dispatch, timers, show), exchange.cpp (sending,
// retransmission, the duplicate-request cache), ike_init.cpp (IKE_SA_INIT and
// IKE_AUTH, both roles), child.cpp (CREATE_CHILD_SA for CHILD and IKE rekeys,
// INFORMATIONAL: Delete and DPD).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ike/crypto.hpp"
#include "ike/engine.hpp"
#include "ike/message.hpp"

namespace ferry::ike {

struct ChildSa {
  uint32_t spi_in = 0;   // chosen by us; the data plane's handle
  uint32_t spi_out = 0;  // chosen by the peer
  Suite suite;
  TimePoint established{}, rekey_at{}, expire_at{};
  bool rekeying = false;  // a CREATE_CHILD_SA for it is in flight
  bool deleting = false;  // replaced: its Delete exchange is in flight
  // Set when the peer rekeyed this pair while our own rekey of it was in flight
  // (§2.8.1): the lower of that exchange's nonces.
  Bytes peer_rekey_nonce;
};

// What our outstanding request is for, so its response is handled accordingly.
enum class RequestKind { kInit, kAuth, kChildRekey, kIkeRekey, kDeleteChild, kDeleteIke, kDpd };

struct Pending {
  RequestKind kind = RequestKind::kDpd;
  uint32_t msg_id = 0;
  Bytes wire;
  int tries = 0;
  TimePoint first_sent{}, next_retx{};
  // CREATE_CHILD_SA state: our nonce and DH key, the SA being rekeyed, our new SPI.
  Bytes nonce;
  std::unique_ptr<DhKey> dh;
  uint32_t old_spi_in = 0;   // CHILD rekey: the pair being replaced; DeleteChild: the pair
  uint32_t new_spi_in = 0;   // CHILD rekey: our SPI for the new pair
  uint64_t new_ike_spi = 0;  // IKE rekey: our SPI for the new IKE SA
};

enum class IkeState { kInitSent, kAuthSent, kResponderInit, kEstablished, kDeleting, kDead };
const char* state_name(IkeState s);

struct IkeSa {
  bool initiator = false;  // original initiator (I flag; §2.2 SPI roles)
  uint64_t spi_i = 0, spi_r = 0;
  IkeState state = IkeState::kInitSent;
  tunnel::UdpEndpoint remote;
  bool natt = false;  // talking on port 4500 (§2.23)
  IkeKeys keys;
  Bytes ni, nr;
  std::unique_ptr<DhKey> dh;          // IKE_SA_INIT only; cleared once keys exist
  uint16_t ke_group = 0;              // the group our KEi used (INVALID_KE_PAYLOAD retry, §1.2)
  Bytes init_request, init_response;  // RealMessage1/2 for AUTH (§2.15)
  Bytes cookie;                       // §2.6: the responder's cookie we echoed (once)
  uint32_t child_spi_in = 0;          // the CHILD_SA SPI our IKE_AUTH offers/answers
  std::string peer_id;                // IDi/IDr the peer presented (show)

  // §2.3 window size 1: our next request's ID and the one outstanding request.
  uint32_t next_msg_id = 0;
  std::optional<Pending> pending;
  // §2.1: the peer's next request ID and our cached response to its last one.
  uint32_t peer_msg_id = 0;
  std::optional<uint32_t> cached_id;
  Bytes cached_response;
  bool cached_natt = false;

  std::vector<ChildSa> children;
  TimePoint created{}, established{}, rekey_at{}, expire_at{}, last_heard{};
  bool rekeyed_away = false;  // superseded by a rekeyed IKE SA; being deleted

  uint64_t our_spi() const { return initiator ? spi_i : spi_r; }
  uint64_t peer_spi() const { return initiator ? spi_r : spi_i; }
  // Directional keys (§2.14): "i" keys protect what the original initiator sends.
  SkKeys send_keys() const {
    return initiator ? SkKeys{&keys.suite, keys.sk_ei, keys.sk_ai}
                     : SkKeys{&keys.suite, keys.sk_er, keys.sk_ar};
  }
  SkKeys recv_keys() const {
    return initiator ? SkKeys{&keys.suite, keys.sk_er, keys.sk_ar}
                     : SkKeys{&keys.suite, keys.sk_ei, keys.sk_ai};
  }
};

struct Peer {
  PeerSettings cfg;
  std::vector<Suite> ike, esp;
  IdPayload local_id;
  std::vector<std::unique_ptr<IkeSa>> sas;
  bool up = false;                  // reported to the liveness listener
  TimePoint next_attempt{};         // initiator: when to (re)start IKE_SA_INIT
  std::chrono::seconds backoff{1};  // doubles after each failed attempt, capped
  std::string last_error;
  IkeSa* current() const;  // the established SA that owns the CHILD_SAs
};

// Counters of dropped input (hostile or stale), reported by show().
struct Counters {
  uint64_t malformed = 0, unknown_spi = 0, bad_integrity = 0, unexpected = 0, no_peer = 0,
           retransmits = 0, duplicate_requests = 0, auth_failures = 0, no_proposal = 0,
           invalid_ke = 0, cookies_sent = 0, dpd_dead = 0, established = 0, child_installs = 0,
           child_removes = 0;
};

// A request's decrypted content.
struct Inbound {
  const Message* msg = nullptr;
  std::vector<Payload> payloads;
  TimePoint now{};
  const Payload* find(uint8_t type) const;
  std::vector<Notify> notifies() const;
  std::optional<Notify> notify(uint16_t type) const;
};

}  // namespace ferry::ike

namespace ferry::ike {
inline Payload make_payload(uint8_t type, Bytes body) {
  return Payload{type, false, std::move(body)};
}
inline Payload make_notify(uint16_t type, Bytes data = {}, uint8_t proto = 0, Bytes spi = {}) {
  return make_payload(kPayloadNotify,
                      encode_notify(Notify{proto, std::move(spi), type, std::move(data)}));
}
inline Bytes be32(uint32_t v) {
  return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}
inline Bytes be64(uint64_t v) {
  Bytes b = be32(uint32_t(v >> 32)), lo = be32(uint32_t(v));
  b.insert(b.end(), lo.begin(), lo.end());
  return b;
}
inline uint64_t from_be(std::span<const uint8_t> b) {
  uint64_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}
}  // namespace ferry::ike
