// Test harness for the tunnel module until/alongside ferryd: runs one
// tunnel::Tunnel from the [tunnel] section of a ferry config file.
//
//   tunnel_node --config FILE [--stats FILE] [--log-level LEVEL]
//
// Every 200 ms it writes the "show tunnels" JSON to the stats file (written to
// FILE.tmp then renamed, so readers never see half a file). SIGHUP reloads the
// config through Tunnel::apply; SIGINT/SIGTERM stop cleanly.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "common/log.hpp"
#include "config/config.hpp"
#include "tunnel/tunnel.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_reload = 0;
void on_stop(int) {
  g_stop = 1;
}
void on_hup(int) {
  g_reload = 1;
}
}  // namespace

int main(int argc, char** argv) {
  std::string config_path, stats_path, level = "info";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--config")
      config_path = argv[i + 1];
    else if (a == "--stats")
      stats_path = argv[i + 1];
    else if (a == "--log-level")
      level = argv[i + 1];
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "usage: tunnel_node --config FILE [--stats FILE] [--log-level L]\n");
    return 2;
  }
  ferry::init_logging(level);
  auto cfg = ferry::config::load(config_path);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().c_str());
    return 1;
  }
  if (!cfg->tunnel) {
    std::fprintf(stderr, "%s: no [tunnel] section\n", config_path.c_str());
    return 1;
  }
  ferry::tunnel::Tunnel t(*cfg->tunnel);
  if (auto r = t.start(); !r) {
    std::fprintf(stderr, "%s\n", r.error().c_str());
    return 1;
  }
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  std::signal(SIGHUP, on_hup);
  while (!g_stop) {
    if (g_reload) {
      g_reload = 0;
      auto next = ferry::config::load(config_path);
      if (!next || !next->tunnel) {
        spdlog::error("reload: {}", next ? "no [tunnel] section" : next.error());
      } else if (auto r = t.apply(*next->tunnel); !r) {
        spdlog::error("reload: {}", r.error());
      } else {
        spdlog::info("reloaded {}", config_path);
      }
    }
    if (!stats_path.empty()) {
      {
        std::ofstream f(stats_path + ".tmp");
        f << t.show().dump(1) << "\n";
      }
      std::rename((stats_path + ".tmp").c_str(), stats_path.c_str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  t.stop();
  return 0;
}
