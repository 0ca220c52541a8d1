#include "wire.hpp"

#include <cstdio>

#include "common/bytes.hpp"

namespace ferry::bench {

namespace {

constexpr uint16_t kAsTrans = 23456;  // RFC 6793 §9

// RFC 4271 §4.1: 16-octet all-ones marker, 2-octet length, 1-octet type.
size_t begin_message(ByteWriter& w, MsgType type) {
  size_t start = w.size();
  for (int i = 0; i < 16; ++i) w.u8(0xff);
  w.u16(0);  // patched by end_message
  w.u8(static_cast<uint8_t>(type));
  return start;
}

void end_message(std::vector<uint8_t>& out, size_t start) {
  ByteWriter w(out);
  w.patch_u16(start + 16, static_cast<uint16_t>(out.size() - start));
}

size_t prefix_wire_len(PrefixKey k) {
  return 1 + (key_len(k) + 7u) / 8u;
}

// RFC 4271 §4.3: length octet then the significant octets of the address.
void put_prefix(ByteWriter& w, PrefixKey k) {
  uint8_t len = key_len(k);
  uint32_t a = key_addr(k);
  w.u8(len);
  for (unsigned i = 0; i < (len + 7u) / 8u; ++i) w.u8(static_cast<uint8_t>(a >> (24 - 8 * i)));
}

}  // namespace

std::string key_str(PrefixKey k) {
  uint32_t a = key_addr(k);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
                a & 0xff, key_len(k));
  return buf;
}

void encode_open(std::vector<uint8_t>& out, const OpenParams& p) {
  ByteWriter w(out);
  size_t start = begin_message(w, MsgType::Open);
  w.u8(4);                                                          // RFC 4271 §4.2 Version
  w.u16(p.asn > 0xffff ? kAsTrans : static_cast<uint16_t>(p.asn));  // My Autonomous System
  w.u16(p.hold_time);                                               // Hold Time
  w.u32(p.router_id);                                               // BGP Identifier
  size_t optlen = w.placeholder_u8();                               // Opt Parm Len
  size_t params_start = w.size();
  // RFC 5492 §4: one Capabilities parameter (type 2) holding all capabilities.
  w.u8(2);
  size_t caplen = w.placeholder_u8();
  size_t caps_start = w.size();
  // RFC 4760 §8: Multiprotocol, AFI 1 (IPv4), reserved, SAFI 1 (unicast).
  w.u8(1);
  w.u8(4);
  w.u16(1);
  w.u8(0);
  w.u8(1);
  // RFC 6793 §3: 4-octet AS number capability.
  w.u8(65);
  w.u8(4);
  w.u32(p.asn);
  // RFC 2918 §2: route refresh (so peers that want it are satisfied).
  w.u8(2);
  w.u8(0);
  w.patch_u8(caplen, static_cast<uint8_t>(w.size() - caps_start));
  w.patch_u8(optlen, static_cast<uint8_t>(w.size() - params_start));
  end_message(out, start);
}

void encode_keepalive(std::vector<uint8_t>& out) {
  ByteWriter w(out);
  size_t start = begin_message(w, MsgType::Keepalive);  // RFC 4271 §4.4: header only
  end_message(out, start);
}

void encode_notification(std::vector<uint8_t>& out, uint8_t code, uint8_t subcode) {
  ByteWriter w(out);
  size_t start = begin_message(w, MsgType::Notification);
  w.u8(code);  // RFC 4271 §4.5 Error code, Error subcode, no Data
  w.u8(subcode);
  end_message(out, start);
}

