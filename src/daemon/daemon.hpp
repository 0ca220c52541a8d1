// ferryd's composition root: the only place that creates modules, wires them
// together and owns threads.
//
// Threading: everything here (control socket, BGP sessions, RIB, policy, FIB
// programming) runs on one Asio io_context, the control plane. The tunnel's
// data plane runs on its own worker threads and reads routing state through
// immutable snapshots that the control plane publishes.
//
// Configuration: the daemon owns the config::Config (the only copy) and
// translates it once into each module's own options (from_config.hpp); no
// module sees the whole configuration.
//
// Reload (SIGHUP or `ferryctl reload`): the new file is parsed, validated and
// translated completely before anything changes; an invalid file leaves the running
// configuration untouched and the error is reported to the caller and logged.
// Modules apply it incrementally (only changed objects are touched; see
// reload_plan.hpp for what each change does). SIGHUPs are coalesced
// (reload_coalescer.hpp). `reload` with dry_run only reports the plan.
//
// Confirmed reload (like BIRD's `configure timeout`): `reload` with confirm N
// applies the new configuration and keeps the last committed one; unless
// `reload` with commit follows within N seconds, the committed configuration
// is applied again (incrementally, so the rollback is as hitless as the
// reload). `reload` with undo rolls back at once. Reloads while a confirmation
// is pending keep the same rollback target; confirm re-arms the timer.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "config/config.hpp"
#include "ctl/registry.hpp"
#include "ctl/server.hpp"
#include "daemon/reload_coalescer.hpp"
#include "daemon/service.hpp"
#include "metrics/http.hpp"

namespace ferry::daemon {

class Modules;  // the protocol modules (modules.hpp)

class Daemon {
 public:
  Daemon(asio::io_context& io, config::Config cfg);
  ~Daemon();

  Result<void> start();
  // Re-reads the config file; on error the running config stays.
  Result<void> reload();
  // SIGHUP: a coalesced reload (see above).
  void request_reload() { coalescer_.request(); }
  // Graceful stop: Cease to BGP peers, remove routes (unless configured not to), close sockets.
  // done runs once the goodbyes (BGP Cease, BFD AdminDown, route removal) went out.
  void stop(const std::string& reason, std::function<void()> done = {});

  const config::Config& config() const { return cfg_; }
  ctl::Registry& registry() { return registry_; }
  ServiceNotifier& service() { return service_; }

 private:
  void register_core_commands();
  // Loads and validates the config file.
  Result<config::Config> load_next();
  // Applies a validated configuration (a reload or a rollback).
  Result<void> apply_config(config::Config next, const std::string& what);
  Result<ctl::Json> reload_command(const ctl::Json& args);
  void arm_confirmation(uint32_t seconds);
  Result<void> rollback(const std::string& why);
  ctl::Json status() const;
  ctl::Json pending_confirmation_json() const;
  // [metrics] listen: the Prometheus endpoint, answered on this event loop.
  Result<void> start_metrics();
  metrics::HttpResponse serve_metrics(const metrics::HttpRequest& r) const;

  asio::io_context& io_;
  config::Config cfg_;
  ctl::Registry registry_;
  ctl::Server server_;
  ServiceNotifier service_;
  std::unique_ptr<Modules> modules_;
  std::unique_ptr<metrics::HttpServer> metrics_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  const std::chrono::system_clock::time_point started_wall_ = std::chrono::system_clock::now();
  uint64_t reloads_ = 0;
  ReloadCoalescer coalescer_;
  // Confirmed reload: the configuration to return to (set while a confirmation
  // is pending, cleared by commit, undo or the timeout) and the deadline.
  std::optional<config::Config> rollback_to_;
  std::chrono::system_clock::time_point confirm_deadline_;
  asio::steady_timer confirm_timer_;
  uint64_t rollbacks_ = 0;
  std::string last_reload_error_;
  bool stopped_ = false;
};

}  // namespace ferry::daemon
