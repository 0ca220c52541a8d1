#include "bgp/message.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace ferry::bgp {

// ---------------------------------------------------------------------------
// NOTIFICATION names (RFC 4271 §4.5, RFC 4486, RFC 5492, RFC 6608, RFC 7313).

const char* error_code_name(uint8_t code) {
  switch (code) {
    case kErrMessageHeader:
      return "Message Header Error";
    case kErrOpen:
      return "OPEN Message Error";
    case kErrUpdate:
      return "UPDATE Message Error";
    case kErrHoldTimerExpired:
      return "Hold Timer Expired";
    case kErrFsm:
      return "Finite State Machine Error";
    case kErrCease:
      return "Cease";
    case kErrRouteRefresh:
      return "ROUTE-REFRESH Message Error";
  }
  return "Unknown";
}

const char* error_subcode_name(uint8_t code, uint8_t sub) {
  switch (code) {
    case kErrMessageHeader:
      switch (sub) {
        case kSubConnectionNotSynchronized:
          return "Connection Not Synchronized";
        case kSubBadMessageLength:
          return "Bad Message Length";
        case kSubBadMessageType:
          return "Bad Message Type";
      }
      break;
    case kErrOpen:
      switch (sub) {
        case kSubOpenUnspecific:
          return "Unspecific";
        case kSubUnsupportedVersion:
          return "Unsupported Version Number";
        case kSubBadPeerAs:
          return "Bad Peer AS";
        case kSubBadBgpIdentifier:
          return "Bad BGP Identifier";
        case kSubUnsupportedOptionalParam:
          return "Unsupported Optional Parameter";
        case kSubAuthenticationFailure:
          return "Authentication Failure";
        case kSubUnacceptableHoldTime:
          return "Unacceptable Hold Time";
        case kSubUnsupportedCapability:
          return "Unsupported Capability";
        case kSubRoleMismatch:
          return "Role Mismatch";
      }
      break;
    case kErrUpdate:
      switch (sub) {
        case kSubMalformedAttributeList:
          return "Malformed Attribute List";
        case kSubUnrecognizedWellKnown:
          return "Unrecognized Well-known Attribute";
        case kSubMissingWellKnown:
          return "Missing Well-known Attribute";
        case kSubAttributeFlagsError:
          return "Attribute Flags Error";
        case kSubAttributeLengthError:
          return "Attribute Length Error";
        case kSubInvalidOrigin:
          return "Invalid ORIGIN Attribute";
        case kSubAsRoutingLoop:
          return "AS Routing Loop";
        case kSubInvalidNextHop:
          return "Invalid NEXT_HOP Attribute";
        case kSubOptionalAttributeError:
          return "Optional Attribute Error";
        case kSubInvalidNetworkField:
          return "Invalid Network Field";
        case kSubMalformedAsPath:
          return "Malformed AS_PATH";
      }
      break;
    case kErrHoldTimerExpired:
      if (sub == 0) return "Unspecific";
      break;
    case kErrFsm:
      switch (sub) {
        case kSubFsmUnspecified:
          return "Unspecified Error";
        case kSubFsmUnexpectedInOpenSent:
          return "Receive Unexpected Message in OpenSent State";
        case kSubFsmUnexpectedInOpenConfirm:
          return "Receive Unexpected Message in OpenConfirm State";
        case kSubFsmUnexpectedInEstablished:
          return "Receive Unexpected Message in Established State";
      }
      break;
    case kErrCease:
      switch (sub) {
        case kSubMaxPrefixes:
          return "Maximum Number of Prefixes Reached";
        case kSubAdminShutdown:
          return "Administrative Shutdown";
        case kSubPeerDeconfigured:
          return "Peer De-configured";
        case kSubAdminReset:
          return "Administrative Reset";
        case kSubConnectionRejected:
          return "Connection Rejected";
        case kSubOtherConfigChange:
          return "Other Configuration Change";
        case kSubConnectionCollision:
          return "Connection Collision Resolution";
        case kSubOutOfResources:
          return "Out of Resources";
        case kSubHardReset:
          return "Hard Reset";
        case kSubBfdDown:
          return "BFD Down";
      }
      break;
    case kErrRouteRefresh:
      if (sub == kSubInvalidRouteRefreshLength) return "Invalid Message Length";
      break;
  }
  return "Unknown";
}

