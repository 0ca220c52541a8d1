// Text forms of the config's value types (internal to the config module).
//
// The parser turns strings into values with these functions and the printer
// turns values back into the same canonical strings, so print(parse(x)) is a
// fixed point. Every parse_* returns nullopt on malformed text; the caller
// reports where.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace ferry::config::detail {

// "65001:100" or the RFC 1997/3765/7999/8326 well-known name.
std::string format_community(uint32_t c);
std::string format_large_community(const std::vector<uint32_t>& c);  // "65001:1:2"

// "169.254.10.1/30": host bits kept.
std::optional<InterfaceAddress> parse_interface_address(std::string_view s);
// "1.2.3.4:51820" or "[2001:db8::1]:51820"; port 1..65535.
std::optional<Endpoint> parse_endpoint(std::string_view s);
// "10.0.0.0/8", "10.0.0.0/8 le 24", "192.168.0.0/16 ge 24 le 28".
std::optional<PrefixMatch> parse_prefix_match(std::string_view s);
// A WireGuard key: canonical base64 of exactly 32 bytes (EVP_DecodeBlock).
bool is_wg_key(std::string_view s);
// Decimal string without sign or leading junk, within [0, max].
std::optional<uint64_t> parse_decimal(std::string_view s, uint64_t max);

}  // namespace ferry::config::detail
