// Value-level text forms: communities, prefix matches, endpoints, keys.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/values.hpp"

using namespace ferry;
using namespace ferry::config;

TEST(Community, ParsesNumericAndWellKnown) {
  EXPECT_EQ(parse_community("65001:100"), 0xFDE90064u);
  EXPECT_EQ(parse_community("0:0"), 0u);
  EXPECT_EQ(parse_community("65535:65535"), 0xFFFFFFFFu);
  // RFC 1997 §3 and RFC 3765, RFC 7999, RFC 8326.
  EXPECT_EQ(parse_community("no-export"), 0xFFFFFF01u);
  EXPECT_EQ(parse_community("no-advertise"), 0xFFFFFF02u);
  EXPECT_EQ(parse_community("no-export-subconfed"), 0xFFFFFF03u);
  EXPECT_EQ(parse_community("no-peer"), 0xFFFFFF04u);
  EXPECT_EQ(parse_community("blackhole"), 0xFFFF029Au);
  EXPECT_EQ(parse_community("graceful-shutdown"), 0xFFFF0000u);
}

TEST(Community, RejectsMalformed) {
  for (const char* s : {"", ":", "65001", "65536:1", "1:65536", "-1:1", "1:2:3", "a:b", " 1:2",
                        "1:2 ", "+1:2", "no_export", "NO-EXPORT", "99999999999999999999:1"})
    EXPECT_FALSE(parse_community(s)) << s;
}

TEST(Community, PrintsCanonically) {
  EXPECT_EQ(detail::format_community(0xFDE90064u), "65001:100");
  EXPECT_EQ(detail::format_community(0xFFFFFF01u), "no-export");
  EXPECT_EQ(detail::format_community(0xFFFF029Au), "blackhole");
  EXPECT_EQ(detail::format_community(*parse_community("00065001:0100")), "65001:100");
}

TEST(LargeCommunity, ParsesAndRejects) {
  EXPECT_EQ(parse_large_community("65001:1:2"), (std::vector<uint32_t>{65001, 1, 2}));
  EXPECT_EQ(parse_large_community("4294967295:4294967295:0"),
            (std::vector<uint32_t>{4294967295u, 4294967295u, 0}));
  for (const char* s : {"", "1:2", "1:2:3:4", "4294967296:1:1", "1::2", ":1:2", "1:2:", "a:1:2"})
    EXPECT_FALSE(parse_large_community(s)) << s;
  EXPECT_EQ(detail::format_large_community({65001, 1, 2}), "65001:1:2");
}

TEST(PrefixMatch, ParsesForms) {
  auto m = detail::parse_prefix_match("10.0.0.0/8 le 24");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prefix, *Prefix::parse("10.0.0.0/8"));
  EXPECT_EQ(m->ge, -1);
  EXPECT_EQ(m->le, 24);
  EXPECT_EQ(m->str(), "10.0.0.0/8 le 24");
  m = detail::parse_prefix_match("192.168.0.0/16 ge 24 le 28");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->str(), "192.168.0.0/16 ge 24 le 28");
  EXPECT_EQ(detail::parse_prefix_match("2001:DB8::/32 ge 48")->str(), "2001:db8::/32 ge 48");
  EXPECT_EQ(detail::parse_prefix_match("10.0.0.0/8")->str(), "10.0.0.0/8");
  for (const char* s : {"", "10.0.0.1/8", "10.0.0.0", "10.0.0.0/8 le", "10.0.0.0/8 le 33",
                        "10.0.0.0/8 ge 4", "10.0.0.0/16 le 8", "10.0.0.0/8 ge 24 le 16",
                        "10.0.0.0/8 le 24 ge 16", "10.0.0.0/8 ge 9 ge 10", "10.0.0.0/8 lt 9",
                        "10.0.0.0/8 le 24 le 24", "10.0.0.0/8 le -1", "2001:db8::/32 le 129"})
    EXPECT_FALSE(detail::parse_prefix_match(s)) << s;
}

