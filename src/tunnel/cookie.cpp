#include "tunnel/cookie.hpp"

#include <cstring>

namespace ferry::tunnel {
namespace {

Key label_key(const char* label, const Key& pub) {
  // HASH(LABEL || static_public): mac1 and cookie-encryption keys.
  return blake2s({as_bytes(label, 8), pub});
}

// msg[0 : size-32] is covered by mac1, msg[0 : size-16] by mac2.
bool handshake_sized(std::span<const uint8_t> msg) {
  return msg.size() > kMac1FromEnd;
}

}  // namespace

CookieSource CookieSource::from(const IpAddress& ip, uint16_t port) {
  CookieSource s;
  const size_t n = static_cast<size_t>(ip.byte_len());
  std::memcpy(s.bytes.data(), ip.bytes(), n);
  s.bytes[n] = static_cast<uint8_t>(port >> 8);
  s.bytes[n + 1] = static_cast<uint8_t>(port);
  s.len = n + 2;
  return s;
}

CookieChecker::CookieChecker(const Key& local_public, TimerConfig cfg, Rng& rng)
    : cfg_(cfg), rng_(&rng) {
  set_local_public(local_public);
}

CookieChecker::~CookieChecker() {
  secure_zero(secret_);
}

void CookieChecker::set_local_public(const Key& local_public) {
  std::lock_guard lock(mu_);
  mac1_key_ = label_key(kLabelMac1, local_public);
  cookie_key_ = label_key(kLabelCookie, local_public);
}

bool CookieChecker::check_mac1(std::span<const uint8_t> msg) const {
  if (!handshake_sized(msg)) return false;
  Key k;
  {
    std::lock_guard lock(mu_);
    k = mac1_key_;
  }
  const size_t at = msg.size() - kMac1FromEnd;
  Mac want = mac(k, msg.first(at));
  return constant_time_equal(want, msg.subspan(at, kMacSize));
}

Mac CookieChecker::cookie_for(const CookieSource& src, TimePoint now) {
  // The secret behind cookies changes every COOKIE_REFRESH_TIME (2 minutes),
  // so a cookie is only good for that long (whitepaper §5.4.7).
  if (!secret_set_ || now - *secret_set_ > cfg_.cookie_refresh_time()) {
    rng_->fill(secret_);
    secret_set_ = now;
  }
  return mac(secret_, src.span());
}

bool CookieChecker::check_mac2(std::span<const uint8_t> msg, const CookieSource& src,
                               TimePoint now) {
  if (!handshake_sized(msg)) return false;
  std::lock_guard lock(mu_);
  if (!secret_set_ || now - *secret_set_ > cfg_.cookie_refresh_time()) return false;
  Mac cookie = mac(secret_, src.span());
  const size_t at = msg.size() - kMac2FromEnd;
  Mac want = mac(cookie, msg.first(at));
  secure_zero(cookie);
  return constant_time_equal(want, msg.subspan(at, kMacSize));
}

std::optional<MessageCookieReply> CookieChecker::create_reply(std::span<const uint8_t> msg,
                                                              uint32_t msg_sender_index,
                                                              const CookieSource& src,
                                                              TimePoint now) {
  if (!handshake_sized(msg)) return std::nullopt;
  std::lock_guard lock(mu_);
  MessageCookieReply r;
  r.receiver_index = msg_sender_index;
  rng_->fill(r.nonce);
  Mac cookie = cookie_for(src, now);
  // msg.encrypted_cookie = XAEAD(HASH(LABEL_COOKIE || responder.static_public),
  //                              msg.nonce, cookie, last_received_msg.mac1)
  auto ad = msg.subspan(msg.size() - kMac1FromEnd, kMacSize);
  bool ok = xaead_seal(cookie_key_, r.nonce, cookie, ad, r.encrypted_cookie);
  secure_zero(cookie);
  if (!ok) return std::nullopt;
  return r;
}

CookieGenerator::CookieGenerator(const Key& remote_public, TimerConfig cfg) : cfg_(cfg) {
  set_remote_public(remote_public);
}

CookieGenerator::~CookieGenerator() {
  secure_zero(cookie_);
}

void CookieGenerator::set_remote_public(const Key& remote_public) {
  std::lock_guard lock(mu_);
  mac1_key_ = label_key(kLabelMac1, remote_public);
  cookie_key_ = label_key(kLabelCookie, remote_public);
  cookie_set_.reset();
  has_last_mac1_ = false;
}

void CookieGenerator::add_macs(std::span<uint8_t> msg, TimePoint now) {
  if (msg.size() <= kMac1FromEnd) return;
  std::lock_guard lock(mu_);
  const size_t at1 = msg.size() - kMac1FromEnd;
  const size_t at2 = msg.size() - kMac2FromEnd;
  // msg.mac1 = MAC(HASH(LABEL_MAC1 || responder.static_public), msg[0:offsetof(mac1)])
  Mac m1 = mac(mac1_key_, msg.first(at1));
  std::memcpy(msg.data() + at1, m1.data(), kMacSize);
  last_mac1_ = m1;
  has_last_mac1_ = true;
  // msg.mac2 = MAC(last_received_cookie, msg[0:offsetof(mac2)]) or zeros when
  // there is no cookie younger than COOKIE_REFRESH_TIME.
  if (cookie_set_ && now - *cookie_set_ <= cfg_.cookie_refresh_time()) {
    Mac m2 = mac(cookie_, msg.first(at2));
    std::memcpy(msg.data() + at2, m2.data(), kMacSize);
  } else {
    std::memset(msg.data() + at2, 0, kMacSize);
  }
}

bool CookieGenerator::consume_reply(const MessageCookieReply& reply, TimePoint now) {
  std::lock_guard lock(mu_);
  if (!has_last_mac1_) return false;
  Mac cookie{};
  if (!xaead_open(cookie_key_, reply.nonce, reply.encrypted_cookie, last_mac1_, cookie)) {
    return false;
  }
  cookie_ = cookie;
  secure_zero(cookie);
  cookie_set_ = now;
  has_last_mac1_ = false;
  return true;
}

bool CookieGenerator::has_cookie(TimePoint now) const {
  std::lock_guard lock(mu_);
  return cookie_set_ && now - *cookie_set_ <= cfg_.cookie_refresh_time();
}

}  // namespace ferry::tunnel
