#include "bmp/message.hpp"

#include <algorithm>

#include "common/bytes.hpp"

namespace ferry::bmp {

namespace {

// RFC 7854 §4.1 Common Header: Version (1), Message Length (4, the whole
// message including this header), Message Type (1). The length is patched in
// by finish() once the body is written.
size_t begin(MsgType type, std::vector<uint8_t>& out) {
  const size_t at = out.size();
  ByteWriter w(out);
  w.u8(kVersion);
  w.u32(0);  // Message Length, patched by finish()
  w.u8(static_cast<uint8_t>(type));
  return at;
}

void finish(size_t at, std::vector<uint8_t>& out) {
  const uint32_t len = static_cast<uint32_t>(out.size() - at);
  for (int i = 0; i < 4; ++i) out[at + 1 + i] = static_cast<uint8_t>(len >> (24 - 8 * i));
}

// RFC 7854 §4.2 Per-Peer Header (42 octets).
void per_peer(const PeerHeader& p, std::vector<uint8_t>& out) {
  ByteWriter w(out);
  w.u8(p.peer_type);  // Peer Type
  uint8_t flags = 0;  // Peer Flags: V, L, A; RFC 8671 §4 adds O
  if (p.address.is_v6()) flags |= kFlagV;
  if (p.post_policy) flags |= kFlagL;
  if (p.legacy_as_path) flags |= kFlagA;
  if (p.adj_rib_out) flags |= kFlagO;
  w.u8(flags);
  w.u64(p.distinguisher);  // Peer Distinguisher (8)
  // Peer Address (16): an IPv4 address in the low-order 4 octets, the rest zero.
  if (p.address.is_v6()) {
    w.bytes(p.address.bytes(), 16);
  } else {
    w.zeros(12);
    w.bytes(p.address.bytes(), 4);
  }
  w.u32(p.asn);      // Peer AS (4)
  w.u32(p.bgp_id);   // Peer BGP ID (4)
  w.u32(p.ts_sec);   // Timestamp, seconds (4)
  w.u32(p.ts_usec);  // Timestamp, microseconds (4)
}

// RFC 7854 §4.4 Information TLV: Type (2), Length (2), Value (UTF-8, not NUL-terminated).
void info_tlv(uint16_t type, std::string_view value, std::vector<uint8_t>& out) {
  ByteWriter w(out);
  const size_t n = std::min<size_t>(value.size(), 0xffff);
  w.u16(type);
  w.u16(static_cast<uint16_t>(n));
  w.bytes(value.data(), n);
}

}  // namespace

void encode_initiation(std::string_view sys_name, std::string_view sys_descr,
                       std::vector<uint8_t>& out) {
  const size_t at = begin(MsgType::Initiation, out);
  // §4.3: "The initiation message MUST contain sysDescr and sysName TLVs".
  info_tlv(kInfoSysDescr, sys_descr, out);
  info_tlv(kInfoSysName, sys_name, out);
  finish(at, out);
}

void encode_termination(uint16_t reason, std::string_view text, std::vector<uint8_t>& out) {
  const size_t at = begin(MsgType::Termination, out);
  ByteWriter w(out);
  if (!text.empty()) info_tlv(kTermString, text, out);  // §4.5 Type 0: String
  w.u16(kTermReason);                                   // §4.5 Type 1: Reason, a 2-octet code
  w.u16(2);
  w.u16(reason);
  finish(at, out);
}

void encode_route_monitoring(const PeerHeader& peer, std::span<const uint8_t> update,
                             std::vector<uint8_t>& out) {
  const size_t at = begin(MsgType::RouteMonitoring, out);
  per_peer(peer, out);
  // §4.6: followed by one BGP UPDATE PDU, its 19-octet header included.
  ByteWriter(out).bytes(update);
  finish(at, out);
}

void encode_stats_report(const PeerHeader& peer, std::span<const Stat> stats,
                         std::vector<uint8_t>& out) {
  const size_t at = begin(MsgType::StatsReport, out);
  per_peer(peer, out);
  ByteWriter w(out);
  w.u32(static_cast<uint32_t>(stats.size()));  // §4.8 Stats Count (4)
  for (const Stat& s : stats) {
    w.u16(s.type);  // Stat Type (2)
    if (s.gauge64) {
      w.u16(8);  // Stat Len (2): 64-bit gauge
      w.u64(s.value);
    } else {
      w.u16(4);  // 32-bit counter (wraps)
      w.u32(static_cast<uint32_t>(s.value));
    }
  }
  finish(at, out);
}

void encode_peer_down(const PeerHeader& peer, uint8_t reason, std::span<const uint8_t> data,
                      std::vector<uint8_t>& out) {
  const size_t at = begin(MsgType::PeerDown, out);
  per_peer(peer, out);
  ByteWriter w(out);
  w.u8(reason);  // §4.9 Reason (1), then the data the reason defines
  w.bytes(data);
  finish(at, out);
}

void encode_peer_up(const PeerHeader& peer, const PeerUpInfo& info, std::vector<uint8_t>& out) {
  const size_t at = begin(MsgType::PeerUp, out);
  per_peer(peer, out);
  ByteWriter w(out);
  // §4.10 Local Address (16): IPv4 in the low-order 4 octets.
  if (info.local_address.is_v6()) {
    w.bytes(info.local_address.bytes(), 16);
  } else {
    w.zeros(12);
    w.bytes(info.local_address.bytes(), 4);
  }
  w.u16(info.local_port);       // Local Port (2)
  w.u16(info.remote_port);      // Remote Port (2)
  w.bytes(info.sent_open);      // Sent OPEN Message (whole PDU)
  w.bytes(info.received_open);  // Received OPEN Message (whole PDU)
  finish(at, out);
}

}  // namespace ferry::bmp
