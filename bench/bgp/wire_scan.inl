// Template body of scan_update(); included from wire.hpp only.
#pragma once

#include "common/bytes.hpp"

namespace ferry::bench {

namespace detail {
// RFC 4271 §4.3: a prefix is a length octet followed by ceil(len/8) octets.
template <typename F>
bool scan_prefixes(ByteReader r, F&& fn) {
  while (!r.empty()) {
    auto len = r.u8();
    if (!len || *len > 32) return false;
    size_t n = (*len + 7u) / 8u;
    uint8_t b[4] = {0, 0, 0, 0};
    if (!r.copy(b, n)) return false;
    uint32_t addr = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    if (*len < 32) addr &= ~(0xffffffffu >> *len);
    fn(make_key(addr, *len));
  }
  return true;
}
}  // namespace detail

template <typename W, typename A>
bool scan_update(std::span<const uint8_t> body, W&& on_withdraw, A&& on_announce) {
  ByteReader r(body);
  // RFC 4271 §4.3: Withdrawn Routes Length, Withdrawn Routes.
  auto wlen = r.u16();
  if (!wlen) return false;
  auto withdrawn = r.sub(*wlen);
  if (!withdrawn || !detail::scan_prefixes(*withdrawn, on_withdraw)) return false;
  // Total Path Attribute Length, Path Attributes.
  auto alen = r.u16();
  if (!alen) return false;
  auto attrs = r.sub(*alen);
  if (!attrs) return false;
  while (!attrs->empty()) {
    // RFC 4271 §4.3: flags, type code, 1 or 2 octet length (Extended Length bit 0x10).
    auto flags = attrs->u8();
    auto type = attrs->u8();
    if (!flags || !type) return false;
    std::optional<uint16_t> len;
    if (*flags & 0x10) {
      len = attrs->u16();
    } else if (auto l8 = attrs->u8()) {
      len = *l8;
    }
    if (!len) return false;
    auto val = attrs->sub(*len);
    if (!val) return false;
    if (*type == 14) {  // MP_REACH_NLRI, RFC 4760 §3
      auto afi = val->u16();
      auto safi = val->u8();
      auto nhlen = val->u8();
      if (!afi || !safi || !nhlen || !val->skip(*nhlen) || !val->skip(1)) return false;
      if (*afi == 1 && *safi == 1 && !detail::scan_prefixes(*val, on_announce)) return false;
    } else if (*type == 15) {  // MP_UNREACH_NLRI, RFC 4760 §4
      auto afi = val->u16();
      auto safi = val->u8();
      if (!afi || !safi) return false;
      if (*afi == 1 && *safi == 1 && !detail::scan_prefixes(*val, on_withdraw)) return false;
    }
  }
  // Network Layer Reachability Information: the rest of the message.
  return detail::scan_prefixes(r, on_announce);
}

}  // namespace ferry::bench
