// BGP-4 message framing and the small messages (RFC 4271 §4).
//
// Data flow: the session appends bytes read from TCP to a MessageFramer,
// then calls next() until it returns NeedMore. Each Frame is a view of one
// complete, header-checked message inside the framer's buffer, valid until
// the next append()/prepare(). The body is handed to decode_open,
// decode_update (update_codec.hpp), decode_notification or
// decode_route_refresh. A framing error yields the NOTIFICATION to send
// (RFC 4271 §6.1); after it the stream is unusable.
//
// Encoders append a complete message (header included) to a caller-owned
// vector, so a session can batch many messages into one write.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bgp/capabilities.hpp"
#include "common/bytes.hpp"
#include "common/types.hpp"

namespace ferry::bgp {

// RFC 4271 §4.1.
constexpr size_t kHeaderLen = 19;
constexpr size_t kMarkerLen = 16;
constexpr size_t kMaxMessageLen = 4096;
// RFC 8654 §4: with the Extended Message capability exchanged, every
// message except OPEN and KEEPALIVE may be this long.
constexpr size_t kMaxExtendedMessageLen = 65535;
constexpr uint8_t kBgpVersion = 4;

enum class MessageType : uint8_t {
  Open = 1,
  Update = 2,
  Notification = 3,
  Keepalive = 4,
  RouteRefresh = 5,  // RFC 2918
};

// ---------------------------------------------------------------------------
// NOTIFICATION (RFC 4271 §4.5, §6) error codes and subcodes.
enum ErrorCode : uint8_t {
  kErrMessageHeader = 1,
  kErrOpen = 2,
  kErrUpdate = 3,
  kErrHoldTimerExpired = 4,
  kErrFsm = 5,
  kErrCease = 6,
  kErrRouteRefresh = 7,  // RFC 7313 §5
};

// Code 1 (§6.1).
constexpr uint8_t kSubConnectionNotSynchronized = 1;
constexpr uint8_t kSubBadMessageLength = 2;
constexpr uint8_t kSubBadMessageType = 3;
// Code 2 (§6.2; RFC 5492; RFC 7607 for 0).
constexpr uint8_t kSubOpenUnspecific = 0;
constexpr uint8_t kSubUnsupportedVersion = 1;
constexpr uint8_t kSubBadPeerAs = 2;
constexpr uint8_t kSubBadBgpIdentifier = 3;
constexpr uint8_t kSubUnsupportedOptionalParam = 4;
constexpr uint8_t kSubAuthenticationFailure = 5;  // deprecated
constexpr uint8_t kSubUnacceptableHoldTime = 6;
constexpr uint8_t kSubUnsupportedCapability = 7;  // RFC 5492 §5
constexpr uint8_t kSubRoleMismatch = 11;          // RFC 9234
// Code 3 (§6.3).
constexpr uint8_t kSubMalformedAttributeList = 1;
constexpr uint8_t kSubUnrecognizedWellKnown = 2;
constexpr uint8_t kSubMissingWellKnown = 3;
constexpr uint8_t kSubAttributeFlagsError = 4;
constexpr uint8_t kSubAttributeLengthError = 5;
constexpr uint8_t kSubInvalidOrigin = 6;
constexpr uint8_t kSubAsRoutingLoop = 7;  // deprecated
constexpr uint8_t kSubInvalidNextHop = 8;
constexpr uint8_t kSubOptionalAttributeError = 9;
constexpr uint8_t kSubInvalidNetworkField = 10;
constexpr uint8_t kSubMalformedAsPath = 11;
// Code 5 (RFC 6608).
constexpr uint8_t kSubFsmUnspecified = 0;
constexpr uint8_t kSubFsmUnexpectedInOpenSent = 1;
constexpr uint8_t kSubFsmUnexpectedInOpenConfirm = 2;
constexpr uint8_t kSubFsmUnexpectedInEstablished = 3;
// Code 6 Cease (RFC 4486 §4; RFC 8538; RFC 9384).
constexpr uint8_t kSubMaxPrefixes = 1;
constexpr uint8_t kSubAdminShutdown = 2;
constexpr uint8_t kSubPeerDeconfigured = 3;
constexpr uint8_t kSubAdminReset = 4;
constexpr uint8_t kSubConnectionRejected = 5;
constexpr uint8_t kSubOtherConfigChange = 6;
constexpr uint8_t kSubConnectionCollision = 7;
constexpr uint8_t kSubOutOfResources = 8;
constexpr uint8_t kSubHardReset = 9;
constexpr uint8_t kSubBfdDown = 10;
// Code 7 (RFC 7313 §5).
constexpr uint8_t kSubInvalidRouteRefreshLength = 1;

// "Cease" / "Administrative Shutdown"; "Unknown" for unassigned values.
const char* error_code_name(uint8_t code);
const char* error_subcode_name(uint8_t code, uint8_t subcode);

struct Notification {
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::vector<uint8_t> data;

