// IKEv2 crypto suite: RFC 4231 HMAC vectors through prf(), prf+ structure
// (RFC 7296 §2.13), DH agreement and rejection of invalid public values,
// SK payload protection round trips and tamper detection (§3.14, RFC 5282).
#include <gtest/gtest.h>

#include <cstring>

#include "ike/crypto.hpp"

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
Bytes str(const char* s) {
  return Bytes(s, s + std::strlen(s));
}

Rng counter_rng() {
  return [n = uint8_t{0}](std::span<uint8_t> b) mutable {
    for (auto& x : b) x = ++n;
  };
}

TEST(IkeCrypto, PrfRfc4231TestCase2) {
  Bytes key = str("Jefe"), data = str("what do ya want for nothing?");
  EXPECT_EQ(prf(kPrfHmacSha256, key, data),
            hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
  EXPECT_EQ(prf(kPrfHmacSha384, key, data),
            hex("af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                "8e2240ca5e69e2c78b3239ecfab21649"));
  EXPECT_EQ(prf(kPrfHmacSha512, key, data),
            hex("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"));
}

TEST(IkeCrypto, PrfPlusChainsBlocks) {
  Bytes k = str("key"), s = str("seed");
  Bytes t1_in = s;
  t1_in.push_back(1);
  Bytes t1 = prf(kPrfHmacSha256, k, t1_in);
  Bytes t2_in = t1;
  t2_in.insert(t2_in.end(), s.begin(), s.end());
  t2_in.push_back(2);
  Bytes t2 = prf(kPrfHmacSha256, k, t2_in);
  Bytes want = t1;
  want.insert(want.end(), t2.begin(), t2.begin() + 8);
  EXPECT_EQ(prf_plus(kPrfHmacSha256, k, s, 40), want);
}

TEST(IkeCrypto, DhGroupsAgreeAndRejectInvalidValues) {
  for (uint16_t g : {kModp2048, kEcp256, kEcp384, kCurve25519}) {
    SCOPED_TRACE(g);
    auto a = dh_generate(g);
    auto b = dh_generate(g);
    ASSERT_TRUE(a) << a.error();
    ASSERT_TRUE(b) << b.error();
    EXPECT_EQ((*a)->public_value().size(), dh_public_len(g));
    auto sa = (*a)->shared_secret((*b)->public_value());
    auto sb = (*b)->shared_secret((*a)->public_value());
    ASSERT_TRUE(sa) << sa.error();
    ASSERT_TRUE(sb) << sb.error();
    EXPECT_EQ(*sa, *sb);
    // §2.14: MODP secrets padded to the prime, ECP the x coordinate (RFC 5903 §9).
    size_t want = g == kModp2048 ? 256 : g == kEcp256 ? 32 : g == kEcp384 ? 48 : 32;
    EXPECT_EQ(sa->size(), want);
    Bytes zeros(dh_public_len(g), 0);
    EXPECT_FALSE((*a)->shared_secret(zeros));  // not a group element / all-zero output
    EXPECT_FALSE((*a)->shared_secret(Bytes(dh_public_len(g) - 1, 1)));  // wrong length
  }
  Bytes one(256, 0);
  one.back() = 1;  // g^x = 1 is rejected (RFC 7296 §5 / SP 800-56A range check)
  auto m = dh_generate(kModp2048);
  ASSERT_TRUE(m);
  EXPECT_FALSE((*m)->shared_secret(one));
}

TEST(IkeCrypto, IkeKeyLengthsFollowTheSuite) {
  Suite s{kEncrAesCbc, 256, kPrfHmacSha384, kIntegHmacSha512_256, kEcp384, false};
  Bytes secret(48, 7), ni(32, 1), nr(32, 2);
  Bytes seed;
  IkeKeys k = derive_ike_keys(s, secret, ni, nr, 1, 2, {}, 0, &seed);
  EXPECT_EQ(k.sk_d.size(), 48u);
  EXPECT_EQ(k.sk_ai.size(), 64u);
  EXPECT_EQ(k.sk_ei.size(), 32u);
  EXPECT_EQ(k.sk_pr.size(), 48u);
  Bytes nonces = ni;
  nonces.insert(nonces.end(), nr.begin(), nr.end());
  EXPECT_EQ(seed, prf(kPrfHmacSha384, nonces, secret));  // §2.14 SKEYSEED = prf(Ni | Nr, g^ir)
  Suite g{kEncrAesGcm16, 128, kPrfHmacSha256, kIntegNone, kCurve25519, false};
  IkeKeys kg = derive_ike_keys(g, secret, ni, nr, 1, 2);
  EXPECT_EQ(kg.sk_ai.size(), 0u);
  EXPECT_EQ(kg.sk_ei.size(), 20u);  // key + 4-octet salt (RFC 5282 §7.1)
  // §2.18: a rekeyed IKE SA's SKEYSEED uses the old SK_d.
  Bytes seed2;
  derive_ike_keys(g, secret, ni, nr, 3, 4, k.sk_d, kPrfHmacSha384, &seed2);
  Bytes in = secret;
  in.insert(in.end(), nonces.begin(), nonces.end());
  EXPECT_EQ(seed2, prf(kPrfHmacSha384, k.sk_d, in));
}

TEST(IkeCrypto, ChildKeymatOrder) {
  Suite esp{kEncrAesCbc, 128, 0, kIntegHmacSha256_128, 0, false};
  Bytes skd(32, 9), ni(16, 1), nr(16, 2);
  ChildKeys c = derive_child_keys(kPrfHmacSha256, skd, esp, {}, ni, nr);
  Bytes seed = ni;
  seed.insert(seed.end(), nr.begin(), nr.end());
  Bytes km = prf_plus(kPrfHmacSha256, skd, seed, 2 * (16 + 32));
  EXPECT_EQ(c.encr_i, Bytes(km.begin(), km.begin() + 16));
  EXPECT_EQ(c.integ_i, Bytes(km.begin() + 16, km.begin() + 48));
  EXPECT_EQ(c.encr_r, Bytes(km.begin() + 48, km.begin() + 64));
  EXPECT_EQ(c.integ_r, Bytes(km.begin() + 64, km.end()));
}

class SkSuites : public ::testing::TestWithParam<Suite> {};

TEST_P(SkSuites, SealOpenAndTamper) {
  Suite s = GetParam();
  Bytes enc(encr_keymat_len(s), 0x11), integ(integ_key_len(s.integ), 0x22);
  SkKeys k{&s, enc, integ};
  Header h;
  h.spi_i = 5;
  h.spi_r = 6;
  h.exchange = kInformational;
  h.msg_id = 3;
  std::vector<Payload> inner = {{kPayloadNotify, false, {0, 0, 0x40, 0x00}},
                                {kPayloadDelete, false, {1, 0, 0, 0}}};
  Bytes wire = sk_seal(k, h, inner, counter_rng());
  auto m = decode_message(wire);
  ASSERT_TRUE(m) << m.error();
  auto plain = sk_decrypt(k, *m, wire);
  ASSERT_TRUE(plain) << plain.error();
  auto chain = decode_chain(m->sk_first, *plain);
  ASSERT_TRUE(chain) << chain.error();
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ((*chain)[1].type, kPayloadDelete);
  EXPECT_EQ((*chain)[0].body, inner[0].body);
  // Any flipped bit, in the header (AAD / MACed) or the ciphertext, fails the check.
  for (size_t i : {size_t{19}, size_t{30}, wire.size() / 2, wire.size() - 1}) {
    Bytes bad = wire;
    bad[i] ^= 1;
    auto bm = decode_message(bad);
    if (!bm) continue;
    EXPECT_FALSE(sk_decrypt(k, *bm, bad)) << i;
  }
  Bytes other(enc.size(), 0x12);
  SkKeys wrong{&s, other, integ};
  if (s.aead()) {
    EXPECT_FALSE(sk_decrypt(wrong, *m, wire));
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, SkSuites,
    ::testing::Values(Suite{kEncrAesGcm16, 128, kPrfHmacSha256, kIntegNone, 19, false},
                      Suite{kEncrAesGcm16, 256, kPrfHmacSha256, kIntegNone, 19, false},
                      Suite{kEncrAesCbc, 128, kPrfHmacSha256, kIntegHmacSha256_128, 14, false},
                      Suite{kEncrAesCbc, 256, kPrfHmacSha384, kIntegHmacSha384_192, 20, false},
                      Suite{kEncrAesCbc, 256, kPrfHmacSha512, kIntegHmacSha512_256, 31, false}));

TEST(IkeCrypto, NatDetectionHash) {
  // SHA-1 over SPIi | SPIr | IP | port (RFC 7296 §2.23): changing any input changes it.
  auto ip = *IpAddress::parse("192.0.2.1");
  Bytes a = nat_detection_hash(1, 2, ip, 500);
  EXPECT_EQ(a.size(), 20u);
  EXPECT_NE(a, nat_detection_hash(1, 2, ip, 4500));
  EXPECT_NE(a, nat_detection_hash(1, 3, ip, 500));
  EXPECT_EQ(a, nat_detection_hash(1, 2, ip, 500));
}

}  // namespace
}  // namespace ferry::ike
