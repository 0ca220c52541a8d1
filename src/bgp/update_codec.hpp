// UPDATE message codec (RFC 4271 §4.3, RFC 4760, RFC 6793, RFC 7606).
//
// Decode: decode_update() parses one UPDATE body into a reusable
// DecodedUpdate (clear() keeps vector capacity, so steady-state decoding does
// not allocate per prefix). Errors are data, never exceptions: the outcome
// says whether the update is usable, must be treated as a withdrawal of all
// its NLRI (RFC 7606 §2; the codec then moves the NLRI into `withdrawn`), or
// must reset the session with `notification`. Discarded attributes are
// listed in `issues` for counting and rate-limited logging.
//
// Encode: UpdateEncoder packs many prefixes sharing one attribute set into as
// few UPDATE messages as fit the peer's maximum message size; IPv4 unicast
// prefixes go in the NLRI field, IPv6 in MP_REACH_NLRI; withdrawals likewise
// (withdrawn routes field / MP_UNREACH_NLRI). Each message is appended, header
// included, to a caller-owned byte vector.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "bgp/attributes.hpp"
#include "bgp/message.hpp"
#include "common/ip.hpp"
#include "common/result.hpp"

namespace ferry::bgp {

// Per-peer codec settings, fixed once the session is Established.
struct CodecOptions {
  bool four_octet_as = true;      // RFC 6793 capability exchanged by both
  bool extended_message = false;  // RFC 8654 capability exchanged by both
  bool ebgp = false;              // peer AS differs from local AS
  // Decode: RFC 4271 §6.3 / RFC 7606 §7.2 first-AS check for eBGP peers.
  bool enforce_first_as = false;
  uint32_t peer_as = 0;
  // Encode: next hop written for this peer, overriding attrs.next_hop and
  // attrs.next_hop_ll. For IPv6 the link-local address is sent only if
  // send_link_local (RFC 2545 §3: 32-octet next hop).
  std::optional<IpAddress> next_hop;
  std::optional<IpAddress> next_hop_ll;
  bool send_link_local = true;

  size_t max_message_size() const {
    return extended_message ? kMaxExtendedMessageLen : kMaxMessageLen;
  }
};

// RFC 7606 §2 error-handling approaches, in increasing severity.
enum class UpdateOutcome : uint8_t {
  Ok = 0,
  AttributeDiscard = 1,  // usable; some attributes were dropped (see issues)
  TreatAsWithdraw = 2,   // all NLRI moved to `withdrawn`
  SessionReset = 3,      // send `notification` and close
};
const char* outcome_name(UpdateOutcome o);

struct UpdateIssue {
  uint8_t attr_type = 0;    // 0 for errors not tied to one attribute
  UpdateOutcome action{};   // what this error alone calls for
  const char* reason = "";  // static string
};

// One decoded UPDATE, reused across messages by a session: decode_update()
// clears it (keeping capacity) and fills it; the session hands the prefixes
// and attributes to the RIB and then decodes the next message into it.
struct DecodedUpdate {
  // IPv4 withdrawn-routes field and MP_UNREACH_NLRI prefixes (any family).
  std::vector<Prefix> withdrawn;
  // IPv4 NLRI field; the next hop is attrs.next_hop (the NEXT_HOP attribute).
  std::vector<Prefix> nlri;
  // MP_REACH_NLRI prefixes; their next hop is mp_next_hop / mp_next_hop_ll.
  std::vector<Prefix> mp_nlri;
  std::optional<IpAddress> mp_next_hop;
  std::optional<IpAddress> mp_next_hop_ll;  // RFC 2545 §3 link-local
  AfiSafi mp_reach_af;                      // set when MP_REACH was present
  AfiSafi mp_unreach_af;                    // set when MP_UNREACH was present
  PathAttributes attrs;
  bool has_attributes = false;  // any path attribute besides MP_(UN)REACH

  UpdateOutcome outcome = UpdateOutcome::Ok;
  Notification notification;  // when outcome == SessionReset
  std::vector<UpdateIssue> issues;
  // RFC 4724 §2 End-of-RIB marker for this family.
  std::optional<Family> end_of_rib;

  void clear();
  // attrs with next_hop/next_hop_ll replaced by the MP_REACH next hop: the
  // attribute set that applies to mp_nlri.
  PathAttributes mp_attrs() const;
};

// body: the UPDATE after the 19-octet header. out is cleared first.
void decode_update(std::span<const uint8_t> body, const CodecOptions& opt, DecodedUpdate& out);

// Attribute codec pieces, exposed for tests and for Adj-RIB-Out sizing.
// Appends the encoded path attributes (not MP_REACH/MP_UNREACH) for peer opt.
// with_next_hop: write the NEXT_HOP attribute (IPv4 NLRI in the body).
void encode_path_attributes(const PathAttributes& a, const CodecOptions& opt, bool with_next_hop,
                            std::vector<uint8_t>& out);

// Packs prefixes into UPDATEs for one peer. Input: one attribute set and
// its prefixes (from the Adj-RIB-Out); output: complete messages appended
// to the caller's send buffer. The attributes are encoded once per call into
// a reused scratch buffer and copied into each message. One per session;
// not thread-safe.
class UpdateEncoder {
 public:
  explicit UpdateEncoder(CodecOptions opt = {}) : opt_(std::move(opt)) {}
  void set_options(CodecOptions opt) { opt_ = std::move(opt); }
  const CodecOptions& options() const { return opt_; }

  // Appends UPDATEs announcing prefixes (any mix of families) with attrs.
  // Next hop per family: CodecOptions::next_hop if of that family, else
  // attrs.next_hop if of that family; IPv4 prefixes with only an IPv6 next
  // hop go in MP_REACH with AFI 1 (RFC 8950, caller checks the capability).
  // Returns the number of messages written, or an error (and appends
  // nothing) if the attributes alone do not fit a message or a family has no
  // usable next hop.
  Result<size_t> announce(const PathAttributes& attrs, std::span<const Prefix> prefixes,
                          std::vector<uint8_t>& out);
  // Appends UPDATEs withdrawing prefixes; returns the number of messages.
  size_t withdraw(std::span<const Prefix> prefixes, std::vector<uint8_t>& out);
  // RFC 4724 §2 End-of-RIB for a family.
  void end_of_rib(Family f, std::vector<uint8_t>& out);

 private:
  CodecOptions opt_;
  std::vector<uint8_t> attr_buf_;
};

}  // namespace ferry::bgp
