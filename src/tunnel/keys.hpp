// WireGuard key material: Curve25519 keys, the injectable randomness source,
// and the base64 text form `wg genkey` / `wg pubkey` use (44 characters of
// standard base64 encoding 32 bytes).
//
// Data flow: config/CLI text -> parse_key_base64 -> Key -> public_key() /
// x25519() (OpenSSL EVP_PKEY_X25519) -> handshake. Keys are plain 32-byte
// arrays; secret ones are wiped with secure_zero when their owner dies.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ferry::tunnel {

inline constexpr size_t kKeySize = 32;
using Key = std::array<uint8_t, kKeySize>;

// Source of randomness. Production uses system_rng() (OpenSSL RAND_bytes);
// tests inject a deterministic one to get fixed handshake vectors.
class Rng {
 public:
  virtual ~Rng() = default;
  virtual void fill(std::span<uint8_t> out) = 0;
  uint32_t u32();
};
Rng& system_rng();

// Wipes memory in a way the compiler cannot elide (OPENSSL_cleanse).
void secure_zero(void* p, size_t n);
template <typename T, size_t N>
void secure_zero(std::array<T, N>& a) {
  secure_zero(a.data(), sizeof(T) * N);
}
// Constant-time comparison.
bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b);
bool key_is_zero(const Key& k);

// A clamped Curve25519 private key (same bits `wg genkey` prints).
Key generate_private_key(Rng& rng = system_rng());
// 32 random bytes, unclamped (`wg genpsk`).
Key generate_preshared_key(Rng& rng = system_rng());
// Clamps a private key in place (RFC 7748 §5 decodeScalar25519).
void clamp_private_key(Key& k);
// X25519 base point multiplication.
Key public_key(const Key& private_key);
// X25519(priv, pub); nullopt when the result is all zeros (low-order point).
std::optional<Key> x25519(const Key& private_key, const Key& public_key);

// "wg" text form: exactly 44 chars of base64 (with one '=') for 32 bytes.
Result<Key> parse_key_base64(std::string_view text);
std::string key_to_base64(const Key& k);
// Reads a key file (base64 + optional trailing whitespace/newline), as `wg set private-key`.
Result<Key> read_key_file(const std::string& path);

}  // namespace ferry::tunnel
