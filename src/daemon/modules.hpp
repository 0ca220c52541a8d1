// The protocol modules of one ferryd and how they are wired. Created and
// owned by Daemon; everything here runs on the control-plane io_context.
//
//   speaker (BGP sessions) <-> rib (decision, policy) -> routing -> fib (kernel)
//                                                                -> tunnel (cryptokey)
//   bfd --down--> speaker.bfd_down (tear the session down before the hold timer)
//   kernel addresses/routes -> routing (next-hop resolution) and rib (redistribution)
//
// Graceful restart, restarting-speaker role (RFC 4724 §4.1). Enabled when
// some BGP neighbour has graceful-restart and the FIB installs routes. Then
// the tunnel's TUN interface is persistent, so a ferryd that dies (kill -9,
// crash) leaves the interface, its addresses and the kernel routes through it
// in place and traffic keeps its routes. Whether a start is a restart needs no
// state file: the kernel is the state. If the FIB's initial dump finds routes
// with our protocol, table and metric, forwarding state was preserved: the FIB
// keeps them as stale (not deleted), BGP starts only after that dump with
// the R and F bits in its OPENs and defers its output, and once every GR
// peer sent End-of-RIB (or bgp.graceful-restart-time ran out) the stale
// routes nobody re-learned are deleted. A clean stop removes the persistent
// interface unless fib.keep-on-shutdown keeps the forwarding state.
#pragma once

#include <asio.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "bfd/bfd.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "ctl/registry.hpp"
#include "daemon/routing.hpp"
#include "fib/fib.hpp"
#include "fib/kernel_fib.hpp"
#include "fib/kernel_routes.hpp"
#include "fib/nl_socket.hpp"
#include "rib/rib.hpp"
#include "speaker/speaker.hpp"
#include "tunnel/tunnel.hpp"

namespace ferry::daemon {

class TunnelAdapter;

class Modules : public fib::RouteSourceListener {
 public:
  Modules(asio::io_context& io, const config::Config& cfg);
  ~Modules() override;

  Result<void> start();
  Result<void> apply(const config::Config& cfg);
  // Cease to BGP peers, AdminDown to BFD peers, kernel routes removed (unless
  // configured to keep them); done runs when all of that went out.
  void stop(const std::string& reason, std::function<void()> done);
  void register_commands(ctl::Registry& r);
  // The modules' state for the metrics endpoint (metrics/collect.hpp has the
  // shape): the show commands' data without their per-route lists, so its cost
  // is O(peers + sessions), not O(routes).
  ctl::Json metrics_snapshot() const;

 private:
  static rib::RibOptions rib_options(const config::Config& c);
  // Kernel route sources: connected networks feed next-hop resolution; both
  // connected and foreign kernel routes feed redistribution into BGP.
  void on_route_add(const fib::RedistRoute& r) override;
  void on_route_remove(const fib::RedistRoute& r) override;
  bool redistributes(const fib::RedistRoute& r) const;
  void refresh_connected();
  void sync_bfd_peers();
  // Some neighbour has graceful-restart and routes go into the kernel.
  bool graceful_restart_preserve() const;
  void start_speaker(bool restarting);
  ctl::Json graceful_restart_json() const;
  // Polls the tunnel peers' endpoints (roaming) for the routing loop guard,
  // and their handshakes for the tunnel_peer_up / tunnel_peer_down log events.
  void watch_endpoints();
  void track_tunnel_peers();
  ctl::Json loop_guard_json() const;

  asio::io_context& io_;
  config::Config cfg_;
  rib::Rib rib_;
  std::unique_ptr<fib::NetlinkClient> nl_;
  std::unique_ptr<fib::KernelFib> kfib_;
  std::unique_ptr<fib::Fib> fib_;
  std::unique_ptr<tunnel::Tunnel> tunnel_;
  std::unique_ptr<TunnelAdapter> tunnel_adapter_;
  std::unique_ptr<fib::KernelRoutes> kernel_routes_;
  std::unique_ptr<Routing> routing_;
  std::unique_ptr<speaker::Speaker> speaker_;
  std::unique_ptr<bfd::Bfd> bfd_;
  std::unique_ptr<asio::steady_timer> endpoint_timer_;
  bool gr_preserve_ = false;  // fixed at start()
  bool speaker_started_ = false;
  std::string persistent_tun_;      // interface made persistent (removed at a clean stop)
  std::string gr_complete_reason_;  // "end-of-rib" / "timer" once the restart converged
  // Tunnel peers whose session is usable (a handshake within Reject-After-Time), by name;
  // filled by track_tunnel_peers(), a peer removed by reload leaves it.
  std::map<std::string, bool> tunnel_peer_up_;
};

}  // namespace ferry::daemon