  // RFC 8203/9003: Cease/Admin Shutdown or Admin Reset may carry a
  // length-prefixed UTF-8 message of at most 255 octets.
  static Notification shutdown(uint8_t subcode, std::string_view reason);
  // The shutdown communication, if this is a Cease 2/4 carrying a well-formed
  // one (length fits the data, valid UTF-8).
  std::optional<std::string> shutdown_message() const;
  // "Cease/Administrative Shutdown (data 3 bytes)" for logs and ferryctl.
  std::string describe() const;

  // RFC 8538 §3: Cease/Hard Reset, whose data is the NOTIFICATION it stands
  // for (code, subcode, data).
  static Notification hard_reset(const Notification& inner);
  bool is_hard_reset() const { return code == kErrCease && subcode == kSubHardReset; }
  // The NOTIFICATION a Hard Reset carries (nullopt if not one or too short).
  std::optional<Notification> hard_reset_inner() const;
  // RFC 8538 §5: which Cease subcodes ask for a full reset (routes flushed)
  // rather than a graceful restart when both sides set the N bit.
  bool wants_hard_reset() const;
  bool operator==(const Notification&) const = default;
};

// Body = everything after the 19-byte header. A body shorter than 2 octets
// cannot reach here through the framer; decode is total otherwise.
Notification decode_notification(std::span<const uint8_t> body);
void encode_notification(const Notification& n, std::vector<uint8_t>& out);

// ---------------------------------------------------------------------------
// Framing.

struct Frame {
  MessageType type{};
  std::span<const uint8_t> message;  // header + body
  std::span<const uint8_t> body;     // after the 19-octet header
};

enum class FrameStatus { Ok, NeedMore, Error };

// Checks one message at the start of buf (RFC 4271 §4.1, §6.1). On Ok, frame
// and consumed are set; on Error, err holds the NOTIFICATION to send.
// max_len is kMaxMessageLen or kMaxExtendedMessageLen; OPEN and KEEPALIVE
// are always held to 4096.
FrameStatus parse_frame(std::span<const uint8_t> buf, size_t max_len, Frame& frame,
                        size_t& consumed, Notification& err);

// Accumulating framer over a TCP byte stream. Bytes go in with append() or
// prepare()/commit(); next() hands out header-checked messages as views into
// the framer's own buffer, which is compacted lazily and reused, so a steady
// session does not allocate. The first framing error is sticky.
class MessageFramer {
 public:
  explicit MessageFramer(size_t max_len = kMaxMessageLen) : max_len_(max_len) {}
  // Call with kMaxExtendedMessageLen once RFC 8654 is negotiated.
  void set_max_length(size_t max_len) { max_len_ = max_len; }

  void append(std::span<const uint8_t> bytes);
  // Space to read into directly (avoids a copy): write at most n bytes at
  // the returned pointer, then commit(k) with the count read.
  uint8_t* prepare(size_t n);
  void commit(size_t n);

  // The next complete message, or NeedMore, or Error (then err is set and
  // the framer stays in error).
  FrameStatus next(Frame& frame, Notification& err);
  size_t buffered() const { return end_ - start_; }

