// Deterministic "realistic" IPv4 table for the load generator.
//
// make_table() draws N distinct unicast prefixes (about 85% /24, the rest
// spread over /16../23, never inside martian or private space) and groups
// them ~4 per UPDATE; each group gets a random AS_PATH of 2..7 hops starting
// with the feeder's AS, and every other group carries 1..3 communities. Same
// seed, same table, so runs against different daemons see identical input.
#pragma once

#include <cstdint>
#include <vector>

#include "wire.hpp"

namespace ferry::bench {

struct RouteGroup {
  RouteAttrs attrs;
  std::vector<PrefixKey> prefixes;
};

struct Table {
  std::vector<RouteGroup> groups;
  std::vector<PrefixKey> sorted_keys;  // every prefix, ascending: the monitor's index
};

Table make_table(size_t n, uint64_t seed, uint32_t feeder_asn, uint32_t next_hop);

}  // namespace ferry::bench
