// The protocol modules of one ferryd and how they are wired. Created and
// owned by Daemon; everything here runs on the control-plane io_context.
//
//   speaker (BGP sessions) <-> rib (decision, policy) -> routing -> fib (kernel)
//                                                                -> tunnel (cryptokey)
//   bfd (per session) --+                      +--> routing.set_unusable_peers (routes, both
//   tunnel handshakes --+--> liveness (one state|    families; cryptokey learned entries)
//   (IPsec DPD later) --+    per tunnel peer) -+--> speaker.set_gate (every session across
//                                                  the peer: Cease, held down; strict mode)
//   bfd --down--> speaker.bfd_down (neighbours not reached through the tunnel)
//   speaker --Monitor (sessions, UPDATEs in/out)--> bmp (stations); bmp reads rib for dumps
//   health checks --up/down--> speaker (networks withdrawn, neighbours' exports suspended)
//   kernel addresses/routes -> routing (next-hop resolution) and rib (redistribution)
//   tunnel --View (on change)--> routing; routing --learned prefixes--> tunnel
//
// Configuration arrives translated (ModulesOptions, daemon/from_config.hpp); apply()
// compares old and new options on reload. Kernel access (route table, route
// sources, TUN/UDP, the persistent interface) goes through ModulesIo, so the
// wiring is unit-tested with fakes (tests/unit/daemon/modules_test.cpp).
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
#include "bmp/exporter.hpp"
#include "common/result.hpp"
#include "ctl/registry.hpp"
#include "daemon/from_config.hpp"
#include "fib/fib.hpp"
#include "fib/kernel_fib.hpp"
#include "fib/kernel_routes.hpp"
#include "fib/nl_socket.hpp"
#include "health/checker.hpp"
#include "ipsec/ipsec_tunnel.hpp"
#include "liveness/liveness.hpp"
#include "rib/rib.hpp"
#include "routing/routing.hpp"
#include "speaker/speaker.hpp"
#include "tunnel/tunnel.hpp"

namespace ferry::daemon {

class TunnelLearned;

// Connected networks and foreign kernel routes, as Modules needs them
// (fib::KernelRoutes over rtnetlink in ferryd; a fake in unit tests). Changes
// go to the fib::RouteSourceListener given when it was made.
class RouteSource {
 public:
  virtual ~RouteSource() = default;
  // done(error) once the initial dump was delivered.
  virtual Result<void> start(std::function<void(int)> done) = 0;
  virtual void stop() = 0;
  // Connected networks of up interfaces (all of them): next-hop resolution's input.
  virtual std::vector<std::pair<Prefix, uint32_t>> connected_networks() const = 0;
  virtual std::optional<std::string> ifname(uint32_t ifindex) const = 0;
};

// The modules' kernel access; an unset member means the real thing. Unit tests
// set them all and run without root, netlink or TUN.
struct ModulesIo {
  // The kernel route table the FIB programs (default: fib::KernelFib on rtnetlink).
  std::function<std::unique_ptr<fib::RouteKernel>(const fib::KernelFibOptions&)> route_kernel;
  // Connected and kernel routes (default: fib::KernelRoutes).
  std::function<std::unique_ptr<RouteSource>(fib::RouteSourceFilter, fib::RouteSourceListener&)>
      route_source;
  // The tunnel's TUN/UDP/interface access; persistent: the TUN interface outlives
  // the process (graceful restart). Default: Linux TUN and UDP sockets.
  std::function<tunnel::TunnelIo(bool persistent)> tunnel;
  // Graceful restart's persistent TUN interface: whether a previous run left it, and
  // its removal at a clean stop. Default: Linux.
  std::function<bool(const std::string& name)> tun_exists;
  std::function<Result<void>(const std::string& name)> remove_tun;
  // Health check probes (default: ICMP and TCP sockets, health/checker.hpp).
  std::function<std::unique_ptr<health::Prober>()> prober;
  // Connections to BMP stations (default: TCP).
  bmp::Connector bmp_connector;
  // BFD's UDP port (RFC 5881 §4: 3784); unit tests use 0 (any free port) so
  // that parallel tests do not compete for it.
  uint16_t bfd_port = 3784;
  // The IPsec tunnel's TUN/UDP/interface access. Default: Linux.
  std::function<ipsec::IpsecIo()> ipsec;
};

class Modules : public fib::RouteSourceListener {
 public:
  Modules(asio::io_context& io, ModulesOptions opts, ModulesIo kio = {});
  ~Modules() override;

