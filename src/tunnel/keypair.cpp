#include "tunnel/keypair.hpp"

#include <cstring>

#include "tunnel/noise.hpp"

namespace ferry::tunnel {

size_t padded_size(size_t plaintext_len, size_t mtu) {
  // wireguard.com/protocol: the plaintext is zero-padded to a multiple of 16,
  // but never past the MTU (an MTU-sized packet stays MTU-sized).
  size_t padded = (plaintext_len + 15) & ~size_t{15};
  if (mtu != 0 && plaintext_len <= mtu && padded > mtu) padded = mtu;
  return padded;
}

Keypair::Keypair(const Key& send_key, const Key& recv_key, uint32_t local_index,
                 uint32_t remote_index, bool is_initiator, TimePoint created)
    : send_key_(send_key),
      recv_key_(recv_key),
      local_index_(local_index),
      remote_index_(remote_index),
      is_initiator_(is_initiator),
      created_(created) {}

Keypair::~Keypair() {
  secure_zero(send_key_);
  secure_zero(recv_key_);
}

std::optional<uint64_t> Keypair::next_send_counter() {
  const uint64_t c = send_counter_.fetch_add(1, std::memory_order_relaxed);
  if (c >= kRejectAfterMessages) {
    // Saturate so the counter can never wrap back to reusable nonces.
    send_counter_.store(kRejectAfterMessages, std::memory_order_relaxed);
    return std::nullopt;
  }
  return c;
}

bool Keypair::seal(uint64_t counter, std::span<const uint8_t> plain, std::span<uint8_t> out) const {
  return aead_seal(send_key_, counter, plain, {}, out);
}

bool Keypair::open(uint64_t counter, std::span<const uint8_t> cipher,
                   std::span<uint8_t> out) const {
  return aead_open(recv_key_, counter, cipher, {}, out);
}

bool Keypair::replay_check(uint64_t counter) const {
  return replay_.check(counter);
}

bool Keypair::replay_update(uint64_t counter) {
  return replay_.update(counter);
}

std::optional<size_t> Keypair::encrypt(std::span<const uint8_t> plaintext, std::span<uint8_t> out,
                                       size_t mtu, TimePoint now, Duration reject_after) {
  if (reject_after.count() > 0 && now - created_ >= reject_after) return std::nullopt;
  const size_t padded = padded_size(plaintext.size(), mtu);
  const size_t total = kTransportHeaderSize + padded + kAeadTagSize;
  if (out.size() < total) return std::nullopt;
  auto counter = next_send_counter();
  if (!counter) return std::nullopt;
  std::span<uint8_t> payload = out.subspan(kTransportHeaderSize, padded);
  if (plaintext.data() != payload.data() && !plaintext.empty()) {
    std::memmove(payload.data(), plaintext.data(), plaintext.size());
  }
  if (padded > plaintext.size()) {
    std::memset(payload.data() + plaintext.size(), 0, padded - plaintext.size());
  }
  if (!encode(TransportHeader{remote_index_, *counter}, out)) return std::nullopt;
  if (!seal(*counter, payload, out.subspan(kTransportHeaderSize, padded + kAeadTagSize))) {
    return std::nullopt;
  }
  return total;
}

std::optional<size_t> Keypair::decrypt(const TransportView& view, std::span<uint8_t> out,
                                       TimePoint now, Duration reject_after) {
  if (reject_after.count() > 0 && now - created_ >= reject_after) return std::nullopt;
  if (view.header.receiver_index != local_index_) return std::nullopt;
  if (view.ciphertext.size() < kAeadTagSize) return std::nullopt;
  const uint64_t counter = view.header.counter;
  if (!replay_check(counter)) return std::nullopt;
  const size_t plain_len = view.ciphertext.size() - kAeadTagSize;
  if (out.size() < plain_len) return std::nullopt;
  if (!open(counter, view.ciphertext, out)) return std::nullopt;
  // Only an authenticated counter may move the window (whitepaper §5.4.6).
  if (!replay_update(counter)) return std::nullopt;
  return plain_len;
}

void KeypairSet::Dropped::add(Ptr p) {
  if (!p) return;
  for (auto& slot : kps) {
    if (!slot) {
      slot = std::move(p);
      return;
    }
  }
}

bool KeypairSet::Dropped::contains(const Keypair* p) const {
  for (const auto& k : kps)
    if (k && k.get() == p) return true;
  return false;
}

size_t KeypairSet::Dropped::size() const {
  size_t n = 0;
  for (const auto& k : kps) n += k != nullptr;
  return n;
}

void KeypairSet::retire(Ptr kp, TimePoint now, Dropped& d) {
  if (!kp) return;
  Retired* oldest = &retired_[0];
  for (auto& r : retired_) {
    if (!r.kp) {
      r = {std::move(kp), now + grace_};
      return;
    }
    if (r.until < oldest->until) oldest = &r;
  }
  d.add(std::move(oldest->kp));
  *oldest = {std::move(kp), now + grace_};
}

KeypairSet::Dropped KeypairSet::install(Ptr kp, TimePoint now) {
  std::lock_guard lock(mu_);
  Dropped d;
  if (kp->is_initiator()) {
    if (next_) {
      // A responder-side keypair was pending; it becomes previous (the peer
      // uses it if its own handshake completed) and the old current retires
      // (the peer uses it if its handshake crossed ours and failed).
      retire(std::move(current_), now, d);
      retire(std::move(previous_), now, d);
      previous_ = std::move(next_);
      next_.reset();
    } else {
      retire(std::move(previous_), now, d);
      previous_ = std::move(current_);
    }
    current_ = std::move(kp);
  } else {
    // Responder: unusable for sending until the initiator proves it has the
    // keys by sending on them (received_with).
    retire(std::move(next_), now, d);
    retire(std::move(previous_), now, d);
    previous_.reset();
    next_ = std::move(kp);
  }
  return d;
}

bool KeypairSet::received_with(const Keypair* kp, TimePoint now, Dropped* dropped) {
  std::lock_guard lock(mu_);
  if (kp == nullptr || next_.get() != kp) return false;
  Dropped d;
  retire(std::move(previous_), now, d);
  previous_ = std::move(current_);
  current_ = std::move(next_);
  next_.reset();
  if (dropped) *dropped = std::move(d);
  return true;
}

KeypairSet::Dropped KeypairSet::expire(TimePoint now) {
  std::lock_guard lock(mu_);
  Dropped d;
  for (auto& r : retired_) {
    if (r.kp && r.until <= now) {
      d.add(std::move(r.kp));
      r = {};
    }
  }
  return d;
}

std::optional<TimePoint> KeypairSet::next_expiry() const {
  std::lock_guard lock(mu_);
  std::optional<TimePoint> t;
  for (const auto& r : retired_)
    if (r.kp && (!t || r.until < *t)) t = r.until;
  return t;
}

KeypairSet::Ptr KeypairSet::current() const {
  std::lock_guard lock(mu_);
  return current_;
}
KeypairSet::Ptr KeypairSet::previous() const {
  std::lock_guard lock(mu_);
  return previous_;
}
KeypairSet::Ptr KeypairSet::next() const {
  std::lock_guard lock(mu_);
  return next_;
}

KeypairSet::Ptr KeypairSet::find(uint32_t local_index) const {
  std::lock_guard lock(mu_);
  for (const Ptr* p : {&current_, &next_, &previous_}) {
    if (*p && (*p)->local_index() == local_index) return *p;
  }
  for (const auto& r : retired_)
    if (r.kp && r.kp->local_index() == local_index) return r.kp;
  return nullptr;
}

size_t KeypairSet::retired_count() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& r : retired_) n += r.kp != nullptr;
  return n;
}

KeypairSet::Dropped KeypairSet::clear() {
  std::lock_guard lock(mu_);
  Dropped d;
  d.add(std::move(previous_));
  d.add(std::move(current_));
  d.add(std::move(next_));
  for (auto& r : retired_) {
    d.add(std::move(r.kp));
    r = {};
  }
  previous_.reset();
  current_.reset();
  next_.reset();
  return d;
}

}  // namespace ferry::tunnel
