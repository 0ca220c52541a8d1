// routing::Options: what the routing module is configured with. The daemon
// fills it from config::Config (daemon/from_config.hpp); Routing never sees
// the configuration file's types.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/ip.hpp"

namespace ferry::routing {

// A [[static-routes]] entry, its interface already resolved to an index.
struct StaticRoute {
  Prefix prefix;
  std::optional<IpAddress> next_hop;
  uint32_t ifindex = 0;  // 0: none given (or the interface does not exist)
  bool blackhole = false;
  bool operator==(const StaticRoute&) const = default;
};

struct Options {
  std::vector<StaticRoute> static_routes;
  // [tunnel] learned-override-static (see Routing: static allowed-ips are authoritative).
  bool learned_override_static = false;
  bool operator==(const Options&) const = default;
};

}  // namespace ferry::routing
