// IKEv2 PRFs, key derivation and SK payload protection on OpenSSL EVP.
// The Diffie-Hellman groups live in dh.cpp.
#include "ike/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstring>
#include <memory>

namespace ferry::ike {
namespace {

const EVP_MD* prf_md(uint16_t id) {
  switch (id) {
    case kPrfHmacSha256:
      return EVP_sha256();
    case kPrfHmacSha384:
      return EVP_sha384();
    case kPrfHmacSha512:
      return EVP_sha512();
  }
  return nullptr;
}
const EVP_MD* integ_md(uint16_t id) {
  switch (id) {
    case kIntegHmacSha256_128:
      return EVP_sha256();
    case kIntegHmacSha384_192:
      return EVP_sha384();
    case kIntegHmacSha512_256:
      return EVP_sha512();
  }
  return nullptr;
}

Bytes hmac(const EVP_MD* md, std::span<const uint8_t> key, std::span<const uint8_t> data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned len = 0;
  static const uint8_t kEmpty = 0;
  HMAC(md, key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
       data.empty() ? &kEmpty : data.data(), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const EVP_CIPHER* cipher_of(const Suite& s) {
  if (s.encr == kEncrAesGcm16) {
    if (s.key_bits == 128) return EVP_aes_128_gcm();
    if (s.key_bits == 256) return EVP_aes_256_gcm();
  } else if (s.encr == kEncrAesCbc) {
    if (s.key_bits == 128) return EVP_aes_128_cbc();
    if (s.key_bits == 256) return EVP_aes_256_cbc();
  }
  return nullptr;
}

constexpr size_t kGcmIvLen = 8, kGcmSaltLen = 4, kGcmIcvLen = 16, kCbcBlock = 16;

// RFC 4868 §2.1.2: the ICV is the HMAC truncated to half its output.
size_t integ_icv_len(uint16_t id) {
  const EVP_MD* md = integ_md(id);
  return md ? static_cast<size_t>(EVP_MD_get_size(md)) / 2 : 0;
}

size_t iv_len(const Suite& s) {
  return s.aead() ? kGcmIvLen : kCbcBlock;
}
size_t icv_len(const Suite& s) {
  return s.aead() ? kGcmIcvLen : integ_icv_len(s.integ);
}

}  // namespace

std::string Suite::str() const {
  std::string out;
  if (encr == kEncrAesGcm16)
    out = "aes" + std::to_string(key_bits) + "gcm16";
  else
    out = "aes" + std::to_string(key_bits);
  switch (integ) {
    case kIntegHmacSha256_128:
      out += "-sha256";
      break;
    case kIntegHmacSha384_192:
      out += "-sha384";
      break;
    case kIntegHmacSha512_256:
      out += "-sha512";
      break;
  }
  switch (prf) {
    case kPrfHmacSha256:
      out += "-prfsha256";
      break;
    case kPrfHmacSha384:
      out += "-prfsha384";
      break;
    case kPrfHmacSha512:
      out += "-prfsha512";
      break;
  }
  switch (dh) {
    case kModp2048:
      out += "-modp2048";
      break;
    case kEcp256:
      out += "-ecp256";
      break;
    case kEcp384:
      out += "-ecp384";
      break;
    case kCurve25519:
      out += "-curve25519";
      break;
  }
  if (esn) out += "-esn";
  return out;
}

size_t prf_len(uint16_t id) {
  const EVP_MD* md = prf_md(id);
  return md ? static_cast<size_t>(EVP_MD_get_size(md)) : 0;
}
size_t integ_key_len(uint16_t id) {
  const EVP_MD* md = integ_md(id);  // RFC 4868 §2.1.1: key length = hash output length
  return md ? static_cast<size_t>(EVP_MD_get_size(md)) : 0;
}
size_t encr_keymat_len(const Suite& s) {
  return s.key_bits / 8 + (s.aead() ? kGcmSaltLen : 0);
}

Bytes prf(uint16_t prf_id, std::span<const uint8_t> key, std::span<const uint8_t> data) {
  return hmac(prf_md(prf_id), key, data);
}

Bytes prf_plus(uint16_t prf_id, std::span<const uint8_t> key, std::span<const uint8_t> seed,
               size_t len) {
  // RFC 7296 §2.13: T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n); at most 255 blocks.
  Bytes out, t, in;
  for (uint8_t n = 1; out.size() < len && n != 0; ++n) {
    in.assign(t.begin(), t.end());
    in.insert(in.end(), seed.begin(), seed.end());
    in.push_back(n);
    t = prf(prf_id, key, in);
    out.insert(out.end(), t.begin(), t.end());
  }
  out.resize(len);
  return out;
}

IkeKeys derive_ike_keys(const Suite& s, std::span<const uint8_t> shared,
                        std::span<const uint8_t> ni, std::span<const uint8_t> nr, uint64_t spi_i,
                        uint64_t spi_r, std::span<const uint8_t> old_sk_d, uint16_t old_prf,
                        Bytes* skeyseed_out) {
  Bytes nonces(ni.begin(), ni.end());
  nonces.insert(nonces.end(), nr.begin(), nr.end());
  Bytes skeyseed;
  if (old_sk_d.empty()) {
    skeyseed = prf(s.prf, nonces, shared);  // §2.14 SKEYSEED = prf(Ni | Nr, g^ir)
  } else {
    Bytes in(shared.begin(), shared.end());  // §2.18 prf(SK_d (old), g^ir (new) | Ni | Nr)
    in.insert(in.end(), nonces.begin(), nonces.end());
    skeyseed = prf(old_prf, old_sk_d, in);
  }
  Bytes seed = nonces;  // Ni | Nr | SPIi | SPIr
  ByteWriter w(seed);
  w.u64(spi_i);
  w.u64(spi_r);
  size_t lp = prf_len(s.prf), la = integ_key_len(s.integ), le = encr_keymat_len(s);
  Bytes km = prf_plus(s.prf, skeyseed, seed, 3 * lp + 2 * la + 2 * le);
  IkeKeys k;
  k.suite = s;
  size_t at = 0;
  auto take = [&](size_t n) {
    Bytes b(km.begin() + at, km.begin() + at + n);
    at += n;
    return b;
  };
  k.sk_d = take(lp);
  k.sk_ai = take(la);
  k.sk_ar = take(la);
  k.sk_ei = take(le);
  k.sk_er = take(le);
  k.sk_pi = take(lp);
  k.sk_pr = take(lp);
  if (skeyseed_out) *skeyseed_out = skeyseed;
  return k;
}

ChildKeys derive_child_keys(uint16_t prf_id, std::span<const uint8_t> sk_d, const Suite& esp,
                            std::span<const uint8_t> shared, std::span<const uint8_t> ni,
                            std::span<const uint8_t> nr) {
  // §2.17 KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr)
  Bytes seed(shared.begin(), shared.end());
  seed.insert(seed.end(), ni.begin(), ni.end());
  seed.insert(seed.end(), nr.begin(), nr.end());
  size_t le = encr_keymat_len(esp), la = integ_key_len(esp.integ);
  Bytes km = prf_plus(prf_id, sk_d, seed, 2 * (le + la));
  ChildKeys k;
  auto it = km.begin();
  k.encr_i.assign(it, it + le);
  it += le;
  k.integ_i.assign(it, it + la);
  it += la;
  k.encr_r.assign(it, it + le);
  it += le;
  k.integ_r.assign(it, it + la);
  return k;
}

Bytes sk_seal(const SkKeys& k, Header h, const std::vector<Payload>& inner, const Rng& rng) {
  const Suite& s = *k.suite;
  Bytes plain;
  ByteWriter pw(plain);
  uint8_t first = encode_chain(inner, pw);
  // §3.14: Padding then Pad Length; CBC needs whole blocks, GCM none (RFC 5282 §3).
  size_t pad = s.aead() ? 0 : (kCbcBlock - (plain.size() + 1) % kCbcBlock) % kCbcBlock;
  plain.insert(plain.end(), pad, 0);
  plain.push_back(static_cast<uint8_t>(pad));

  size_t ivl = iv_len(s), icvl = icv_len(s);
  Bytes out;
  ByteWriter w(out);
  h.next = kPayloadSk;
  size_t total = kHeaderLen + 4 + ivl + plain.size() + icvl;
  h.length = static_cast<uint32_t>(total);
  encode_header(h, w);
  w.u8(first);  // §3.14 Next Payload: the first inner payload
  w.u8(0);
  w.u16(static_cast<uint16_t>(4 + ivl + plain.size() + icvl));
  size_t aad_len = out.size();
  Bytes iv(ivl);
  rng(iv);
  w.bytes(iv);
  size_t ct_at = out.size();
  out.resize(ct_at + plain.size() + icvl);

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (s.aead()) {
    // RFC 5282 §3.1: nonce = salt (last 4 octets of the key material) | IV.
    size_t kl = s.key_bits / 8;
    uint8_t nonce[12];
    std::memcpy(nonce, k.enc.data() + kl, kGcmSaltLen);
    std::memcpy(nonce + kGcmSaltLen, iv.data(), kGcmIvLen);
    EVP_EncryptInit_ex(ctx.get(), cipher_of(s), nullptr, nullptr, nullptr);
    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
    EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, k.enc.data(), nonce);
    EVP_EncryptUpdate(ctx.get(), nullptr, &n, out.data(), static_cast<int>(aad_len));
    EVP_EncryptUpdate(ctx.get(), out.data() + ct_at, &n, plain.data(),
                      static_cast<int>(plain.size()));
    EVP_EncryptFinal_ex(ctx.get(), out.data() + ct_at + n, &n);
    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(icvl),
                        out.data() + ct_at + plain.size());
  } else {
    EVP_EncryptInit_ex(ctx.get(), cipher_of(s), nullptr, k.enc.data(), iv.data());
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    EVP_EncryptUpdate(ctx.get(), out.data() + ct_at, &n, plain.data(),
                      static_cast<int>(plain.size()));
    // §3.14: the ICV covers the message from the IKE header through the ciphertext.
    Bytes mac = hmac(integ_md(s.integ), k.integ, {out.data(), ct_at + plain.size()});
    std::memcpy(out.data() + ct_at + plain.size(), mac.data(), icvl);
  }
  return out;
}

Result<Bytes> sk_decrypt(const SkKeys& k, const Message& m, std::span<const uint8_t> raw) {
  const Suite& s = *k.suite;
  if (!m.sk_offset) return make_error("no SK payload");
  // RFC 7383 §2.5: SKF carries Fragment Number / Total Fragments before the IV (in the AAD).
  size_t prefix = *m.sk_offset + 4 + (m.sk_type == kPayloadSkf ? 4 : 0);
  size_t ivl = iv_len(s), icvl = icv_len(s);
  if (raw.size() < prefix + ivl + icvl + 1) return make_error("SK payload too short");
  size_t ct_at = prefix + ivl, ct_len = raw.size() - ct_at - icvl;
  const uint8_t* iv = raw.data() + prefix;
  const uint8_t* icv = raw.data() + ct_at + ct_len;
  Bytes plain(ct_len + kCbcBlock);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int n = 0, n2 = 0;
  if (s.aead()) {
    size_t kl = s.key_bits / 8;
    uint8_t nonce[12];
    std::memcpy(nonce, k.enc.data() + kl, kGcmSaltLen);
    std::memcpy(nonce + kGcmSaltLen, iv, kGcmIvLen);
    EVP_DecryptInit_ex(ctx.get(), cipher_of(s), nullptr, nullptr, nullptr);
    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
    EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, k.enc.data(), nonce);
    EVP_DecryptUpdate(ctx.get(), nullptr, &n, raw.data(), static_cast<int>(prefix));
    EVP_DecryptUpdate(ctx.get(), plain.data(), &n, raw.data() + ct_at, static_cast<int>(ct_len));
    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(icvl),
                        const_cast<uint8_t*>(icv));
    if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + n, &n2) != 1)
      return make_error("SK payload integrity check failed");
  } else {
    if (ct_len % kCbcBlock != 0) return make_error("SK ciphertext not a whole number of blocks");
    Bytes mac = hmac(integ_md(s.integ), k.integ, {raw.data(), ct_at + ct_len});
    if (CRYPTO_memcmp(mac.data(), icv, icvl) != 0)
      return make_error("SK payload integrity check failed");
    EVP_DecryptInit_ex(ctx.get(), cipher_of(s), nullptr, k.enc.data(), iv);
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    EVP_DecryptUpdate(ctx.get(), plain.data(), &n, raw.data() + ct_at, static_cast<int>(ct_len));
  }
  plain.resize(ct_len);
  uint8_t pad = plain.back();  // §3.14 Pad Length
  if (size_t{pad} + 1 > plain.size()) return make_error("SK pad length past the plaintext");
  plain.resize(plain.size() - pad - 1);
  return plain;
}

Bytes nat_detection_hash(uint64_t spi_i, uint64_t spi_r, const IpAddress& ip, uint16_t port) {
  Bytes in;
  ByteWriter w(in);
  w.u64(spi_i);
  w.u64(spi_r);
  w.bytes(ip.bytes(), ip.byte_len());
  w.u16(port);
  Bytes out(SHA_DIGEST_LENGTH);
  EVP_Digest(in.data(), in.size(), out.data(), nullptr, EVP_sha1(), nullptr);
  return out;
}

}  // namespace ferry::ike
