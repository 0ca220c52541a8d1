// Value types shared by the FIB module: next hops, route targets and kernel
// routes as rtnetlink describes them.
//
// A RouteTarget is what ferry wants a prefix to point at (a blackhole, or one
// or more next hops); it is kept in canonical form (next hops sorted, no
// duplicates) so that two targets describing the same kernel state compare
// equal. A KernelRoute is one route as read from (or written to) the kernel:
// the target plus the kernel's keys (table, protocol, metric).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.hpp"

namespace ferry::fib {

using Json = nlohmann::json;

// rtm_type values we program or learn (linux/rtnetlink.h RTN_*).
enum class RouteType : uint8_t {
  Unicast = 1,      // RTN_UNICAST
  Local = 2,        // RTN_LOCAL
  Broadcast = 3,    // RTN_BROADCAST
  Anycast = 4,      // RTN_ANYCAST
  Multicast = 5,    // RTN_MULTICAST
  Blackhole = 6,    // RTN_BLACKHOLE
  Unreachable = 7,  // RTN_UNREACHABLE
  Prohibit = 8,     // RTN_PROHIBIT
  Other = 0,
};
const char* route_type_name(RouteType t);

struct NextHop {
  std::optional<IpAddress> gateway;  // none: directly on the device
  uint32_t ifindex = 0;              // 0: let the kernel resolve it from the gateway
  uint8_t weight = 1;                // ECMP weight, 1..256 on the wire as rtnh_hops + 1
  bool onlink = false;               // RTNH_F_ONLINK: gateway reachable on ifindex without a subnet

  auto operator<=>(const NextHop&) const = default;
  bool operator==(const NextHop&) const = default;
  std::string str() const;
};

struct RouteTarget {
  RouteType type = RouteType::Unicast;
  std::vector<NextHop> nexthops;  // empty for blackhole/unreachable/prohibit

  static RouteTarget blackhole() { return RouteTarget{RouteType::Blackhole, {}}; }
  static RouteTarget via(std::vector<NextHop> nhs);
  // Sorts and de-duplicates next hops; clears them for non-unicast types.
  void canonicalize();
  bool operator==(const RouteTarget&) const = default;
  std::string str() const;
  Json json() const;
};

struct KernelRoute {
  Prefix prefix;
  uint32_t table = 254;
  uint8_t protocol = 0;
  uint32_t metric = 0;
  uint8_t scope = 0;
  uint8_t tos = 0;
  uint32_t rtm_flags = 0;  // RTM_F_CLONED etc.
  RouteTarget target;
  std::optional<IpAddress> prefsrc;
  bool operator==(const KernelRoute&) const = default;
};

// Knows whether `kernel` already realises `desired`: next hops equal, where a
// desired ifindex of 0 matches whatever the kernel resolved.
bool target_matches_kernel(const RouteTarget& desired, const RouteTarget& kernel);

// rtnetlink protocol numbers by name, as in /etc/iproute2/rt_protos
// ("kernel", "boot", "static", "zebra", "bird", "ospf", ...), or a decimal
// number 0..255.
std::optional<uint8_t> parse_route_protocol(std::string_view name);
std::string route_protocol_name(uint8_t proto);

}  // namespace ferry::fib
