// Cryptographic primitives of WireGuard's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s
// (whitepaper §5.4 "Protocol Messages", wireguard.com/protocol), all built
// on OpenSSL 3 / libsodium, none hand-written:
//   HASH  = BLAKE2s-256                     (EVP_MD "BLAKE2S-256")
//   HMAC  = HMAC-BLAKE2s                    (EVP_MAC "HMAC", digest BLAKE2S-256)
//   MAC   = keyed BLAKE2s, 16-byte output   (EVP_MAC "BLAKE2SMAC", size 16)
//   AEAD  = ChaCha20-Poly1305, nonce = 4 zero bytes || LE64 counter (EVP)
//   XAEAD = XChaCha20-Poly1305 (libsodium), used only by cookie replies
// The KDF_n chain of the protocol is expressed with kdf1/kdf2/kdf3.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "tunnel/keys.hpp"

namespace ferry::tunnel {

inline constexpr size_t kHashSize = 32;
inline constexpr size_t kMacSize = 16;
inline constexpr size_t kAeadTagSize = 16;
inline constexpr size_t kXNonceSize = 24;
using Hash = std::array<uint8_t, kHashSize>;
using Mac = std::array<uint8_t, kMacSize>;
using Bytes = std::span<const uint8_t>;

// Protocol constants (wireguard.com/protocol "First Message").
inline constexpr char kConstruction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
inline constexpr char kIdentifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
inline constexpr char kLabelMac1[] = "mac1----";
inline constexpr char kLabelCookie[] = "cookie--";

inline Bytes as_bytes(const char* s, size_t n) {
  return {reinterpret_cast<const uint8_t*>(s), n};
}

// HASH(p1 || p2 || ...).
Hash blake2s(std::initializer_list<Bytes> parts);
// HMAC(key, p1 || p2 || ...).
Hash hmac(Bytes key, std::initializer_list<Bytes> parts);
// MAC(key, data): keyed BLAKE2s with a 16-byte digest; key is 16 or 32 bytes.
Mac mac(Bytes key, Bytes data);

// KDF_n(key, input) from the Noise spec: t0 = HMAC(key, input),
// t1 = HMAC(t0, 0x1), t_i = HMAC(t0, t_{i-1} || i).
void kdf1(Hash& t1, Bytes key, Bytes input);
void kdf2(Hash& t1, Hash& t2, Bytes key, Bytes input);
void kdf3(Hash& t1, Hash& t2, Hash& t3, Bytes key, Bytes input);

// AEAD(key, counter, plain, ad): writes plain.size()+16 bytes to out.
// out may alias plain exactly (in place). Returns false on a library error
// or when out is too small. No heap allocation (thread-local EVP context).
bool aead_seal(const Key& key, uint64_t counter, Bytes plain, Bytes ad, std::span<uint8_t> out);
// Opens ciphertext||tag (cipher.size() >= 16); writes cipher.size()-16 bytes.
// Returns false when authentication fails. out may alias cipher exactly.
bool aead_open(const Key& key, uint64_t counter, Bytes cipher, Bytes ad, std::span<uint8_t> out);

// XAEAD (XChaCha20-Poly1305, 24-byte nonce) for cookie replies.
bool xaead_seal(const Key& key, const std::array<uint8_t, kXNonceSize>& nonce, Bytes plain,
                Bytes ad, std::span<uint8_t> out);
bool xaead_open(const Key& key, const std::array<uint8_t, kXNonceSize>& nonce, Bytes cipher,
                Bytes ad, std::span<uint8_t> out);

}  // namespace ferry::tunnel
