// Strong identifier types. A bare uint32_t could be an ASN, a router ID, an
// IPv4 address or a counter; these types make the compiler tell them apart.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ferry {

// Autonomous system number, 32 bits (RFC 6793), printed as asplain (RFC 5396).
class Asn {
 public:
  constexpr Asn() = default;
  constexpr explicit Asn(uint32_t v) : v_(v) {}
  constexpr uint32_t value() const { return v_; }
  // RFC 6793 §9: AS_TRANS stands in for a 4-octet ASN towards 2-octet speakers.
  static constexpr Asn trans() { return Asn(23456); }
  constexpr bool is_4byte() const { return v_ > 0xffff; }
  std::string str() const { return std::to_string(v_); }
  // Accepts asplain ("65001", "4200000000") and asdot ("1.10").
  static std::optional<Asn> parse(std::string_view s);
  constexpr auto operator<=>(const Asn&) const = default;

 private:
  uint32_t v_ = 0;
};

// BGP Identifier (RFC 4271 §4.2), printed in dotted quad form.
class RouterId {
 public:
  constexpr RouterId() = default;
  constexpr explicit RouterId(uint32_t v) : v_(v) {}
  constexpr uint32_t value() const { return v_; }
  std::string str() const;
  static std::optional<RouterId> parse(std::string_view s);
  constexpr auto operator<=>(const RouterId&) const = default;

 private:
  uint32_t v_ = 0;
};

}  // namespace ferry

template <>
struct std::hash<ferry::Asn> {
  size_t operator()(ferry::Asn a) const noexcept { return std::hash<uint32_t>{}(a.value()); }
};
template <>
struct std::hash<ferry::RouterId> {
  size_t operator()(ferry::RouterId a) const noexcept { return std::hash<uint32_t>{}(a.value()); }
};
