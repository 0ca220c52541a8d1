// IKEv2 header and generic payload chain (RFC 7296 §3.1, §3.2).
#include "ike/message.hpp"

namespace ferry::ike {
namespace {

// Payload types whose bodies this implementation parses (RFC 7296 §3.2, RFC 7383 §2.5).
bool known_payload(uint8_t t) {
  return (t >= kPayloadSa && t <= kPayloadEap) || t == kPayloadSkf;
}

}  // namespace

Result<Header> decode_header(ByteReader& r) {
  if (r.remaining() < kHeaderLen) return make_error("short IKE header");
  Header h;
  auto spi_i = r.u64();    // §3.1 IKE SA Initiator's SPI
  auto spi_r = r.u64();    // §3.1 IKE SA Responder's SPI
  auto next = r.u8();      // §3.1 Next Payload
  auto version = r.u8();   // §3.1 MjVer | MnVer
  auto exchange = r.u8();  // §3.1 Exchange Type
  auto flags = r.u8();     // §3.1 Flags
  auto msg_id = r.u32();   // §3.1 Message ID
  auto length = r.u32();   // §3.1 Length
  h.spi_i = *spi_i;
  h.spi_r = *spi_r;
  h.next = *next;
  h.version = *version;
  h.exchange = *exchange;
  h.flags = *flags;
  h.msg_id = *msg_id;
  h.length = *length;
  return h;
}

void encode_header(const Header& h, ByteWriter& w) {
  w.u64(h.spi_i);
  w.u64(h.spi_r);
  w.u8(h.next);
  w.u8(h.version);
  w.u8(h.exchange);
  w.u8(h.flags);
  w.u32(h.msg_id);
  w.u32(h.length);
}

Result<std::vector<Payload>> decode_chain(uint8_t first, std::span<const uint8_t> data) {
  std::vector<Payload> out;
  ByteReader r(data);
  uint8_t type = first;
  while (type != kPayloadNone) {
    // §3.2 generic payload header: Next Payload, C + RESERVED, Payload Length.
    auto next = r.u8();
    auto crit = r.u8();
    auto len = r.u16();
    if (!len) return make_error("short generic payload header");
    if (*len < 4) return make_error("payload length below 4");
    auto body = r.bytes(*len - 4u);
    if (!body) return make_error("payload length past the end of the message");
    bool critical = (*crit & 0x80) != 0;
    if (type == kPayloadSk || type == kPayloadSkf)
      return make_error("SK payload inside a payload chain");
    if (!known_payload(type) && critical)
      return make_error("unsupported critical payload " + std::to_string(type));
    out.push_back(Payload{type, critical, Bytes(body->begin(), body->end())});
    type = *next;
  }
  // §3.14: the Pad Length / padding sit outside the chain; callers strip them first.
  if (!r.empty()) return make_error("trailing bytes after the last payload");
  return out;
}

uint8_t encode_chain(const std::vector<Payload>& ps, ByteWriter& w) {
  for (size_t i = 0; i < ps.size(); ++i) {
    w.u8(i + 1 < ps.size() ? ps[i + 1].type : uint8_t{kPayloadNone});  // §3.2 Next Payload
    w.u8(ps[i].critical ? 0x80 : 0);                                   // §3.2 C flag
    w.u16(static_cast<uint16_t>(ps[i].body.size() + 4));               // §3.2 Payload Length
    w.bytes(ps[i].body);
  }
  return ps.empty() ? uint8_t{kPayloadNone} : ps.front().type;
}

Bytes encode_message(Header h, const std::vector<Payload>& ps) {
  Bytes out;
  ByteWriter w(out);
  h.next = ps.empty() ? uint8_t{kPayloadNone} : ps.front().type;
  encode_header(h, w);
  encode_chain(ps, w);
  w.patch_u16(24, static_cast<uint16_t>(out.size() >> 16));
  w.patch_u16(26, static_cast<uint16_t>(out.size()));
  return out;
}

Result<Message> decode_message(std::span<const uint8_t> data) {
  ByteReader r(data);
  auto h = decode_header(r);
  if (!h) return make_error(h.error());
  Message m;
  m.hdr = *h;
  // §3.1: a major version above 2 is answered with INVALID_MAJOR_VERSION; we drop it.
  if ((m.hdr.version >> 4) != 2) return make_error("IKE major version is not 2");
  if (m.hdr.length != data.size()) return make_error("IKE header length differs from datagram");
  uint8_t type = m.hdr.next;
  while (type != kPayloadNone) {
    size_t at = data.size() - r.remaining();
    auto next = r.u8();
    auto crit = r.u8();
    auto len = r.u16();
    if (!len) return make_error("short generic payload header");
    if (*len < 4) return make_error("payload length below 4");
    auto body = r.bytes(*len - 4u);
    if (!body) return make_error("payload length past the end of the message");
    if (type == kPayloadSk || type == kPayloadSkf) {
      // §3.14: SK is the last payload; its Next Payload names the first inner payload.
      if (!r.empty()) return make_error("bytes after the SK payload");
      m.sk_offset = at;
      m.sk_type = type;
      m.sk_first = *next;
      return m;
    }
    bool critical = (*crit & 0x80) != 0;
    if (!known_payload(type) && critical)
      return make_error("unsupported critical payload " + std::to_string(type));
    m.payloads.push_back(Payload{type, critical, Bytes(body->begin(), body->end())});
    type = *next;
  }
  if (!r.empty()) return make_error("trailing bytes after the last payload");
  return m;
}

Result<FragmentHeader> decode_fragment_header(std::span<const uint8_t> body) {
  ByteReader r(body);
  auto num = r.u16();    // RFC 7383 §2.5 Fragment Number
  auto total = r.u16();  // RFC 7383 §2.5 Total Fragments
  if (!total) return make_error("short SKF payload");
  if (*num == 0 || *total == 0 || *num > *total) return make_error("bad SKF fragment numbers");
  return FragmentHeader{*num, *total};
}

}  // namespace ferry::ike
