// ferryd: parses the command line, loads the config, and runs the daemon on
// the control-plane event loop until SIGTERM/SIGINT. SIGHUP reloads (coalesced).
// --check validates a file; --check --diff [OLD] prints what reloading it would change.
//
// With router.user set, ferryd starts as root, opens everything that needs
// root (Daemon::start: TUN queues, UDP/BGP/BFD sockets, netlink, control
// socket + chgrp) and then switches to that user keeping only CAP_NET_ADMIN
// and CAP_NET_BIND_SERVICE (daemon/privileges.hpp). From then on, reload
// reads the config file and preshared-key files as that user.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <asio.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>

#include "common/log.hpp"
#include "config/config.hpp"
#include "ctl/client.hpp"
#include "daemon/daemon.hpp"
#include "daemon/privileges.hpp"
#include "daemon/reload_plan.hpp"

namespace {

// ferryd --check --diff [OLD]: the reload plan of cfg against OLD or the running
// daemon's configuration (fetched as normalised TOML over the control socket and
// parsed here), computed by the same function the daemon's dry run uses.
int check_diff(const ferry::config::Config& cfg, const std::string& old_path,
               const std::string& socket, bool json) {
  ferry::Result<ferry::config::Config> old = ferry::make_error("");
  if (!old_path.empty()) {
    old = ferry::config::load(old_path);
  } else {
    const std::string sock = socket.empty() ? cfg.router.control_socket : socket;
    auto reply = ferry::ctl::call(sock, "show config");
    if (!reply.ok()) {
      std::fprintf(stderr, "ferryd: running ferryd at %s: %s\n", sock.c_str(),
                   reply.error().c_str());
      return 2;
    }
    if (!reply->value("ok", false) || !(*reply)["result"]["text"].is_string()) {
      std::fprintf(stderr, "ferryd: running ferryd: %s\n",
                   reply->value("error", std::string("no configuration in the reply")).c_str());
      return 2;
    }
    old = ferry::config::parse((*reply)["result"]["text"].get<std::string>(),
                               "running:" + (*reply)["result"].value("config_file", std::string()));
  }
  if (!old.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", old.error().c_str());
    return 1;
  }
  const auto plan = ferry::daemon::plan_reload(*old, cfg);
  if (json)
    std::printf("%s\n", ferry::daemon::to_json(plan).dump(2).c_str());
  else
    std::fputs(ferry::daemon::to_text(plan).c_str(), stdout);
  return plan.restart_required.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ferryd: site-to-site VPN gateway daemon (WireGuard tunnels + BGP)", "ferryd"};
  std::string config_path;
  std::string log_level = "info";
  bool check = false;
  bool version = false;
  app.add_option("-c,--config", config_path, "configuration file (TOML)");
  app.add_option("-l,--log-level", log_level, "trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  std::string log_format = "text";
  app.add_option("--log-format", log_format,
                 "text (one line per record) or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--check", check, "validate the configuration, print ok or the error, and exit");
  std::optional<std::string> diff_from;
  bool diff_json = false;
  std::string diff_socket;
  app.add_option("--diff", diff_from,
                 "with --check: print what a reload would change, against OLD or, without "
                 "OLD, the running ferryd's configuration")
      ->expected(0, 1)
      ->default_str("")
      ->type_name("[OLD]");
  app.add_flag("--json", diff_json, "with --check --diff: print the plan as JSON");
  app.add_option("--socket", diff_socket,
                 "with --check --diff: the running ferryd's control socket (default: the "
                 "configuration's router.control-socket)");
  app.add_flag("-V,--version", version, "print the version and exit");
  CLI11_PARSE(app, argc, argv);

  if (version) {
    std::printf("ferryd %s\n", FERRY_VERSION);
    return 0;
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "ferryd: --config FILE is required\n");
    return 2;
  }
  // Reload re-reads this path, so it must not depend on the working directory.
  std::error_code abs_ec;
  if (auto abs = std::filesystem::absolute(config_path, abs_ec); !abs_ec)
    config_path = abs.string();
  auto cfg = ferry::config::load(config_path);
  if (check) {
    if (!cfg.ok()) {
      std::fprintf(stderr, "%s\n", cfg.error().c_str());
      return 1;
    }
    // The accounts must exist on this machine, or start-up would fail.
    if (!cfg->router.user.empty()) {
      auto t = ferry::daemon::resolve_target(*ferry::daemon::make_system_accounts(),
                                             cfg->router.user, cfg->router.control_group);
      if (!t.ok()) {
        std::fprintf(stderr, "%s: %s\n", cfg->path.c_str(), t.error().c_str());
        return 1;
      }
    }
    if (diff_from) return check_diff(*cfg, *diff_from, diff_socket, diff_json);
    std::printf("ok\n");
    return 0;
  }
  if (!cfg.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", cfg.error().c_str());
    return 1;
  }
  ferry::init_logging(log_level,
                      log_format == "json" ? ferry::LogFormat::Json : ferry::LogFormat::Text);

  // Resolve the account and shrink the bounding set before any thread exists,
  // so the tunnel's worker threads inherit it.
  auto privsys = ferry::daemon::make_linux_privilege_system();
  std::optional<ferry::daemon::PrivilegeTarget> drop_to;
  if (!cfg->router.user.empty()) {
    auto t = ferry::daemon::resolve_target(*ferry::daemon::make_system_accounts(), cfg->router.user,
                                           cfg->router.control_group);
    if (!t.ok()) {
      spdlog::critical("start failed: {}", t.error());
      return 1;
    }
    if (auto r = ferry::daemon::prepare_drop(*privsys, *t); !r.ok()) {
      spdlog::critical("start failed: dropping privileges: {}", r.error());
      return 1;
    }
    drop_to = std::move(t.value());
  } else if (::geteuid() == 0) {
    spdlog::warn("router.user is not set: ferryd keeps running as root with all capabilities");
  }

  asio::io_context io;
  ferry::daemon::Daemon d(io, std::move(cfg.value()));
  if (auto r = d.start(); !r.ok()) {
    spdlog::critical("start failed: {}", r.error());
    d.stop("start failed");
    return 1;
  }
  if (drop_to) {
    if (auto r = ferry::daemon::drop_privileges(*privsys, *drop_to); !r.ok()) {
      // Nothing ran on the event loop yet: no session is up, no route installed.
      spdlog::critical("start failed: dropping privileges to user {}: {}", drop_to->user,
                       r.error());
      d.stop("start failed");
      return 1;
    }
    spdlog::info("running as user {} (uid {}, gid {}) with {}", drop_to->user, drop_to->uid,
                 drop_to->gid, ferry::daemon::cap_names(drop_to->keep));
  }

  // The configuration is applied and privileges are dropped: tell systemd (Type=notify).
  d.service().ready("running: AS " + d.config().router.asn.str() + ", router-id " +
                    d.config().router.router_id.str());
  if (auto every = d.service().start_watchdog())
    spdlog::info("systemd watchdog: pinging every {} ms", every->count() / 2000);

  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  asio::signal_set hup(io, SIGHUP);
  asio::steady_timer exit_deadline(io);
  stop_signals.async_wait([&](std::error_code ec, int sig) {
    if (ec) return;
    hup.cancel();
    // Let modules send their goodbyes (BGP Cease, BFD AdminDown) and remove
    // routes, then leave; never hang on a peer that does not answer.
    d.stop(sig == SIGTERM ? "SIGTERM" : "SIGINT", [&io] { io.stop(); });
    exit_deadline.expires_after(std::chrono::seconds(5));
    exit_deadline.async_wait([&io](std::error_code e) {
      if (!e) {
        spdlog::warn("shutdown took too long; exiting");
        io.stop();
      }
    });
  });
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](std::error_code ec, int) {
      if (ec) return;
      // Coalesced: a burst of SIGHUPs is one reload of the newest file.
      d.request_reload();
      wait_hup();
    });
  };
  wait_hup();
  std::signal(SIGPIPE, SIG_IGN);
  io.run();
  spdlog::info("ferryd exited");
  return 0;
}
