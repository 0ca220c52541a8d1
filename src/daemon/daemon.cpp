#include "daemon/daemon.hpp"

#include <net/if.h>
#include <unistd.h>

#include "common/log.hpp"
#include "daemon/from_config.hpp"
#include "daemon/modules.hpp"
#include "metrics/collect.hpp"

namespace ferry::daemon {

namespace {
// Static routes name their interface; the modules get its index.
uint32_t kernel_ifindex(const std::string& name) {
  return ::if_nametoindex(name.c_str());
}
}  // namespace

Daemon::Daemon(asio::io_context& io, config::Config cfg)
    : io_(io), cfg_(std::move(cfg)), server_(io, registry_), service_(io) {}

Daemon::~Daemon() = default;

Result<void> Daemon::start() {
  register_core_commands();
  auto opts = from_config(cfg_, kernel_ifindex);
  if (!opts.ok()) return make_error(opts.error());
  modules_ = std::make_unique<Modules>(io_, std::move(opts.value()));
  if (auto r = modules_->start(); !r.ok()) return r;
  modules_->register_commands(registry_);
  if (auto r = server_.listen(cfg_.router.control_socket, cfg_.router.control_group); !r.ok())
    return r;
  if (auto r = start_metrics(); !r.ok()) return r;
  spdlog::info("ferryd {} started: AS {} router-id {} config {} control {}", FERRY_VERSION,
               cfg_.router.asn.str(), cfg_.router.router_id.str(), cfg_.path,
               cfg_.router.control_socket);
  return {};
}

Result<void> Daemon::reload() {
  service_.reloading();
  auto r = apply_reload();
  // Either way ferryd runs a complete configuration again (the new or the old one).
  service_.ready(r.ok() ? "running; configuration reloaded"
                        : "running; reload failed, previous configuration kept");
  return r;
}

Result<void> Daemon::apply_reload() {
  auto next = config::load(cfg_.path);
  if (!next.ok()) {
    last_reload_error_ = next.error();
    spdlog::error("reload failed, keeping the running configuration: {}", next.error());
    return make_error(next.error());
  }
  if (next->router.control_socket != cfg_.router.control_socket)
    spdlog::warn("reload: control-socket changes take effect at restart");
  if (next->metrics != cfg_.metrics)
    spdlog::warn("reload: [metrics] changes take effect at restart");
  auto opts = from_config(*next, kernel_ifindex);
  if (!opts.ok()) {
    last_reload_error_ = opts.error();
    spdlog::error("reload failed, keeping the running configuration: {}", opts.error());
    return make_error(opts.error());
  }
  if (auto r = modules_->apply(*opts); !r.ok()) {
    last_reload_error_ = r.error();
    spdlog::error("reload failed, keeping the running configuration: {}", r.error());
    return r;
  }
  cfg_ = std::move(next.value());
  ++reloads_;
  last_reload_error_.clear();
  spdlog::info("configuration reloaded from {}", cfg_.path);
  return {};
}

void Daemon::stop(const std::string& reason, std::function<void()> done) {
  if (stopped_) return;
  stopped_ = true;
  spdlog::info("stopping: {}", reason);
  service_.stopping("stopping: " + reason);
  server_.close();
  if (metrics_) metrics_->close();
  if (modules_)
    modules_->stop(reason, std::move(done));
  else if (done)
    done();
}

ctl::Json Daemon::status() const {
  using namespace std::chrono;
  const auto up = duration_cast<seconds>(steady_clock::now() - started_).count();
  return ctl::Json{
      {"version", FERRY_VERSION},
      {"pid", static_cast<int64_t>(::getpid())},
      {"uptime_seconds", up},
      {"started_at", duration_cast<seconds>(started_wall_.time_since_epoch()).count()},
      {"router_id", cfg_.router.router_id.str()},
      {"asn", cfg_.router.asn.value()},
      {"config_file", cfg_.path},
      {"control_socket", cfg_.router.control_socket},
      {"reloads", reloads_},
      {"last_reload_error",
       last_reload_error_.empty() ? ctl::Json(nullptr) : ctl::Json(last_reload_error_)},
  };
}

Result<void> Daemon::start_metrics() {
  if (!cfg_.metrics.listen) return {};
  metrics_ = std::make_unique<metrics::HttpServer>(
      io_, [this](const metrics::HttpRequest& r) { return serve_metrics(r); });
  const auto& ep = *cfg_.metrics.listen;
  if (auto r = metrics_->listen(ep.addr, ep.port); !r.ok()) return r;
  spdlog::info("metrics: serving http://{}/metrics", ep.str());
  return {};
}

metrics::HttpResponse Daemon::serve_metrics(const metrics::HttpRequest& r) const {
  if (r.path != "/metrics")
    return {404, "text/plain; charset=utf-8", "not found; metrics are at /metrics\n"};
  ctl::Json snap = modules_ ? modules_->metrics_snapshot() : ctl::Json::object();
  const ctl::Json st = status();
  snap["daemon"] = {{"version", st["version"]},
                    {"started_at", st["started_at"]},
                    {"reloads", st["reloads"]},
                    {"last_reload_error", st["last_reload_error"]}};
  return {200, "text/plain; version=0.0.4; charset=utf-8", metrics::render(snap)};
}

void Daemon::register_core_commands() {
  registry_.add(
      "show status", [this](const ctl::Json&) -> Result<ctl::Json> { return status(); }, false,
      "version, uptime, router-id, ASN, config file");
  registry_.add(
      "reload",
      [this](const ctl::Json&) -> Result<ctl::Json> {
        auto r = reload();
        if (!r.ok()) return make_error("reload failed, running configuration kept: " + r.error());
        return ctl::Json{{"reloaded", true}, {"config_file", cfg_.path}};
      },
      true, "re-read the configuration file");
}

}  // namespace ferry::daemon
