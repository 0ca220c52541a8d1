#include "daemon/daemon.hpp"

#include <net/if.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.hpp"
#include "daemon/from_config.hpp"
#include "daemon/modules.hpp"
#include "daemon/reload_plan.hpp"
#include "metrics/collect.hpp"

namespace ferry::daemon {

namespace {
// Static routes name their interface; the modules get its index.
uint32_t kernel_ifindex(const std::string& name) {
  return ::if_nametoindex(name.c_str());
}
}  // namespace

Daemon::Daemon(asio::io_context& io, config::Config cfg)
    : io_(io),
      cfg_(std::move(cfg)),
      server_(io, registry_),
      service_(io),
      coalescer_(io,
                 [this] {
                   spdlog::info("SIGHUP: reloading configuration");
                   (void)reload();
                 }),
      confirm_timer_(io) {}

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
  auto next = load_next();
  Result<void> r = next.ok() ? apply_config(std::move(next.value()), "reloaded from " + cfg_.path)
                             : Result<void>(make_error(next.error()));
  // Either way ferryd runs a complete configuration again (the new or the old one).
  service_.ready(r.ok() ? "running; configuration reloaded"
                        : "running; reload failed, previous configuration kept");
  return r;
}

Result<config::Config> Daemon::load_next() {
  auto next = config::load(cfg_.path);
  if (!next.ok()) {
    last_reload_error_ = next.error();
    spdlog::error("reload failed, keeping the running configuration: {}", next.error());
    return make_error(next.error());
  }
  return next;
}

Result<void> Daemon::apply_config(config::Config next, const std::string& what) {
  const ReloadPlan plan = plan_reload(cfg_, next);
  for (const auto& a : plan.at_restart)
    spdlog::warn("reload: {} changes take effect at restart", a);
  auto opts = from_config(next, kernel_ifindex);
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
  cfg_ = std::move(next);
  ++reloads_;
  last_reload_error_.clear();
  log_event(spdlog::level::info, "config_reloaded",
            {{"config_file", cfg_.path},
             {"changes", std::to_string(plan.changes.size())},
             {"session_resets", std::to_string(plan.resets())}},
            fmt::format("configuration {}: {} objects changed, {} BGP sessions reset", what,
                        plan.changes.size(), plan.resets()));
  return {};
}

void Daemon::arm_confirmation(uint32_t seconds) {
  confirm_deadline_ = std::chrono::system_clock::now() + std::chrono::seconds(seconds);
  confirm_timer_.expires_after(std::chrono::seconds(seconds));
  confirm_timer_.async_wait([this](const std::error_code& ec) {
    if (ec || !rollback_to_) return;
    (void)rollback("not committed in time");
  });
}

Result<void> Daemon::rollback(const std::string& why) {
  confirm_timer_.cancel();
  config::Config back = std::move(*rollback_to_);
  rollback_to_.reset();
  ++rollbacks_;
  spdlog::warn("rolling back to the last committed configuration: {}", why);
  service_.reloading();
  auto r = apply_config(std::move(back), "rolled back (" + why + ")");
  service_.ready(r.ok() ? "running; configuration rolled back"
                        : "running; rollback failed, unconfirmed configuration kept");
  if (!r.ok()) spdlog::error("rollback failed: {}", r.error());
  return r;
}

