#include "common/types.hpp"

#include <charconv>

#include "common/ip.hpp"

namespace ferry {

static std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<Asn> Asn::parse(std::string_view s) {
  const auto dot = s.find('.');
  if (dot == std::string_view::npos) {
    auto v = parse_u64(s);
    if (!v || *v > 0xffffffffULL) return std::nullopt;
    return Asn(static_cast<uint32_t>(*v));
  }
  // asdot notation (RFC 5396): high.low
  auto hi = parse_u64(s.substr(0, dot));
  auto lo = parse_u64(s.substr(dot + 1));
  if (!hi || !lo || *hi > 0xffff || *lo > 0xffff) return std::nullopt;
  return Asn(static_cast<uint32_t>((*hi << 16) | *lo));
}

std::string RouterId::str() const { return IpAddress::v4(v_).str(); }

std::optional<RouterId> RouterId::parse(std::string_view s) {
  auto a = IpAddress::parse(s);
  if (!a || !a->is_v4()) return std::nullopt;
  return RouterId(a->v4_host_order());
}

}  // namespace ferry
