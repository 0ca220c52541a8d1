#include "tunnel/keys.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace ferry::tunnel {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

class OpenSslRng final : public Rng {
 public:
  void fill(std::span<uint8_t> out) override {
    if (out.empty()) return;
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
      // The CSPRNG failing is not recoverable in a way that keeps keys secret.
      randombytes_buf(out.data(), out.size());
    }
  }
};

}  // namespace

uint32_t Rng::u32() {
  std::array<uint8_t, 4> b{};
  fill(b);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

Rng& system_rng() {
  static OpenSslRng rng;
  return rng;
}

void secure_zero(void* p, size_t n) {
  OPENSSL_cleanse(p, n);
}

bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool key_is_zero(const Key& k) {
  static const Key zero{};
  return constant_time_equal(k, zero);
}

void clamp_private_key(Key& k) {
  // RFC 7748 §5: clear the 3 low bits, clear the top bit, set bit 254.
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
}

Key generate_private_key(Rng& rng) {
  Key k{};
  rng.fill(k);
  clamp_private_key(k);
  return k;
}

Key generate_preshared_key(Rng& rng) {
  Key k{};
  rng.fill(k);
  return k;
}

Key public_key(const Key& private_key) {
  Key pub{};
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                            private_key.size()));
  size_t len = pub.size();
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1 ||
      len != pub.size()) {
    pub.fill(0);
  }
  return pub;
}

std::optional<Key> x25519(const Key& private_key, const Key& public_key) {
  PkeyPtr priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                            private_key.size()));
  PkeyPtr peer(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, public_key.data(), public_key.size()));
  if (!priv || !peer) return std::nullopt;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(priv.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return std::nullopt;
  }
  Key out{};
  size_t len = out.size();
  // OpenSSL's X25519 refuses an all-zero shared secret (low-order peer point).
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != out.size() || key_is_zero(out)) {
    secure_zero(out);
    return std::nullopt;
  }
  return out;
}

Result<Key> parse_key_base64(std::string_view text) {
  if (text.size() != 44 || text[43] != '=' || text[42] == '=') {
    return make_error("key must be 44 characters of base64 (32 bytes)");
  }
  Key k{};
  size_t len = 0;
  // libsodium's decoder is strict: it rejects non-canonical trailing bits, as wg does.
  if (sodium_base642bin(k.data(), k.size(), text.data(), text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != k.size()) {
    return make_error("key is not valid base64");
  }
  return k;
}

std::string key_to_base64(const Key& k) {
  char buf[sodium_base64_ENCODED_LEN(kKeySize, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(buf, sizeof(buf), k.data(), k.size(), sodium_base64_VARIANT_ORIGINAL);
  return std::string(buf);
}

Result<Key> read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("cannot open key file " + path);
  std::string text;
  std::getline(in, text, '\0');
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.pop_back();
  }
  auto k = parse_key_base64(text);
  secure_zero(text.data(), text.size());
  if (!k) return make_error(path + ": " + k.error());
  return k;
}

}  // namespace ferry::tunnel
