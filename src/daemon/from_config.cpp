#include "daemon/from_config.hpp"

#include <unistd.h>

#include <algorithm>

#include "daemon/heap.hpp"

namespace ferry::daemon {

bool BfdOptions::any() const {
  return std::any_of(peers.begin(), peers.end(), [](const Peer& p) { return p.enabled; });
}

fib::RouteKeys route_keys(const config::FibConfig& c) {
  return fib::RouteKeys{c.table, c.protocol, c.metric};
}

fib::KernelFibOptions kernel_fib_options(const config::FibConfig& c) {
  fib::KernelFibOptions o;
  o.keys = route_keys(c);
  return o;
}

fib::FibOptions fib_options(const config::FibConfig& c) {
  fib::FibOptions o;
  o.keys = route_keys(c);
  o.keep_on_shutdown = c.keep_on_shutdown;
  return o;
}

Result<fib::RouteSourceFilter> route_source_filter(const config::Config& c) {
  fib::RouteSourceFilter f;
  f.own_protocol = c.fib.protocol;
  if (c.tunnel) f.tunnel_interface = c.tunnel->interface;
  if (!c.bgp) return f;
  for (const auto& r : c.bgp->redistribute) {
    if (r.source == config::RedistributeConfig::Source::Connected) {
      f.connected = true;
      f.connected_selectors.push_back({r.interfaces});
    } else if (r.source == config::RedistributeConfig::Source::Kernel) {
      f.kernel = true;
      auto p = fib::RouteSourceFilter::parse_protocols(r.protocols);
      if (!p) return make_error("redistribute kernel: " + p.error());
      f.kernel_selectors.push_back({std::move(*p), r.table.value_or(254)});
    }
  }
  return f;
}

rib::RibOptions rib_options(const config::Config& c) {
  rib::RibOptions o;
  o.heap_trim = trim_heap;  // the daemon owns the process's heap
  o.local_asn = c.router.asn;
  o.router_id = c.router.router_id;
  if (c.bgp) {
    o.cluster_id = c.bgp->cluster_id;
    o.max_paths = c.bgp->max_paths;
    o.always_compare_med = c.bgp->always_compare_med;
    o.multipath_relax = c.bgp->multipath_relax;
  }
  return o;
}

speaker::Options speaker_options(const config::Config& c) {
  speaker::Options o;
  o.local_asn = c.router.asn;
  o.router_id = c.router.router_id;
  o.neighbors = c.bgp->neighbors;
  o.networks = c.bgp->networks;
  o.listen_port = c.bgp->listen_port;
  o.listen_address = c.bgp->listen_address;
  o.graceful_restart_time = c.bgp->graceful_restart_time;
  o.policies = c.policies;
  o.health_checks = c.health_checks;
  return o;
}

routing::Options routing_options(const config::Config& c, const IfIndexFn& ifindex) {
  routing::Options o;
  o.learned_override_static = c.tunnel && c.tunnel->learned_override_static;
  for (const auto& r : c.static_routes)
    o.static_routes.push_back(
        {r.prefix, r.next_hop, r.interface.empty() ? 0 : ifindex(r.interface), r.blackhole});
  return o;
}

BfdOptions bfd_options(const config::Config& c) {
  BfdOptions o;
  if (!c.bgp) return o;
  const auto& b = c.bgp->bfd;
  o.timers =
      bfd::Timers{b.min_tx_ms * 1000, b.min_rx_ms * 1000, static_cast<uint8_t>(b.multiplier)};
  for (const auto& n : c.bgp->neighbors)
    o.peers.push_back(
        {n.name, n.address, n.local_address, n.bfd.value_or(reached_over_tunnel(c, n.address))});
  return o;
}

bool reached_over_tunnel(const config::Config& c, const IpAddress& a) {
  if (!c.tunnel) return false;
  for (const auto& p : c.tunnel->peers)
    for (const auto& ip : p.allowed_ips)
      if (ip.contains(a)) return true;
  return false;
}

LivenessOptions liveness_options(const config::Config& c) {
  LivenessOptions o;
  o.tracker.hold_down = std::chrono::milliseconds(c.liveness.hold_down_ms);
  o.tracker.hold_down_max = std::chrono::milliseconds(c.liveness.hold_down_max_ms);
  o.tracker.reset_after = std::chrono::milliseconds(c.liveness.reset_after_ms);
  o.handshake_timeouts = c.liveness.handshake_timeouts;
  return o;
}

bmp::ExporterOptions bmp_options(const config::Config& c, const std::string& sys_name) {
  bmp::ExporterOptions o;
  o.sys_name = sys_name.empty() ? c.router.router_id.str() : sys_name;
  o.sys_descr = std::string("ferry ") + FERRY_VERSION + " (ferryd, AS " +
                std::to_string(c.router.asn.value()) + ", router id " + c.router.router_id.str() +
                ")";
  for (const auto& b : c.bmp) {
    bmp::StationOptions s;
    s.name = b.name;
    s.address = b.station.addr;
    s.port = b.station.port;
    s.pre_policy = b.pre_policy;
    s.post_policy = b.post_policy;
    s.adj_rib_out = b.adj_rib_out;
    s.stats_interval = b.stats_interval;
    s.queue_limit = static_cast<size_t>(b.queue_limit);
    o.stations.push_back(std::move(s));
  }
  return o;
}

namespace {
std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}
}  // namespace

Result<ModulesOptions> from_config(const config::Config& c, const IfIndexFn& ifindex) {
  ModulesOptions o;
  o.rib = rib_options(c);
  o.policies = c.policies;
  o.fib_install = c.fib.install;
  o.kernel_fib = kernel_fib_options(c.fib);
  o.fib = fib_options(c.fib);
  auto filter = route_source_filter(c);
  if (!filter.ok()) return make_error(filter.error());
  o.route_sources = std::move(*filter);
  if (c.bgp) o.redistribute = c.bgp->redistribute;
  o.tunnel = c.tunnel;
  o.ipsec = c.ipsec;
  if (c.bgp) o.speaker = speaker_options(c);
  o.bfd = bfd_options(c);
  o.liveness = liveness_options(c);
  o.routing = routing_options(c, ifindex);
  if (c.bgp && c.fib.install)
    o.graceful_restart = std::any_of(c.bgp->neighbors.begin(), c.bgp->neighbors.end(),
                                     [](const auto& n) { return n.graceful_restart; });
  if (c.bgp) o.graceful_restart_time = c.bgp->graceful_restart_time;
  o.bmp = bmp_options(c, host_name());
  return o;
}

}  // namespace ferry::daemon
