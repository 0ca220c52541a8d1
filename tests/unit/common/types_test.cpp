#include "common/types.hpp"

#include <gtest/gtest.h>

using namespace ferry;

TEST(Asn, ParsesAsplainAndAsdot) {
  EXPECT_EQ(Asn::parse("65001")->value(), 65001u);
  EXPECT_EQ(Asn::parse("4294967295")->value(), 4294967295u);
  EXPECT_EQ(Asn::parse("1.10")->value(), 65546u);
  EXPECT_FALSE(Asn::parse("4294967296"));
  EXPECT_FALSE(Asn::parse("-1"));
  EXPECT_FALSE(Asn::parse(""));
  EXPECT_FALSE(Asn::parse("65536.1"));
  EXPECT_EQ(Asn(4200000000u).str(), "4200000000");
  EXPECT_TRUE(Asn(65536).is_4byte());
  EXPECT_FALSE(Asn(65535).is_4byte());
  EXPECT_EQ(Asn::trans().value(), 23456u);
}

TEST(RouterId, DottedQuad) {
  EXPECT_EQ(RouterId::parse("10.255.0.1")->value(), 0x0aff0001u);
  EXPECT_EQ(RouterId(0x0aff0001u).str(), "10.255.0.1");
  EXPECT_FALSE(RouterId::parse("::1"));
  EXPECT_FALSE(RouterId::parse("10.0.0"));
  EXPECT_LT(RouterId(1), RouterId(2));
}
