// [[bmp]]: BMP stations (RFC 7854); values, defaults, round trip and errors.
#include <gtest/gtest.h>

#include "config/config.hpp"

using namespace ferry::config;

namespace {

// Lines 1-4.
const std::string kBase = "[router]\nasn = 65001\nrouter-id = \"10.255.0.1\"\n[bgp]\n";

std::string error_of(const std::string& text) {
  auto r = parse(text, "ferry.toml");
  return r.ok() ? "(parsed fine)" : r.error();
}

}  // namespace

TEST(ConfigBmp, DefaultsAndAllKeys) {
  auto c = parse(kBase +
                     "[[bmp]]\nname = \"a\"\nstation = \"192.0.2.10:11019\"\n"
                     "[[bmp]]\nname = \"b\"\nstation = \"[2001:db8::10]:5000\"\n"
                     "route-monitoring = [\"post-policy\", \"pre-policy\"]\n"
                     "adj-rib-out = true\nstats-interval = 0\nqueue-limit = 65536\n",
                 "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_EQ(c->bmp.size(), 2u);
  const BmpConfig& a = c->bmp[0];
  EXPECT_EQ(a.station.str(), "192.0.2.10:11019");
  EXPECT_TRUE(a.pre_policy);
  EXPECT_FALSE(a.post_policy);
  EXPECT_FALSE(a.adj_rib_out);
  EXPECT_EQ(a.stats_interval, 60u);
  EXPECT_EQ(a.queue_limit, uint64_t{32} << 20);
  const BmpConfig& b = c->bmp[1];
  EXPECT_EQ(b.station.port, 5000);
  EXPECT_TRUE(b.pre_policy && b.post_policy && b.adj_rib_out);
  EXPECT_EQ(b.stats_interval, 0u);
  EXPECT_EQ(b.queue_limit, 65536u);
  // The printed form parses back to the same value.
  auto again = parse(print(*c), "printed.toml");
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again->bmp, c->bmp);
}

TEST(ConfigBmp, OnlyPostPolicy) {
  auto c = parse(kBase +
                     "[[bmp]]\nname = \"a\"\nstation = \"127.0.0.1:1\"\n"
                     "route-monitoring = [\"post-policy\"]\n",
                 "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_FALSE(c->bmp[0].pre_policy);
  EXPECT_TRUE(c->bmp[0].post_policy);
}

TEST(ConfigBmp, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(error_of(kBase + "[[bmp]]\nname = \"a\"\nstation = \"localhost:1\"\n"),
            "ferry.toml:7: bmp[0].station: expected an address and port \"192.0.2.10:11019\" or "
            "\"[2001:db8::10]:11019\", got \"localhost:1\"");
  EXPECT_EQ(error_of(kBase + "[[bmp]]\nname = \"a\"\nstation = \"127.0.0.1:1\"\n"
                             "route-monitoring = [\"local-rib\"]\n"),
            "ferry.toml:8: bmp[0].route-monitoring[0]: expected \"pre-policy\" or \"post-policy\", "
            "got \"local-rib\"");
  EXPECT_EQ(error_of(kBase + "[[bmp]]\nname = \"a\"\nstation = \"127.0.0.1:1\"\n"
                             "queue-limit = 10\n"),
            "ferry.toml:8: bmp[0].queue-limit: expected an integer 65536..4294967296, got 10");
  EXPECT_EQ(error_of(kBase + "[[bmp]]\nname = \"a\"\nstation = \"127.0.0.1:1\"\n"
                             "[[bmp]]\nname = \"a\"\nstation = \"127.0.0.1:2\"\n"),
            "ferry.toml:9: bmp[1].name: duplicate BMP station name \"a\"");
  EXPECT_EQ(error_of(kBase + "[[bmp]]\nname = \"a\"\n"),
            "ferry.toml:5: bmp[0].station: missing; expected an address and port "
            "\"192.0.2.10:11019\"");
  EXPECT_EQ(error_of("[router]\nasn = 65001\nrouter-id = \"10.255.0.1\"\n"
                     "[[bmp]]\nname = \"a\"\nstation = \"127.0.0.1:1\"\n"),
            "ferry.toml:6: bmp[0].station: expected a [bgp] section too: BMP monitors BGP "
            "sessions");
}