TEST(PrefixMatch, Matches) {
  auto pm = [](const char* s) { return *detail::parse_prefix_match(s); };
  auto p = [](const char* s) { return *Prefix::parse(s); };
  // Exact.
  EXPECT_TRUE(pm("10.0.0.0/8").matches(p("10.0.0.0/8")));
  EXPECT_FALSE(pm("10.0.0.0/8").matches(p("10.1.0.0/16")));
  // le: lengths len..le.
  EXPECT_TRUE(pm("10.0.0.0/8 le 24").matches(p("10.0.0.0/8")));
  EXPECT_TRUE(pm("10.0.0.0/8 le 24").matches(p("10.9.9.0/24")));
  EXPECT_FALSE(pm("10.0.0.0/8 le 24").matches(p("10.9.9.0/25")));
  EXPECT_FALSE(pm("10.0.0.0/8 le 24").matches(p("11.0.0.0/16")));
  EXPECT_FALSE(pm("10.0.0.0/8 le 24").matches(p("0.0.0.0/0")));
  // ge alone: lengths ge..max.
  EXPECT_TRUE(pm("10.0.0.0/8 ge 24").matches(p("10.1.2.3/32")));
  EXPECT_FALSE(pm("10.0.0.0/8 ge 24").matches(p("10.1.0.0/23")));
  // ge and le.
  EXPECT_TRUE(pm("192.168.0.0/16 ge 24 le 28").matches(p("192.168.5.16/28")));
  EXPECT_FALSE(pm("192.168.0.0/16 ge 24 le 28").matches(p("192.168.5.0/23")));
  EXPECT_FALSE(pm("192.168.0.0/16 ge 24 le 28").matches(p("192.168.5.0/29")));
  // Families never cross.
  EXPECT_FALSE(pm("0.0.0.0/0 le 32").matches(p("::/0")));
  EXPECT_TRUE(pm("::/0 le 128").matches(p("2001:db8::/32")));
}

TEST(Endpoint, ParsesAndPrints) {
  auto e = detail::parse_endpoint("1.2.3.4:51820");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->str(), "1.2.3.4:51820");
  e = detail::parse_endpoint("[2001:DB8::1]:51820");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 51820);
  EXPECT_EQ(e->str(), "[2001:db8::1]:51820");
  for (const char* s : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536",
                        "2001:db8::1:51820", "[2001:db8::1]", "[2001:db8::1]51820", "[1.2.3.4]:1",
                        "host:1", "1.2.3.4:+1", "1.2.3.4:0051820"})
    EXPECT_FALSE(detail::parse_endpoint(s)) << s;
}

TEST(InterfaceAddress, KeepsHostBits) {
  auto a = detail::parse_interface_address("169.254.10.1/30");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->str(), "169.254.10.1/30");
  EXPECT_EQ(a->network().str(), "169.254.10.0/30");
  for (const char* s : {"169.254.10.1", "169.254.10.1/33", "169.254.10.1/", "x/1", "::1/129"})
    EXPECT_FALSE(detail::parse_interface_address(s)) << s;
}

TEST(WireGuardKey, Base64Of32Bytes) {
  EXPECT_TRUE(detail::is_wg_key("wUnVId6j4Cl3aT2+ZxIO50E+UkMTCfOgdfRS3fIkBTw="));
  EXPECT_TRUE(detail::is_wg_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
  EXPECT_FALSE(detail::is_wg_key(""));
  EXPECT_FALSE(detail::is_wg_key("wUnVId6j4Cl3aT2+ZxIO50E+UkMTCfOgdfRS3fIkBTw"));   // no pad
  EXPECT_FALSE(detail::is_wg_key("wUnVId6j4Cl3aT2+ZxIO50E+UkMTCfOgdfRS3fIkBT=="));  // 31 bytes
  EXPECT_FALSE(detail::is_wg_key("wUnVId6j4Cl3aT2+ZxIO50E+UkMTCfOgdfRS3fIkBT!="));  // bad char
  EXPECT_FALSE(detail::is_wg_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="));  // stray bits
  EXPECT_FALSE(detail::is_wg_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));  // 36 bytes
}
