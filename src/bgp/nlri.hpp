// NLRI prefix encoding shared by the UPDATE codec (RFC 4271 §4.3 and
// RFC 4760 §5): each prefix is <length in bits (1 octet), prefix bytes
// (ceil(length/8) octets)>. Decoding appends into a caller-owned vector so a
// long run of prefixes costs no allocation beyond that vector's growth.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/bytes.hpp"
#include "common/ip.hpp"

namespace ferry::bgp {

// RFC 4760 §3 / IANA address family and SAFI numbers this codec understands.
constexpr uint16_t kAfiIpv4 = 1;
constexpr uint16_t kAfiIpv6 = 2;
constexpr uint8_t kSafiUnicast = 1;

constexpr uint16_t afi_of(Family f) {
  return f == Family::V4 ? kAfiIpv4 : kAfiIpv6;
}

// Encoded size of one prefix: 1 length octet + ceil(len/8) address octets.
constexpr size_t nlri_size(int prefix_len) {
  return 1 + static_cast<size_t>(prefix_len + 7) / 8;
}

// Decodes a whole NLRI field of family f (all of r), appending to out.
// Returns false on a syntax error (length > family width or truncated
// prefix); prefixes decoded before the error stay appended.
bool decode_prefixes(ByteReader r, Family f, std::vector<Prefix>& out);

// Appends one prefix in NLRI form.
void encode_prefix(const Prefix& p, ByteWriter& w);

}  // namespace ferry::bgp
