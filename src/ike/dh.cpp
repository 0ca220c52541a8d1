// Diffie-Hellman groups for IKEv2 on OpenSSL 3 EVP_PKEY: MODP 2048 (group
// 14, RFC 3526 §3), NIST P-256/P-384 (groups 19/20, RFC 5903) and X25519
// (group 31, RFC 8031). OpenSSL validates the peer's value (range check for
// MODP, on-curve check for ECP, all-zero output for X25519), so a hostile KE
// payload fails here instead of producing a weak secret.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

#include "ike/crypto.hpp"

namespace ferry::ike {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BldDeleter {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BnDeleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using Ctx = std::unique_ptr<EVP_PKEY_CTX, CtxDeleter>;
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;

const char* curve_name(uint16_t g) {
  return g == kEcp256 ? "P-256" : "P-384";
}
size_t coord_len(uint16_t g) {
  return g == kEcp256 ? 32 : 48;
}

// Builds a public-only key of our key's type from an OSSL_PARAM list.
Pkey from_params(const char* type, OSSL_PARAM* params) {
  Ctx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* k = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
    return nullptr;
  return Pkey(k);
}

class OsslDh final : public DhKey {
 public:
  OsslDh(uint16_t group, Pkey key, Bytes pub)
      : group_(group), key_(std::move(key)), pub_(std::move(pub)) {}
  uint16_t group() const override { return group_; }
  const Bytes& public_value() const override { return pub_; }

  Result<Bytes> shared_secret(std::span<const uint8_t> peer) const override {
    if (peer.size() != dh_public_len(group_))
      return make_error("KE data length " + std::to_string(peer.size()) + " wrong for group " +
                        std::to_string(group_));
    Pkey pk = peer_key(peer);
    if (!pk) return make_error("peer's KE value is not a valid group element");
    Ctx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return make_error("DH derive init failed");
    if (group_ == kModp2048) EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1);  // RFC 7296 §2.14 padding
    if (EVP_PKEY_derive_set_peer(ctx.get(), pk.get()) != 1)
      return make_error("peer's KE value rejected");
    size_t len = 0;
    if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) return make_error("DH derive failed");
    Bytes out(len);
    if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1) return make_error("DH derive failed");
    out.resize(len);
    return out;
  }

 private:
  Pkey peer_key(std::span<const uint8_t> peer) const {
    if (group_ == kCurve25519)
      return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()));
    std::unique_ptr<OSSL_PARAM_BLD, BldDeleter> bld(OSSL_PARAM_BLD_new());
    Bytes point;
    Bn pub;
    if (group_ == kModp2048) {
      pub.reset(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "modp_2048", 0);
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.get());
    } else {
      point.push_back(0x04);  // RFC 5903 §7: x | y without the SEC1 prefix on the wire
      point.insert(point.end(), peer.begin(), peer.end());
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve_name(group_), 0);
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size());
    }
    std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
    if (!params) return nullptr;
    return from_params(group_ == kModp2048 ? "DH" : "EC", params.get());
  }

  uint16_t group_;
  Pkey key_;
  Bytes pub_;
};

Result<Bytes> public_of(uint16_t group, EVP_PKEY* k) {
  Bytes pub;
  if (group == kCurve25519) {
    size_t len = 32;
    pub.resize(len);
    if (EVP_PKEY_get_raw_public_key(k, pub.data(), &len) != 1 || len != 32)
      return make_error("X25519 public key");
    return pub;
  }
  if (group == kModp2048) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PUB_KEY, &bn) != 1)
      return make_error("DH public key");
    Bn owned(bn);
    pub.resize(256);  // RFC 7296 §3.4: padded to the prime's length
    BN_bn2binpad(bn, pub.data(), 256);
    return pub;
  }
  size_t len = 0;
  Bytes enc(1 + 2 * coord_len(group));
  if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, enc.data(), enc.size(),
                                      &len) != 1 ||
      len != enc.size() || enc[0] != 0x04)
    return make_error("EC public key");
  return Bytes(enc.begin() + 1, enc.end());  // RFC 5903 §7: x | y
}

}  // namespace

size_t dh_public_len(uint16_t g) {
  switch (g) {
    case kModp2048:
      return 256;
    case kEcp256:
      return 64;
    case kEcp384:
      return 96;
    case kCurve25519:
      return 32;
  }
  return 0;
}

Result<std::unique_ptr<DhKey>> dh_generate(uint16_t group) {
  EVP_PKEY* k = nullptr;
  if (group == kCurve25519) {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  } else if (group == kEcp256 || group == kEcp384) {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve_name(group));
  } else if (group == kModp2048) {
    Ctx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                            const_cast<char*>("modp_2048"), 0),
                           OSSL_PARAM_construct_end()};
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_params(ctx.get(), params) != 1 || EVP_PKEY_generate(ctx.get(), &k) != 1)
      k = nullptr;
  } else {
    return make_error("unsupported DH group " + std::to_string(group));
  }
  if (!k) return make_error("DH key generation failed for group " + std::to_string(group));
  Pkey key(k);
  auto pub = public_of(group, k);
  if (!pub) return make_error(pub.error());
  return std::unique_ptr<DhKey>(new OsslDh(group, std::move(key), std::move(*pub)));
}

}  // namespace ferry::ike
