#include "bgp/nlri.hpp"

#include <array>

namespace ferry::bgp {

bool decode_prefixes(ByteReader r, Family f, std::vector<Prefix>& out) {
  const int max_bits = family_bits(f);
  while (!r.empty()) {
    // RFC 4271 §4.3: Length (1 octet, in bits), then the prefix padded to
    // an octet boundary. RFC 7606 §5.3: a length beyond the family width or
    // a prefix overrunning the field is a syntax error.
    const int len = *r.u8();
    if (len > max_bits) return false;
    const size_t nbytes = static_cast<size_t>(len + 7) / 8;
    std::array<uint8_t, 16> b{};
    if (!r.copy(b.data(), nbytes)) return false;
    out.emplace_back(IpAddress::from_bytes(f, b.data()), len);
  }
  return true;
}

void encode_prefix(const Prefix& p, ByteWriter& w) {
  w.u8(static_cast<uint8_t>(p.len()));
  w.bytes(p.addr().bytes(), static_cast<size_t>(p.len() + 7) / 8);
}

}  // namespace ferry::bgp
