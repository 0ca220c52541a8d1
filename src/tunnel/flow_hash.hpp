// Flow hashing for ECMP across tunnel peers.
//
// Role and data flow: when the cryptokey table maps a destination to several
// equal-cost peers, the outbound worker hashes the inner packet's flow with
// flow_hash() and PeerSet::pick() chooses a peer by rendezvous (highest random
// weight) hashing. Every packet of a flow hashes the same, so a flow sticks to
// one peer while the set is unchanged; adding or removing one peer only moves
// the flows that peer wins or held.
//
// The flow key, read with bounds checks from the packet's own length:
//   IPv4 (RFC 791 §3.1): source and destination address; protocol; for a
//     non-fragment TCP/UDP/SCTP/DCCP/UDP-Lite packet the 16-bit source and
//     destination ports (first 4 bytes of those headers, at the IHL offset).
//     A fragment (MF set or a non-zero fragment offset) uses the 3-tuple.
//   IPv6 (RFC 8200 §3, §4): source and destination address; the upper-layer
//     protocol after Hop-by-Hop (0), Routing (43), Destination Options (60),
//     AH (51, RFC 4302 §2.2: length in 4-octet units minus 2) and Fragment
//     (44, §4.5) headers, at most kMaxExtHeaders of them; ports as for IPv4.
//     A real fragment (offset or M flag) uses the 3-tuple; an atomic fragment
//     (RFC 6946) does not. A truncated chain falls back to the 3-tuple.
//
// The hash is a seeded mixing hash (the MurmurHash3 64-bit finalizer applied
// per 64-bit word) — NOT a cryptographic primitive and not used as one: it only
// spreads load. The seed is random per daemon so that other parties cannot
// predict which peer a flow takes; the worst a sender choosing its own flows can
// do is put its own traffic on one of the equal-cost peers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/bytes.hpp"
#include "tunnel/datapath.hpp"

namespace ferry::tunnel {

namespace flow_detail {

inline uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}
inline uint64_t absorb(uint64_t h, uint64_t w) {
  return fmix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
}
// Protocols whose header starts with 16-bit source and destination ports.
inline bool has_ports(uint8_t proto) {
  return proto == 6 /* TCP */ || proto == 17 /* UDP */ || proto == 132 /* SCTP */ ||
         proto == 33 /* DCCP */ || proto == 136 /* UDP-Lite */;
}
inline ByteReader reader_at(std::span<const uint8_t> pkt, size_t off) {
  if (off >= pkt.size()) return ByteReader();
  return ByteReader(pkt.subspan(off));
}

}  // namespace flow_detail

constexpr int kMaxExtHeaders = 8;

// `buf` holds the packet that parse_inner() accepted as `ip` (only the first
// ip.length bytes are read). Deterministic for a given seed and flow.
inline uint64_t flow_hash(std::span<const uint8_t> buf, const InnerPacket& ip, uint64_t seed) {
  using namespace flow_detail;
  const auto pkt = buf.first(std::min(ip.length, buf.size()));
  uint64_t h = seed;
  uint8_t proto = 0;
  size_t l4 = 0;
  bool ports = false;
  if (ip.version == 4) {
    if (pkt.size() < 20) return fmix64(h);
    ByteReader r(pkt.first(20));
    const uint8_t vihl = *r.u8();    // RFC 791 §3.1 Version, IHL
    r.skip(5);                       // TOS, Total Length, Identification
    const uint16_t frag = *r.u16();  // Flags (bit 2 = MF) and Fragment Offset
    r.skip(1);                       // TTL
    proto = *r.u8();                 // Protocol
    r.skip(2);                       // Header Checksum
    const uint64_t src = *r.u32(), dst = *r.u32();
    h = absorb(h, (src << 32) | dst);
    const size_t ihl = size_t{vihl & 0x0fu} * 4;
    const bool fragment = (frag & 0x3fffu) != 0;
    ports = !fragment && ihl >= 20 && has_ports(proto);
    l4 = ihl;
  } else {
    if (pkt.size() < 40) return fmix64(h);
    ByteReader r(pkt.first(40));
    r.skip(6);               // RFC 8200 §3 Version, Traffic Class, Flow Label, Payload Length
    uint8_t next = *r.u8();  // Next Header
    r.skip(1);               // Hop Limit
    for (int i = 0; i < 4; ++i) h = absorb(h, *r.u64());  // Source, Destination Address
    size_t off = 40;
    bool fragment = false, truncated = false;
    for (int i = 0; i < kMaxExtHeaders; ++i) {
      if (next == 0 || next == 43 || next == 60 || next == 51) {
        ByteReader e = reader_at(pkt, off);
        auto nh = e.u8();   // Next Header
        auto len = e.u8();  // Hdr Ext Len
        if (!len) {
          truncated = true;
          break;
        }
        off += next == 51 ? (size_t{*len} + 2) * 4 : (size_t{*len} + 1) * 8;
        next = *nh;
        continue;
      }
      if (next == 44) {  // RFC 8200 §4.5: Next Header, Reserved, Offset(13)|Res(2)|M(1), Id
        ByteReader e = reader_at(pkt, off);
        auto nh = e.u8();
        e.skip(1);
        auto fo = e.u16();
        if (!fo) {
          truncated = true;
          break;
        }
        next = *nh;
        off += 8;
        if ((*fo & 0xfff9u) != 0) {
          fragment = true;
          break;
        }
        continue;  // atomic fragment: the whole datagram, ports follow
      }
      break;
    }
    proto = next;
    ports = !fragment && !truncated && has_ports(proto);
    l4 = off;
  }
  uint64_t last = uint64_t{proto} << 32;
  if (ports) {
    ByteReader l = reader_at(pkt, l4);
    if (auto pp = l.u32()) last |= *pp;  // source port << 16 | destination port
  }
  return fmix64(absorb(h, last));
}

}  // namespace ferry::tunnel
