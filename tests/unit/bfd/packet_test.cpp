#include "bfd/packet.hpp"

#include <gtest/gtest.h>

using namespace ferry::bfd;

// RFC 5880 §4.1 layout, written out by hand: version 1, diag 0, state Up,
// no flags, detect mult 3, length 24, my discr 1, your discr 2,
// desired min TX 300 ms, required min RX 300 ms, echo 0.
static const std::vector<uint8_t> kUpPacket = {
    0x20,                    // Vers=1 (001), Diag=0
    0xc0,                    // Sta=3 (11), P F C A D M = 0
    0x03, 0x18,              // Detect Mult 3, Length 24
    0x00, 0x00, 0x00, 0x01,  // My Discriminator
    0x00, 0x00, 0x00, 0x02,  // Your Discriminator
    0x00, 0x04, 0x93, 0xe0,  // Desired Min TX 300000 us
    0x00, 0x04, 0x93, 0xe0,  // Required Min RX 300000 us
    0x00, 0x00, 0x00, 0x00,  // Required Min Echo RX
};

TEST(BfdPacket, DecodesGoldenBytes) {
  auto p = decode(kUpPacket);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->state, State::Up);
  EXPECT_EQ(p->detect_mult, 3);
  EXPECT_EQ(p->my_discriminator, 1u);
  EXPECT_EQ(p->your_discriminator, 2u);
  EXPECT_EQ(p->desired_min_tx_us, 300000u);
  EXPECT_EQ(p->required_min_rx_us, 300000u);
  EXPECT_FALSE(p->poll);
}

TEST(BfdPacket, EncodesGoldenBytes) {
  ControlPacket p;
  p.state = State::Up;
  p.my_discriminator = 1;
  p.your_discriminator = 2;
  p.desired_min_tx_us = 300000;
  p.required_min_rx_us = 300000;
  std::vector<uint8_t> out;
  encode(p, out);
  EXPECT_EQ(out, kUpPacket);
}

TEST(BfdPacket, FlagsAndDiagRoundTrip) {
  ControlPacket p;
  p.state = State::Init;
  p.diag = Diag::NeighborSignaledDown;
  p.poll = true;
  p.my_discriminator = 0xdeadbeef;
  std::vector<uint8_t> out;
  encode(p, out);
  EXPECT_EQ(out[0], 0x23);         // vers 1, diag 3
  EXPECT_EQ(out[1], 0x80 | 0x20);  // Init, Poll
  auto back = decode(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, p);
}

TEST(BfdPacket, RejectsWhatSection6_8_6Discards) {
  std::string why;
  auto bad = kUpPacket;
  bad[0] = 0x40;  // version 2
  EXPECT_FALSE(decode(bad, &why));
  EXPECT_EQ(why, "version is not 1");
  bad = kUpPacket;
  bad[3] = 20;  // length < 24
  EXPECT_FALSE(decode(bad, &why));
  bad = kUpPacket;
  bad[3] = 40;  // length beyond datagram
  EXPECT_FALSE(decode(bad, &why));
  bad = kUpPacket;
  bad[2] = 0;  // detect mult 0
  EXPECT_FALSE(decode(bad, &why));
  bad = kUpPacket;
  bad[1] |= 0x01;  // multipoint
  EXPECT_FALSE(decode(bad, &why));
  bad = kUpPacket;
  bad[4] = bad[5] = bad[6] = bad[7] = 0;  // my discriminator 0
  EXPECT_FALSE(decode(bad, &why));
  bad = kUpPacket;
  bad.resize(23);
  EXPECT_FALSE(decode(bad, &why));
  EXPECT_EQ(why, "short packet");
}
