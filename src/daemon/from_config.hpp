// The one translation from config::Config to the modules' own options.
//
// The daemon owns the configuration: it loads it (start, SIGHUP, `ferryctl
// reload`), keeps it, and turns it here into one Options value per module.
// No module sees config::Config; each gets the part it is configured with
// (the speaker its neighbours and policies, the tunnel its [tunnel] section,
// routing its static routes with their interfaces resolved, ...). Modules
// compares the old and new ModulesOptions on reload to decide what needs a
// restart and what is applied live.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bfd/session.hpp"
#include "bmp/options.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "fib/fib.hpp"
#include "fib/kernel_fib.hpp"
#include "fib/kernel_routes.hpp"
#include "liveness/tracker.hpp"
#include "rib/rib.hpp"
#include "routing/options.hpp"
#include "speaker/options.hpp"

namespace ferry::daemon {

// Interface name -> index (0: no such interface). if_nametoindex in the daemon.
using IfIndexFn = std::function<uint32_t(const std::string& name)>;

// BFD sessions follow the BGP neighbours (RFC 5882 §4.3: BFD for BGP).
struct BfdOptions {
  struct Peer {
    std::string name;  // the neighbour's, for logs
    IpAddress address;
    std::optional<IpAddress> local_address;
    // bfd = true, or unset and the neighbour is reached through a tunnel peer.
    bool enabled = false;
    bool operator==(const Peer&) const = default;
  };
  bfd::Timers timers;
  std::vector<Peer> peers;  // every BGP neighbour
  bool any() const;
};

// [liveness]: the tunnel peers' shared liveness (liveness/tracker.hpp).
struct LivenessOptions {
  liveness::Options tracker;
  uint32_t handshake_timeouts = 3;  // WireGuard: unanswered initiations before Down
  bool operator==(const LivenessOptions&) const = default;
};

struct ModulesOptions {
  rib::RibOptions rib;
  std::vector<config::PolicyConfig> policies;
  bool fib_install = true;
  fib::KernelFibOptions kernel_fib;
  fib::FibOptions fib;
  // Connected networks and foreign kernel routes to watch and which of them to
  // redistribute (the `redistribute` selectors).
  fib::RouteSourceFilter route_sources;
  std::vector<config::RedistributeConfig> redistribute;
  std::optional<config::TunnelConfig> tunnel;  // [tunnel]: the tunnel's own section
  std::optional<config::IpsecConfig> ipsec;    // [ipsec]: IPsec tunnels (their own TUN)
  std::optional<speaker::Options> speaker;     // [bgp]
  BfdOptions bfd;
  LivenessOptions liveness;
  routing::Options routing;
  // Some neighbour has graceful-restart and routes go into the kernel (RFC 4724 §4.1).
  bool graceful_restart = false;
  uint32_t graceful_restart_time = 120;  // seconds
  bmp::ExporterOptions bmp;              // [[bmp]] stations (used with [bgp])
};

fib::RouteKeys route_keys(const config::FibConfig& c);
fib::KernelFibOptions kernel_fib_options(const config::FibConfig& c);
fib::FibOptions fib_options(const config::FibConfig& c);
// The `redistribute` entries of kind connected and kernel, each one selector
// (static routes come from the config, not from the kernel). Selectors are
// OR-ed: a route is redistributed if any entry of its source matches it.
Result<fib::RouteSourceFilter> route_source_filter(const config::Config& c);
rib::RibOptions rib_options(const config::Config& c);
// Requires c.bgp.
speaker::Options speaker_options(const config::Config& c);
routing::Options routing_options(const config::Config& c, const IfIndexFn& ifindex);
BfdOptions bfd_options(const config::Config& c);
// sys_name: the Initiation's sysName (the host name in ferryd).
bmp::ExporterOptions bmp_options(const config::Config& c, const std::string& sys_name);
LivenessOptions liveness_options(const config::Config& c);
// The address lies in a tunnel peer's static allowed-ips: a BGP session with it
// runs across the tunnel and shares that peer's fate.
bool reached_over_tunnel(const config::Config& c, const IpAddress& a);

// Everything at once. Errors: a redistribute protocol name that does not parse.
Result<ModulesOptions> from_config(const config::Config& c, const IfIndexFn& ifindex);

}  // namespace ferry::daemon