Result<ctl::Json> Daemon::reload_command(const ctl::Json& args) {
  auto flag = [&](const char* k) {
    return args.contains(k) && args[k].is_boolean() && args[k].get<bool>();
  };
  const bool dry_run = flag("dry_run"), commit = flag("commit"), undo = flag("undo");
  std::optional<uint32_t> confirm;
  if (args.contains("confirm")) {
    if (!args["confirm"].is_number_unsigned() || args["confirm"].get<uint64_t>() == 0 ||
        args["confirm"].get<uint64_t>() > 86400)
      return make_error("confirm: expected seconds, 1 to 86400");
    confirm = args["confirm"].get<uint32_t>();
  }
  if (dry_run + commit + undo + confirm.has_value() > 1)
    return make_error("dry_run, confirm, commit and undo exclude each other");
  if (commit) {
    if (!rollback_to_) return make_error("no reload is waiting for confirmation");
    confirm_timer_.cancel();
    rollback_to_.reset();
    spdlog::info("reload committed: {}", cfg_.path);
    return ctl::Json{{"committed", true}, {"config_file", cfg_.path}};
  }
  if (undo) {
    if (!rollback_to_) return make_error("no reload is waiting for confirmation");
    const ReloadPlan plan = plan_reload(cfg_, *rollback_to_);
    if (auto r = rollback("undo"); !r.ok()) return make_error("rollback failed: " + r.error());
    return ctl::Json{{"rolled_back", true}, {"plan", to_json(plan)}, {"text", to_text(plan)}};
  }
  // Whatever SIGHUPs are queued, this reload reads the newest file itself.
  coalescer_.absorb();
  auto next = load_next();
  if (!next.ok()) return make_error("reload failed, running configuration kept: " + next.error());
  const ReloadPlan plan = plan_reload(cfg_, *next);
  ctl::Json out{{"config_file", cfg_.path}, {"plan", to_json(plan)}, {"text", to_text(plan)}};
  if (dry_run) {
    // Also what translation would refuse (e.g. a redistribute protocol name).
    if (auto o = from_config(*next, kernel_ifindex); !o.ok()) out["error"] = o.error();
    out["dry_run"] = true;
    return out;
  }
  std::optional<config::Config> before;
  if (confirm && !rollback_to_) before = cfg_;
  service_.reloading();
  auto r = apply_config(std::move(next.value()), "reloaded from " + cfg_.path);
  service_.ready(r.ok() ? "running; configuration reloaded"
                        : "running; reload failed, previous configuration kept");
  if (!r.ok()) return make_error("reload failed, running configuration kept: " + r.error());
  if (confirm) {
    if (before) rollback_to_ = std::move(before);
    arm_confirmation(*confirm);
    out["confirm_deadline"] =
        std::chrono::duration_cast<std::chrono::seconds>(confirm_deadline_.time_since_epoch())
            .count();
  }
  out["reloaded"] = true;
  return out;
}

void Daemon::stop(const std::string& reason, std::function<void()> done) {
  if (stopped_) return;
  stopped_ = true;
  // An unconfirmed reload stays as it is: nothing is rolled back into stopping modules.
  confirm_timer_.cancel();
  rollback_to_.reset();
  spdlog::info("stopping: {}", reason);
  service_.stopping("stopping: " + reason);
  server_.close();
  if (metrics_) metrics_->close();
  if (modules_)
    modules_->stop(reason, std::move(done));
  else if (done)
    done();
}

ctl::Json Daemon::pending_confirmation_json() const {
  using namespace std::chrono;
  if (!rollback_to_) return nullptr;
  const auto now = system_clock::now();
  return {{"deadline", duration_cast<seconds>(confirm_deadline_.time_since_epoch()).count()},
          {"seconds_left",
           std::max<int64_t>(0, duration_cast<seconds>(confirm_deadline_ - now).count())},
          {"rolls_back_to", rollback_to_->path}};
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
      {"reloads_coalesced", coalescer_.coalesced()},
      {"rollbacks", rollbacks_},
      {"pending_confirmation", pending_confirmation_json()},
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
      "reload", [this](const ctl::Json& a) { return reload_command(a); }, true,
      "re-read the configuration file; args: dry_run, confirm (seconds), commit, undo");
  registry_.add(
      "show config",
      [this](const ctl::Json&) -> Result<ctl::Json> {
        return ctl::Json{{"config_file", cfg_.path}, {"text", config::print(cfg_)}};
      },
      true,  // the printed configuration holds the TCP-MD5 passwords
      "the running configuration, normalised (what reload diffs against)");
}

}  // namespace ferry::daemon
