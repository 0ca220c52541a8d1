// The json log format: escaping, the record line, and events with their
// stable names and fields, checked by parsing each line back as JSON.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "common/log.hpp"

using namespace ferry;
using nlohmann::json;

TEST(LogJson, Escape) {
  EXPECT_EQ(json_escape("plain"), "plain");
  EXPECT_EQ(json_escape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(json_escape("l1\nl2\tx\r"), "l1\\nl2\\tx\\r");
  EXPECT_EQ(json_escape(std::string("\x01\x1f", 2)), "\\u0001\\u001f");
  EXPECT_EQ(json_escape("ünï"), "ünï");
}

TEST(LogJson, RecordLine) {
  const auto ts = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764756000123));
  const std::string line = json_log_line(ts, spdlog::level::warn, "bad \"thing\"\n");
  EXPECT_EQ(line,
            "{\"ts\":\"2025-12-03T10:00:00.123Z\",\"level\":\"warning\",\"msg\":\"bad "
            "\\\"thing\\\"\\n\"}");
  const json j = json::parse(line);
  EXPECT_EQ(j["msg"], "bad \"thing\"\n");
}

namespace {

// Routes the default logger into a string for one test, in the given format.
struct Capture {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> saved = spdlog::default_logger();
  explicit Capture(LogFormat f) {
    set_log_format(f);
    auto logger = std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    if (f == LogFormat::Json)
      logger->set_formatter(make_json_formatter());
    else
      logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~Capture() {
    spdlog::set_default_logger(saved);
    set_log_format(LogFormat::Text);
  }
  std::vector<json> lines() const {
    std::vector<json> v;
    std::istringstream in(out.str());
    for (std::string l; std::getline(in, l);) v.push_back(json::parse(l));
    return v;
  }
};

}  // namespace

TEST(LogJson, EventCarriesNameAndTypedFields) {
  Capture c(LogFormat::Json);
  log_event(spdlog::level::info, "bgp_session_down",
            {{"peer", "site\"2"}, {"peer_as", 65002u}, {"graceful_restart", false}},
            "bgp site2: session down: hold timer expired");
  spdlog::info("plain {}", 1);
  const auto l = c.lines();
  ASSERT_EQ(l.size(), 2u) << c.out.str();
  EXPECT_EQ(l[0]["event"], "bgp_session_down");
  EXPECT_EQ(l[0]["level"], "info");
  EXPECT_EQ(l[0]["peer"], "site\"2");
  EXPECT_EQ(l[0]["peer_as"], 65002);
  EXPECT_EQ(l[0]["graceful_restart"], false);
  EXPECT_EQ(l[0]["msg"], "bgp site2: session down: hold timer expired");
  EXPECT_TRUE(l[0]["ts"].get<std::string>().ends_with("Z"));
  EXPECT_FALSE(l[1].contains("event"));
  EXPECT_EQ(l[1]["msg"], "plain 1");
}

TEST(LogJson, FieldsCannotOverwriteTheRecord) {
  Capture c(LogFormat::Json);
  log_event(spdlog::level::warn, "fib_route_failure", {{"msg", "x"}, {"level", "y"}}, "real");
  const auto l = c.lines();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["msg"], "real");
  EXPECT_EQ(l[0]["level"], "warning");
  EXPECT_EQ(l[0]["field_msg"], "x");
  EXPECT_EQ(l[0]["field_level"], "y");
}

TEST(LogText, EventIsTheUsualLine) {
  Capture c(LogFormat::Text);
  log_event(spdlog::level::info, "tunnel_peer_up", {{"peer", "a"}}, "tunnel ferry0: peer a up");
  log_event(spdlog::level::debug, "below_level", {}, "not shown");
  EXPECT_EQ(c.out.str(), "info tunnel ferry0: peer a up\n");
}
