#include "tunnel/noise.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include <cstring>

namespace ferry::tunnel {
namespace {

// Algorithms are fetched once per process (fetching is a provider lookup).
struct Algorithms {
  EVP_MD* blake2s = nullptr;
  EVP_MAC* hmac = nullptr;
  EVP_MAC* blake2smac = nullptr;
  EVP_CIPHER* chacha = nullptr;
  bool sodium_ready = false;
  Algorithms() {
    blake2s = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr);
    hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    blake2smac = EVP_MAC_fetch(nullptr, "BLAKE2SMAC", nullptr);
    chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
    sodium_ready = sodium_init() >= 0;
  }
  ~Algorithms() {
    EVP_MD_free(blake2s);
    EVP_MAC_free(hmac);
    EVP_MAC_free(blake2smac);
    EVP_CIPHER_free(chacha);
  }
};
const Algorithms& algs() {
  static const Algorithms a;
  return a;
}

// Per-thread reusable contexts: handshakes and the data path never allocate
// a context per message, and threads never share one.
struct ThreadContexts {
  EVP_MD_CTX* md = nullptr;
  EVP_MAC_CTX* hmac = nullptr;
  EVP_MAC_CTX* mac = nullptr;
  EVP_CIPHER_CTX* seal = nullptr;
  EVP_CIPHER_CTX* open = nullptr;
  bool ok = false;
  // The key last installed in seal/open: consecutive packets on the same
  // keypair only change the nonce, which skips the key schedule.
  Key seal_key{};
  Key open_key{};
  bool seal_keyed = false;
  bool open_keyed = false;
  ThreadContexts() {
    const Algorithms& a = algs();
    if (!a.blake2s || !a.hmac || !a.blake2smac || !a.chacha) return;
    md = EVP_MD_CTX_new();
    hmac = EVP_MAC_CTX_new(a.hmac);
    mac = EVP_MAC_CTX_new(a.blake2smac);
    seal = EVP_CIPHER_CTX_new();
    open = EVP_CIPHER_CTX_new();
    if (!md || !hmac || !mac || !seal || !open) return;
    char digest[] = "BLAKE2S-256";
    OSSL_PARAM hp[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                       OSSL_PARAM_construct_end()};
    size_t mac_size = kMacSize;
    OSSL_PARAM mp[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &mac_size),
                       OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(hmac, hp) != 1 || EVP_MAC_CTX_set_params(mac, mp) != 1) return;
    if (EVP_EncryptInit_ex2(seal, a.chacha, nullptr, nullptr, nullptr) != 1 ||
        EVP_DecryptInit_ex2(open, a.chacha, nullptr, nullptr, nullptr) != 1) {
      return;
    }
    ok = true;
  }
  ~ThreadContexts() {
    secure_zero(seal_key);
    secure_zero(open_key);
    EVP_MD_CTX_free(md);
    EVP_MAC_CTX_free(hmac);
    EVP_MAC_CTX_free(mac);
    EVP_CIPHER_CTX_free(seal);
    EVP_CIPHER_CTX_free(open);
  }
};
ThreadContexts& tls() {
  thread_local ThreadContexts t;
  return t;
}

std::array<uint8_t, 12> chacha_nonce(uint64_t counter) {
  // wireguard.com/protocol: 32 bits of zeros followed by the 64-bit little-endian counter.
  std::array<uint8_t, 12> n{};
  for (int i = 0; i < 8; ++i) n[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
  return n;
}

}  // namespace

Hash blake2s(std::initializer_list<Bytes> parts) {
  Hash out{};
  ThreadContexts& t = tls();
  unsigned len = 0;
  bool ok = t.ok && EVP_DigestInit_ex2(t.md, algs().blake2s, nullptr) == 1;
  for (Bytes p : parts) ok = ok && (p.empty() || EVP_DigestUpdate(t.md, p.data(), p.size()) == 1);
  ok = ok && EVP_DigestFinal_ex(t.md, out.data(), &len) == 1 && len == out.size();
  if (!ok) out.fill(0);
  return out;
}

Hash hmac(Bytes key, std::initializer_list<Bytes> parts) {
  Hash out{};
  ThreadContexts& t = tls();
  size_t len = 0;
  bool ok = t.ok && EVP_MAC_init(t.hmac, key.data(), key.size(), nullptr) == 1;
  for (Bytes p : parts) ok = ok && (p.empty() || EVP_MAC_update(t.hmac, p.data(), p.size()) == 1);
  ok = ok && EVP_MAC_final(t.hmac, out.data(), &len, out.size()) == 1 && len == out.size();
  if (!ok) out.fill(0);
  return out;
}

Mac mac(Bytes key, Bytes data) {
  Mac out{};
  ThreadContexts& t = tls();
  size_t len = 0;
  bool ok = t.ok && EVP_MAC_init(t.mac, key.data(), key.size(), nullptr) == 1 &&
            (data.empty() || EVP_MAC_update(t.mac, data.data(), data.size()) == 1) &&
            EVP_MAC_final(t.mac, out.data(), &len, out.size()) == 1 && len == out.size();
  if (!ok) out.fill(0);
  return out;
}

void kdf1(Hash& t1, Bytes key, Bytes input) {
  Hash t0 = hmac(key, {input});
  static constexpr uint8_t one = 1;
  t1 = hmac(t0, {Bytes(&one, 1)});
  secure_zero(t0);
}

