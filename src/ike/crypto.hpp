// IKEv2 cryptographic suite on OpenSSL 3 (EVP only; nothing hand-rolled):
// the PRFs and prf+ (RFC 7296 §2.13), SKEYSEED and the SK_* keys (§2.14,
// §2.18 for a rekeyed IKE SA), CHILD_SA KEYMAT (§2.17), the Diffie-Hellman
// groups 14 (RFC 3526), 19/20 (RFC 5903) and 31 (RFC 8031), and the SK
// payload's protection (§3.14 with AES-CBC + HMAC-SHA2, RFC 5282 AES-GCM).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/result.hpp"
#include "ike/message.hpp"

namespace ferry::ike {

// RFC 7296 §3.3.2 transform IDs (IANA "IKEv2 Parameters").
enum EncrId : uint16_t { kEncrAesCbc = 12, kEncrAesGcm16 = 20 };
enum PrfId : uint16_t { kPrfHmacSha256 = 5, kPrfHmacSha384 = 6, kPrfHmacSha512 = 7 };
enum IntegId : uint16_t {
  kIntegNone = 0,
  kIntegHmacSha256_128 = 12,  // RFC 4868
  kIntegHmacSha384_192 = 13,
  kIntegHmacSha512_256 = 14,
};
enum DhGroup : uint16_t { kModp2048 = 14, kEcp256 = 19, kEcp384 = 20, kCurve25519 = 31 };

using Rng = std::function<void(std::span<uint8_t>)>;

// One negotiated suite: a transform of each type (dh 0 = none, for CHILD_SAs without PFS).
struct Suite {
  uint16_t encr = 0, key_bits = 0, prf = 0, integ = kIntegNone, dh = 0;
  bool esn = false;
  bool aead() const { return encr == kEncrAesGcm16; }
  std::string str() const;  // "aes256gcm16-prfsha256-ecp256" style
};

size_t prf_len(uint16_t prf);
size_t integ_key_len(uint16_t integ);
// SK_e / ESP encryption key material: key plus the 4-octet GCM salt (RFC 5282 §7.1).
size_t encr_keymat_len(const Suite& s);

// prf(K, S) with an HMAC-SHA2 PRF (RFC 7296 §2.13, RFC 4868).
Bytes prf(uint16_t prf_id, std::span<const uint8_t> key, std::span<const uint8_t> data);
// prf+(K, S) = T1 | T2 | ..., T_n = prf(K, T_{n-1} | S | n) (RFC 7296 §2.13), truncated to len.
Bytes prf_plus(uint16_t prf_id, std::span<const uint8_t> key, std::span<const uint8_t> seed,
               size_t len);

// An ephemeral Diffie-Hellman key pair of one group.
class DhKey {
 public:
  virtual ~DhKey() = default;
  virtual uint16_t group() const = 0;
  // The KE payload's Key Exchange Data: g^x padded to the prime (MODP), x | y (ECP,
  // RFC 5903 §7), or the 32-octet u-coordinate (RFC 8031 §2).
  virtual const Bytes& public_value() const = 0;
  // g^ir as RFC 7296 §2.14 uses it: MODP padded to the prime's length, ECP the x
  // coordinate (RFC 5903 §9), X25519 the 32-octet output (RFC 8031 §2.1).
  virtual Result<Bytes> shared_secret(std::span<const uint8_t> peer_public) const = 0;
};
Result<std::unique_ptr<DhKey>> dh_generate(uint16_t group);
size_t dh_public_len(uint16_t group);

// The seven keys of an IKE SA (RFC 7296 §2.14).
struct IkeKeys {
  Suite suite;
  Bytes sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
};
// SKEYSEED = prf(Ni | Nr, g^ir) for a new IKE SA (§2.14), or
// prf(SK_d(old), g^ir | Ni | Nr) when rekeying (§2.18, old_sk_d non-empty);
// then {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi |
// SPIr).
IkeKeys derive_ike_keys(const Suite& s, std::span<const uint8_t> shared,
                        std::span<const uint8_t> ni, std::span<const uint8_t> nr, uint64_t spi_i,
                        uint64_t spi_r, std::span<const uint8_t> old_sk_d = {},
                        uint16_t old_prf = 0, Bytes* skeyseed_out = nullptr);

// CHILD_SA KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) (§2.17), split into
// encr-i, integ-i, encr-r, integ-r.
struct ChildKeys {
  Bytes encr_i, integ_i, encr_r, integ_r;
};
ChildKeys derive_child_keys(uint16_t prf_id, std::span<const uint8_t> sk_d, const Suite& esp,
                            std::span<const uint8_t> shared, std::span<const uint8_t> ni,
                            std::span<const uint8_t> nr);

// SK payload protection (RFC 7296 §3.14; AES-GCM per RFC 5282 §3, AAD = the
// header through the SK generic payload header). `enc`/`integ` are the sending or
// receiving direction's SK_e/SK_a.
struct SkKeys {
  const Suite* suite = nullptr;
  std::span<const uint8_t> enc, integ;
};
// A whole protected message: header h, then SK{inner}. h.next/h.length are filled in.
Bytes sk_seal(const SkKeys& k, Header h, const std::vector<Payload>& inner, const Rng& rng);
// Verifies and decrypts the SK (or one SKF) payload of `m` (raw datagram `raw`); returns
// the plaintext without padding: the inner chain (decode_chain(m.sk_first, ...)) or,
// for SKF, one fragment of it (RFC 7383 §2.6).
Result<Bytes> sk_decrypt(const SkKeys& k, const Message& m, std::span<const uint8_t> raw);

// NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | Port) (RFC 7296 §2.23).
Bytes nat_detection_hash(uint64_t spi_i, uint64_t spi_r, const IpAddress& ip, uint16_t port);

}  // namespace ferry::ike
