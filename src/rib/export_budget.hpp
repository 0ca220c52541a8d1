// Export budget (`max-prefixes-out`): the most prefixes one neighbor may be
// sent. Cloud VPN gateways accept about 100 prefixes per BGP session and
// tear the session down above that, so ferry never sends more; what does not
// fit is held back, or covered by an aggregate the site owns.
//
// plan_budget() is a pure function from the prefixes the export rules would
// send to the peer (prefix -> exported attributes) to what it is sent:
//   1. everything, if it fits;
//   2. otherwise aggregate candidates replace the prefixes they cover,
//      greedily: the longest candidate that alone saves enough entries (it
//      hides the least), else the one saving the most, until the set fits or
//      no candidate saves anything;
//   3. what still does not fit is held back: aggregates are kept first, then
//      shorter prefixes (they cover more), then in prefix order, so the result
//      is the same whatever order the routes arrived in.
// The aggregate's attributes follow RFC 4271 §9.2.2.2 (aggregate_attrs).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "bgp/attributes.hpp"
#include "common/ip.hpp"
#include "rib/attr_table.hpp"

namespace ferry::rib {

struct BudgetPlan {
  std::map<Prefix, AttrRef> out;   // what the peer should hold
  std::vector<Prefix> held;        // exportable but not sent (over budget)
  std::vector<Prefix> aggregated;  // exportable, covered by an aggregate that is sent
  std::vector<Prefix> aggregates;  // candidates in use
};

// Builds the attributes of `aggregate` from its contributing routes' exported
// attributes; returns the interned result.
using AggregateFn = std::function<AttrRef(const Prefix& aggregate, std::span<const AttrRef> parts)>;

BudgetPlan plan_budget(const std::map<Prefix, AttrRef>& want, size_t max,
                       std::span<const Prefix> candidates, const AggregateFn& aggregate);

// RFC 4271 §9.2.2.2 aggregation of `parts` (non-empty): ORIGIN the worst
// (INCOMPLETE > EGP > IGP); AS_PATH the common leading AS_SEQUENCE followed by
// an AS_SET of every other AS, or the path itself when all are equal;
// ATOMIC_AGGREGATE if any part has it; MED only if all agree; NEXT_HOP and
// LOCAL_PREF from the first part; communities united. AGGREGATOR is
// (local_asn, router_id) (RFC 4271 §5.1.7).
bgp::PathAttributes aggregate_attrs(std::span<const AttrRef> parts, uint32_t local_asn,
                                    const IpAddress& router_id);

}  // namespace ferry::rib