  Result<void> start();
  // Reload: what needs a restart is refused with an error and nothing changes.
  Result<void> apply(const ModulesOptions& next);
  // Cease to BGP peers, AdminDown to BFD peers, kernel routes removed (unless
  // configured to keep them); done runs when all of that went out.
  void stop(const std::string& reason, std::function<void()> done);
  void register_commands(ctl::Registry& r);
  // The modules' state for the metrics endpoint (metrics/collect.hpp has the
  // shape): the show commands' data without their per-route lists, so its cost
  // is O(peers + sessions), not O(routes).
  ctl::Json metrics_snapshot() const;

  // For tests and `show` commands.
  rib::Rib& rib() { return rib_; }
  const routing::Routing* routing() const { return routing_.get(); }
  const fib::Fib* fib() const { return fib_.get(); }
  tunnel::Tunnel* tunnel() { return tunnel_.get(); }
  speaker::Speaker* speaker() { return speaker_.get(); }
  bfd::Bfd* bfd() { return bfd_.get(); }
  bmp::Exporter* bmp() { return bmp_.get(); }
  // The generic liveness input hook (liveness::InputSink) for evidence sources
  // beyond BFD and WireGuard handshakes (IPsec DPD); null without a tunnel.
  liveness::InputSink* liveness_input() { return liveness_.get(); }
  const ModulesOptions& options() const { return opts_; }

 private:
  // Kernel route sources: connected networks feed next-hop resolution; both
  // connected and foreign kernel routes feed redistribution into BGP.
  void on_route_add(const fib::RedistRoute& r) override;
  void on_route_remove(const fib::RedistRoute& r) override;
  bool redistributes(const fib::RedistRoute& r) const;
  void refresh_connected();
  void sync_bfd_peers();
  void start_speaker(bool restarting);
  ctl::Json graceful_restart_json() const;
  // Polls the tunnel for roamed endpoints (it publishes a new view to routing)
  // and its peers' handshakes for the tunnel_peer_up / tunnel_peer_down log events.
  void watch_endpoints();
  void track_tunnel_peers();
  // Fate sharing (docs/liveness.md): the liveness peers follow the tunnel's view;
  // a state change re-resolves routes and re-gates the BGP sessions across the peer.
  void sync_liveness_peers();
  void on_bfd_change(const IpAddress& addr, bfd::State from, bfd::State to, bfd::Diag why);
  void on_liveness_change(tunnel::PeerIndex peer, liveness::State from,
                          const liveness::PeerStatus& now);
  void update_gates();
  // The shared liveness of the tunnel peer `a` is reached through (null if none).
  ctl::Json liveness_of(const IpAddress& a) const;
  ctl::Json loop_guard_json() const;

  asio::io_context& io_;
  ModulesOptions opts_;
  ModulesIo kio_;
  rib::Rib rib_;
  std::unique_ptr<fib::NetlinkClient> nl_;  // only without ModulesIo::route_kernel
  std::unique_ptr<fib::RouteKernel> kernel_;
  std::unique_ptr<fib::Fib> fib_;
  std::unique_ptr<tunnel::Tunnel> tunnel_;
  std::unique_ptr<ipsec::IpsecTunnel> ipsec_;  // [ipsec]: driven from io_ (IKE ticks)
  std::unique_ptr<TunnelLearned> tunnel_learned_;
  std::unique_ptr<RouteSource> kernel_routes_;
  std::unique_ptr<routing::Routing> routing_;
  std::unique_ptr<speaker::Speaker> speaker_;
  std::unique_ptr<bfd::Bfd> bfd_;
  std::unique_ptr<health::Prober> prober_;
  std::unique_ptr<health::Checker> health_;  // while [[health-checks]] exist
  void apply_health_checks();
  // With [bgp]: the BMP exporter, the speaker's monitor (stations may be none).
  std::unique_ptr<bmp::Exporter> bmp_;
  std::unique_ptr<liveness::Liveness> liveness_;  // only with a tunnel
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
