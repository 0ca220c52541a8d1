// The text exposition format: HELP/TYPE lines, label escaping, value text,
// family grouping, and name validation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "metrics/exposition.hpp"

using namespace ferry::metrics;

TEST(Exposition, HelpTypeAndSamples) {
  MetricSet m;
  m.family("ferry_x_total", "things counted", Type::Counter).add({{"peer", "a"}}, 3);
  m.family("ferry_y", "a gauge", Type::Gauge).add(1.5);
  EXPECT_EQ(m.render(),
            "# HELP ferry_x_total things counted\n"
            "# TYPE ferry_x_total counter\n"
            "ferry_x_total{peer=\"a\"} 3\n"
            "# HELP ferry_y a gauge\n"
            "# TYPE ferry_y gauge\n"
            "ferry_y 1.5\n");
}

TEST(Exposition, SamplesOfOneFamilyStayTogether) {
  MetricSet m;
  auto& a = m.family("a", "A", Type::Gauge);
  auto& b = m.family("b", "B", Type::Gauge);
  a.add({{"k", "1"}}, 1);
  b.add(2);
  m.family("a", "A", Type::Gauge).add({{"k", "2"}}, 3);  // same family again
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.render(),
            "# HELP a A\n# TYPE a gauge\na{k=\"1\"} 1\na{k=\"2\"} 3\n"
            "# HELP b B\n# TYPE b gauge\nb 2\n");
}

TEST(Exposition, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value(R"(a"b\c)"), R"(a\"b\\c)");
  EXPECT_EQ(escape_label_value("line1\nline2"), "line1\\nline2");
  EXPECT_EQ(escape_label_value("ünïcode ok"), "ünïcode ok");
  MetricSet m;
  m.family("m", "h", Type::Gauge).add({{"peer", "x\"}\n"}, {"b", ""}}, 0);
  EXPECT_EQ(m.render(), "# HELP m h\n# TYPE m gauge\nm{peer=\"x\\\"}\\n\",b=\"\"} 0\n");
}

TEST(Exposition, HelpIsEscapedButQuotesAreKept) {
  EXPECT_EQ(escape_help("a \"quoted\" \\ back\nslash"), "a \"quoted\" \\\\ back\\nslash");
}

TEST(Exposition, Values) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(18446744073709551615.0), "18446744073709551616");  // 2^64, shortest form
  EXPECT_EQ(format_value(1e300), "1e+300");
  EXPECT_EQ(format_value(1234567890123.0), "1234567890123");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(Exposition, Names) {
  EXPECT_TRUE(valid_metric_name("ferry_bgp_peer_state"));
  EXPECT_TRUE(valid_metric_name("a:b_c9"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_FALSE(valid_metric_name("9a"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_TRUE(valid_label_name("peer_as"));
  EXPECT_FALSE(valid_label_name("__name__"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_FALSE(valid_label_name("1a"));
  MetricSet m;
  EXPECT_THROW(m.family("bad-name", "h", Type::Gauge), std::invalid_argument);
  auto& f = m.family("ok", "h", Type::Gauge);
  EXPECT_THROW(f.add({{"bad-label", "v"}}, 1), std::invalid_argument);
  EXPECT_THROW(m.family("ok", "h", Type::Counter), std::invalid_argument);
}
