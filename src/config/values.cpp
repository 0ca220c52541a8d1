// Value-type helpers of the config module: community and prefix-match text,
// endpoints, WireGuard key checks, and the small public member functions
// declared in config.hpp.
#include "config/values.hpp"

#include <openssl/evp.h>

#include <array>
#include <charconv>

namespace ferry::config {

namespace {

struct WellKnown {
  const char* name;
  uint32_t value;
};

// Well-known communities: RFC 1997 §3, RFC 3765 §2 (no-peer), RFC 7611 (accept-own),
// RFC 7999 §5 (blackhole), RFC 8326 §5 (graceful-shutdown), RFC 9494 (LLGR).
constexpr std::array<WellKnown, 9> kWellKnown{{
    {"graceful-shutdown", 0xFFFF0000},
    {"accept-own", 0xFFFF0001},
    {"llgr-stale", 0xFFFF0006},
    {"no-llgr", 0xFFFF0007},
    {"blackhole", 0xFFFF029A},
    {"no-export", 0xFFFFFF01},
    {"no-advertise", 0xFFFFFF02},
    {"no-export-subconfed", 0xFFFFFF03},
    {"no-peer", 0xFFFFFF04},
}};

}  // namespace

namespace detail {

std::optional<uint64_t> parse_decimal(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  for (const char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

std::string format_community(uint32_t c) {
  for (const auto& w : kWellKnown)
    if (w.value == c) return w.name;
  return std::to_string(c >> 16) + ":" + std::to_string(c & 0xffff);
}

std::string format_large_community(const std::vector<uint32_t>& c) {
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) out += (i ? ":" : "") + std::to_string(c[i]);
  return out;
}

std::optional<InterfaceAddress> parse_interface_address(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = IpAddress::parse(s.substr(0, slash));
  if (!addr) return std::nullopt;
  auto len = parse_decimal(s.substr(slash + 1), family_bits(addr->family()));
  if (!len || s.size() - slash - 1 > 3) return std::nullopt;
  return InterfaceAddress{*addr, static_cast<int>(*len)};
}

std::optional<Endpoint> parse_endpoint(std::string_view s) {
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    // RFC 3986 §3.2.2: an IPv6 literal is bracketed so its colons are not the port's.
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return std::nullopt;  // "[1.2.3.4]:1"
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare IPv6
  }
  auto addr = IpAddress::parse(host);
  auto p = parse_decimal(port, 65535);
  if (!addr || !p || *p == 0 || port.size() > 5) return std::nullopt;
  return Endpoint{*addr, static_cast<uint16_t>(*p)};
}

std::optional<PrefixMatch> parse_prefix_match(std::string_view s) {
  // Split on single spaces into at most five words: PREFIX [ge N] [le M].
  std::vector<std::string_view> w;
  size_t pos = 0;
  while (pos <= s.size()) {
    const auto sp = s.find(' ', pos);
    const auto end = sp == std::string_view::npos ? s.size() : sp;
    if (end > pos) w.push_back(s.substr(pos, end - pos));
    if (w.size() > 5) return std::nullopt;
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  if (w.empty() || w.size() % 2 == 0) return std::nullopt;
  auto p = Prefix::parse_strict(w[0]);
  if (!p || w[0].find('/') == std::string_view::npos) return std::nullopt;
  PrefixMatch m{*p, -1, -1};
  const int bits = family_bits(p->family());
  for (size_t i = 1; i + 1 < w.size(); i += 2) {
    auto n = parse_decimal(w[i + 1], static_cast<uint64_t>(bits));
    if (!n) return std::nullopt;
    if (w[i] == "ge" && m.ge < 0 && m.le < 0) {
      m.ge = static_cast<int>(*n);
    } else if (w[i] == "le" && m.le < 0) {
      m.le = static_cast<int>(*n);
    } else {
      return std::nullopt;
    }
  }
  // len <= ge <= le <= bits (a range that cannot match anything is a typo).
  if (m.ge >= 0 && m.ge < p->len()) return std::nullopt;
  if (m.le >= 0 && m.le < p->len()) return std::nullopt;
  if (m.ge >= 0 && m.le >= 0 && m.le < m.ge) return std::nullopt;
  return m;
}

bool is_wg_key(std::string_view s) {
  // 32 bytes encode to 44 characters with one '=' of padding (RFC 4648 §4).
  if (s.size() != 44 || s[43] != '=' || s[42] == '=') return false;
  unsigned char out[33];
  const int n = EVP_DecodeBlock(out, reinterpret_cast<const unsigned char*>(s.data()), 44);
  if (n != 33) return false;
  // Reject non-canonical encodings (stray low bits in the last character).
  unsigned char again[45];
  EVP_EncodeBlock(again, out, 32);
  return std::string_view(reinterpret_cast<const char*>(again), 44) == s;
}

}  // namespace detail

std::optional<uint32_t> parse_community(const std::string& s) {
  for (const auto& w : kWellKnown)
    if (s == w.name) return w.value;
  const auto colon = s.find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto hi = detail::parse_decimal(std::string_view(s).substr(0, colon), 0xffff);
  auto lo = detail::parse_decimal(std::string_view(s).substr(colon + 1), 0xffff);
  if (!hi || !lo) return std::nullopt;
  return static_cast<uint32_t>((*hi << 16) | *lo);
}

std::optional<std::vector<uint32_t>> parse_large_community(const std::string& s) {
  // RFC 8092 §3: Global Administrator, Local Data Part 1, Local Data Part 2.
  std::vector<uint32_t> out;
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    const auto colon = s.find(':', pos);
    if ((i < 2) != (colon != std::string::npos)) return std::nullopt;
    const auto end = colon == std::string::npos ? s.size() : colon;
    auto v = detail::parse_decimal(std::string_view(s).substr(pos, end - pos), 0xffffffff);
    if (!v) return std::nullopt;
    out.push_back(static_cast<uint32_t>(*v));
    pos = end + 1;
  }
  return out;
}

std::string Endpoint::str() const {
  const std::string p = std::to_string(port);
  return addr.is_v6() ? "[" + addr.str() + "]:" + p : addr.str() + ":" + p;
}

bool PrefixMatch::matches(const Prefix& p) const {
  if (!prefix.contains(p)) return false;  // also checks the family
  const int bits = family_bits(prefix.family());
  const int lo = ge >= 0 ? ge : prefix.len();
  const int hi = le >= 0 ? le : (ge >= 0 ? bits : prefix.len());
  return p.len() >= lo && p.len() <= hi;
}

std::string PrefixMatch::str() const {
  std::string out = prefix.str();
  if (ge >= 0) out += " ge " + std::to_string(ge);
  if (le >= 0) out += " le " + std::to_string(le);
  return out;
}

bool PolicyMatch::empty() const {
  return prefixes.empty() && !as_path_contains && !as_path_originates && !as_path_length_min &&
         !as_path_length_max && communities.empty() && large_communities.empty() &&
         neighbors.empty() && !origin && !family && !source;
}

const PolicyConfig* Config::find_policy(const std::string& name) const {
  for (const auto& p : policies)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace ferry::config
