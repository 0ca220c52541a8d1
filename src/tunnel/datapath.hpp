// Small, allocation-free helpers of the packet path: reading the addresses
// and length of an inner IP packet, and the per-peer / per-device counters.
//
// Inner packets are what the TUN device hands us (outbound) and what a
// transport message decrypts to (inbound). Only the fields the cryptokey
// routing needs are read, with bounds checks:
//   IPv4 (RFC 791 §3.1): version (4 bits), total length at offset 2, source
//        address at 12, destination at 16; header at least 20 bytes.
//   IPv6 (RFC 8200 §3): version (4 bits), payload length at offset 4 (+40
//        fixed header), source at 8, destination at 24.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/bytes.hpp"

namespace ferry::tunnel {

struct InnerPacket {
  uint8_t version = 0;           // 4 or 6
  const uint8_t* src = nullptr;  // into the packet, 4 or 16 bytes
  const uint8_t* dst = nullptr;
  size_t length = 0;  // total length from the header (<= buffer length)
};

// Parses the IP header of `pkt`; false if it is not a well-formed IPv4/IPv6
// header or its length field exceeds the buffer (padding after it is allowed).
inline bool parse_inner(std::span<const uint8_t> pkt, InnerPacket& out) {
  ByteReader r(pkt);
  auto first = r.peek_u8();
  if (!first) return false;
  uint8_t version = *first >> 4;
  if (version == 4) {
    if (pkt.size() < 20) return false;
    ByteReader h(pkt.data(), 20);
    h.skip(2);
    auto total = h.u16();  // RFC 791 §3.1 Total Length
    if (!total || *total < 20 || *total > pkt.size()) return false;
    out.version = 4;
    out.src = pkt.data() + 12;  // RFC 791 §3.1 Source Address
    out.dst = pkt.data() + 16;  // RFC 791 §3.1 Destination Address
    out.length = *total;
    return true;
  }
  if (version == 6) {
    if (pkt.size() < 40) return false;
    ByteReader h(pkt.data(), 40);
    h.skip(4);
    auto payload = h.u16();  // RFC 8200 §3 Payload Length
    if (!payload || size_t{*payload} + 40 > pkt.size()) return false;
    out.version = 6;
    out.src = pkt.data() + 8;   // RFC 8200 §3 Source Address
    out.dst = pkt.data() + 24;  // RFC 8200 §3 Destination Address
    out.length = size_t{*payload} + 40;
    return true;
  }
  return false;
}

// Why a packet was dropped. Names are what `show tunnels` prints.
enum class Drop : uint8_t {
  NoPeer,            // outbound: no peer's allowed-ips contain the destination
  BadMac,            // handshake message with a bad mac1 (or missing mac2 under load)
  Replay,            // transport counter already seen / outside the window
  NotAllowedSource,  // decrypted packet's source not in the sending peer's allowed-ips
  DecryptFailed,     // AEAD authentication failed
  TooShort,          // datagram too short / malformed for its type
  NoKeypair,         // receiver index unknown or keypair gone
  QueueFull,         // staging or handshake queue full
  NoEndpoint,        // peer has no known endpoint yet
  BadPacket,         // not an IPv4/IPv6 packet
  HandshakeFailed,   // handshake message refused (replay, unknown peer, decrypt ...)
  RateLimited,       // handshake refused by the per-source rate limiter
  SendFailed,        // the UDP or TUN write failed
  kCount
};
inline const char* drop_name(Drop d) {
  static constexpr const char* kNames[] = {
      "no_peer",          "bad_mac",      "replay",     "not_allowed_source", "decrypt_failed",
      "too_short",        "no_keypair",   "queue_full", "no_endpoint",        "bad_packet",
      "handshake_failed", "rate_limited", "send_failed"};
  return kNames[static_cast<size_t>(d)];
}

// Relaxed atomic counters; workers add per batch, the control plane reads.
struct DropCounters {
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Drop::kCount)> v{};
  void add(Drop d, uint64_t n = 1) {
    v[static_cast<size_t>(d)].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t get(Drop d) const { return v[static_cast<size_t>(d)].load(std::memory_order_relaxed); }
};

}  // namespace ferry::tunnel
