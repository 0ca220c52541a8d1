#include "common/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace ferry {

namespace {

std::atomic<LogFormat> g_format{LogFormat::Text};

// An event's payload in json format starts with this byte and holds the
// object members ("event":..., fields, "msg":...) ready to be spliced in.
constexpr char kEventMark = '\x1e';

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line = json_log_line(
        msg.time, msg.level, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string json_log_line(std::chrono::system_clock::time_point ts, spdlog::level::level_enum level,
                          std::string_view payload) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(ts.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  const auto lv = spdlog::level::to_string_view(level);
  std::string out = std::string("{\"ts\":\"") + stamp + "\",\"level\":\"" +
                    std::string(lv.data(), lv.size()) + "\",";
  if (!payload.empty() && payload.front() == kEventMark) {
    out.append(payload.substr(1));
  } else {
    out += "\"msg\":\"" + json_escape(payload) + "\"";
  }
  out += "}";
  return out;
}

void log_event(spdlog::level::level_enum level, std::string_view event,
               const std::vector<LogField>& fields, std::string_view message) {
  if (!spdlog::should_log(level)) return;
  if (g_format.load(std::memory_order_relaxed) == LogFormat::Text) {
    spdlog::log(level, "{}", message);
    return;
  }
  std::string p(1, kEventMark);
  p += "\"event\":\"" + json_escape(event) + "\"";
  for (const auto& f : fields) {
    // "ts", "level", "event" and "msg" belong to the record; a clashing field gets a prefix.
    const bool clash = f.key == "ts" || f.key == "level" || f.key == "event" || f.key == "msg";
    p += ",\"" + std::string(clash ? "field_" : "") + json_escape(f.key) + "\":";
    p += f.raw ? f.value : "\"" + json_escape(f.value) + "\"";
  }
  p += ",\"msg\":\"" + json_escape(message) + "\"";
  spdlog::log(level, "{}", p);
}

void set_log_format(LogFormat format) {
  g_format = format;
}

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<JsonFormatter>();
}

bool init_logging(const std::string& level, LogFormat format) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return false;
  set_log_format(format);
  auto logger = spdlog::stderr_color_mt("ferry");
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
  if (format == LogFormat::Json) {
    // No colour codes inside JSON.
    logger->set_formatter(make_json_formatter());
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  return true;
}

bool RateLimitedLog::allow() {
  const auto now = std::chrono::steady_clock::now();
  if (now - window_start_ >= period_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ < burst_) {
    ++in_window_;
    return true;
  }
  ++suppressed_;
  return false;
}

}  // namespace ferry
