#include "ipsec/esp.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>

#include "common/bytes.hpp"

namespace ferry::ipsec {

namespace {

void put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

const EVP_CIPHER* evp_cipher(EspCipher c) {
  switch (c) {
    case EspCipher::kAesGcm16_128:
      return EVP_aes_128_gcm();
    case EspCipher::kAesGcm16_256:
      return EVP_aes_256_gcm();
    case EspCipher::kAesCbc128:
      return EVP_aes_128_cbc();
    case EspCipher::kAesCbc256:
      return EVP_aes_256_cbc();
  }
  return nullptr;
}

const char* digest_name(EspInteg i) {
  switch (i) {
    case EspInteg::kNone:
      return nullptr;
    case EspInteg::kHmacSha256_128:
      return "SHA256";
    case EspInteg::kHmacSha384_192:
      return "SHA384";
    case EspInteg::kHmacSha512_256:
      return "SHA512";
  }
  return nullptr;
}

// Associated data of GCM (RFC 4106 §5): SPI | seq, or SPI | seq-hi | seq-lo with
// ESN, taken from the message's own header (`m`) plus the implicit seq-hi.
size_t gcm_aad(uint8_t* aad, const uint8_t* m, uint64_t seq, bool esn) {
  std::memcpy(aad, m, 4);
  if (!esn) {
    std::memcpy(aad + 4, m + 4, 4);
    return 8;
  }
  put32(aad + 4, static_cast<uint32_t>(seq >> 32));
  std::memcpy(aad + 8, m + 4, 4);
  return 12;
}

constexpr size_t kIvPool = 1024;  // random CBC IVs drawn per RAND_bytes call

}  // namespace

NattKind classify_natt(std::span<const uint8_t> d) {
  if (d.size() == 1 && d[0] == 0xff) return NattKind::kKeepalive;  // RFC 3948 §2.3
  if (d.size() < 4) return NattKind::kMalformed;
  if (d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 0) return NattKind::kIke;  // §2.2 marker
  if (d.size() < kEspHeaderLen) return NattKind::kMalformed;
  return NattKind::kEsp;
}

std::optional<EspHeader> parse_esp_header(std::span<const uint8_t> msg) {
  ByteReader r(msg);
  auto spi = r.u32();  // RFC 4303 §2.1 Security Parameters Index
  auto seq = r.u32();  // RFC 4303 §2.2 Sequence Number
  if (!spi || !seq || *spi == 0) return std::nullopt;
  return EspHeader{*spi, *seq};
}

// ---------------------------------------------------------------- contexts

struct EspCrypto::Ctx {
  EVP_CIPHER_CTX* cipher = nullptr;
  EVP_MAC_CTX* mac = nullptr;
  std::array<uint8_t, kIvPool> ivs{};
  size_t iv_pos = kIvPool;
  ~Ctx() {
    EVP_CIPHER_CTX_free(cipher);
    EVP_MAC_CTX_free(mac);
  }
};

EspCrypto::EspCrypto(const EspSaKeys& k, bool encrypt)
    : cipher_(k.cipher),
      integ_(is_aead(k.cipher) ? EspInteg::kNone : k.integ),
      spi_(k.spi),
      encrypt_(encrypt) {}

EspCrypto::~EspCrypto() = default;

std::unique_ptr<EspCrypto> EspCrypto::create(const EspSaKeys& k, bool encrypt, size_t workers) {
  if (k.spi == 0 || k.enc_key.size() != cipher_keymat_len(k.cipher)) return nullptr;
  if (!is_aead(k.cipher) &&
      (k.integ == EspInteg::kNone || k.integ_key.size() != integ_keymat_len(k.integ)))
    return nullptr;
  std::unique_ptr<EspCrypto> c(new EspCrypto(k, encrypt));
  size_t key_len = k.enc_key.size();
  if (is_aead(k.cipher)) {
    key_len -= 4;  // RFC 4106 §8.1: the last four octets are the salt
    std::memcpy(c->salt_, k.enc_key.data() + key_len, 4);
  }
  EVP_MAC* hmac = nullptr;
  if (!is_aead(k.cipher)) hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  bool ok = is_aead(k.cipher) || hmac != nullptr;
  for (size_t w = 0; ok && w < std::max<size_t>(1, workers); ++w) {
    auto x = std::make_unique<Ctx>();
    x->cipher = EVP_CIPHER_CTX_new();
    ok = x->cipher && EVP_CipherInit_ex(x->cipher, evp_cipher(k.cipher), nullptr, k.enc_key.data(),
                                        nullptr, encrypt ? 1 : 0) == 1;
    if (ok && !is_aead(k.cipher)) {
      ok = EVP_CIPHER_CTX_set_padding(x->cipher, 0) == 1;  // ESP pads itself (RFC 4303 §2.4)
      x->mac = EVP_MAC_CTX_new(hmac);
      OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
                                 OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(k.integ)), 0),
                             OSSL_PARAM_construct_end()};
      ok =
          ok && x->mac && EVP_MAC_init(x->mac, k.integ_key.data(), k.integ_key.size(), params) == 1;
    }
    c->ctx_.push_back(std::move(x));
  }
  EVP_MAC_free(hmac);
  return ok ? std::move(c) : nullptr;
}

