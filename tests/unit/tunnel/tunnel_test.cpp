#include "tunnel/tunnel.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

using namespace ferry::tunnel;

namespace {
std::string write_key(const std::string& name, mode_t mode) {
  std::string path = ::testing::TempDir() + "/" + name + std::to_string(::getpid());
  std::ofstream(path) << key_to_base64(generate_private_key()) << "\n";
  ::chmod(path.c_str(), mode);
  return path;
}
}  // namespace

TEST(TunnelKeyFile, RefusesGroupOrWorldAccessibleKeyWithoutPrintingIt) {
  std::string p = write_key("k644-", 0644);
  std::ifstream in(p);
  std::string key;
  in >> key;
  auto r = read_secret_key_file(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("chmod 600"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("0644"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().find(key), std::string::npos);
  ::unlink(p.c_str());
}

TEST(TunnelKeyFile, AcceptsOwnerOnlyKey) {
  std::string p = write_key("k600-", 0600);
  EXPECT_TRUE(read_secret_key_file(p).ok());
  ::unlink(p.c_str());
  EXPECT_FALSE(read_secret_key_file(p).ok());  // missing file: clear error, no crash
}

TEST(TunnelShow, NotRunningTunnelShowsInterfaceAndNoPeers) {
  ferry::config::TunnelConfig cfg;
  cfg.interface = "ferrytest0";
  Tunnel t(cfg);
  auto j = t.show();
  EXPECT_EQ(j["interface"], "ferrytest0");
  EXPECT_EQ(j["running"], false);
  EXPECT_TRUE(j["peers"].empty());
  EXPECT_FALSE(t.peer_id("nobody").has_value());
  ferry::ctl::Registry r;
  t.register_commands(r);
  ASSERT_NE(r.find("show tunnels"), nullptr);
  EXPECT_FALSE(r.find("show tunnels")->mutating);
}