bool encode_announce(std::vector<uint8_t>& out, const RouteAttrs& a,
                     std::span<const PrefixKey> prefixes) {
  size_t attr_len = 4                               // ORIGIN
                    + 3 + 2 + 4 * a.as_path.size()  // AS_PATH
                    + 7                             // NEXT_HOP
                    + (a.communities.empty() ? 0 : 3 + 4 * a.communities.size());
  size_t nlri_len = 0;
  for (auto k : prefixes) nlri_len += prefix_wire_len(k);
  if (kHeaderLen + 4 + attr_len + nlri_len > kMaxMessage || a.as_path.size() > 255) return false;

  ByteWriter w(out);
  size_t start = begin_message(w, MsgType::Update);
  w.u16(0);                                // RFC 4271 §4.3 Withdrawn Routes Length
  w.u16(static_cast<uint16_t>(attr_len));  // Total Path Attribute Length
  w.u8(0x40), w.u8(1), w.u8(1), w.u8(0);   // §5.1.1 ORIGIN: well-known transitive, IGP
  w.u8(0x40), w.u8(2);                     // §5.1.2 AS_PATH
  w.u8(static_cast<uint8_t>(2 + 4 * a.as_path.size()));
  w.u8(2);  // AS_SEQUENCE
  w.u8(static_cast<uint8_t>(a.as_path.size()));
  for (uint32_t asn : a.as_path) w.u32(asn);  // RFC 6793: 4-octet ASNs once negotiated
  w.u8(0x40), w.u8(3), w.u8(4);               // §5.1.3 NEXT_HOP
  w.u32(a.next_hop);
  if (!a.communities.empty()) {  // RFC 1997: optional transitive, type 8
    w.u8(0xc0), w.u8(8), w.u8(static_cast<uint8_t>(4 * a.communities.size()));
    for (uint32_t c : a.communities) w.u32(c);
  }
  for (auto k : prefixes) put_prefix(w, k);  // NLRI
  end_message(out, start);
  return true;
}

void encode_withdraw(std::vector<uint8_t>& out, std::span<const PrefixKey> prefixes) {
  size_t i = 0;
  while (i < prefixes.size()) {
    ByteWriter w(out);
    size_t start = begin_message(w, MsgType::Update);
    size_t wlen = w.placeholder_u16();  // RFC 4271 §4.3 Withdrawn Routes Length
    size_t wstart = w.size();
    // Leave room for the 2-octet Total Path Attribute Length.
    while (i < prefixes.size() &&
           w.size() - start + prefix_wire_len(prefixes[i]) + 2 <= kMaxMessage) {
      put_prefix(w, prefixes[i++]);
    }
    w.patch_u16(wlen, static_cast<uint16_t>(w.size() - wstart));
    w.u16(0);  // Total Path Attribute Length: none
    end_message(out, start);
  }
}

void FrameSplitter::feed(std::span<const uint8_t> data) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20)) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data.begin(), data.end());
}

std::optional<Frame> FrameSplitter::next() {
  if (!error_.empty()) return std::nullopt;
  ByteReader r(buf_.data() + pos_, buf_.size() - pos_);
  if (r.remaining() < kHeaderLen) return std::nullopt;
  auto marker = r.bytes(16);
  for (uint8_t b : *marker) {
    if (b != 0xff) {
      error_ = "bad marker";  // RFC 4271 §6.1 Connection Not Synchronized
      return std::nullopt;
    }
  }
  uint16_t len = *r.u16();
  uint8_t type = *r.u8();
  if (len < kHeaderLen) {
    error_ = "bad message length " + std::to_string(len);
    return std::nullopt;
  }
  auto body = r.bytes(len - kHeaderLen);
  if (!body) return std::nullopt;  // incomplete: wait for more bytes
  pos_ += len;
  return Frame{static_cast<MsgType>(type), *body};
}

std::optional<OpenInfo> parse_open(std::span<const uint8_t> body) {
  ByteReader r(body);
  auto version = r.u8();
  auto as2 = r.u16();
  auto hold = r.u16();
  auto id = r.u32();
  auto optlen = r.u8();
  if (!version || *version != 4 || !as2 || !hold || !id || !optlen) return std::nullopt;
  OpenInfo info{*as2, *hold, *id};
  auto params = r.sub(*optlen);
  if (!params) return std::nullopt;
  while (!params->empty()) {
    auto ptype = params->u8();
    auto plen = params->u8();
    if (!ptype || !plen) return std::nullopt;
    auto p = params->sub(*plen);
    if (!p) return std::nullopt;
    if (*ptype != 2) continue;  // RFC 5492: capabilities
    while (!p->empty()) {
      auto code = p->u8();
      auto clen = p->u8();
      if (!code || !clen) return std::nullopt;
      auto c = p->sub(*clen);
      if (!c) return std::nullopt;
      if (*code == 65 && *clen == 4) info.asn = *c->u32();
    }
  }
  return info;
}

}  // namespace ferry::bench
