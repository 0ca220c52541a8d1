// IKEv2 codec: golden bytes for the header and each payload body (RFC 7296 §3),
// round trips, and rejection of malformed input.
#include <gtest/gtest.h>

#include "ike/message.hpp"

namespace ferry::ike {
namespace {

Bytes hex(const char* s) {
  Bytes out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (; *s; ++s) {
    if (*s == ' ') continue;
    out.push_back(static_cast<uint8_t>(nib(s[0]) << 4 | nib(s[1])));
    ++s;
  }
  return out;
}

TEST(IkeMessage, HeaderAndChainGolden) {
  Header h;
  h.spi_i = 0x0102030405060708ull;
  h.exchange = kIkeSaInit;
  h.flags = kFlagInitiator;
  Bytes m = encode_message(
      h, {Payload{kPayloadNonce, false, {0xaa, 0xbb}}, Payload{kPayloadVendor, false, {0xcc}}});
  EXPECT_EQ(m, hex("0102030405060708 0000000000000000 28 20 22 08 00000000 00000027"
                   "2b 00 0006 aabb 00 00 0005 cc"));
  auto d = decode_message(m);
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->hdr.spi_i, h.spi_i);
  EXPECT_EQ(d->hdr.exchange, kIkeSaInit);
  EXPECT_TRUE(d->hdr.from_initiator());
  EXPECT_FALSE(d->hdr.is_response());
  ASSERT_EQ(d->payloads.size(), 2u);
  EXPECT_EQ(d->payloads[0].type, kPayloadNonce);
  EXPECT_EQ(d->payloads[1].body, Bytes{0xcc});
  EXPECT_FALSE(d->sk_offset);
}

TEST(IkeMessage, SkPayloadIsLastAndNamesFirstInner) {
  Bytes m =
      hex("0000000000000001 0000000000000002 2e 20 25 20 00000007 00000024"
          "29 00 0008 01020304");
  auto d = decode_message(m);
  ASSERT_TRUE(d) << d.error();
  ASSERT_TRUE(d->sk_offset);
  EXPECT_EQ(*d->sk_offset, 28u);
  EXPECT_EQ(d->sk_first, kPayloadNotify);
  EXPECT_TRUE(d->hdr.is_response());
  EXPECT_EQ(d->hdr.msg_id, 7u);
}

TEST(IkeMessage, RejectsMalformed) {
  Bytes ok = encode_message(Header{}, {Payload{kPayloadNonce, false, {1, 2, 3}}});
  ASSERT_TRUE(decode_message(ok));
  EXPECT_FALSE(decode_message(Bytes(ok.begin(), ok.begin() + 20)));  // short header
  Bytes bad_len = ok;
  bad_len[27] += 1;  // §3.1 Length differs from the datagram
  EXPECT_FALSE(decode_message(bad_len));
  Bytes bad_ver = ok;
  bad_ver[17] = 0x30;  // major version 3
  EXPECT_FALSE(decode_message(bad_ver));
  Bytes bad_plen = ok;
  bad_plen[31] = 0x40;  // payload length past the end
  EXPECT_FALSE(decode_message(bad_plen));
  Bytes short_plen = ok;
  short_plen[31] = 0x02;  // payload length below the generic header
  EXPECT_FALSE(decode_message(short_plen));
  // §2.5: an unknown payload with the critical bit is an error, without it skipped.
  Bytes crit = encode_message(Header{}, {Payload{200, true, {1}}});
  EXPECT_FALSE(decode_message(crit));
  Bytes noncrit = encode_message(Header{}, {Payload{200, false, {1}}});
  EXPECT_TRUE(decode_message(noncrit));
}

TEST(IkeMessage, SaPayloadGolden) {
  Proposal p;
  p.num = 1;
  p.protocol = kProtoEsp;
  p.spi = {0xc0, 0x00, 0x00, 0x01};
  p.transforms = {{1, 20, 256}, {5, 0, 0}};
  Bytes b = encode_sa({p});
  // §3.3.1 proposal: last=0, len 0x20, num 1, ESP, spi size 4, 2 transforms, SPI;
  // §3.3.2 transforms: ENCR AES-GCM-16 with Key Length 256 (§3.3.5 TV), ESN none.
  EXPECT_EQ(b, hex("00 00 0020 01 03 04 02 c0000001"
                   "03 00 000c 01 00 0014 800e 0100"
                   "00 00 0008 05 00 0000"));
  auto d = decode_sa(b);
  ASSERT_TRUE(d) << d.error();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].spi, p.spi);
  EXPECT_EQ((*d)[0].transforms, p.transforms);
  // Truncations at every length fail cleanly.
  for (size_t n = 1; n < b.size(); ++n) EXPECT_FALSE(decode_sa({b.data(), n})) << n;
  Bytes wrong_last = b;
  wrong_last[12] = 0;  // first transform claims to be the last
  EXPECT_FALSE(decode_sa(wrong_last));
}

