#include "tunnel/messages.hpp"

#include "common/bytes.hpp"

namespace ferry::tunnel {
namespace {

// Every message starts with u8 type then u8 reserved_zero[3] (wireguard.com/protocol).
void write_type(SpanWriter& w, MessageType t) {
  w.u8(static_cast<uint8_t>(t));
  w.zeros(3);
}

bool read_type(ByteReader& r, MessageType want) {
  auto t = r.u8();
  auto res = r.bytes(3);
  return t && res && *t == static_cast<uint8_t>(want) && (*res)[0] == 0 && (*res)[1] == 0 &&
         (*res)[2] == 0;
}

template <size_t N>
bool read_array(ByteReader& r, std::array<uint8_t, N>& out) {
  return r.copy(out.data(), N);
}

}  // namespace

std::optional<MessageType> peek_message_type(std::span<const uint8_t> datagram) {
  if (datagram.size() < 4 || datagram[1] != 0 || datagram[2] != 0 || datagram[3] != 0) {
    return std::nullopt;
  }
  if (datagram[0] < 1 || datagram[0] > 4) return std::nullopt;
  return static_cast<MessageType>(datagram[0]);
}

bool encode(const MessageInitiation& m, std::span<uint8_t> out) {
  if (out.size() < kMessageInitiationSize) return false;
  SpanWriter w(out.first(kMessageInitiationSize));
  write_type(w, MessageType::Initiation);           // message_type = 1, reserved_zero[3]
  w.u32_le(m.sender_index);                         // u32 sender_index
  w.bytes(m.ephemeral.data(), m.ephemeral.size());  // unencrypted_ephemeral[32]
  w.bytes(m.encrypted_static.data(), m.encrypted_static.size());        // AEAD_LEN(32)
  w.bytes(m.encrypted_timestamp.data(), m.encrypted_timestamp.size());  // AEAD_LEN(12)
  w.bytes(m.mac1.data(), m.mac1.size());                                // mac1[16]
  w.bytes(m.mac2.data(), m.mac2.size());                                // mac2[16]
  return !w.overflow() && w.size() == kMessageInitiationSize;
}

bool encode(const MessageResponse& m, std::span<uint8_t> out) {
  if (out.size() < kMessageResponseSize) return false;
  SpanWriter w(out.first(kMessageResponseSize));
  write_type(w, MessageType::Response);             // message_type = 2, reserved_zero[3]
  w.u32_le(m.sender_index);                         // u32 sender_index
  w.u32_le(m.receiver_index);                       // u32 receiver_index
  w.bytes(m.ephemeral.data(), m.ephemeral.size());  // unencrypted_ephemeral[32]
  w.bytes(m.encrypted_nothing.data(), m.encrypted_nothing.size());  // AEAD_LEN(0)
  w.bytes(m.mac1.data(), m.mac1.size());
  w.bytes(m.mac2.data(), m.mac2.size());
  return !w.overflow() && w.size() == kMessageResponseSize;
}

bool encode(const MessageCookieReply& m, std::span<uint8_t> out) {
  if (out.size() < kMessageCookieReplySize) return false;
  SpanWriter w(out.first(kMessageCookieReplySize));
  write_type(w, MessageType::CookieReply);  // message_type = 3, reserved_zero[3]
  w.u32_le(m.receiver_index);               // u32 receiver_index
  w.bytes(m.nonce.data(), m.nonce.size());  // nonce[24]
  w.bytes(m.encrypted_cookie.data(), m.encrypted_cookie.size());  // XAEAD_LEN(16)
  return !w.overflow() && w.size() == kMessageCookieReplySize;
}

bool encode(const TransportHeader& h, std::span<uint8_t> out) {
  if (out.size() < kTransportHeaderSize) return false;
  SpanWriter w(out.first(kTransportHeaderSize));
  write_type(w, MessageType::Transport);  // message_type = 4, reserved_zero[3]
  w.u32_le(h.receiver_index);             // u32 receiver_index
  w.u64_le(h.counter);                    // u64 counter
  return !w.overflow();
}

std::optional<MessageInitiation> parse_initiation(std::span<const uint8_t> datagram) {
  if (datagram.size() != kMessageInitiationSize) return std::nullopt;
  ByteReader r(datagram);
  MessageInitiation m;
  if (!read_type(r, MessageType::Initiation)) return std::nullopt;
  auto sender = r.u32_le();
  if (!sender) return std::nullopt;
  m.sender_index = *sender;
  if (!read_array(r, m.ephemeral) || !read_array(r, m.encrypted_static) ||
      !read_array(r, m.encrypted_timestamp) || !read_array(r, m.mac1) || !read_array(r, m.mac2)) {
    return std::nullopt;
  }
  return m;
}

std::optional<MessageResponse> parse_response(std::span<const uint8_t> datagram) {
  if (datagram.size() != kMessageResponseSize) return std::nullopt;
  ByteReader r(datagram);
  MessageResponse m;
  if (!read_type(r, MessageType::Response)) return std::nullopt;
  auto sender = r.u32_le();
  auto receiver = r.u32_le();
  if (!sender || !receiver) return std::nullopt;
  m.sender_index = *sender;
  m.receiver_index = *receiver;
  if (!read_array(r, m.ephemeral) || !read_array(r, m.encrypted_nothing) ||
      !read_array(r, m.mac1) || !read_array(r, m.mac2)) {
    return std::nullopt;
  }
  return m;
}

std::optional<MessageCookieReply> parse_cookie_reply(std::span<const uint8_t> datagram) {
  if (datagram.size() != kMessageCookieReplySize) return std::nullopt;
  ByteReader r(datagram);
  MessageCookieReply m;
  if (!read_type(r, MessageType::CookieReply)) return std::nullopt;
  auto receiver = r.u32_le();
  if (!receiver) return std::nullopt;
  m.receiver_index = *receiver;
  if (!read_array(r, m.nonce) || !read_array(r, m.encrypted_cookie)) return std::nullopt;
  return m;
}

std::optional<TransportView> parse_transport(std::span<const uint8_t> datagram) {
  if (datagram.size() < kMessageTransportMinSize) return std::nullopt;
  ByteReader r(datagram);
  if (!read_type(r, MessageType::Transport)) return std::nullopt;
  auto receiver = r.u32_le();
  auto counter = r.u64_le();
  if (!receiver || !counter) return std::nullopt;
  TransportView v;
  v.header.receiver_index = *receiver;
  v.header.counter = *counter;
  v.ciphertext = r.rest();
  return v;
}

}  // namespace ferry::tunnel
