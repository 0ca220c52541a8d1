#include "daemon/service.hpp"

#include <systemd/sd-daemon.h>

#include <cstring>
#include <ctime>

#include "common/log.hpp"

namespace ferry::daemon {

ServiceNotifier::ServiceNotifier(asio::io_context& io) : timer_(io) {}

void ServiceNotifier::send(const std::string& state) {
  // unset_environment = 0: later notifications (reload, stop, watchdog) need NOTIFY_SOCKET.
  const int r = sd_notify(0, state.c_str());
  if (r < 0) spdlog::debug("sd_notify failed: {}", std::strerror(-r));
}

void ServiceNotifier::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
}

void ServiceNotifier::reloading() {
  // MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match the reload to this message.
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec =
      static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  send("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=" + std::to_string(usec));
}

void ServiceNotifier::stopping(const std::string& status) {
  send("STOPPING=1\nSTATUS=" + status);
}

void ServiceNotifier::status(const std::string& status) {
  send("STATUS=" + status);
}

std::optional<std::chrono::microseconds> ServiceNotifier::start_watchdog() {
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is ours).
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  every_ = std::chrono::microseconds(usec / 2);
  watchdog_ = true;
  ping();
  return std::chrono::microseconds(usec);
}

void ServiceNotifier::ping() {
  if (!watchdog_) return;
  send("WATCHDOG=1");
  timer_.expires_after(every_);
  timer_.async_wait([this](const std::error_code& ec) {
    if (!ec) ping();
  });
}

}  // namespace ferry::daemon
