// TCP MSS clamping of transit SYNs (the "MSS clamping" of routers with
// tunnels): a SYN or SYN-ACK crossing the tunnel, in either direction, gets
// its MSS option lowered to what fits in the tunnel's inner MTU, so the two
// LAN hosts never send segments that would need fragmenting (PMTUD black
// holes kill sessions once a full-size segment is sent).
//
// Fields read, with bounds checks (the packet was parsed by parse_inner):
//   IPv4 (RFC 791 §3.1): IHL, Protocol = 6, Fragment Offset 0 (only a first
//        fragment carries the TCP header); IPv6 (RFC 8200 §3): Next Header =
//        6 directly (a SYN behind extension headers is left alone).
//   TCP (RFC 9293 §3.1): Data Offset, the SYN flag, options; MSS is kind 2,
//        length 4 (RFC 9293 §3.2).
// The TCP checksum is updated incrementally (RFC 1624 §3, eqn. 3), so the
// packet's checksum must be complete (it is: offloaded ones are completed
// before this runs).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tunnel/datapath.hpp"

namespace ferry::tunnel {

// The largest MSS for a tunnel whose inner MTU is `mtu`: MTU minus the
// minimal IP and TCP headers (RFC 9293 §3.7.1 / RFC 8201 §5.4 for IPv6).
inline uint16_t max_mss(size_t mtu, bool v6) {
  const size_t hdrs = (v6 ? 40 : 20) + 20;
  return mtu > hdrs ? static_cast<uint16_t>(mtu - hdrs) : 0;
}

// Lowers the MSS option of a TCP SYN in `pkt` (ip: its parse) to at most
// max_mss(mtu); true if the packet was changed.
inline bool clamp_mss(uint8_t* pkt, const InnerPacket& ip, size_t mtu) {
  size_t l4 = 0;
  if (ip.version == 4) {
    const size_t ihl = size_t{pkt[0] & 0x0fu} * 4;
    const bool first_fragment = ((pkt[6] & 0x1fu) | pkt[7]) == 0;
    if (pkt[9] != 6 || ihl < 20 || !first_fragment) return false;
    l4 = ihl;
  } else {
    if (pkt[6] != 6) return false;
    l4 = 40;
  }
  if (ip.length < l4 + 20) return false;
  uint8_t* tcp = pkt + l4;
  if (!(tcp[13] & 0x02)) return false;  // not a SYN (or SYN-ACK)
  const size_t doff = static_cast<size_t>(tcp[12] >> 4) * 4;
  if (doff < 20 || l4 + doff > ip.length) return false;
  const uint16_t limit = max_mss(mtu, ip.version == 6);
  for (size_t i = 20; i < doff;) {
    const uint8_t kind = tcp[i];
    if (kind == 0) break;  // end of option list
    if (kind == 1) {       // no-operation
      ++i;
      continue;
    }
    if (i + 1 >= doff) break;
    const size_t len = tcp[i + 1];
    if (len < 2 || i + len > doff) break;  // malformed: leave the packet alone
    if (kind == 2 && len == 4) {
      const uint16_t mss = static_cast<uint16_t>(tcp[i + 2] << 8 | tcp[i + 3]);
      if (mss <= limit || limit == 0) return false;
      // The checksum covers 16-bit words from the TCP header's start: the
      // MSS field is one word (even offset) or straddles two (odd offset).
      const size_t off = i + 2, first = off & ~size_t{1}, last = (off + 1) & ~size_t{1};
      auto word = [&](size_t at) { return static_cast<uint16_t>(tcp[at] << 8 | tcp[at + 1]); };
      const uint16_t old_a = word(first), old_b = word(last);
      tcp[off] = static_cast<uint8_t>(limit >> 8);
      tcp[off + 1] = static_cast<uint8_t>(limit);
      // RFC 1624 §3: HC' = ~(~HC + ~m + m'), in one's complement arithmetic.
      uint32_t sum = static_cast<uint16_t>(~(tcp[16] << 8 | tcp[17]));
      sum += static_cast<uint16_t>(~old_a);
      sum += word(first);
      if (last != first) {
        sum += static_cast<uint16_t>(~old_b);
        sum += word(last);
      }
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      const uint16_t hc = static_cast<uint16_t>(~sum);
      tcp[16] = static_cast<uint8_t>(hc >> 8);
      tcp[17] = static_cast<uint8_t>(hc);
      return true;
    }
    i += len;
  }
  return false;
}

}  // namespace ferry::tunnel
