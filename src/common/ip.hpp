// IPv4/IPv6 addresses and prefixes as value types.
//
// An IpAddress is 16 bytes of network-order storage plus a family tag; IPv4
// uses the first 4 bytes and keeps the rest zero so that comparison and
// hashing can work on the whole array. A Prefix masks its host bits on
// construction, so two prefixes that print the same compare equal.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ferry {

enum class Family : uint8_t { V4 = 4, V6 = 6 };

constexpr int family_bits(Family f) { return f == Family::V4 ? 32 : 128; }
constexpr int family_bytes(Family f) { return f == Family::V4 ? 4 : 16; }
inline const char* family_name(Family f) { return f == Family::V4 ? "ipv4" : "ipv6"; }

class IpAddress {
 public:
  constexpr IpAddress() = default;
  static IpAddress v4(uint32_t host_order);
  static IpAddress v4_bytes(const uint8_t* b);
  static IpAddress v6_bytes(const uint8_t* b);
  static IpAddress from_bytes(Family f, const uint8_t* b) {
    return f == Family::V4 ? v4_bytes(b) : v6_bytes(b);
  }
  static std::optional<IpAddress> parse(std::string_view s);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::V4; }
  bool is_v6() const { return family_ == Family::V6; }
  // Network-order bytes; 4 meaningful bytes for IPv4, 16 for IPv6.
  const uint8_t* bytes() const { return bytes_.data(); }
  uint8_t* mutable_bytes() { return bytes_.data(); }
  int byte_len() const { return family_bytes(family_); }
  uint32_t v4_host_order() const;
  bool is_unspecified() const;
  bool is_v6_link_local() const { return is_v6() && bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80; }
  // Bit i counted from the most significant bit of the first byte.
  bool bit(int i) const { return (bytes_[i / 8] >> (7 - i % 8)) & 1; }

  std::string str() const;
  auto operator<=>(const IpAddress& o) const = default;
  bool operator==(const IpAddress& o) const = default;

 private:
  Family family_ = Family::V4;
  std::array<uint8_t, 16> bytes_{};
};

class Prefix {
 public:
  Prefix() = default;
  // Masks host bits; len is clamped to the family's width.
  Prefix(const IpAddress& addr, int len);
  // Parses "10.0.0.0/8" or "2001:db8::/32". Host bits set are masked (use
  // parse_strict to reject them). A bare address is a host prefix.
  static std::optional<Prefix> parse(std::string_view s);
  // Like parse, but rejects host bits set ("10.0.0.1/8").
  static std::optional<Prefix> parse_strict(std::string_view s);
  static Prefix host(const IpAddress& a) { return Prefix(a, family_bits(a.family())); }

  const IpAddress& addr() const { return addr_; }
  Family family() const { return addr_.family(); }
  int len() const { return len_; }
  bool contains(const IpAddress& a) const;
  bool contains(const Prefix& p) const;
  std::string str() const;

  auto operator<=>(const Prefix& o) const = default;
  bool operator==(const Prefix& o) const = default;

 private:
  IpAddress addr_;
  uint8_t len_ = 0;
};

}  // namespace ferry

template <>
struct std::hash<ferry::IpAddress> {
  size_t operator()(const ferry::IpAddress& a) const noexcept {
    uint64_t x, y;
    std::memcpy(&x, a.bytes(), 8);
    std::memcpy(&y, a.bytes() + 8, 8);
    return std::hash<uint64_t>{}(x ^ (y * 0x9e3779b97f4a7c15ULL) ^ static_cast<uint64_t>(a.family()));
  }
};
template <>
struct std::hash<ferry::Prefix> {
  size_t operator()(const ferry::Prefix& p) const noexcept {
    return std::hash<ferry::IpAddress>{}(p.addr()) * 31 + static_cast<size_t>(p.len());
  }
};
