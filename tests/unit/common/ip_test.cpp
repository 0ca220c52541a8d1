#include "common/ip.hpp"

#include <gtest/gtest.h>

#include <set>
#include <unordered_set>

using namespace ferry;

TEST(IpAddress, ParsesAndPrintsCanonically) {
  EXPECT_EQ(IpAddress::parse("10.1.2.3")->str(), "10.1.2.3");
  EXPECT_EQ(IpAddress::parse("2001:DB8:0:0::1")->str(), "2001:db8::1");
  EXPECT_EQ(IpAddress::parse("::")->str(), "::");
  EXPECT_TRUE(IpAddress::parse("::ffff:1.2.3.4")->is_v6());
  EXPECT_EQ(IpAddress::v4(0x0a000001).str(), "10.0.0.1");
  EXPECT_EQ(IpAddress::parse("10.0.0.1")->v4_host_order(), 0x0a000001u);
}

TEST(IpAddress, RejectsMalformed) {
  for (const char* s : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", "abc", "2001:db8:::1",
                        "1.2.3.04x", "::g", "01.2.3.4.", "1.2.3.4/"}) {
    EXPECT_FALSE(IpAddress::parse(s)) << s;
  }
}

TEST(IpAddress, LinkLocal) {
  EXPECT_TRUE(IpAddress::parse("fe80::1")->is_v6_link_local());
  EXPECT_FALSE(IpAddress::parse("2001:db8::1")->is_v6_link_local());
  EXPECT_TRUE(IpAddress::parse("0.0.0.0")->is_unspecified());
}

TEST(Prefix, MasksHostBitsOnConstruction) {
  auto p = Prefix::parse("10.1.2.3/16");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->str(), "10.1.0.0/16");
  EXPECT_EQ(*p, *Prefix::parse("10.1.0.0/16"));
  EXPECT_EQ(Prefix::parse("2001:db8:ffff::1/32")->str(), "2001:db8::/32");
  EXPECT_EQ(Prefix::parse("10.1.2.255/31")->str(), "10.1.2.254/31");
  EXPECT_EQ(Prefix::parse("2001:db8::ff/121")->str(), "2001:db8::80/121");
}

TEST(Prefix, StrictRejectsHostBits) {
  EXPECT_FALSE(Prefix::parse_strict("10.1.2.3/16"));
  EXPECT_TRUE(Prefix::parse_strict("10.1.0.0/16"));
}

TEST(Prefix, EdgeLengths) {
  EXPECT_EQ(Prefix::parse("1.2.3.4/0")->str(), "0.0.0.0/0");
  EXPECT_EQ(Prefix::parse("1.2.3.4/32")->str(), "1.2.3.4/32");
  EXPECT_EQ(Prefix::parse("1.2.3.4")->str(), "1.2.3.4/32");
  EXPECT_EQ(Prefix::parse("::1/128")->str(), "::1/128");
  EXPECT_EQ(Prefix::parse("2001:db8::1/0")->str(), "::/0");
  EXPECT_FALSE(Prefix::parse("1.2.3.4/33"));
  EXPECT_FALSE(Prefix::parse("::/129"));
  EXPECT_FALSE(Prefix::parse("1.2.3.4/-1"));
  EXPECT_FALSE(Prefix::parse("1.2.3.4/ 8"));
  EXPECT_FALSE(Prefix::parse("1.2.3.4/8x"));
  EXPECT_FALSE(Prefix::parse("1.2.3.4/0008"));
}

TEST(Prefix, Contains) {
  auto p = *Prefix::parse("10.0.0.0/8");
  EXPECT_TRUE(p.contains(*IpAddress::parse("10.255.0.1")));
  EXPECT_FALSE(p.contains(*IpAddress::parse("11.0.0.1")));
  EXPECT_FALSE(p.contains(*IpAddress::parse("::a00:1")));
  EXPECT_TRUE(p.contains(*Prefix::parse("10.1.0.0/16")));
  EXPECT_FALSE(Prefix::parse("10.1.0.0/16")->contains(p));
  EXPECT_TRUE(Prefix::parse("0.0.0.0/0")->contains(*IpAddress::parse("1.1.1.1")));
}

TEST(Prefix, OrderedAndHashable) {
  std::set<Prefix> s{*Prefix::parse("10.0.0.0/8"), *Prefix::parse("10.0.0.0/16"),
                     *Prefix::parse("9.0.0.0/8"), *Prefix::parse("10.0.0.0/8")};
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.begin()->str(), "9.0.0.0/8");
  std::unordered_set<Prefix> h(s.begin(), s.end());
  EXPECT_EQ(h.size(), 3u);
  EXPECT_TRUE(h.count(*Prefix::parse("10.0.0.5/8")));
  // v4 and v6 with the same leading bytes differ
  EXPECT_NE(*Prefix::parse("0.0.0.0/0"), *Prefix::parse("::/0"));
}
