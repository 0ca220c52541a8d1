// Noise primitives against independent references: RFC 7693 for BLAKE2s,
// Python's hashlib/hmac for HMAC-BLAKE2s, keyed BLAKE2s-128 and the KDF
// chain, libsodium for ChaCha20-Poly1305 (a second implementation), and
// WireGuard's well-known initial chaining key and hash.
#include "tunnel/noise.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <vector>

namespace ferry::tunnel {
namespace {

std::string hex(std::span<const uint8_t> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

Bytes str(const std::string& s) {
  return as_bytes(s.data(), s.size());
}

Key range_key() {
  Key k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  return k;
}

const std::string kFox = "The quick brown fox jumps over the lazy dog";

TEST(Noise, Blake2sRfc7693) {
  EXPECT_EQ(hex(blake2s({str("abc")})),
            "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
  // Concatenation of parts equals hashing the whole.
  EXPECT_EQ(blake2s({str("a"), str("bc")}), blake2s({str("abc")}));
}

TEST(Noise, WireGuardInitialState) {
  Hash ck = blake2s({as_bytes(kConstruction, sizeof(kConstruction) - 1)});
  EXPECT_EQ(hex(ck), "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
  Hash h = blake2s({ck, as_bytes(kIdentifier, sizeof(kIdentifier) - 1)});
  EXPECT_EQ(hex(h), "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
}

TEST(Noise, HmacBlake2s) {
  Key k = range_key();
  EXPECT_EQ(hex(hmac(k, {str(kFox)})),
            "f4660dee21c6a48e2a3d695ceedc26693e37b64b5ac5227476578517ee87fe6d");
}

TEST(Noise, KeyedBlake2s128) {
  Key k = range_key();
  EXPECT_EQ(hex(mac(k, str(kFox))), "4e2219ec6d234a478e4ace91429bbce4");
  EXPECT_EQ(hex(mac(Bytes(k.data(), 16), str(kFox))), "a745047ad25246370219b942e684dd6a");
}

TEST(Noise, KdfChain) {
  Key k = range_key();
  Hash t1, t2, t3;
  kdf3(t1, t2, t3, k, str(kFox));
  EXPECT_EQ(hex(t1), "c471865b3d2b771612913b81650c7c69ca16c5ac72ae83aaf2e47dc5337e67fc");
  EXPECT_EQ(hex(t2), "2411eee3c28d42aa1059e1d4a1d9622de9d3af8ecc67a0a2f7775a4af463a1df");
  EXPECT_EQ(hex(t3), "c909be26cedc47c1b8e0dad92bfb74fde4fc061980c7d398142c5e0a3c48f4e1");
  Hash u1, u2, v1;
  kdf2(u1, u2, k, str(kFox));
  kdf1(v1, k, str(kFox));
  EXPECT_EQ(u1, t1);
  EXPECT_EQ(u2, t2);
  EXPECT_EQ(v1, t1);
}

TEST(Noise, AeadMatchesLibsodium) {
  ASSERT_GE(sodium_init(), 0);
  Key key = range_key();
  for (size_t len : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{64}, size_t{1420}}) {
    for (uint64_t counter : {uint64_t{0}, uint64_t{1}, uint64_t{0x0102030405060708ULL}}) {
      std::vector<uint8_t> plain(len);
      for (size_t i = 0; i < len; ++i) plain[i] = static_cast<uint8_t>(i * 7 + 3);
      std::string ad = "associated";
      std::vector<uint8_t> ours(len + 16), theirs(len + 16);
      ASSERT_TRUE(aead_seal(key, counter, plain, str(ad), ours));
      // Reference: nonce = 4 zero bytes || little-endian counter.
      uint8_t nonce[12] = {};
      for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
      unsigned long long clen = 0;
      crypto_aead_chacha20poly1305_ietf_encrypt(theirs.data(), &clen, plain.data(), plain.size(),
                                                reinterpret_cast<const uint8_t*>(ad.data()),
                                                ad.size(), nullptr, nonce, key.data());
      EXPECT_EQ(ours, theirs) << "len " << len << " counter " << counter;
      std::vector<uint8_t> back(len);
      ASSERT_TRUE(aead_open(key, counter, ours, str(ad), back));
      EXPECT_EQ(back, plain);
    }
  }
}

TEST(Noise, AeadRejectsTamperingAndWrongCounter) {
  Key key = range_key();
  std::vector<uint8_t> plain(100, 0x42), sealed(116), out(100);
  ASSERT_TRUE(aead_seal(key, 9, plain, {}, sealed));
  EXPECT_FALSE(aead_open(key, 8, sealed, {}, out));
  sealed[50] ^= 1;
  EXPECT_FALSE(aead_open(key, 9, sealed, {}, out));
  sealed[50] ^= 1;
  sealed[115] ^= 0x80;  // tag
  EXPECT_FALSE(aead_open(key, 9, sealed, {}, out));
  sealed[115] ^= 0x80;
  std::string ad = "x";
  EXPECT_FALSE(aead_open(key, 9, sealed, str(ad), out));
  EXPECT_TRUE(aead_open(key, 9, sealed, {}, out));
  std::vector<uint8_t> too_short(15);
  EXPECT_FALSE(aead_open(key, 9, too_short, {}, out));
}

TEST(Noise, AeadInPlace) {
  Key key = range_key();
  std::vector<uint8_t> buf(64 + 16);
  for (size_t i = 0; i < 64; ++i) buf[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> expect(buf.begin(), buf.begin() + 64);
  ASSERT_TRUE(aead_seal(key, 3, Bytes(buf.data(), 64), {}, buf));
  ASSERT_TRUE(aead_open(key, 3, buf, {}, buf));
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 64), expect);
}

TEST(Noise, XaeadRoundTrip) {
  Key key = range_key();
  std::array<uint8_t, kXNonceSize> nonce{};
  nonce[23] = 9;
  std::array<uint8_t, 16> cookie{1, 2, 3}, back{};
  std::array<uint8_t, 32> sealed{};
  std::string ad = "mac1 of the message";
  ASSERT_TRUE(xaead_seal(key, nonce, cookie, str(ad), sealed));
  ASSERT_TRUE(xaead_open(key, nonce, sealed, str(ad), back));
  EXPECT_EQ(back, cookie);
  nonce[0] ^= 1;
  EXPECT_FALSE(xaead_open(key, nonce, sealed, str(ad), back));
}

}  // namespace
}  // namespace ferry::tunnel
