#include "common/ip.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace ferry {

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress a;
  a.family_ = Family::V4;
  a.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes_[3] = static_cast<uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::v4_bytes(const uint8_t* b) {
  IpAddress a;
  a.family_ = Family::V4;
  std::memcpy(a.bytes_.data(), b, 4);
  return a;
}

IpAddress IpAddress::v6_bytes(const uint8_t* b) {
  IpAddress a;
  a.family_ = Family::V6;
  std::memcpy(a.bytes_.data(), b, 16);
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view s) {
  if (s.empty() || s.size() > 45) return std::nullopt;
  char buf[46];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  IpAddress a;
  if (s.find(':') == std::string_view::npos) {
    // inet_pton accepts only the strict dotted-quad form, which is what we want.
    if (inet_pton(AF_INET, buf, a.bytes_.data()) != 1) return std::nullopt;
    a.family_ = Family::V4;
  } else {
    if (inet_pton(AF_INET6, buf, a.bytes_.data()) != 1) return std::nullopt;
    a.family_ = Family::V6;
  }
  return a;
}

uint32_t IpAddress::v4_host_order() const {
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
         uint32_t{bytes_[3]};
}

bool IpAddress::is_unspecified() const {
  for (int i = 0; i < byte_len(); ++i)
    if (bytes_[i]) return false;
  return true;
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

Prefix::Prefix(const IpAddress& addr, int len) : addr_(addr) {
  const int bits = family_bits(addr.family());
  if (len < 0) len = 0;
  if (len > bits) len = bits;
  len_ = static_cast<uint8_t>(len);
  uint8_t* b = addr_.mutable_bytes();
  for (int i = 0; i < 16; ++i) {
    const int keep = len - i * 8;
    if (keep >= 8) continue;
    b[i] = keep <= 0 ? 0 : static_cast<uint8_t>(b[i] & (0xff00 >> keep));
  }
}

static std::optional<std::pair<IpAddress, int>> split_prefix(std::string_view s) {
  const auto slash = s.find('/');
  auto addr = IpAddress::parse(s.substr(0, slash));
  if (!addr) return std::nullopt;
  int len = family_bits(addr->family());
  if (slash != std::string_view::npos) {
    const auto ls = s.substr(slash + 1);
    if (ls.empty() || ls.size() > 3) return std::nullopt;
    auto [p, ec] = std::from_chars(ls.data(), ls.data() + ls.size(), len);
    if (ec != std::errc() || p != ls.data() + ls.size()) return std::nullopt;
    if (len < 0 || len > family_bits(addr->family())) return std::nullopt;
  }
  return std::make_pair(*addr, len);
}

std::optional<Prefix> Prefix::parse(std::string_view s) {
  auto r = split_prefix(s);
  if (!r) return std::nullopt;
  return Prefix(r->first, r->second);
}

std::optional<Prefix> Prefix::parse_strict(std::string_view s) {
  auto r = split_prefix(s);
  if (!r) return std::nullopt;
  Prefix p(r->first, r->second);
  if (p.addr() != r->first) return std::nullopt;
  return p;
}

bool Prefix::contains(const IpAddress& a) const {
  if (a.family() != family()) return false;
  return Prefix(a, len_).addr_ == addr_;
}

bool Prefix::contains(const Prefix& p) const {
  return p.family() == family() && p.len_ >= len_ && contains(p.addr());
}

std::string Prefix::str() const { return addr_.str() + "/" + std::to_string(len_); }

}  // namespace ferry
