// MAC1 / MAC2 / cookie replies: mac1 against an independent (Python
// hashlib) computation, the full cookie round trip, binding of cookies to
// the source address, secret rotation and cookie expiry.
#include "tunnel/cookie.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "handshake_testutil.hpp"

namespace ferry::tunnel {
namespace {

using testing::SeqRng;
using testing::t0;
using namespace std::chrono_literals;

Key hex_key(const char* hex) {
  Key k{};
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = static_cast<uint8_t>(std::stoi(std::string(hex + 2 * i, 2), nullptr, 16));
  }
  return k;
}

const Key kPub = hex_key("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");

std::vector<uint8_t> pattern_initiation() {
  std::vector<uint8_t> m(kMessageInitiationSize);
  m[0] = 1;
  for (size_t i = 4; i < m.size(); ++i) m[i] = static_cast<uint8_t>(i * 13 + 5);
  return m;
}

CookieSource src(const char* ip, uint16_t port) {
  return CookieSource::from(*IpAddress::parse(ip), port);
}

TEST(Cookie, Mac1MatchesIndependentComputation) {
  // Expected = BLAKE2s-128 keyed with BLAKE2s("mac1----" || pub) over msg[0:116],
  // computed with Python's hashlib.
  auto msg = pattern_initiation();
  CookieGenerator gen(kPub);
  gen.add_macs(msg, t0());
  const std::vector<uint8_t> want = {0x6a, 0xa4, 0xee, 0x36, 0x19, 0x8d, 0x16, 0x4d,
                                     0x1c, 0x25, 0xa5, 0xd9, 0x32, 0x4e, 0x3e, 0xeb};
  EXPECT_EQ(std::vector<uint8_t>(msg.begin() + 116, msg.begin() + 132), want);
  // No cookie yet: mac2 is zero.
  EXPECT_EQ(std::vector<uint8_t>(msg.begin() + 132, msg.end()), std::vector<uint8_t>(16, 0));
  CookieChecker checker(kPub);
  EXPECT_TRUE(checker.check_mac1(msg));
}

TEST(Cookie, Mac1RejectsTamperAndWrongKey) {
  auto msg = pattern_initiation();
  CookieGenerator gen(kPub);
  gen.add_macs(msg, t0());
  CookieChecker checker(kPub);
  msg[10] ^= 1;
  EXPECT_FALSE(checker.check_mac1(msg));
  msg[10] ^= 1;
  Key other = kPub;
  other[0] ^= 1;
  CookieChecker wrong(other);
  EXPECT_FALSE(wrong.check_mac1(msg));
  EXPECT_FALSE(checker.check_mac1(std::vector<uint8_t>(32)));  // too short
}

TEST(Cookie, RoundTripEnablesMac2) {
  SeqRng rng(5);
  CookieChecker checker(kPub, {}, rng);
  CookieGenerator gen(kPub);
  auto msg = pattern_initiation();
  gen.add_macs(msg, t0());
  auto from = src("192.0.2.7", 51820);
  // Under load, without a cookie, mac2 fails and we answer with a cookie reply.
  EXPECT_FALSE(checker.check_mac2(msg, from, t0()));
  auto reply = checker.create_reply(msg, 0xabcd, from, t0());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->receiver_index, 0xabcdu);
  std::vector<uint8_t> wire(kMessageCookieReplySize);
  ASSERT_TRUE(encode(*reply, wire));
  auto parsed = parse_cookie_reply(wire);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(gen.consume_reply(*parsed, t0() + 1s));
  EXPECT_TRUE(gen.has_cookie(t0() + 1s));
  // The same reply cannot be consumed twice.
  EXPECT_FALSE(gen.consume_reply(*parsed, t0() + 1s));

  // The retried message now carries a valid mac2 for that source only.
  auto retry = pattern_initiation();
  retry[5] ^= 0x55;  // a new message
  gen.add_macs(retry, t0() + 2s);
  EXPECT_TRUE(checker.check_mac1(retry));
  EXPECT_TRUE(checker.check_mac2(retry, from, t0() + 2s));
  EXPECT_FALSE(checker.check_mac2(retry, src("192.0.2.8", 51820), t0() + 2s));
  EXPECT_FALSE(checker.check_mac2(retry, src("192.0.2.7", 51821), t0() + 2s));
  retry[20] ^= 1;
  EXPECT_FALSE(checker.check_mac2(retry, from, t0() + 2s));
}