namespace {

// Length of the UTF-8 sequence starting at s[i] if well-formed (RFC 3629 §4),
// else 0.
size_t utf8_seq_len(std::string_view s, size_t i) {
  const auto c = static_cast<uint8_t>(s[i]);
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t cp = c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_seq_len(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace

Notification Notification::shutdown(uint8_t subcode, std::string_view reason) {
  Notification n;
  n.code = kErrCease;
  n.subcode = subcode;
  // RFC 9003 §2: at most 255 octets; cut at a character boundary.
  size_t len = 0;
  while (len < reason.size()) {
    size_t k = utf8_seq_len(reason, len);
    if (k == 0 || len + k > 255) break;
    len += k;
  }
  if (len > 0) {
    // Sized once, then filled (GCC 12 misreports push_back + insert here).
    n.data.resize(1 + len);
    n.data[0] = static_cast<uint8_t>(len);
    std::memcpy(n.data.data() + 1, reason.data(), len);
  }
  return n;
}

std::optional<std::string> Notification::shutdown_message() const {
  if (code != kErrCease || (subcode != kSubAdminShutdown && subcode != kSubAdminReset))
    return std::nullopt;
  // RFC 9003 §2: Length (1 octet) followed by that many octets of UTF-8.
  ByteReader r(data.data(), data.size());
  auto len = r.u8();
  if (!len) return std::nullopt;
  auto text = r.bytes(*len);
  if (!text) return std::nullopt;
  std::string s(text->begin(), text->end());
  if (!valid_utf8(s)) return std::nullopt;
  return s;
}

std::string Notification::describe() const {
  if (auto inner = hard_reset_inner()) return "Cease/Hard Reset (" + inner->describe() + ")";
  std::string s = error_code_name(code);
  s += "/";
  s += error_subcode_name(code, subcode);
  if (auto msg = shutdown_message()) {
    s += ": \"" + *msg + "\"";
  } else if (!data.empty()) {
    s += " (data";
    char hex[4];
    for (size_t i = 0; i < data.size() && i < 32; ++i) {
      std::snprintf(hex, sizeof hex, " %02x", data[i]);
      s += hex;
    }
    if (data.size() > 32) s += " ...";
    s += ")";
  }
  return s;
}

Notification Notification::hard_reset(const Notification& inner) {
  Notification n;
  n.code = kErrCease;
  n.subcode = kSubHardReset;
  // RFC 8538 §3: "the Data field ... the encapsulated NOTIFICATION's
  // Error Code, Error Subcode and Data".
  n.data.push_back(inner.code);
  n.data.push_back(inner.subcode);
  n.data.insert(n.data.end(), inner.data.begin(), inner.data.end());
  return n;
}

std::optional<Notification> Notification::hard_reset_inner() const {
  if (!is_hard_reset() || data.size() < 2) return std::nullopt;
  Notification in;
  in.code = data[0];
  in.subcode = data[1];
  in.data.assign(data.begin() + 2, data.end());
  return in;
}

bool Notification::wants_hard_reset() const {
  if (code != kErrCease) return false;
  // RFC 8538 §5: Maximum Number of Prefixes Reached, Administrative
  // Shutdown, Peer De-configured and (operator's choice, here: yes, as
  // `clear neighbor` is an explicit request) Administrative Reset.
  switch (subcode) {
    case kSubMaxPrefixes:
    case kSubAdminShutdown:
    case kSubPeerDeconfigured:
    case kSubAdminReset:
    case kSubHardReset:
      return true;
    default:
      return false;
  }
}

Notification decode_notification(std::span<const uint8_t> body) {
  // RFC 4271 §4.5: Error code (1), Error subcode (1), Data (variable).
  Notification n;
  ByteReader r(body);
  n.code = r.u8().value_or(0);
  n.subcode = r.u8().value_or(0);
  auto rest = r.rest();
  n.data.assign(rest.begin(), rest.end());
  return n;
}

size_t begin_message(MessageType t, std::vector<uint8_t>& out) {
  // RFC 4271 §4.1: Marker (16 octets of ones), Length (2), Type (1).
  const size_t start = out.size();
  out.insert(out.end(), kMarkerLen, 0xff);
  ByteWriter w(out);
  w.u16(0);
  w.u8(static_cast<uint8_t>(t));
  return start;
}

void finish_message(size_t start, std::vector<uint8_t>& out) {
  ByteWriter w(out);
  w.patch_u16(start + kMarkerLen, static_cast<uint16_t>(out.size() - start));
}

void encode_notification(const Notification& n, std::vector<uint8_t>& out) {
  const size_t start = begin_message(MessageType::Notification, out);
  ByteWriter w(out);
  w.u8(n.code);
  w.u8(n.subcode);
  // Data is cut so the message stays within 4096 octets (RFC 4271 §4.1).
  w.bytes(n.data.data(), std::min(n.data.size(), kMaxMessageLen - kHeaderLen - 2));
  finish_message(start, out);
}

void encode_keepalive(std::vector<uint8_t>& out) {
  finish_message(begin_message(MessageType::Keepalive, out), out);
}

// ---------------------------------------------------------------------------
// Framing (RFC 4271 §4.1, §6.1; RFC 8654 §4).

namespace {

Notification header_error(uint8_t sub, std::span<const uint8_t> data) {
  Notification n;
  n.code = kErrMessageHeader;
  n.subcode = sub;
  n.data.assign(data.begin(), data.end());
  return n;
}

}  // namespace

FrameStatus parse_frame(std::span<const uint8_t> buf, size_t max_len, Frame& frame,
                        size_t& consumed, Notification& err) {
  if (buf.size() < kHeaderLen) return FrameStatus::NeedMore;
  ByteReader r(buf);
  // Marker: all ones (§4.1); otherwise Connection Not Synchronized (§6.1).
  auto marker = *r.bytes(kMarkerLen);
  if (std::any_of(marker.begin(), marker.end(), [](uint8_t b) { return b != 0xff; })) {
    err = header_error(kSubConnectionNotSynchronized, {});
    return FrameStatus::Error;
  }
  const auto len_field = buf.subspan(kMarkerLen, 2);
  const uint16_t len = *r.u16();
  const uint8_t type = *r.u8();
  // §6.1: Bad Message Length carries the erroneous Length field as data.
  auto bad_length = [&] {
    err = header_error(kSubBadMessageLength, len_field);
    return FrameStatus::Error;
  };
  if (len < kHeaderLen || len > max_len) return bad_length();
  switch (static_cast<MessageType>(type)) {
    case MessageType::Open:  // §4.2: at least 29 octets; RFC 8654 §4: ≤ 4096
      if (len < 29 || len > kMaxMessageLen) return bad_length();
      break;
    case MessageType::Update:  // §4.3: at least 23 octets
      if (len < 23) return bad_length();
      break;
    case MessageType::Notification:  // §4.5: at least 21 octets
      if (len < 21) return bad_length();
      break;
    case MessageType::Keepalive:  // §4.4: exactly 19 octets
      if (len != kHeaderLen) return bad_length();
      break;
    case MessageType::RouteRefresh:  // length checked by decode (RFC 7313 §5)
      break;
    default:
      // §6.1: Bad Message Type carries the erroneous Type field.
      err = header_error(kSubBadMessageType, buf.subspan(kMarkerLen + 2, 1));
      return FrameStatus::Error;
  }
  if (buf.size() < len) return FrameStatus::NeedMore;
  frame.type = static_cast<MessageType>(type);
  frame.message = buf.first(len);
  frame.body = buf.subspan(kHeaderLen, len - kHeaderLen);
  consumed = len;
  return FrameStatus::Ok;
}

void MessageFramer::append(std::span<const uint8_t> bytes) {
  std::copy(bytes.begin(), bytes.end(), prepare(bytes.size()));
  commit(bytes.size());
}

uint8_t* MessageFramer::prepare(size_t n) {
  // Compact: move the unconsumed tail to the front once it is worth it.
  if (start_ > 0 && (start_ == end_ || start_ >= buf_.size() / 2)) {
    std::copy(buf_.begin() + static_cast<ptrdiff_t>(start_),
              buf_.begin() + static_cast<ptrdiff_t>(end_), buf_.begin());
    end_ -= start_;
    start_ = 0;
  }
  if (buf_.size() < end_ + n) buf_.resize(end_ + n);
  return buf_.data() + end_;
}

void MessageFramer::commit(size_t n) {
  end_ = std::min(end_ + n, buf_.size());
}

FrameStatus MessageFramer::next(Frame& frame, Notification& err) {
  if (failed_) {
    err = error_;
    return FrameStatus::Error;
  }
  size_t consumed = 0;
  auto st = parse_frame(std::span<const uint8_t>(buf_.data() + start_, end_ - start_), max_len_,
                        frame, consumed, err);
  if (st == FrameStatus::Ok) {
    start_ += consumed;
  } else if (st == FrameStatus::Error) {
    failed_ = true;
    error_ = err;
  }
  return st;
}

// ---------------------------------------------------------------------------
// OPEN (RFC 4271 §4.2, RFC 5492 §4, RFC 9072).

namespace {

Notification open_error(uint8_t sub, std::vector<uint8_t> data = {}) {
  Notification n;
  n.code = kErrOpen;
  n.subcode = sub;
  n.data = std::move(data);
  return n;
}

constexpr uint8_t kParamCapabilities = 2;      // RFC 5492 §4
constexpr uint8_t kParamExtendedLength = 255;  // RFC 9072 §2

}  // namespace

uint16_t open_my_as(uint32_t asn) {
  return asn > 0xffff ? static_cast<uint16_t>(Asn::trans().value()) : static_cast<uint16_t>(asn);
}

std::optional<Notification> decode_open(std::span<const uint8_t> body, OpenMessage& out) {
  out = OpenMessage{};
  ByteReader r(body);
  // Version (1), My Autonomous System (2), Hold Time (2), BGP Identifier (4),
  // Optional Parameters Length (1).
  auto version = r.u8();
  auto my_as = r.u16();
  auto hold = r.u16();
  auto id = r.u32();
  auto opt_len = r.u8();
  if (!opt_len) {
    Notification n;
    n.code = kErrMessageHeader;
    n.subcode = kSubBadMessageLength;
    return n;
  }
  out.version = *version;
  out.my_as = *my_as;
  out.hold_time = *hold;
  out.bgp_id = RouterId(*id);
  // §6.2: the data is the largest locally supported version (2 octets).
  if (out.version != kBgpVersion) return open_error(kSubUnsupportedVersion, {0, kBgpVersion});

  // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 means a
  // 2-octet Extended Opt. Parm. Length and 2-octet parameter lengths.
  bool extended = false;
  size_t params_len = *opt_len;
  if (*opt_len == kParamExtendedLength && r.peek_u8() == kParamExtendedLength) {
    r.skip(1);
    auto ext_len = r.u16();
    if (!ext_len) return open_error(kSubOpenUnspecific);
    extended = true;
    params_len = *ext_len;
  }
  auto params = r.sub(params_len);
  if (!params || !r.empty()) return open_error(kSubOpenUnspecific);
  while (!params->empty()) {
    // Parm. Type (1), Parm. Length (1, or 2 with RFC 9072), Parm. Value.
    auto type = params->u8();
    std::optional<uint16_t> plen;
    if (extended) {
      plen = params->u16();
    } else if (auto l = params->u8()) {
      plen = *l;
    }
    if (!type || !plen) return open_error(kSubOpenUnspecific);
    auto value = params->sub(*plen);
    if (!value) return open_error(kSubOpenUnspecific);
    if (*type != kParamCapabilities) {
      // §6.2: an unrecognized optional parameter → Unsupported Optional Parameter.
      out.other_param_types.push_back(*type);
      return open_error(kSubUnsupportedOptionalParam);
    }
    // §6.2: a recognized but malformed parameter → subcode 0 (Unspecific).
    if (!decode_capabilities(*value, out.caps)) return open_error(kSubOpenUnspecific);
  }
  // §6.2: hold time 1 or 2 seconds MUST be rejected.
  if (out.hold_time == 1 || out.hold_time == 2) return open_error(kSubUnacceptableHoldTime);
  // RFC 6286 §2.2: the identifier is a non-zero 4-octet unsigned integer.
  if (out.bgp_id.value() == 0) return open_error(kSubBadBgpIdentifier);
  return std::nullopt;
}

void encode_open(const OpenMessage& m, std::vector<uint8_t>& out) {
  const size_t start = begin_message(MessageType::Open, out);
  ByteWriter w(out);
  w.u8(m.version);
  w.u16(m.my_as);
  w.u16(m.hold_time);
  w.u32(m.bgp_id.value());
  const size_t opt_len_at = w.placeholder_u8();
  // One capabilities parameter (type 2) per capability, as most speakers do
  // and as RFC 5492 §4 allows; keeps every parameter length below 256.
  std::vector<uint8_t> caps;
  ByteWriter cw(caps);
  encode_capabilities(m.caps, cw);
  ByteReader cr(caps.data(), caps.size());
  while (!cr.empty()) {
    cr.skip(1);
    const size_t clen = *cr.u8();
    cr.skip(clen);
    const uint8_t* cap = cr.data() - clen - 2;
    w.u8(kParamCapabilities);
    w.u8(static_cast<uint8_t>(clen + 2));
    w.bytes(cap, clen + 2);
  }
  const size_t opt_len = out.size() - opt_len_at - 1;
  if (opt_len < kParamExtendedLength) {
    w.patch_u8(opt_len_at, static_cast<uint8_t>(opt_len));
  } else {
    // RFC 9072 §2: switch to extended parameters; rewrite them with 2-octet
    // lengths after the 255/255/length prefix.
    out.resize(opt_len_at);
    w.u8(kParamExtendedLength);
    w.u8(kParamExtendedLength);
    const size_t ext_len_at = w.placeholder_u16();
    ByteReader cr2(caps.data(), caps.size());
    while (!cr2.empty()) {
      cr2.skip(1);
      const size_t clen = *cr2.u8();
      cr2.skip(clen);
      w.u8(kParamCapabilities);
      w.u16(static_cast<uint16_t>(clen + 2));
      w.bytes(cr2.data() - clen - 2, clen + 2);
    }
    w.patch_u16(ext_len_at, static_cast<uint16_t>(out.size() - ext_len_at - 2));
  }
  finish_message(start, out);
}

std::optional<Notification> validate_open(const OpenMessage& m, const OpenPolicy& policy) {
  const uint32_t asn = m.asn();
  const uint32_t as_trans = Asn::trans().value();
  // RFC 7607 §2: AS 0 → Bad Peer AS. RFC 6793 §4.1: a 4-octet speaker puts
  // AS_TRANS in My AS when its ASN does not fit, its real ASN otherwise.
  if (asn == 0 || m.my_as == 0) return open_error(kSubBadPeerAs);
  if (m.caps.four_octet_as) {
    const uint16_t expect = open_my_as(asn);
    if (m.my_as != expect && m.my_as != as_trans) return open_error(kSubBadPeerAs);
    if (asn == as_trans) return open_error(kSubBadPeerAs);
  } else if (policy.peer_as && *policy.peer_as > 0xffff) {
    // A 2-octet speaker cannot be the configured 4-octet peer AS.
    return open_error(kSubBadPeerAs);
  }
  if (policy.peer_as && asn != *policy.peer_as) return open_error(kSubBadPeerAs);
  if (!policy.peer_as && asn == as_trans) return open_error(kSubBadPeerAs);

  // RFC 6286 §2.2: on an iBGP session the identifiers must differ.
  if (asn == policy.local_as && m.bgp_id == policy.local_id)
    return open_error(kSubBadBgpIdentifier);

  if (m.hold_time == 0 ? !policy.allow_zero_hold_time : m.hold_time < policy.min_hold_time)
    return open_error(kSubUnacceptableHoldTime);

  // RFC 5492 §5: data lists the capabilities we need and did not get.
  std::vector<uint8_t> missing;
  ByteWriter w(missing);
  for (const auto& af : policy.required_families) {
    const bool implied_v4 =
        m.caps.multiprotocol.empty() && af == AfiSafi{1, 1};  // RFC 4760 §8 default
    if (m.caps.supports(af) || implied_v4) continue;
    w.u8(kCapMultiprotocol);
    w.u8(4);
    w.u16(af.afi);
    w.u8(0);
    w.u8(af.safi);
  }
  if (policy.require_four_octet_as && !m.caps.four_octet_as) {
    w.u8(kCapFourOctetAs);
    w.u8(4);
    w.u32(policy.local_as);
  }
  if (!missing.empty()) return open_error(kSubUnsupportedCapability, std::move(missing));
  return std::nullopt;
}

Negotiated negotiate(const OpenMessage& local, const OpenMessage& remote) {
  Negotiated n;
  n.four_octet_as = local.caps.four_octet_as && remote.caps.four_octet_as;
  n.extended_message = local.caps.extended_message && remote.caps.extended_message;
  n.route_refresh = local.caps.route_refresh && remote.caps.route_refresh;
  n.enhanced_route_refresh =
      local.caps.enhanced_route_refresh && remote.caps.enhanced_route_refresh;
  n.hold_time = std::min(local.hold_time, remote.hold_time);
  // RFC 4760 §8: a speaker that sends no MP capability does IPv4 unicast.
  const std::vector<AfiSafi> v4only{{1, 1}};
  const auto& lf = local.caps.multiprotocol.empty() ? v4only : local.caps.multiprotocol;
  const auto& rf = remote.caps.multiprotocol.empty() ? v4only : remote.caps.multiprotocol;
  for (const auto& af : lf)
    if (std::find(rf.begin(), rf.end(), af) != rf.end()) n.families.push_back(af);
  return n;
}

// ---------------------------------------------------------------------------
// ROUTE-REFRESH (RFC 2918 §3, RFC 7313 §3.2, §5).

RefreshDecode decode_route_refresh(std::span<const uint8_t> message, RouteRefresh& out,
                                   Notification& err) {
  if (message.size() != kHeaderLen + 4) {
    err = Notification{};
    err.code = kErrRouteRefresh;
    err.subcode = kSubInvalidRouteRefreshLength;
    err.data.assign(message.begin(), message.end());
    return RefreshDecode::Error;
  }
  ByteReader r(message.subspan(kHeaderLen));
  // AFI (2), Message Subtype (1, was Reserved in RFC 2918), SAFI (1).
  out.af.afi = *r.u16();
  const uint8_t subtype = *r.u8();
  out.af.safi = *r.u8();
  if (subtype > 2) return RefreshDecode::Ignore;  // RFC 7313 §5
  out.subtype = static_cast<RefreshSubtype>(subtype);
  return RefreshDecode::Ok;
}

void encode_route_refresh(const RouteRefresh& rr, std::vector<uint8_t>& out) {
  const size_t start = begin_message(MessageType::RouteRefresh, out);
  ByteWriter w(out);
  w.u16(rr.af.afi);
  w.u8(static_cast<uint8_t>(rr.subtype));
  w.u8(rr.af.safi);
  finish_message(start, out);
}

}  // namespace ferry::bgp
