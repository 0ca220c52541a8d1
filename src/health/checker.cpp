#include "health/checker.hpp"

#include <spdlog/spdlog.h>

#include "common/log.hpp"

namespace ferry::health {

Checker::~Checker() {
  stop();
}

void Checker::stop() {
  for (auto& [name, c] : checks_) {
    *c->alive = false;
    c->timer.cancel();
  }
  checks_.clear();
}

void Checker::apply(const std::vector<config::HealthCheckConfig>& checks) {
  std::map<std::string, const config::HealthCheckConfig*> want;
  for (const auto& c : checks) want[c.name] = &c;
  for (auto it = checks_.begin(); it != checks_.end();) {
    auto w = want.find(it->first);
    // A changed probe (target, thresholds) starts over; what depends on it
    // (networks, neighbors) may change without touching the probe's state.
    const bool same_probe =
        w != want.end() && w->second->probe == it->second->cfg.probe &&
        w->second->target == it->second->cfg.target && w->second->port == it->second->cfg.port &&
        w->second->interval_ms == it->second->cfg.interval_ms &&
        w->second->timeout_ms == it->second->cfg.timeout_ms &&
        w->second->rise == it->second->cfg.rise && w->second->fall == it->second->cfg.fall;
    if (same_probe) {
      it->second->cfg = *w->second;
      want.erase(w);
      ++it;
      continue;
    }
    *it->second->alive = false;
    it->second->timer.cancel();
    it = checks_.erase(it);
  }
  for (const auto& [name, cfg] : want) {
    auto c = std::make_unique<Check>(io_, *cfg);
    c->since = std::chrono::system_clock::now();
    c->last_detail = "not probed yet";
    Check& ref = *c;
    checks_[name] = std::move(c);
    schedule(ref, std::chrono::milliseconds(0));
  }
}

void Checker::schedule(Check& c, std::chrono::milliseconds after) {
  c.timer.expires_after(after);
  c.timer.async_wait([this, &c, alive = std::weak_ptr<bool>(c.alive)](asio::error_code ec) {
    if (ec || alive.expired() || !*alive.lock()) return;
    run(c);
  });
}

void Checker::run(Check& c) {
  schedule(c, std::chrono::milliseconds(c.cfg.interval_ms));
  if (c.in_flight) return;  // the previous probe has not answered yet (timeout > interval)
  c.in_flight = true;
  ++c.probes;
  prober_.probe(
      c.cfg, [this, &c, alive = std::weak_ptr<bool>(c.alive)](bool ok, const std::string& d) {
        auto a = alive.lock();
        if (!a || !*a) return;
        c.in_flight = false;
        if (!ok) ++c.failures;
        c.last_detail = d;
        if (!c.state.record(ok)) return;
        ++c.transitions;
        c.since = std::chrono::system_clock::now();
        const bool up = c.state.up();
        log_event(up ? spdlog::level::info : spdlog::level::warn, "health_check_changed",
                  {{"check", c.cfg.name}, {"up", up}, {"detail", d}},
                  fmt::format("health check {}: {} ({})", c.cfg.name, up ? "up" : "down", d));
        if (listener_) listener_(c.cfg.name, up, d);
      });
}

bool Checker::up(const std::string& name) const {
  auto it = checks_.find(name);
  return it != checks_.end() && it->second->state.up();
}

nlohmann::json Checker::show() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, c] : checks_) {
    nlohmann::json nets = nlohmann::json::array();
    for (const auto& p : c->cfg.networks) nets.push_back(p.str());
    list.push_back({
        {"name", name},
        {"type", c->cfg.probe == config::HealthProbe::Tcp ? "tcp" : "icmp"},
        {"target", c->cfg.target.str()},
        {"port", c->cfg.port},
        {"up", c->state.up()},
        {"since",
         std::chrono::duration_cast<std::chrono::seconds>(c->since.time_since_epoch()).count()},
        {"probes", c->probes},
        {"failures", c->failures},
        {"transitions", c->transitions},
        {"last_detail", c->last_detail},
        {"networks", std::move(nets)},
        {"neighbors", c->cfg.neighbors},
    });
  }
  return {{"health_checks", std::move(list)}};
}

}  // namespace ferry::health
