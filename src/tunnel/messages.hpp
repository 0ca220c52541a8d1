// Wire codecs for the four WireGuard message types (wireguard.com/protocol,
// whitepaper §5.4). All integers are little-endian. Each handshake message
// has an exact size; anything else is rejected. Structs hold the fields as
// sent; crypto lives in handshake.* / cookie.*, these are only codecs.
//
//   type 1 initiation   148 bytes   type 2 response     92 bytes
//   type 3 cookie reply  64 bytes   type 4 transport    16-byte header + AEAD
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "tunnel/noise.hpp"
#include "tunnel/tai64n.hpp"

namespace ferry::tunnel {

enum class MessageType : uint8_t {
  Initiation = 1,
  Response = 2,
  CookieReply = 3,
  Transport = 4,
};

inline constexpr size_t kMessageInitiationSize = 148;
inline constexpr size_t kMessageResponseSize = 92;
inline constexpr size_t kMessageCookieReplySize = 64;
inline constexpr size_t kTransportHeaderSize = 16;
// Smallest transport message: header + empty (keepalive) payload + tag.
inline constexpr size_t kMessageTransportMinSize = kTransportHeaderSize + kAeadTagSize;
inline constexpr size_t kCookieSize = 16;

// Offsets of mac1/mac2 from the end of a handshake message: mac1 covers
// msg[0 : size-32], mac2 covers msg[0 : size-16].
inline constexpr size_t kMac1FromEnd = 2 * kMacSize;
inline constexpr size_t kMac2FromEnd = kMacSize;

// Type 1. Fields in wire order (wireguard.com/protocol "First Message").
struct MessageInitiation {
  uint32_t sender_index = 0;                                        // u32 LE
  Key ephemeral{};                                                  // u8[32] unencrypted_ephemeral
  std::array<uint8_t, kKeySize + kAeadTagSize> encrypted_static{};  // AEAD_LEN(32)
  std::array<uint8_t, Tai64n::kSize + kAeadTagSize> encrypted_timestamp{};  // AEAD_LEN(12)
  Mac mac1{};
  Mac mac2{};
};

// Type 2 ("Second Message").
struct MessageResponse {
  uint32_t sender_index = 0;
  uint32_t receiver_index = 0;
  Key ephemeral{};
  std::array<uint8_t, kAeadTagSize> encrypted_nothing{};  // AEAD_LEN(0)
  Mac mac1{};
  Mac mac2{};
};

// Type 3 ("Cookie MACs": under load).
struct MessageCookieReply {
  uint32_t receiver_index = 0;
  std::array<uint8_t, kXNonceSize> nonce{};
  std::array<uint8_t, kCookieSize + kAeadTagSize> encrypted_cookie{};  // XAEAD_LEN(16)
};

// Type 4 header ("Subsequent Messages: Exchange of Data Packets").
struct TransportHeader {
  uint32_t receiver_index = 0;
  uint64_t counter = 0;
};

// The type byte of a datagram if the 3 reserved bytes are zero, else nullopt.
std::optional<MessageType> peek_message_type(std::span<const uint8_t> datagram);

// Encoders write exactly kMessage*Size bytes; return false if out is too small.
bool encode(const MessageInitiation& m, std::span<uint8_t> out);
bool encode(const MessageResponse& m, std::span<uint8_t> out);
bool encode(const MessageCookieReply& m, std::span<uint8_t> out);
bool encode(const TransportHeader& h, std::span<uint8_t> out);

// Parsers require the exact size (transport: >= header + tag) and type byte
// with zero reserved bytes.
std::optional<MessageInitiation> parse_initiation(std::span<const uint8_t> datagram);
std::optional<MessageResponse> parse_response(std::span<const uint8_t> datagram);
std::optional<MessageCookieReply> parse_cookie_reply(std::span<const uint8_t> datagram);
// Transport: the header plus the ciphertext||tag span (a view into datagram).
struct TransportView {
  TransportHeader header;
  std::span<const uint8_t> ciphertext;  // encrypted payload including the 16-byte tag
};
std::optional<TransportView> parse_transport(std::span<const uint8_t> datagram);

}  // namespace ferry::tunnel
