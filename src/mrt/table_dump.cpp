#include "mrt/table_dump.hpp"

#include "bgp/update_codec.hpp"
#include "common/bytes.hpp"

namespace ferry::mrt {

namespace {

// RFC 6396 §2: Timestamp (4), Type (2), Subtype (2), Length (4), then the message.
std::vector<uint8_t> with_header(uint32_t ts, uint16_t subtype, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out;
  out.reserve(12 + body.size());
  ByteWriter w(out);
  w.u32(ts);
  w.u16(kTypeTableDumpV2);
  w.u16(subtype);
  w.u32(static_cast<uint32_t>(body.size()));
  w.bytes(body.data(), body.size());
  return out;
}

}  // namespace

std::vector<uint8_t> peer_index_table(uint32_t timestamp, uint32_t collector_bgp_id,
                                      std::string_view view_name, std::span<const Peer> peers) {
  std::vector<uint8_t> body;
  ByteWriter w(body);
  // RFC 6396 §4.3.1: Collector BGP ID (4), View Name Length (2), View Name, Peer Count (2).
  w.u32(collector_bgp_id);
  const size_t name_len = std::min<size_t>(view_name.size(), 0xffff);
  w.u16(static_cast<uint16_t>(name_len));
  w.bytes(view_name.data(), name_len);
  const size_t count = std::min<size_t>(peers.size(), 0xffff);
  w.u16(static_cast<uint16_t>(count));
  for (size_t i = 0; i < count; ++i) {
    const Peer& p = peers[i];
    // Peer Type: bit 0 (0x01) IPv6 address, bit 1 (0x02) 4-octet AS number.
    w.u8(static_cast<uint8_t>((p.address.is_v6() ? 0x01 : 0) | 0x02));
    w.u32(p.bgp_id);                                   // Peer BGP ID
    w.bytes(p.address.bytes(), p.address.byte_len());  // Peer IP Address (4 or 16)
    w.u32(p.asn);                                      // Peer AS (4 octets)
  }
  return with_header(timestamp, kSubtypePeerIndexTable, body);
}

std::vector<uint8_t> rib_attributes(const bgp::PathAttributes& a, Family family) {
  std::vector<uint8_t> out;
  bgp::CodecOptions opt;
  opt.four_octet_as = true;  // RFC 6396 §4.3.4: AS_PATH with 4-octet AS numbers
  opt.ebgp = false;          // keep LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST as stored
  // IPv4: NEXT_HOP as in an UPDATE. IPv6: the next hop goes into MP_REACH below.
  bgp::encode_path_attributes(a, opt, family == Family::V4, out);
  if (family == Family::V6 && a.next_hop) {
    ByteWriter w(out);
    const bool ll = a.next_hop_ll.has_value();
    const uint8_t nh_len = ll ? 32 : 16;
    // RFC 6396 §4.3.4: MP_REACH_NLRI holds only Next Hop Length and Next Hop.
    w.u8(bgp::kFlagOptional);  // optional, non-transitive (RFC 4760 §3)
    w.u8(bgp::kAttrMpReachNlri);
    w.u8(static_cast<uint8_t>(1 + nh_len));
    w.u8(nh_len);
    w.bytes(a.next_hop->bytes(), 16);
    if (ll) w.bytes(a.next_hop_ll->bytes(), 16);  // RFC 2545 §3 link-local
  }
  return out;
}

std::vector<uint8_t> rib_record(uint32_t timestamp, uint32_t sequence, const Prefix& prefix,
                                std::span<const RibEntry> entries) {
  std::vector<uint8_t> body;
  ByteWriter w(body);
  // RFC 6396 §4.3.2: Sequence Number (4), Prefix Length (1), Prefix (ceil(len/8) octets),
  // Entry Count (2), RIB Entries.
  w.u32(sequence);
  w.u8(static_cast<uint8_t>(prefix.len()));
  w.bytes(prefix.addr().bytes(), static_cast<size_t>((prefix.len() + 7) / 8));
  const size_t count = std::min<size_t>(entries.size(), 0xffff);
  w.u16(static_cast<uint16_t>(count));
  for (size_t i = 0; i < count; ++i) {
    const RibEntry& e = entries[i];
    // RFC 6396 §4.3.4: Peer Index (2), Originated Time (4), Attribute Length (2), Attributes.
    w.u16(e.peer_index);
    w.u32(e.originated_time);
    const std::vector<uint8_t> attrs =
        e.attrs ? rib_attributes(*e.attrs, prefix.family()) : std::vector<uint8_t>{};
    w.u16(static_cast<uint16_t>(std::min<size_t>(attrs.size(), 0xffff)));
    w.bytes(attrs.data(), std::min<size_t>(attrs.size(), 0xffff));
  }
  return with_header(
      timestamp, prefix.family() == Family::V4 ? kSubtypeRibIpv4Unicast : kSubtypeRibIpv6Unicast,
      body);
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::span<const uint8_t> in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kB64[(v >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint32_t{in[i]} << 16;
    if (i + 1 < in.size()) v |= uint32_t{in[i + 1]} << 8;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view in, std::vector<uint8_t>& out) {
  if (in.size() % 4) return false;
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out.clear();
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const int pad = (in[i + 3] == '=') + (in[i + 2] == '=');
    if (pad && !last) return false;
    if (in[i + 2] == '=' && in[i + 3] != '=') return false;
    int v[4];
    for (int k = 0; k < 4 - pad; ++k)
      if ((v[k] = val(in[i + k])) < 0) return false;
    for (int k = 4 - pad; k < 4; ++k) v[k] = 0;
    const uint32_t x =
        (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    // Canonical: the unused bits of the last character are zero (RFC 4648 §3.5).
    if ((pad == 1 && (x & 0xff)) || (pad == 2 && (x & 0xffff))) return false;
    out.push_back(static_cast<uint8_t>(x >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(x >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(x));
  }
  return true;
}

}  // namespace ferry::mrt
