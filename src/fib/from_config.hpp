// Maps the typed configuration onto the FIB module's options, so the daemon
// wiring is one call per object. Header-only: it reads config structs and
// calls nothing from the config library.
#pragma once

#include "config/config.hpp"
#include "fib/fib.hpp"
#include "fib/kernel_fib.hpp"
#include "fib/kernel_routes.hpp"

namespace ferry::fib {

inline RouteKeys route_keys(const config::FibConfig& c) {
  return RouteKeys{c.table, c.protocol, c.metric};
}

inline KernelFibOptions kernel_fib_options(const config::FibConfig& c) {
  KernelFibOptions o;
  o.keys = route_keys(c);
  return o;
}

inline FibOptions fib_options(const config::FibConfig& c) {
  FibOptions o;
  o.keys = route_keys(c);
  o.keep_on_shutdown = c.keep_on_shutdown;
  return o;
}

// The `redistribute` entries of kind connected and kernel, each one selector
// (static routes come from the config, not from the kernel). Selectors are
// OR-ed: a route is redistributed if any entry of its source matches it.
inline Result<RouteSourceFilter> route_source_filter(const config::Config& c) {
  RouteSourceFilter f;
  f.own_protocol = c.fib.protocol;
  if (c.tunnel) f.tunnel_interface = c.tunnel->interface;
  if (!c.bgp) return f;
  for (const auto& r : c.bgp->redistribute) {
    if (r.source == config::RedistributeConfig::Source::Connected) {
      f.connected = true;
      f.connected_selectors.push_back({r.interfaces});
    } else if (r.source == config::RedistributeConfig::Source::Kernel) {
      f.kernel = true;
      auto p = RouteSourceFilter::parse_protocols(r.protocols);
      if (!p) return make_error("redistribute kernel: " + p.error());
      f.kernel_selectors.push_back({std::move(*p), r.table.value_or(254)});
    }
  }
  return f;
}

}  // namespace ferry::fib
