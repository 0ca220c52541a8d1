// ESP (RFC 4303) in tunnel mode, UDP-encapsulated (RFC 3948): the wire
// layout, the port-4500 demultiplexer, and the per-SA crypto that seals and
// opens one message in place.
//
// Message (the UDP payload, RFC 3948 §2.1 / RFC 4303 §2):
//   SPI (4) | Sequence Number (4) | IV (8 GCM, 16 CBC) | payload | padding |
//   Pad Length (1) | Next Header (1) | ICV (16 GCM; 16/24/32 HMAC)
// Payload is the whole inner IP packet (tunnel mode, RFC 4303 §3.1.2); Next
// Header is 4 (IPv4) or 41 (IPv6), 59 marks a dummy packet (§2.6).
//
// AES-GCM-16 (RFC 4106): nonce = salt (last 4 bytes of the KEYMAT slice,
// §8.1) | explicit IV (8 bytes, §3.1: we send the 64-bit sequence number,
// unique per SA); AAD = SPI | seq (or SPI | seq-hi | seq-lo with ESN, §5);
// padding to 4 bytes (§3.2). AES-CBC (RFC 3602): random IV per packet
// (§2.1), padding to 16 bytes, then HMAC-SHA2 truncated to half its output
// (RFC 4868 §2.1.1) over SPI .. trailer, with the ESN high bits appended to
// the ICV input only (RFC 4303 §2.2.1, §3.3.2.2).
//
// Crypto contexts are initialised once per SA (the key schedule) with one set
// per worker, so a packet only sets its IV and runs the cipher. A context is
// used by one worker thread at a time.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "ipsec/sa.hpp"

namespace ferry::ipsec {

inline constexpr size_t kEspHeaderLen = 8;     // SPI + Sequence Number (RFC 4303 §2.1, §2.2)
inline constexpr uint8_t kNextHeaderIpv4 = 4;  // IANA protocol numbers (RFC 4303 §2.6)
inline constexpr uint8_t kNextHeaderIpv6 = 41;
inline constexpr uint8_t kNextHeaderNone = 59;  // dummy packet (RFC 4303 §2.6)

inline constexpr size_t iv_len(EspCipher c) {
  return is_aead(c) ? 8 : 16;
}
// Where the payload starts: ESP header + IV.
inline constexpr size_t payload_offset(EspCipher c) {
  return kEspHeaderLen + iv_len(c);
}
// Payload+padding+trailer is a multiple of this (RFC 4106 §3.2; RFC 3602 §2.4).
inline constexpr size_t pad_block(EspCipher c) {
  return is_aead(c) ? 4 : 16;
}
inline constexpr size_t icv_len(EspCipher c, EspInteg i) {
  if (is_aead(c)) return 16;  // ENCR_AES_GCM_16: 16-byte ICV (RFC 4106 §6)
  switch (i) {
    case EspInteg::kNone:
      return 0;
    case EspInteg::kHmacSha256_128:
      return 16;  // RFC 4868 §2.1.1: truncated to half
    case EspInteg::kHmacSha384_192:
      return 24;
    case EspInteg::kHmacSha512_256:
      return 32;
  }
  return 0;
}
// Bytes a message adds around a payload of `n` bytes.
inline constexpr size_t sealed_len(EspCipher c, EspInteg i, size_t n) {
  const size_t b = pad_block(c);
  return payload_offset(c) + (n + 2 + b - 1) / b * b + icv_len(c, i);
}
// The most any transform adds (CBC: 24 header, 15 padding, 2 trailer, 32 ICV).
inline constexpr size_t kMaxEspOverhead = 24 + 15 + 2 + 32;

// What a datagram on port 4500 is (RFC 3948 §2.2, §2.3).
enum class NattKind : uint8_t { kIke, kKeepalive, kEsp, kMalformed };
// kIke: the first four bytes are the zero non-ESP marker (the IKE message follows);
// kKeepalive: exactly one 0xff byte; kEsp: at least an ESP header with a non-zero SPI
// (SPI 0 is reserved, RFC 4303 §2.1); anything else is malformed.
NattKind classify_natt(std::span<const uint8_t> datagram);

struct EspHeader {
  uint32_t spi = 0;  // RFC 4303 §2.1
  uint32_t seq = 0;  // RFC 4303 §2.2, the low 32 bits with ESN
};
std::optional<EspHeader> parse_esp_header(std::span<const uint8_t> msg);

// Why open() refused a message.
enum class OpenError : uint8_t { kMalformed, kAuthFailed };

struct OpenedPayload {
  size_t len = 0;           // payload bytes at msg[payload_offset(cipher)]
  uint8_t next_header = 0;  // RFC 4303 §2.6
};

// One direction of an SA: its transform, keys and per-worker contexts.
class EspCrypto {
 public:
  // `encrypt`: outbound SA (seal) or inbound (open). Keys of the wrong length fail.
  static std::unique_ptr<EspCrypto> create(const EspSaKeys& keys, bool encrypt, size_t workers);
  ~EspCrypto();
  EspCrypto(const EspCrypto&) = delete;
  EspCrypto& operator=(const EspCrypto&) = delete;

  EspCipher cipher() const { return cipher_; }
  EspInteg integ() const { return integ_; }
  uint32_t spi() const { return spi_; }
  size_t workers() const { return ctx_.size(); }

  // Seals the payload lying at msg[payload_offset() : +len] into a whole ESP
  // message starting at msg[0]; msg must have room for sealed_len(). `seq` is
  // the 64-bit sequence number (only its low half goes on the wire). Returns
  // the message length, 0 on a crypto failure.
  size_t seal(size_t worker, uint64_t seq, bool esn, std::span<uint8_t> msg, size_t len,
              uint8_t next_header);
  // Verifies and decrypts the message in place under the full sequence number
  // `seq` (the receiver's ESN inference, RFC 4303 Appendix A2.2), checks the
  // padding (RFC 4303 §2.4: the receiver may check the 1, 2, 3, ... pattern).
  std::optional<OpenedPayload> open(size_t worker, uint64_t seq, bool esn, std::span<uint8_t> msg,
                                    OpenError* why);

  // A deterministic CBC IV source for golden-byte tests (default: OpenSSL's DRBG).
  void set_iv_source_for_test(void (*fill)(uint8_t* out, size_t n));

 private:
  struct Ctx;
  EspCrypto(const EspSaKeys& keys, bool encrypt);
  bool fill_iv(Ctx& c, uint8_t* out);

  EspCipher cipher_;
  EspInteg integ_;
  uint32_t spi_;
  bool encrypt_;
  uint8_t salt_[4] = {};
  void (*iv_source_)(uint8_t*, size_t) = nullptr;
  std::vector<std::unique_ptr<Ctx>> ctx_;
};

}  // namespace ferry::ipsec
