// Logging goes through spdlog. Errors caused by network input are logged
// through RateLimitedLog so a hostile peer cannot flood the log.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace ferry {

// Sets up the default stderr logger; level is one of trace, debug, info, warn, error, off.
bool init_logging(const std::string& level);

// Allows at most `burst` messages per `period`; counts the suppressed ones
// and reports them with the next message that is let through.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(int burst = 10,
                          std::chrono::steady_clock::duration period = std::chrono::seconds(1))
      : burst_(burst), period_(period) {}

  // Returns true if the caller may log now; take_suppressed() then says how many
  // were skipped since the last message let through (and resets the count).
  bool allow();
  uint64_t take_suppressed() {
    uint64_t s = suppressed_;
    suppressed_ = 0;
    return s;
  }

 private:
  int burst_;
  std::chrono::steady_clock::duration period_;
  std::chrono::steady_clock::time_point window_start_{};
  int in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace ferry
