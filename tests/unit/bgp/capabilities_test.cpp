// Capability TLV codec (RFC 5492 §4) golden bytes.
#include "bgp/capabilities.hpp"

#include <gtest/gtest.h>

using namespace ferry;
using namespace ferry::bgp;

using Bytes = std::vector<uint8_t>;

TEST(Capabilities, GoldenEncodeOrderAndDecode) {
  Capabilities c;
  c.multiprotocol = {{1, 1}, {2, 1}};
  c.route_refresh = true;
  c.enhanced_route_refresh = true;
  c.extended_message = true;
  c.four_octet_as = 4200000000u;
  c.unknown = {{69, {0, 1, 1, 3}}};
  Bytes out;
  ByteWriter w(out);
  encode_capabilities(c, w);
  const Bytes want = {
      1,  4, 0,    1,    0,    1,     // MP IPv4 unicast (RFC 4760 §8)
      1,  4, 0,    2,    0,    1,     // MP IPv6 unicast
      2,  0,                          // route refresh (RFC 2918)
      70, 0,                          // enhanced route refresh (RFC 7313)
      6,  0,                          // extended message (RFC 8654)
      65, 4, 0xfa, 0x56, 0xea, 0x00,  // 4-octet AS 4200000000 (RFC 6793)
      69, 4, 0,    1,    1,    3,     // add-path, kept raw
  };
  EXPECT_EQ(out, want);
  Capabilities back;
  ASSERT_TRUE(decode_capabilities(ByteReader(out.data(), out.size()), back));
  EXPECT_EQ(back, c);
  EXPECT_TRUE(back.supports({2, 1}));
  EXPECT_FALSE(back.supports({2, 2}));
}

// RFC 4724 §3: Restart Flags (R = 0x8 of the high nibble), Restart Time (12 bits),
// then per family AFI (2), SAFI (1), Flags for Address Family (F = 0x80).
TEST(Capabilities, GracefulRestartRestartingSpeakerGolden) {
  Capabilities c;
  GracefulRestartCap gr;
  gr.restart_state = true;
  gr.restart_time = 120;
  gr.families = {{{1, 1}, true}, {{2, 1}, false}};
  c.graceful_restart = gr;
  Bytes out;
  ByteWriter w(out);
  encode_capabilities(c, w);
  const Bytes want = {
      64,   10,             // code 64, length 2 + 2 * 4
      0x80, 0x78,           // R=1, N=0, restart time 120 s
      0,    1,    1, 0x80,  // IPv4 unicast, F=1 (forwarding state preserved)
      0,    2,    1, 0x00,  // IPv6 unicast, F=0
  };
  EXPECT_EQ(out, want);
  Capabilities back;
  ASSERT_TRUE(decode_capabilities(ByteReader(out.data(), out.size()), back));
  EXPECT_EQ(back, c);

  // Helper only (no families), R clear, time 4095 (the 12-bit maximum).
  Capabilities h;
  h.graceful_restart = GracefulRestartCap{false, false, 4095, {}};
  Bytes out2;
  ByteWriter w2(out2);
  encode_capabilities(h, w2);
  EXPECT_EQ(out2, (Bytes{64, 2, 0x0f, 0xff}));
  // A received R bit with other reserved flag bits set still decodes as R.
  Capabilities r;
  const Bytes in = {64, 6, 0xa0, 0x5a, 0, 1, 1, 0xff};
  ASSERT_TRUE(decode_capabilities(ByteReader(in.data(), in.size()), r));
  ASSERT_TRUE(r.graceful_restart.has_value());
  EXPECT_TRUE(r.graceful_restart->restart_state);
  EXPECT_EQ(r.graceful_restart->restart_time, 90);
  ASSERT_EQ(r.graceful_restart->families.size(), 1u);
  EXPECT_TRUE(r.graceful_restart->families[0].forwarding_preserved);
}

TEST(Capabilities, MalformedKnownCapabilitiesAreRejected) {
  auto bad = [](Bytes b) {
    Capabilities c;
    return !decode_capabilities(ByteReader(b.data(), b.size()), c);
  };
  EXPECT_TRUE(bad({1, 3, 0, 1, 1}));   // MP must be 4 octets
  EXPECT_TRUE(bad({2, 1, 0}));         // route refresh carries nothing
  EXPECT_TRUE(bad({65, 2, 0, 1}));     // 4-octet AS must be 4 octets
  EXPECT_TRUE(bad({64, 3, 0, 0, 1}));  // GR: 2 + 4n octets
  EXPECT_TRUE(bad({1, 4, 0, 1}));      // value overruns
  EXPECT_TRUE(bad({1}));               // truncated header
  EXPECT_FALSE(bad({}));
  EXPECT_FALSE(bad({64, 2, 0, 0}));  // GR with no families is fine
  // Duplicate MP capabilities collapse into one entry.
  Capabilities c;
  const Bytes dup = {1, 4, 0, 1, 0, 1, 1, 4, 0, 1, 0, 1};
  ASSERT_TRUE(decode_capabilities(ByteReader(dup.data(), dup.size()), c));
  EXPECT_EQ(c.multiprotocol.size(), 1u);
}
