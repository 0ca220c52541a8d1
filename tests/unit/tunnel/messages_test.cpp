// Message codecs: golden layout (little-endian fields, reserved zeros,
// exact sizes from wireguard.com/protocol) and rejection of anything else.
#include "tunnel/messages.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace ferry::tunnel {
namespace {

TEST(Messages, SizesMatchProtocol) {
  EXPECT_EQ(kMessageInitiationSize, 148u);
  EXPECT_EQ(kMessageResponseSize, 92u);
  EXPECT_EQ(kMessageCookieReplySize, 64u);
  EXPECT_EQ(kTransportHeaderSize, 16u);
}

TEST(Messages, InitiationLayout) {
  MessageInitiation m;
  m.sender_index = 0x11223344;
  m.ephemeral.fill(0xaa);
  m.encrypted_static.fill(0xbb);
  m.encrypted_timestamp.fill(0xcc);
  m.mac1.fill(0xdd);
  m.mac2.fill(0xee);
  std::vector<uint8_t> buf(148);
  ASSERT_TRUE(encode(m, buf));
  EXPECT_EQ(buf[0], 1);
  EXPECT_EQ(buf[1] | buf[2] | buf[3], 0);
  EXPECT_EQ(buf[4], 0x44);  // little-endian sender index
  EXPECT_EQ(buf[7], 0x11);
  EXPECT_EQ(buf[8], 0xaa);
  EXPECT_EQ(buf[39], 0xaa);
  EXPECT_EQ(buf[40], 0xbb);  // encrypted_static: 32 + 16
  EXPECT_EQ(buf[87], 0xbb);
  EXPECT_EQ(buf[88], 0xcc);  // encrypted_timestamp: 12 + 16
  EXPECT_EQ(buf[115], 0xcc);
  EXPECT_EQ(buf[116], 0xdd);  // mac1
  EXPECT_EQ(buf[132], 0xee);  // mac2
  auto back = parse_initiation(buf);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sender_index, m.sender_index);
  EXPECT_EQ(back->ephemeral, m.ephemeral);
  EXPECT_EQ(back->encrypted_static, m.encrypted_static);
  EXPECT_EQ(back->encrypted_timestamp, m.encrypted_timestamp);
  EXPECT_EQ(back->mac1, m.mac1);
  EXPECT_EQ(back->mac2, m.mac2);
  EXPECT_EQ(peek_message_type(buf), MessageType::Initiation);
}

TEST(Messages, ResponseLayout) {
  MessageResponse m;
  m.sender_index = 1;
  m.receiver_index = 0xdeadbeef;
  m.ephemeral.fill(7);
  m.encrypted_nothing.fill(8);
  m.mac1.fill(9);
  m.mac2.fill(10);
  std::vector<uint8_t> buf(92);
  ASSERT_TRUE(encode(m, buf));
  const std::vector<uint8_t> head = {2, 0, 0, 0, 1, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde};
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 12), head);
  EXPECT_EQ(buf[44], 8);
  EXPECT_EQ(buf[60], 9);
  EXPECT_EQ(buf[76], 10);
  auto back = parse_response(buf);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->receiver_index, 0xdeadbeefu);
  EXPECT_EQ(back->mac2, m.mac2);
}

TEST(Messages, CookieReplyLayout) {
  MessageCookieReply m;
  m.receiver_index = 0x01020304;
  m.nonce.fill(0x55);
  m.encrypted_cookie.fill(0x66);
  std::vector<uint8_t> buf(64);
  ASSERT_TRUE(encode(m, buf));
  const std::vector<uint8_t> head = {3, 0, 0, 0, 4, 3, 2, 1};
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 8), head);
  EXPECT_EQ(buf[8], 0x55);
  EXPECT_EQ(buf[32], 0x66);
  auto back = parse_cookie_reply(buf);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->nonce, m.nonce);
  EXPECT_EQ(back->encrypted_cookie, m.encrypted_cookie);
}

TEST(Messages, TransportHeaderGolden) {
  std::vector<uint8_t> buf(32, 0xff);
  ASSERT_TRUE(encode(TransportHeader{0x0a0b0c0d, 0x0102030405060708ULL}, buf));
  const std::vector<uint8_t> golden = {4,    0,    0,    0,    0x0d, 0x0c, 0x0b, 0x0a,
                                       0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 16), golden);
  auto v = parse_transport(buf);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header.receiver_index, 0x0a0b0c0du);
  EXPECT_EQ(v->header.counter, 0x0102030405060708ULL);
  EXPECT_EQ(v->ciphertext.size(), 16u);
  EXPECT_EQ(v->ciphertext.data(), buf.data() + 16);
}

TEST(Messages, RejectsWrongSizesTypesAndReserved) {
  std::vector<uint8_t> init(148, 0);
  init[0] = 1;
  EXPECT_TRUE(parse_initiation(init));
  init.push_back(0);
  EXPECT_FALSE(parse_initiation(init));
  init.resize(147);
  EXPECT_FALSE(parse_initiation(init));
  init.resize(148);
  init[2] = 1;  // reserved byte
  EXPECT_FALSE(parse_initiation(init));
  EXPECT_FALSE(peek_message_type(init));
  init[2] = 0;
  init[0] = 2;
  EXPECT_FALSE(parse_initiation(init));

  std::vector<uint8_t> resp(92, 0);
  resp[0] = 2;
  EXPECT_TRUE(parse_response(resp));
  resp.resize(91);
  EXPECT_FALSE(parse_response(resp));

  std::vector<uint8_t> cookie(64, 0);
  cookie[0] = 3;
  EXPECT_TRUE(parse_cookie_reply(cookie));
  cookie.resize(65);
  EXPECT_FALSE(parse_cookie_reply(cookie));

  std::vector<uint8_t> data(31, 0);
  data[0] = 4;
  EXPECT_FALSE(parse_transport(data));  // shorter than header + tag
  data.resize(32);
  EXPECT_TRUE(parse_transport(data));

  EXPECT_FALSE(peek_message_type(std::vector<uint8_t>{}));
  EXPECT_FALSE(peek_message_type(std::vector<uint8_t>{5, 0, 0, 0}));
  EXPECT_FALSE(peek_message_type(std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(peek_message_type(std::vector<uint8_t>{4, 0, 0, 0}), MessageType::Transport);
}

TEST(Messages, EncodeRefusesShortBuffer) {
  std::vector<uint8_t> small(147);
  EXPECT_FALSE(encode(MessageInitiation{}, small));
  std::vector<uint8_t> small2(91);
  EXPECT_FALSE(encode(MessageResponse{}, small2));
  std::vector<uint8_t> small3(63);
  EXPECT_FALSE(encode(MessageCookieReply{}, small3));
  std::vector<uint8_t> small4(15);
  EXPECT_FALSE(encode(TransportHeader{}, small4));
}

}  // namespace
}  // namespace ferry::tunnel
