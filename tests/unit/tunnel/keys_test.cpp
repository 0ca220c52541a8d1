// Keys: X25519 against RFC 7748 §6.1 vectors, the wg base64 text form, and
// cross-checks with the real `wg` binary when it is installed.
#include "tunnel/keys.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace ferry::tunnel {
namespace {

Key hex_key(const char* hex) {
  Key k{};
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<uint8_t>(std::stoi(std::string(hex + 2 * i, 2), nullptr, 16));
  return k;
}

// RFC 7748 §6.1.
const Key kAlicePriv = hex_key("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
const Key kAlicePub = hex_key("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
const Key kBobPriv = hex_key("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
const Key kBobPub = hex_key("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
const Key kShared = hex_key("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

TEST(Keys, PublicKeyMatchesRfc7748) {
  EXPECT_EQ(public_key(kAlicePriv), kAlicePub);
  EXPECT_EQ(public_key(kBobPriv), kBobPub);
}

TEST(Keys, SharedSecretMatchesRfc7748) {
  auto ab = x25519(kAlicePriv, kBobPub);
  auto ba = x25519(kBobPriv, kAlicePub);
  ASSERT_TRUE(ab && ba);
  EXPECT_EQ(*ab, kShared);
  EXPECT_EQ(*ba, kShared);
}

TEST(Keys, LowOrderPointRefused) {
  Key zero{};  // the identity: X25519 result is all zeros
  EXPECT_FALSE(x25519(kAlicePriv, zero).has_value());
  Key one{};
  one[0] = 1;  // order-1/low-order point
  EXPECT_FALSE(x25519(kAlicePriv, one).has_value());
}

TEST(Keys, GeneratedKeysAreClamped) {
  for (int i = 0; i < 32; ++i) {
    Key k = generate_private_key();
    EXPECT_EQ(k[0] & 7, 0);
    EXPECT_EQ(k[31] & 0x80, 0);
    EXPECT_EQ(k[31] & 0x40, 0x40);
  }
}

TEST(Keys, PresharedKeysAreRandom) {
  Key a = generate_preshared_key(), b = generate_preshared_key();
  EXPECT_NE(a, b);
  EXPECT_FALSE(key_is_zero(a));
}

TEST(Keys, Base64RoundTrip) {
  std::string text = key_to_base64(kAlicePub);
  EXPECT_EQ(text.size(), 44u);
  EXPECT_EQ(text.back(), '=');
  auto back = parse_key_base64(text);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, kAlicePub);
  // Known encoding (base64 of the RFC 7748 public key).
  EXPECT_EQ(text, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
}

TEST(Keys, Base64Rejects) {
  EXPECT_FALSE(parse_key_base64("").ok());
  EXPECT_FALSE(parse_key_base64("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo").ok());    // 43
  EXPECT_FALSE(parse_key_base64("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==").ok());  // 45
  EXPECT_FALSE(parse_key_base64("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Spjqqb!mo=").ok());   // bad char
  EXPECT_FALSE(
      parse_key_base64("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=").ok());  // trailing bits
  EXPECT_FALSE(parse_key_base64("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm==").ok());
}

TEST(Keys, ReadKeyFileTrimsNewline) {
  std::string path = "/tmp/ferry_keys_test_" + std::to_string(getpid());
  {
    std::ofstream f(path);
    f << key_to_base64(kBobPriv) << "\n";
  }
  auto k = read_key_file(path);
  std::remove(path.c_str());
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_EQ(*k, kBobPriv);
  EXPECT_FALSE(read_key_file("/nonexistent/ferry/key").ok());
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[256];
  while (fgets(buf, sizeof(buf), p)) out += buf;
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST(Keys, MatchesWgPubkey) {
  if (access("/usr/bin/wg", X_OK) != 0) GTEST_SKIP() << "wg not installed";
  for (int i = 0; i < 4; ++i) {
    Key priv = generate_private_key();
    std::string ours = key_to_base64(public_key(priv));
    std::string theirs = run("echo '" + key_to_base64(priv) + "' | /usr/bin/wg pubkey");
    EXPECT_EQ(ours, theirs);
  }
  // And a key `wg genkey` produced parses and is clamped like ours.
  auto gen = parse_key_base64(run("/usr/bin/wg genkey"));
  ASSERT_TRUE(gen.ok());
  Key clamped = *gen;
  clamp_private_key(clamped);
  EXPECT_EQ(clamped, *gen);
}

}  // namespace
}  // namespace ferry::tunnel