TEST(IkeMessage, TypedPayloadsGolden) {
  EXPECT_EQ(encode_ke({19, {1, 2}}), hex("0013 0000 0102"));
  EXPECT_EQ(encode_id(id_from_string("192.0.2.1")), hex("01 000000 c0000201"));
  EXPECT_EQ(encode_id(id_from_string("gw.example")), hex("02 000000 67772e6578616d706c65"));
  EXPECT_EQ(encode_auth({kAuthPsk, {9}}), hex("02 000000 09"));
  EXPECT_EQ(encode_notify({kProtoEsp, {0, 0, 0, 5}, kRekeySa, {}}), hex("03 04 4009 00000005"));
  EXPECT_EQ(encode_notify({0, {}, kInvalidKePayload, {0, 19}}), hex("00 00 0011 0013"));
  EXPECT_EQ(encode_delete({kProtoEsp, 4, {{0, 0, 0, 9}}}), hex("03 04 0001 00000009"));
  EXPECT_EQ(encode_delete({kProtoIke, 0, {}}), hex("01 00 0000"));
  EXPECT_EQ(encode_cert({kCertX509Signature, {0x30}}), hex("04 30"));
  Bytes ts = encode_ts(ts_any());
  EXPECT_EQ(ts, hex("02 000000"
                    "07 00 0010 0000 ffff 00000000 ffffffff"
                    "08 00 0028 0000 ffff 00000000000000000000000000000000"
                    "ffffffffffffffffffffffffffffffff"));
  auto back = decode_ts(ts);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, ts_any());

  auto n = decode_notify(hex("03 04 4009 00000005"));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->type, kRekeySa);
  EXPECT_EQ(n->spi, (Bytes{0, 0, 0, 5}));
  auto id = decode_id(hex("02 000000 67772e6578616d706c65"));
  ASSERT_TRUE(id);
  EXPECT_EQ(id_to_string(*id), "gw.example");
  EXPECT_EQ(id_to_string(id_from_string("2001:db8::1")), "2001:db8::1");
}

TEST(IkeMessage, TypedPayloadsRejectMalformed) {
  EXPECT_FALSE(decode_ke(hex("0013 00")));
  EXPECT_FALSE(decode_id(hex("01 0000")));
  EXPECT_FALSE(decode_id(hex("01 000000")));                // no identification data
  EXPECT_FALSE(decode_notify(hex("03 04 4009 0000")));      // SPI past the end
  EXPECT_FALSE(decode_delete(hex("03 04 0002 00000009")));  // 2 SPIs announced, 1 present
  EXPECT_FALSE(decode_delete(hex("01 04 0001 00000009")));  // IKE delete with SPIs
  EXPECT_FALSE(decode_ts(hex("01 000000 09 00 0010 0000 ffff 00000000 ffffffff")));  // type 9
  EXPECT_FALSE(decode_ts(hex("01 000000 07 00 0014 0000 ffff 00000000 ffffffff")));  // length
  EXPECT_FALSE(decode_ts(hex("00 000000")));
  EXPECT_FALSE(decode_fragment_header(hex("0000 0001")));  // fragment 0
  EXPECT_FALSE(decode_fragment_header(hex("0003 0002")));  // number > total
  EXPECT_TRUE(decode_fragment_header(hex("0002 0002")));
}

}  // namespace
}  // namespace ferry::ike