void kdf2(Hash& t1, Hash& t2, Bytes key, Bytes input) {
  Hash t0 = hmac(key, {input});
  static constexpr uint8_t one = 1, two = 2;
  t1 = hmac(t0, {Bytes(&one, 1)});
  t2 = hmac(t0, {t1, Bytes(&two, 1)});
  secure_zero(t0);
}

void kdf3(Hash& t1, Hash& t2, Hash& t3, Bytes key, Bytes input) {
  Hash t0 = hmac(key, {input});
  static constexpr uint8_t one = 1, two = 2, three = 3;
  t1 = hmac(t0, {Bytes(&one, 1)});
  t2 = hmac(t0, {t1, Bytes(&two, 1)});
  t3 = hmac(t0, {t2, Bytes(&three, 1)});
  secure_zero(t0);
}

bool aead_seal(const Key& key, uint64_t counter, Bytes plain, Bytes ad, std::span<uint8_t> out) {
  if (out.size() < plain.size() + kAeadTagSize || plain.size() > INT32_MAX) return false;
  if (plain.data() != out.data() && !plain.empty() &&
      plain.data() < out.data() + plain.size() + kAeadTagSize &&
      out.data() < plain.data() + plain.size()) {
    return false;  // partial overlap is not supported
  }
  ThreadContexts& t = tls();
  if (!t.ok) return false;
  auto nonce = chacha_nonce(counter);
  int len = 0;
  const bool same_key = t.seal_keyed && t.seal_key == key;
  if (EVP_EncryptInit_ex2(t.seal, nullptr, same_key ? nullptr : key.data(), nonce.data(),
                          nullptr) != 1) {
    t.seal_keyed = false;
    return false;
  }
  if (!same_key) {
    t.seal_key = key;
    t.seal_keyed = true;
  }
  if (!ad.empty() &&
      EVP_EncryptUpdate(t.seal, nullptr, &len, ad.data(), static_cast<int>(ad.size())) != 1) {
    return false;
  }
  int total = 0;
  if (!plain.empty()) {
    if (EVP_EncryptUpdate(t.seal, out.data(), &len, plain.data(), static_cast<int>(plain.size())) !=
        1) {
      return false;
    }
    total = len;
  }
  if (EVP_EncryptFinal_ex(t.seal, out.data() + total, &len) != 1) return false;
  total += len;
  if (static_cast<size_t>(total) != plain.size()) return false;
  // Provider params directly: EVP_CIPHER_CTX_ctrl would translate to these anyway.
  OSSL_PARAM p[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                      out.data() + plain.size(), kAeadTagSize),
                    OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_get_params(t.seal, p) == 1;
}

bool aead_open(const Key& key, uint64_t counter, Bytes cipher, Bytes ad, std::span<uint8_t> out) {
  if (cipher.size() < kAeadTagSize || cipher.size() > INT32_MAX) return false;
  const size_t plain_len = cipher.size() - kAeadTagSize;
  if (out.size() < plain_len) return false;
  if (cipher.data() != out.data() && plain_len != 0 && cipher.data() < out.data() + plain_len &&
      out.data() < cipher.data() + cipher.size()) {
    return false;
  }
  ThreadContexts& t = tls();
  if (!t.ok) return false;
  auto nonce = chacha_nonce(counter);
  std::array<uint8_t, kAeadTagSize> tag;
  std::memcpy(tag.data(), cipher.data() + plain_len, kAeadTagSize);
  int len = 0;
  const bool same_key = t.open_keyed && t.open_key == key;
  if (EVP_DecryptInit_ex2(t.open, nullptr, same_key ? nullptr : key.data(), nonce.data(),
                          nullptr) != 1) {
    t.open_keyed = false;
    return false;
  }
  if (!same_key) {
    t.open_key = key;
    t.open_keyed = true;
  }
  OSSL_PARAM p[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag.data(), kAeadTagSize),
      OSSL_PARAM_construct_end()};
  if (EVP_CIPHER_CTX_set_params(t.open, p) != 1) {
    return false;
  }
  if (!ad.empty() &&
      EVP_DecryptUpdate(t.open, nullptr, &len, ad.data(), static_cast<int>(ad.size())) != 1) {
    return false;
  }
  int total = 0;
  if (plain_len != 0) {
    if (EVP_DecryptUpdate(t.open, out.data(), &len, cipher.data(), static_cast<int>(plain_len)) !=
        1) {
      return false;
    }
    total = len;
  }
  if (EVP_DecryptFinal_ex(t.open, out.data() + total, &len) != 1) {
    // Do not leave unauthenticated plaintext behind.
    if (plain_len != 0) secure_zero(out.data(), plain_len);
    return false;
  }
  return true;
}

bool xaead_seal(const Key& key, const std::array<uint8_t, kXNonceSize>& nonce, Bytes plain,
                Bytes ad, std::span<uint8_t> out) {
  if (!algs().sodium_ready) return false;
  if (out.size() < plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES) return false;
  unsigned long long clen = 0;
  return crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &clen, plain.data(), plain.size(),
                                                    ad.data(), ad.size(), nullptr, nonce.data(),
                                                    key.data()) == 0;
}

bool xaead_open(const Key& key, const std::array<uint8_t, kXNonceSize>& nonce, Bytes cipher,
                Bytes ad, std::span<uint8_t> out) {
  if (!algs().sodium_ready) return false;
  if (cipher.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) return false;
  if (out.size() < cipher.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES) return false;
  unsigned long long mlen = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &mlen, nullptr, cipher.data(),
                                                    cipher.size(), ad.data(), ad.size(),
                                                    nonce.data(), key.data()) == 0;
}

}  // namespace ferry::tunnel
