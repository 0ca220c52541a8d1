// IKE_AUTH authentication data (RFC 7296 §2.15): the octets each side signs
// or MACs, and the shared-key MIC.
#pragma once

#include <span>

#include "ike/crypto.hpp"

namespace ferry::ike {

// <SignedOctets> = RealMessage | NonceData | prf(SK_p, RestOfIDPayload) (§2.15): for the
// initiator RealMessage1 | Nr | prf(SK_pi, IDi'), for the responder RealMessage2 | Ni |
// prf(SK_pr, IDr'). `id_body` is the ID payload body (type, reserved, data).
Bytes signed_octets(uint16_t prf_id, std::span<const uint8_t> real_message,
                    std::span<const uint8_t> peer_nonce, std::span<const uint8_t> sk_p,
                    std::span<const uint8_t> id_body);

// AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>) (§2.15).
Bytes psk_auth(uint16_t prf_id, std::span<const uint8_t> psk, std::span<const uint8_t> octets);

// Constant-time comparison of a received AUTH value.
bool auth_equal(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace ferry::ike
