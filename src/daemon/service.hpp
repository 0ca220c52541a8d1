// systemd service-manager integration (sd_notify(3), sd_watchdog_enabled(3)).
//
// With Type=notify, systemd waits for READY=1 before it considers ferryd
// started; ferryd sends it once the configuration is applied (modules
// started, sockets bound, privileges dropped). A reload is bracketed by
// RELOADING=1 and READY=1, a graceful stop announces STOPPING=1, and STATUS=
// carries a one-line summary for `systemctl status`.
//
// With WatchdogSec=, systemd sets WATCHDOG_USEC and expects WATCHDOG=1 at
// least that often. The pings come from a timer on the control-plane event
// loop at half the interval, so a stalled loop (the thing worth detecting)
// stops them and systemd restarts ferryd.
//
// Outside systemd (NOTIFY_SOCKET unset) every call is a no-op.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace ferry::daemon {

class ServiceNotifier {
 public:
  explicit ServiceNotifier(asio::io_context& io);

  void ready(const std::string& status);
  void reloading();
  void stopping(const std::string& status);
  void status(const std::string& status);
  // Starts the watchdog pings if the service manager asked for them; returns
  // the interval systemd expects (nullopt: no watchdog).
  std::optional<std::chrono::microseconds> start_watchdog();

 private:
  void send(const std::string& state);
  void ping();

  asio::steady_timer timer_;
  std::chrono::microseconds every_{0};
  bool watchdog_ = false;
};

}  // namespace ferry::daemon
