// [metrics]: the Prometheus endpoint's listen address.
#include <gtest/gtest.h>

#include "config/config.hpp"

using namespace ferry::config;

namespace {

const std::string kRouter = "[router]\nasn = 65001\nrouter-id = \"10.255.0.1\"\n";  // lines 1-3

std::string error_of(const std::string& text) {
  auto r = parse(text, "ferry.toml");
  return r.ok() ? "(parsed fine)" : r.error();
}

}  // namespace

TEST(ConfigMetrics, OffByDefault) {
  auto c = parse(kRouter, "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_FALSE(c->metrics.listen);
  EXPECT_EQ(print(*c).find("[metrics]"), std::string::npos);
}

TEST(ConfigMetrics, ListenV4AndV6) {
  auto c = parse(kRouter + "[metrics]\nlisten = \"127.0.0.1:9342\"\n", "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE(c->metrics.listen);
  EXPECT_EQ(c->metrics.listen->str(), "127.0.0.1:9342");
  EXPECT_NE(print(*c).find("[metrics]\nlisten = \"127.0.0.1:9342\"\n"), std::string::npos);

  auto v6 = parse(kRouter + "[metrics]\nlisten = \"[::1]:9100\"\n", "ferry.toml");
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ(v6->metrics.listen->str(), "[::1]:9100");
  EXPECT_EQ(v6->metrics.listen->port, 9100);
}

TEST(ConfigMetrics, BadValuesNameFileAndLine) {
  EXPECT_EQ(error_of(kRouter + "[metrics]\nlisten = \"localhost\"\n"),
            "ferry.toml:5: metrics.listen: expected an address and port \"127.0.0.1:9342\" or "
            "\"[::1]:9342\", got \"localhost\"");
  EXPECT_EQ(error_of(kRouter + "[metrics]\nlisten = \"127.0.0.1:0\"\n"),
            "ferry.toml:5: metrics.listen: expected an address and port \"127.0.0.1:9342\" or "
            "\"[::1]:9342\", got \"127.0.0.1:0\"");
  EXPECT_EQ(error_of(kRouter + "[metrics]\nlisten = 9342\n"),
            "ferry.toml:5: metrics.listen: expected an address and port \"127.0.0.1:9342\" or "
            "\"[::1]:9342\", got an integer");
  EXPECT_EQ(error_of(kRouter + "[metrics]\nlisen = \"127.0.0.1:9342\"\n"),
            "ferry.toml:5: metrics.lisen: unknown key (did you mean \"listen\"?)");
  EXPECT_EQ(error_of("metrics = 1\n" + kRouter),
            "ferry.toml:1: metrics: expected a table, got an integer");
}
