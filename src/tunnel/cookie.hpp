// MAC1/MAC2 and cookie replies: WireGuard's DoS mitigation
// (wireguard.com/protocol "Cookie MACs", whitepaper §5.3, §5.4.7).
//
// CookieChecker (one per device, responder role): verifies mac1 on every
// handshake message with HASH(LABEL_MAC1 || our public key); when the device
// is under load it also requires mac2 = MAC(cookie, msg[:-16]) where
// cookie = MAC(secret, source ip || port) and `secret` is random, rotated
// every 2 minutes. Without a valid mac2 it builds a type-3 reply carrying the
// cookie, XAEAD-encrypted under HASH(LABEL_COOKIE || our public key) with
// the message's mac1 as associated data.
//
// CookieGenerator (one per peer, sender role): writes mac1 (and mac2 when it
// holds a cookie younger than COOKIE_REFRESH_TIME, 120 s) on our outgoing
// handshake messages; remembers the last mac1 sent so it can open a cookie
// reply, and stores the cookie for the next message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>

#include "common/ip.hpp"
#include "tunnel/keys.hpp"
#include "tunnel/messages.hpp"
#include "tunnel/noise.hpp"
#include "tunnel/timers.hpp"

namespace ferry::tunnel {

// The bytes a cookie is bound to: source IP (4 or 16 bytes) then port (BE).
struct CookieSource {
  std::array<uint8_t, 18> bytes{};
  size_t len = 0;
  static CookieSource from(const IpAddress& ip, uint16_t port);
  std::span<const uint8_t> span() const { return {bytes.data(), len}; }
};

class CookieChecker {
 public:
  CookieChecker(const Key& local_public, TimerConfig cfg = {}, Rng& rng = system_rng());
  ~CookieChecker();
  void set_local_public(const Key& local_public);

  // msg is a whole type-1 or type-2 message (size >= 32).
  bool check_mac1(std::span<const uint8_t> msg) const;
  bool check_mac2(std::span<const uint8_t> msg, const CookieSource& src, TimePoint now);
  // Builds the cookie reply to `msg` (whose sender index becomes the reply's receiver index).
  std::optional<MessageCookieReply> create_reply(std::span<const uint8_t> msg,
                                                 uint32_t msg_sender_index, const CookieSource& src,
                                                 TimePoint now);

 private:
  Mac cookie_for(const CookieSource& src, TimePoint now);  // requires mu_

  TimerConfig cfg_;
  Rng* rng_;
  mutable std::mutex mu_;
  Key mac1_key_{};
  Key cookie_key_{};
  Key secret_{};
  std::optional<TimePoint> secret_set_;
};

class CookieGenerator {
 public:
  explicit CookieGenerator(const Key& remote_public, TimerConfig cfg = {});
  ~CookieGenerator();
  void set_remote_public(const Key& remote_public);

  // Fills the last 32 bytes (mac1, mac2) of a type-1/2 message in place.
  void add_macs(std::span<uint8_t> msg, TimePoint now);
  // Opens a cookie reply to the last message we sent; false if it does not
  // authenticate (or there is no outstanding mac1).
  bool consume_reply(const MessageCookieReply& reply, TimePoint now);
  bool has_cookie(TimePoint now) const;

 private:
  TimerConfig cfg_;
  mutable std::mutex mu_;
  Key mac1_key_{};
  Key cookie_key_{};
  Mac cookie_{};
  std::optional<TimePoint> cookie_set_;
  Mac last_mac1_{};
  bool has_last_mac1_ = false;
};

}  // namespace ferry::tunnel