void EspCrypto::set_iv_source_for_test(void (*fill)(uint8_t*, size_t)) {
  iv_source_ = fill;
  for (auto& c : ctx_) c->iv_pos = kIvPool;
}

bool EspCrypto::fill_iv(Ctx& c, uint8_t* out) {
  const size_t n = iv_len(cipher_);
  if (c.iv_pos + n > kIvPool) {
    if (iv_source_)
      iv_source_(c.ivs.data(), kIvPool);
    else if (RAND_bytes(c.ivs.data(), static_cast<int>(kIvPool)) != 1)
      return false;
    c.iv_pos = 0;
  }
  std::memcpy(out, c.ivs.data() + c.iv_pos, n);
  c.iv_pos += n;
  return true;
}

// ---------------------------------------------------------------- seal

size_t EspCrypto::seal(size_t worker, uint64_t seq, bool esn, std::span<uint8_t> msg, size_t len,
                       uint8_t next_header) {
  const size_t off = payload_offset(cipher_);
  const size_t total = sealed_len(cipher_, integ_, len);
  if (!encrypt_ || worker >= ctx_.size() || msg.size() < total) return 0;
  Ctx& c = *ctx_[worker];
  uint8_t* m = msg.data();
  put32(m, spi_);                            // RFC 4303 §2.1
  put32(m + 4, static_cast<uint32_t>(seq));  // RFC 4303 §2.2 (low 32 bits with ESN)
  const size_t icv = icv_len(cipher_, integ_);
  const size_t ct_len = total - off - icv;
  const size_t pad = ct_len - len - 2;
  uint8_t* p = m + off;
  for (size_t i = 0; i < pad; ++i) p[len + i] = static_cast<uint8_t>(i + 1);  // §2.4: 1, 2, 3 ..
  p[ct_len - 2] = static_cast<uint8_t>(pad);                                  // §2.5 Pad Length
  p[ct_len - 1] = next_header;                                                // §2.6 Next Header
  int outl = 0, fin = 0;
  if (is_aead(cipher_)) {
    // RFC 4106 §3.1: the explicit IV is the 64-bit sequence number (unique per key).
    put32(m + 8, static_cast<uint32_t>(seq >> 32));
    put32(m + 12, static_cast<uint32_t>(seq));
    uint8_t nonce[12];
    std::memcpy(nonce, salt_, 4);  // RFC 4106 §4: salt | IV
    std::memcpy(nonce + 4, m + 8, 8);
    uint8_t aad[12];
    const size_t aad_len = gcm_aad(aad, m, seq, esn);
    if (EVP_CipherInit_ex(c.cipher, nullptr, nullptr, nullptr, nonce, 1) != 1 ||
        EVP_CipherUpdate(c.cipher, nullptr, &outl, aad, static_cast<int>(aad_len)) != 1 ||
        EVP_CipherUpdate(c.cipher, p, &outl, p, static_cast<int>(ct_len)) != 1 ||
        EVP_CipherFinal_ex(c.cipher, p + outl, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(c.cipher, EVP_CTRL_GCM_GET_TAG, 16, p + ct_len) != 1)
      return 0;
    return total;
  }
  // RFC 3602 §2.1: a fresh unpredictable IV per packet.
  if (!fill_iv(c, m + 8) || EVP_CipherInit_ex(c.cipher, nullptr, nullptr, nullptr, m + 8, 1) != 1 ||
      EVP_CipherUpdate(c.cipher, p, &outl, p, static_cast<int>(ct_len)) != 1 ||
      EVP_CipherFinal_ex(c.cipher, p + outl, &fin) != 1)
    return 0;
  // RFC 4303 §2.8/§3.3.2.2: ICV over SPI .. Next Header, then the implicit seq-hi (ESN).
  uint8_t hi[4], full[EVP_MAX_MD_SIZE];
  put32(hi, static_cast<uint32_t>(seq >> 32));
  size_t mac_len = 0;
  if (EVP_MAC_init(c.mac, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(c.mac, m, off + ct_len) != 1 || (esn && EVP_MAC_update(c.mac, hi, 4) != 1) ||
      EVP_MAC_final(c.mac, full, &mac_len, sizeof(full)) != 1 || mac_len < icv)
    return 0;
  std::memcpy(p + ct_len, full, icv);  // RFC 4868 §2.1.1: the leftmost half
  return total;
}

// ---------------------------------------------------------------- open

std::optional<OpenedPayload> EspCrypto::open(size_t worker, uint64_t seq, bool esn,
                                             std::span<uint8_t> msg, OpenError* why) {
  auto fail = [why](OpenError e) -> std::optional<OpenedPayload> {
    if (why) *why = e;
    return std::nullopt;
  };
  const size_t off = payload_offset(cipher_);
  const size_t icv = icv_len(cipher_, integ_);
  const size_t block = pad_block(cipher_);
  if (encrypt_ || worker >= ctx_.size() || msg.size() < off + block + icv)
    return fail(OpenError::kMalformed);
  const size_t ct_len = msg.size() - off - icv;
  if (ct_len % block != 0) return fail(OpenError::kMalformed);  // RFC 4303 §2.4 alignment
  Ctx& c = *ctx_[worker];
  uint8_t* m = msg.data();
  uint8_t* p = m + off;
  int outl = 0, fin = 0;
  if (is_aead(cipher_)) {
    uint8_t nonce[12];
    std::memcpy(nonce, salt_, 4);
    std::memcpy(nonce + 4, m + 8, 8);
    uint8_t aad[12];
    const size_t aad_len = gcm_aad(aad, m, seq, esn);
    if (EVP_CipherInit_ex(c.cipher, nullptr, nullptr, nullptr, nonce, 0) != 1 ||
        EVP_CipherUpdate(c.cipher, nullptr, &outl, aad, static_cast<int>(aad_len)) != 1 ||
        EVP_CipherUpdate(c.cipher, p, &outl, p, static_cast<int>(ct_len)) != 1 ||
        EVP_CIPHER_CTX_ctrl(c.cipher, EVP_CTRL_GCM_SET_TAG, 16, p + ct_len) != 1)
      return fail(OpenError::kMalformed);
    if (EVP_CipherFinal_ex(c.cipher, p + outl, &fin) != 1) return fail(OpenError::kAuthFailed);
  } else {
    // Encrypt-then-MAC: authenticate before decrypting (RFC 4303 §3.4.4).
    uint8_t hi[4], full[EVP_MAX_MD_SIZE];
    put32(hi, static_cast<uint32_t>(seq >> 32));
    size_t mac_len = 0;
    if (EVP_MAC_init(c.mac, nullptr, 0, nullptr) != 1 ||
        EVP_MAC_update(c.mac, m, off + ct_len) != 1 || (esn && EVP_MAC_update(c.mac, hi, 4) != 1) ||
        EVP_MAC_final(c.mac, full, &mac_len, sizeof(full)) != 1 || mac_len < icv)
      return fail(OpenError::kMalformed);
    if (CRYPTO_memcmp(full, p + ct_len, icv) != 0) return fail(OpenError::kAuthFailed);
    if (EVP_CipherInit_ex(c.cipher, nullptr, nullptr, nullptr, m + 8, 0) != 1 ||
        EVP_CipherUpdate(c.cipher, p, &outl, p, static_cast<int>(ct_len)) != 1 ||
        EVP_CipherFinal_ex(c.cipher, p + outl, &fin) != 1)
      return fail(OpenError::kMalformed);
  }
  const size_t pad = p[ct_len - 2];  // RFC 4303 §2.5
  if (pad + 2 > ct_len) return fail(OpenError::kMalformed);
  const size_t len = ct_len - 2 - pad;
  for (size_t i = 0; i < pad; ++i)  // RFC 4303 §2.4: default padding is 1, 2, 3, ...
    if (p[len + i] != static_cast<uint8_t>(i + 1)) return fail(OpenError::kMalformed);
  return OpenedPayload{len, p[ct_len - 1]};
}

}  // namespace ferry::ipsec
