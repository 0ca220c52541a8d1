// Proposals (RFC 7296 §3.3): strongSwan-style proposal strings from the
// configuration ("aes256gcm16-prfsha256-ecp256", "aes128-sha256-modp2048"),
// their SA payload form, and the responder's choice among the initiator's
// proposals (§2.7: exactly one transform of each type is answered).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ike/crypto.hpp"
#include "ike/message.hpp"

namespace ferry::ike {

// Parses one proposal string for `protocol` (kProtoIke or kProtoEsp). IKE needs an
// encryption algorithm, a PRF (implied by the integrity algorithm if absent) and a DH
// group; ESP an encryption algorithm (plus integrity unless AEAD) and optionally a DH
// group (PFS in CREATE_CHILD_SA, §1.3.1).
Result<Suite> parse_proposal(const std::string& s, uint8_t protocol);
Result<std::vector<Suite>> parse_proposals(const std::vector<std::string>& ss, uint8_t protocol);

// One Proposal substructure offering exactly `s` (DH left out when `with_dh` is false:
// the CHILD_SA of IKE_AUTH has no KE, RFC 7296 §1.2).
Proposal to_proposal(const Suite& s, uint8_t protocol, uint8_t num, Bytes spi, bool with_dh);

// The initiator's SA payload for a set of suites, numbered from 1 (§3.3.1).
std::vector<Proposal> to_proposals(const std::vector<Suite>& ss, uint8_t protocol, const Bytes& spi,
                                   bool with_dh);

struct Selected {
  Suite suite;
  Proposal answer;  // the single-transform proposal the responder returns
  Bytes peer_spi;   // the SPI the initiator put in its chosen proposal
};
// Responder: the first of the initiator's proposals (its order of preference) that one of
// ours matches. `ignore_dh` for the CHILD_SA in IKE_AUTH.
std::optional<Selected> select_proposal(const std::vector<Proposal>& offered,
                                        const std::vector<Suite>& ours, uint8_t protocol,
                                        bool ignore_dh);
// Initiator: the responder's answer must be one proposal, one transform per type, that
// we offered (§2.7); returns what it chose.
std::optional<Suite> accept_answer(const std::vector<Proposal>& answer,
                                   const std::vector<Suite>& ours, uint8_t protocol,
                                   bool ignore_dh);

}  // namespace ferry::ike
