// ipsec/sa.hpp: the seam between the IKEv2 control plane (src/ike/) and the
// ESP data plane (src/ipsec/). Header-only; depends on common/ and the
// tunnel's PeerIndex/UdpEndpoint value types only, so neither side links the
// other's implementation.
//
// Flow. The IKE engine of one peer negotiates a CHILD_SA pair (RFC 7296 §1.3)
// and derives its keys (RFC 7296 §2.17, KEYMAT = prf+(SK_d, [g^ir new] | Ni |
// Nr), taken in the order encr-i, integ-i, encr-r, integ-r; "i" keys protect
// initiator-to-responder traffic). It hands the pair to the data plane as a
// ChildSaPair through ChildSaSink:
//   install()         the inbound SA is usable at once; the outbound SA takes
//                     over this peer's traffic at once (make-before-break:
//                     the data plane keeps the previous pair's inbound SA
//                     until remove() names it, so packets the peer still
//                     sends under the old SA are accepted);
//   remove()          after the rekey's Delete exchange (RFC 7296 §1.4.1) or
//                     when the IKE SA dies; frees both directions of a pair;
//   set_endpoint()    NAT-T port floating or peer address change
//                     (RFC 3947 §4, RFC 7296 §2.23).
// The data plane reports per-SA counters back through stats(), which the IKE
// engine uses for soft/hard byte lifetimes and DPD ("traffic seen recently").
//
// Transport. ESP is always UDP-encapsulated (RFC 3948): the kernel here has
// no ESP, and cloud gateways accept NAT-T. The data plane owns the UDP socket
// on port 4500 and demultiplexes (RFC 3948 §2.2): a datagram whose first four
// bytes are zero (the non-ESP marker) is IKE and goes to IkeSink; a one-byte
// 0xff datagram is a NAT-keepalive (RFC 3948 §2.3) and is dropped; anything
// else is ESP and is looked up by SPI. IKE messages sent from port 4500 go
// out through IkeSender with the marker prepended by the data plane.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tunnel/peer_index.hpp"
#include "tunnel/udp.hpp"

namespace ferry::ipsec {

// ESP transforms (RFC 7296 §3.3.2 transform IDs in the comments).
enum class EspCipher : uint8_t {
  kAesGcm16_128,  // ENCR_AES_GCM_16 (20), 128-bit key + 4-byte salt (RFC 4106 §8.1)
  kAesGcm16_256,  // ENCR_AES_GCM_16 (20), 256-bit key + 4-byte salt
  kAesCbc128,     // ENCR_AES_CBC (12), 128-bit key (RFC 3602)
  kAesCbc256,     // ENCR_AES_CBC (12), 256-bit key
};
enum class EspInteg : uint8_t {
  kNone,            // AEAD ciphers only
  kHmacSha256_128,  // AUTH_HMAC_SHA2_256_128 (12), RFC 4868
  kHmacSha384_192,  // AUTH_HMAC_SHA2_384_192 (13)
  kHmacSha512_256,  // AUTH_HMAC_SHA2_512_256 (14)
};

inline constexpr bool is_aead(EspCipher c) {
  return c == EspCipher::kAesGcm16_128 || c == EspCipher::kAesGcm16_256;
}
// Key material the cipher takes from KEYMAT (GCM: key then 4-byte salt, RFC 4106 §8.1).
inline constexpr size_t cipher_keymat_len(EspCipher c) {
  switch (c) {
    case EspCipher::kAesGcm16_128:
      return 16 + 4;
    case EspCipher::kAesGcm16_256:
      return 32 + 4;
    case EspCipher::kAesCbc128:
      return 16;
    case EspCipher::kAesCbc256:
      return 32;
  }
  return 0;
}
// HMAC key lengths equal the hash output (RFC 4868 §2.1.1).
inline constexpr size_t integ_keymat_len(EspInteg i) {
  switch (i) {
    case EspInteg::kNone:
      return 0;
    case EspInteg::kHmacSha256_128:
      return 32;
    case EspInteg::kHmacSha384_192:
      return 48;
    case EspInteg::kHmacSha512_256:
      return 64;
  }
  return 0;
}

// One direction of a CHILD_SA.
struct EspSaKeys {
  uint32_t spi = 0;  // RFC 4303 §2.1; inbound: chosen by us, outbound: by the peer
  EspCipher cipher = EspCipher::kAesGcm16_256;
  EspInteg integ = EspInteg::kNone;
  std::vector<uint8_t> enc_key;    // cipher_keymat_len(cipher) bytes
  std::vector<uint8_t> integ_key;  // integ_keymat_len(integ) bytes
};

// A negotiated CHILD_SA pair, as installed into the data plane.
struct ChildSaPair {
  tunnel::PeerIndex peer;      // the tunnel peer whose traffic this pair carries
  EspSaKeys in;                // peer -> us
  EspSaKeys out;               // us -> peer
  bool esn = false;            // extended sequence numbers negotiated (RFC 4304, RFC 7296 §3.3.2)
  tunnel::UdpEndpoint remote;  // where ESP-in-UDP goes (peer address, its NAT-T port)
  // Replay window in packets (RFC 4303 §3.4.3); at least 1024 (AWS's default).
  uint32_t replay_window = 1024;
};

struct EspSaStats {
  uint64_t bytes = 0, packets = 0;  // payload bytes/packets through this SA
  uint64_t replayed = 0, auth_failed = 0;
  uint64_t last_used_ns = 0;  // steady-clock ns of the last good packet; 0 = never
};

// What the IKE engine asks of the data plane. Called on the control-plane thread.
class ChildSaSink {
 public:
  virtual ~ChildSaSink() = default;
  virtual void install(const ChildSaPair& sa) = 0;
  virtual void remove(tunnel::PeerIndex peer, uint32_t inbound_spi) = 0;
  virtual void set_endpoint(tunnel::PeerIndex peer, const tunnel::UdpEndpoint& remote) = 0;
  // Counters of the SA with this inbound SPI ({} if unknown); `outbound` selects its pair's
  // outbound direction.
  virtual EspSaStats stats(uint32_t inbound_spi, bool outbound) const = 0;
};

// IKE datagrams to and from the wire, without the non-ESP marker.
class IkeSender {
 public:
  virtual ~IkeSender() = default;
  // From local port 500 (`natt` false) or 4500 (`natt` true, marker prepended).
  virtual void send_ike(std::span<const uint8_t> msg, const tunnel::UdpEndpoint& to, bool natt) = 0;
};

}  // namespace ferry::ipsec