 private:
  std::vector<uint8_t> buf_;
  size_t start_ = 0;  // consumed prefix of buf_, compacted lazily
  size_t end_ = 0;    // end of received data; buf_ may be larger (prepare())
  size_t max_len_;
  bool failed_ = false;
  Notification error_;
};

// Writes the marker, length and type of a message whose body the caller
// appends next; finish_message() patches the length. Returns the offset of
// the message start.
size_t begin_message(MessageType t, std::vector<uint8_t>& out);
void finish_message(size_t start, std::vector<uint8_t>& out);

// ---------------------------------------------------------------------------
// KEEPALIVE (§4.4): header only.
void encode_keepalive(std::vector<uint8_t>& out);

// ---------------------------------------------------------------------------
// OPEN (§4.2) with capabilities (RFC 5492).
struct OpenMessage {
  uint8_t version = kBgpVersion;
  uint16_t my_as = 0;  // the 2-octet field; AS_TRANS for a 4-octet ASN
  uint16_t hold_time = 0;
  RouterId bgp_id;
  Capabilities caps;
  // Optional parameters of other types, only recorded for diagnostics.
  std::vector<uint8_t> other_param_types;

  // The speaker's ASN: the 4-octet AS capability if present (RFC 6793 §4).
  uint32_t asn() const { return caps.four_octet_as ? *caps.four_octet_as : my_as; }
  bool operator==(const OpenMessage&) const = default;
};

// Builds the 2-octet My AS field for asn (AS_TRANS if it does not fit).
uint16_t open_my_as(uint32_t asn);

// Decodes an OPEN body. Syntax errors give the NOTIFICATION to send:
// 2/1 (version, data = 2-octet highest supported version), 2/3 (identifier
// zero), 2/4 (unsupported optional parameter), 2/6 (hold time 1 or 2),
// 2/0 (malformed capability), 1/2 (truncated body).
std::optional<Notification> decode_open(std::span<const uint8_t> body, OpenMessage& out);
void encode_open(const OpenMessage& m, std::vector<uint8_t>& out);

// What the local configuration expects of the peer's OPEN.
struct OpenPolicy {
  uint32_t local_as = 0;
  RouterId local_id;
  std::optional<uint32_t> peer_as;   // unset: accept any (not 0 or AS_TRANS)
  uint16_t min_hold_time = 3;        // non-zero hold times below this → 2/6
  bool allow_zero_hold_time = true;  // hold time 0 disables keepalives
  // Capabilities the local speaker requires; if the peer lacks one, 2/7 is
  // sent with the missing capabilities as data (RFC 5492 §5).
  std::vector<AfiSafi> required_families;
  bool require_four_octet_as = false;
};

// Semantic checks after decode: 2/2 bad peer AS (mismatch, 0, or 4-octet
// capability inconsistent with My AS), 2/3 identifier equal to ours on an
// iBGP session (RFC 6286 §2.2), 2/6 hold time, 2/7 missing capability.
std::optional<Notification> validate_open(const OpenMessage& m, const OpenPolicy& policy);

// What both sides agreed on, from our OPEN and theirs.
struct Negotiated {
  bool four_octet_as = false;
  bool extended_message = false;
  bool route_refresh = false;
  bool enhanced_route_refresh = false;
  uint16_t hold_time = 0;         // min of both (RFC 4271 §4.2)
  std::vector<AfiSafi> families;  // intersection; IPv4 unicast if neither sent MP
};
Negotiated negotiate(const OpenMessage& local, const OpenMessage& remote);

// ---------------------------------------------------------------------------
// ROUTE-REFRESH (RFC 2918 §3, RFC 7313 §3.2).
enum class RefreshSubtype : uint8_t { Normal = 0, BeginOfRibRefresh = 1, EndOfRibRefresh = 2 };

struct RouteRefresh {
  AfiSafi af;
  RefreshSubtype subtype = RefreshSubtype::Normal;
  bool operator==(const RouteRefresh&) const = default;
};

enum class RefreshDecode { Ok, Ignore, Error };
// Length other than 4 → Error with 7/1 (data = the whole message, RFC 7313
// §5); unknown subtype → Ignore.
RefreshDecode decode_route_refresh(std::span<const uint8_t> message_with_header, RouteRefresh& out,
                                   Notification& err);
void encode_route_refresh(const RouteRefresh& r, std::vector<uint8_t>& out);

}  // namespace ferry::bgp