TEST(Cookie, ReplyBoundToMac1OfLastMessage) {
  CookieChecker checker(kPub);
  CookieGenerator gen(kPub);
  auto first = pattern_initiation();
  gen.add_macs(first, t0());
  auto reply = checker.create_reply(first, 1, src("10.0.0.1", 1), t0());
  // The generator sends another message before the reply arrives: the
  // reply's associated data (first mac1) no longer matches.
  auto second = pattern_initiation();
  second[4] = 0;
  gen.add_macs(second, t0());
  EXPECT_FALSE(gen.consume_reply(*reply, t0()));
  // A reply encrypted for another responder key is refused too.
  Key other = kPub;
  other[1] ^= 1;
  CookieChecker impostor(other);
  auto bad = impostor.create_reply(second, 1, src("10.0.0.1", 1), t0());
  EXPECT_FALSE(gen.consume_reply(*bad, t0()));
  auto good = checker.create_reply(second, 1, src("10.0.0.1", 1), t0());
  EXPECT_TRUE(gen.consume_reply(*good, t0()));
}

TEST(Cookie, NoOutstandingMessage) {
  CookieChecker checker(kPub);
  CookieGenerator gen(kPub);
  auto msg = pattern_initiation();
  auto reply = checker.create_reply(msg, 1, src("10.0.0.1", 1), t0());
  EXPECT_FALSE(gen.consume_reply(*reply, t0()));
}

TEST(Cookie, SecretRotatesAndCookieExpires) {
  CookieChecker checker(kPub);
  CookieGenerator gen(kPub);
  auto from = src("2001:db8::1", 443);
  auto msg = pattern_initiation();
  gen.add_macs(msg, t0());
  auto reply = checker.create_reply(msg, 1, from, t0());
  ASSERT_TRUE(gen.consume_reply(*reply, t0()));
  gen.add_macs(msg, t0() + 100s);
  EXPECT_TRUE(checker.check_mac2(msg, from, t0() + 100s));
  // After two minutes the responder's secret is stale: old cookies stop working.
  EXPECT_FALSE(checker.check_mac2(msg, from, t0() + 121s));
  // And the initiator stops using a cookie older than two minutes.
  EXPECT_FALSE(gen.has_cookie(t0() + 121s));
  gen.add_macs(msg, t0() + 121s);
  EXPECT_EQ(std::vector<uint8_t>(msg.begin() + 132, msg.end()), std::vector<uint8_t>(16, 0));
  // A fresh reply (new secret) works again.
  auto reply2 = checker.create_reply(msg, 1, from, t0() + 122s);
  ASSERT_TRUE(gen.consume_reply(*reply2, t0() + 122s));
  gen.add_macs(msg, t0() + 123s);
  EXPECT_TRUE(checker.check_mac2(msg, from, t0() + 123s));
}

TEST(Cookie, TimerScaleShortensLifetime) {
  TimerConfig cfg;
  cfg.scale = 0.01;  // 1.2 s
  CookieChecker checker(kPub, cfg);
  CookieGenerator gen(kPub, cfg);
  auto from = src("10.1.1.1", 9);
  auto msg = pattern_initiation();
  gen.add_macs(msg, t0());
  ASSERT_TRUE(gen.consume_reply(*checker.create_reply(msg, 1, from, t0()), t0()));
  gen.add_macs(msg, t0() + 1s);
  EXPECT_TRUE(checker.check_mac2(msg, from, t0() + 1s));
  EXPECT_FALSE(checker.check_mac2(msg, from, t0() + 2s));
}

TEST(Cookie, SourceBytes) {
  auto s4 = src("192.0.2.1", 0x1234);
  EXPECT_EQ(s4.len, 6u);
  EXPECT_EQ(s4.bytes[0], 192);
  EXPECT_EQ(s4.bytes[4], 0x12);
  EXPECT_EQ(s4.bytes[5], 0x34);
  auto s6 = src("2001:db8::1", 1);
  EXPECT_EQ(s6.len, 18u);
}

}  // namespace
}  // namespace ferry::tunnel
