// ferry's metrics, built from a snapshot of the modules' state.
//
// The daemon assembles the snapshot on the control-plane event loop from the
// same data `ferryctl show ...` prints (show neighbors, show bfd, show fib's
// counters, the tunnel's per-peer statistics, the RIB's counts), so the two
// never disagree; collect() turns it into metric families. The snapshot is a
// JSON object with optional members (a missing module yields no families):
//
//   daemon:  {version, started_at, reloads, last_reload_error}
//   bgp:     the result of `show neighbors` ({"neighbors": [...]})
//   bfd:     the result of `show bfd` ({"sessions": [...], "drops": {...}})
//   fib:     the FIB's counters (`show fib` without the route list)
//   tunnel:  {interface, drops: {reason: n}, cookie_sent,
//             peers: [{name, latest_handshake, rx_bytes, tx_bytes, rx_packets,
//                      tx_packets, drops: {reason: n}}]}
//   rib:     {prefixes, paths}
//
// Metric names and labels follow the conventions of frr_exporter,
// bird_exporter and prometheus_wireguard_exporter: docs/metrics.md lists them.
// Fields that are missing or of the wrong type are skipped, never fatal.
#pragma once

#include <nlohmann/json.hpp>

#include "metrics/exposition.hpp"

namespace ferry::metrics {

void collect(const nlohmann::json& snapshot, MetricSet& out);
// collect() rendered as the text exposition format.
std::string render(const nlohmann::json& snapshot);

// RFC 4273 bgpPeerState numbering: idle(1) .. established(6); 0 for unknown.
int bgp_state_value(std::string_view fsm_state_name);
// RFC 5880 §4.1 State field: AdminDown 0, Down 1, Init 2, Up 3; -1 for unknown.
int bfd_state_value(std::string_view state_name);

}  // namespace ferry::metrics
