// health::Checker: runs the configured health checks ([[health-checks]]) on
// the control-plane event loop and reports state changes.
//
// Each check probes its target every interval through a Prober (ICMP echo or
// TCP connect, with the check's timeout); CheckState turns the results into
// up/down with rise/fall hysteresis, and the listener hears every change
// (the daemon passes it to the speaker, which withdraws or re-advertises the
// networks and neighbors that depend on the check). apply() is the reload
// path: unchanged checks keep their state and timers.
#pragma once

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "health/state.hpp"

namespace ferry::health {

// One probe: calls `done(ok, detail)` exactly once, within the check's timeout
// (plus scheduling), on the io_context's thread.
class Prober {
 public:
  virtual ~Prober() = default;
  virtual void probe(const config::HealthCheckConfig& c,
                     std::function<void(bool ok, const std::string& detail)> done) = 0;
};

// ICMP echo (ping sockets, else raw sockets) and TCP connect probes.
std::unique_ptr<Prober> make_socket_prober(asio::io_context& io);

class Checker {
 public:
  using Listener = std::function<void(const std::string& name, bool up, const std::string& why)>;
  Checker(asio::io_context& io, Prober& prober) : io_(io), prober_(prober) {}
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  void set_listener(Listener fn) { listener_ = std::move(fn); }
  // Starts, keeps or stops checks to match `checks`.
  void apply(const std::vector<config::HealthCheckConfig>& checks);
  void stop();
  bool up(const std::string& name) const;
  nlohmann::json show() const;  // "show health"

 private:
  struct Check {
    config::HealthCheckConfig cfg;
    CheckState state;
    asio::steady_timer timer;
    uint64_t probes = 0, failures = 0, transitions = 0;
    std::string last_detail;
    std::chrono::system_clock::time_point since{};
    bool in_flight = false;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    Check(asio::io_context& io, config::HealthCheckConfig c)
        : cfg(std::move(c)), state(cfg.rise, cfg.fall), timer(io) {}
  };
  void schedule(Check& c, std::chrono::milliseconds after);
  void run(Check& c);

  asio::io_context& io_;
  Prober& prober_;
  Listener listener_;
  std::map<std::string, std::unique_ptr<Check>> checks_;
};

}  // namespace ferry::health
