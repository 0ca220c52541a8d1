// speaker::Options: what the BGP speaker is configured with. The daemon fills
// it from the [router], [bgp] and [[policy]] sections (daemon/from_config.hpp);
// the speaker never sees the whole configuration. Neighbours and policies keep
// their typed configuration structs: they are the speaker's (and the RIB's)
// own vocabulary, validated by the config module.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/ip.hpp"
#include "common/types.hpp"
#include "config/config.hpp"

namespace ferry::speaker {

struct Options {
  Asn local_asn;
  RouterId router_id;
  std::vector<config::BgpNeighborConfig> neighbors;
  std::vector<Prefix> networks;  // originated as source Network
  uint16_t listen_port = 179;
  std::optional<IpAddress> listen_address;  // unset: dual-stack [::]
  uint32_t graceful_restart_time = 120;     // seconds (RFC 4724 §3 Restart Time)
  std::vector<config::PolicyConfig> policies;
  // Conditional advertisement: a network or neighbor named by a check is
  // advertised (sent anything) only while the check is up.
  std::vector<config::HealthCheckConfig> health_checks;
  bool operator==(const Options&) const = default;
};

}  // namespace ferry::speaker
