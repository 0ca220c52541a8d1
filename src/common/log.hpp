// Logging goes through spdlog. Errors caused by network input are logged
// through RateLimitedLog so a hostile peer cannot flood the log.
//
// Two output formats (ferryd --log-format): "text", the human line
// "2026-12-03T10:00:00.123 info message", and "json", one JSON object per line:
//   {"ts":"2026-12-03T10:00:00.123Z","level":"info","msg":"..."}
// Events operators alert on (a BGP session up or down, a tunnel peer up or
// down, a BFD state change, a FIB failure) go through log_event(): same text
// line as before in text mode, and in json mode the object also carries a
// stable "event" name and the event's fields, e.g.
//   {"ts":...,"level":"info","event":"bgp_session_down","peer":"b",...,"msg":"..."}
// docs/logging.md lists the events and their fields.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace ferry {

enum class LogFormat { Text, Json };

// Sets up the default stderr logger; level is one of trace, debug, info, warn, error, off.
bool init_logging(const std::string& level, LogFormat format = LogFormat::Text);

// One field of an event: a string, or a number / boolean written unquoted in JSON.
struct LogField {
  LogField(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  LogField(std::string k, const char* v) : key(std::move(k)), value(v) {}
  LogField(std::string k, bool v) : key(std::move(k)), value(v ? "true" : "false"), raw(true) {}
  template <typename T>
  requires std::is_arithmetic_v<T> LogField(std::string k, T v)
      : key(std::move(k)), value(std::to_string(v)), raw(true) {}
  std::string key;
  std::string value;
  bool raw = false;
};

// Logs `message` at `level`; in json format with "event" and `fields` as members.
void log_event(spdlog::level::level_enum level, std::string_view event,
               const std::vector<LogField>& fields, std::string_view message);

// What init_logging() sets up, exposed so tests can log into their own sink:
// the format log_event() writes, and the formatter for json lines.
void set_log_format(LogFormat format);
std::unique_ptr<spdlog::formatter> make_json_formatter();

// JSON string escaping (RFC 8259 §7) for the json format; exposed for tests.
std::string json_escape(std::string_view s);
// The json-format line for one record (without the newline); exposed for tests.
std::string json_log_line(std::chrono::system_clock::time_point ts, spdlog::level::level_enum level,
                          std::string_view payload);

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
