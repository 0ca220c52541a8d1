// The BGP speaker: every configured neighbour's session, the listening
// socket, and the glue between sessions and the RIB.
//
// Data flow in: listener accepts -> matched to a neighbour by source address
// (unknown sources are closed) -> Session -> decoded UPDATEs -> Peer ->
// rib::Rib::announce/withdraw/end_of_rib. Data flow out: the RIB's pending
// callback (or a drained socket) -> Peer::pump() pulls a budget of changes
// with rib::Rib::pull_updates and packs them with the session's UpdateEncoder
// straight into the socket's output buffer, stopping at the write watermark.
// Everything runs on the control-plane io_context (single-threaded).
//
// Life cycle: start() binds the listener and starts every session; apply()
// diffs a new config (neighbours added/removed/reset only when their session
// parameters changed; policy changes become a soft refresh); stop() sends
// Cease with an RFC 8203 shutdown communication to everyone.
#pragma once

#include <asio.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bgp/session.hpp"
#include "common/ip.hpp"
#include "common/log.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "ctl/registry.hpp"
#include "rib/rib.hpp"
#include "speaker/monitor.hpp"
#include "speaker/options.hpp"

namespace ferry::speaker {

class Peer;

class Speaker {
 public:
  Speaker(asio::io_context& io, Options opts, rib::Rib& rib);
  ~Speaker();
  Speaker(const Speaker&) = delete;
  Speaker& operator=(const Speaker&) = delete;

  // Binds listen_address:listen_port (dual-stack [::] when unset) and
  // starts all sessions. A bind failure is returned (sessions still start, active only).
  Result<void> start();
  // Cease (admin shutdown, with reason as RFC 8203 text) to every neighbour,
  // closes the listener; done runs once the NOTIFICATIONs had a chance to go out.
  void stop(std::string reason, std::function<void()> done = {});
  // Reload: add/remove/modify neighbours; unchanged sessions keep running.
  void apply(const Options& opts);
  // ferryctl: show neighbors, show routes, show route, clear neighbor.
  void register_commands(ctl::Registry& registry);

  // Conditional advertisement: `up(check)` says whether a health check is up
  // (unknown checks are down); health_changed() re-evaluates the networks and
  // neighbours that depend on checks.
  void set_health_source(std::function<bool(const std::string&)> up) { health_up_ = std::move(up); }
  void health_changed();

  // BFD detected the path to this neighbour down: drop the session now.
  void bfd_down(const IpAddress& neighbor);
  // Fate sharing: see Peer::set_gate. Unknown names are ignored.
  void set_gate(const std::string& neighbor, bool open, const std::string& why, bool bfd_cause);

  // Graceful restart (see above). preserve: forwarding state outlives this
  // process (kernel routes and TUN kept), so the capability lists our families.
  // restarting: this start found the previous run's forwarding state. Call before start().
  void set_restart_state(bool preserve, bool restarting);
  // Runs once, when the initial convergence is over; why: "end-of-rib" or "timer".
  void set_restart_complete_callback(std::function<void(const std::string& why)> cb) {
    on_restart_complete_ = std::move(cb);
  }
  bool restarting() const { return gr_restarting_; }
  // Output to peers held back while a restart re-converges.
  bool deferring() const { return gr_restarting_ && !gr_complete_; }
  bool restart_complete() const { return gr_complete_; }
  // Graceful restart fields of a neighbour's session config, from the state above.
  void fill_restart_state(bgp::SessionConfig& sc) const;
  // A peer got End-of-RIB or came up: re-check whether the convergence is over.
  void check_restart_complete();

  // Monitoring (BMP): told about sessions and routes as they change; not owned,
  // nullptr to detach. for_each_established lists the sessions up right now.
  void set_monitor(Monitor* m) { monitor_ = m; }
  Monitor* monitor() const { return monitor_; }
  void for_each_established(const std::function<void(const MonitoredPeer&)>& fn) const;

  // The port actually bound (useful when configured as 0 in tests).
  uint16_t listen_port() const { return bound_port_; }
  size_t established_count() const;

  // Command handlers, also used directly by tests.
  // args: optional name (neighbour name or address).
  ctl::Json show_neighbors(const ctl::Json& args = ctl::Json::object()) const;
  Result<ctl::Json> show_routes(const ctl::Json& args) const;
  Result<ctl::Json> show_route(const ctl::Json& args) const;
  Result<ctl::Json> clear_neighbor(const ctl::Json& args);
  // The Loc-RIB as MRT TABLE_DUMP_V2 (dump.cpp); args: format ("mrt").
  Result<ctl::Json> dump_routes(const ctl::Json& args) const;

  // For tests and the daemon: the peer object of a neighbour by name.
  Peer* find(const std::string& name);
  Peer* find(const IpAddress& address);
  Peer* find(rib::PeerId id);
  rib::Rib& rib() { return rib_; }
  const Options& options() const { return opts_; }
  asio::io_context& io() { return io_; }

 private:
  Result<void> listen();
  void accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acc);
  void set_listener_keys();
  void originate_networks(const std::vector<Prefix>& old_networks);
  std::string peer_name(rib::PeerId id) const;
  void finish_restart(const std::string& why);

  asio::io_context& io_;
  Options opts_;
  std::function<bool(const std::string&)> health_up_;  // see set_health_source()
  bool network_healthy(const Prefix& p) const;
  bool neighbor_healthy(const std::string& name) const;
  void suspend_unhealthy_neighbors();
  rib::Rib& rib_;
  std::map<std::string, std::unique_ptr<Peer>> peers_;  // by neighbour name
  std::map<uint32_t, Peer*> by_id_;                     // RIB peer id -> peer
  RateLimitedLog log_limit_;
  Monitor* monitor_ = nullptr;
  std::vector<std::shared_ptr<asio::ip::tcp::acceptor>> acceptors_;
  uint16_t bound_port_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  // Graceful restart (RFC 4724 §4.1): see set_restart_state().
  bool gr_preserve_ = false;
  bool gr_restarting_ = false;
  bool gr_complete_ = false;  // initial convergence over (set once)
  std::function<void(const std::string&)> on_restart_complete_;
  asio::steady_timer gr_timer_;  // selection deferral
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ferry::speaker
