// Round-trip tests: every golden/*.toml parses, prints exactly its *.ok file,
// and printing is a fixed point (print(parse(print(c))) == print(c)). The
// examples/ directory is checked the same way, plus broken.toml must fail.
//
// To regenerate the .ok files after an intended printer change, run the test
// with FERRY_UPDATE_GOLDEN=1 and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.hpp"

using namespace ferry::config;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> tomls_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".toml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

void expect_fixed_point(const std::string& printed, const std::string& what) {
  auto again = parse(printed, what + " (printed)");
  ASSERT_TRUE(again.ok()) << again.error() << "\n" << printed;
  EXPECT_EQ(print(*again), printed) << what;
}

// parse(print(c)) gives back c itself, not just the same text.
void expect_same_value(const Config& c) {
  auto again = parse(print(c), c.path);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_TRUE(*again == c) << c.path;
}

}  // namespace

TEST(ConfigGolden, PrintsNormalisedForm) {
  const auto files = tomls_in(FERRY_CONFIG_GOLDEN_DIR);
  ASSERT_GE(files.size(), 4u);
  const bool update = std::getenv("FERRY_UPDATE_GOLDEN") != nullptr;
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    auto c = load(f.string());
    ASSERT_TRUE(c.ok()) << c.error();
    const std::string printed = print(*c);
    fs::path ok = f;
    ok.replace_extension(".ok");
    if (update) std::ofstream(ok, std::ios::binary) << printed;
    EXPECT_EQ(printed, read_file(ok));
    expect_fixed_point(printed, f.string());
    expect_same_value(*c);
  }
}

TEST(ConfigGolden, ExamplesCheckAndRoundTrip) {
  for (const char* name : {"site-a.toml", "site-b.toml", "aws-ipsec.toml"}) {
    SCOPED_TRACE(name);
    auto c = load(std::string(FERRY_EXAMPLES_DIR) + "/" + name);
    ASSERT_TRUE(c.ok()) << c.error();
    expect_fixed_point(print(*c), name);
    expect_same_value(*c);
  }
  const std::string broken = std::string(FERRY_EXAMPLES_DIR) + "/broken.toml";
  auto c = load(broken);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error(), broken +
                           ":14: bgp.neighbors[0].remote-as: unknown key (did you mean "
                           "\"remote-asn\"?)");
}

TEST(ConfigGolden, SiteAHasTheDocumentedShape) {
  auto c = load(std::string(FERRY_EXAMPLES_DIR) + "/site-a.toml");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->router.asn.value(), 65001u);
  ASSERT_TRUE(c->tunnel);
  ASSERT_EQ(c->tunnel->peers.size(), 1u);
  EXPECT_EQ(c->tunnel->peers[0].name, "site-b");
  ASSERT_TRUE(c->bgp);
  ASSERT_EQ(c->bgp->neighbors.size(), 1u);
  EXPECT_EQ(c->bgp->neighbors[0].address.str(), "169.254.10.2");
  EXPECT_FALSE(c->bgp->networks.empty());
  EXPECT_FALSE(c->bgp->redistribute.empty());
  EXPECT_EQ(c->static_routes.size(), 1u);
  EXPECT_NE(c->find_policy("prefer-b"), nullptr);
}
