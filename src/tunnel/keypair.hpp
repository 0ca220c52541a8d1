// Transport keypairs and their previous/current/next rotation (whitepaper
// §5.4.6 and §6; wireguard-go's Keypairs).
//
// A Keypair is created by the handshake (derive_keypair) and is immutable
// except for its send counter (atomic, one per sent message) and its
// receive replay window (lock-free). encrypt()/decrypt() are
// what the data path calls per packet: they work in caller buffers and do
// not allocate (the EVP context is thread-local and reused, so several
// workers may encrypt with the same keypair in parallel).
//
// KeypairSet holds a peer's three slots:
//   initiator on handshake completion: previous <- current (or <- next if
//     one was pending), current <- new.
//   responder on sending its response: next <- new, previous leaves;
//     the first authenticated transport message received under `next`
//     (received_with) confirms it: previous <- current, current <- next.
// A keypair that leaves the three slots is not dropped at once: it retires
// for a grace period (REKEY_TIMEOUT) in which it still decrypts (find) but
// never encrypts. With simultaneous initiations the three-slot rotation of
// the whitepaper (§5.4.6) can push out the keypair the peer is still sending
// under (the initiator-with-pending-next case drops `current`; a responder
// install drops `previous`) until the peer learns of the new session one
// round trip later; retiring instead of dropping makes each rotation
// make-before-break. At most kMaxRetired are kept (the oldest goes first);
// expire() hands back those whose grace ended, so the owner frees their
// receiver indices.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "tunnel/keys.hpp"
#include "tunnel/messages.hpp"
#include "tunnel/replay.hpp"
#include "tunnel/timers.hpp"

namespace ferry::tunnel {

// Transport payload size after padding to 16 bytes, never beyond `mtu`
// (when the packet itself is smaller than mtu); mtu 0 = pad without cap.
size_t padded_size(size_t plaintext_len, size_t mtu);
// Full transport message size for a plaintext.
inline size_t transport_message_size(size_t plaintext_len, size_t mtu) {
  return kTransportHeaderSize + padded_size(plaintext_len, mtu) + kAeadTagSize;
}

class Keypair {
 public:
  Keypair(const Key& send_key, const Key& recv_key, uint32_t local_index, uint32_t remote_index,
          bool is_initiator, TimePoint created);
  ~Keypair();
  Keypair(const Keypair&) = delete;
  Keypair& operator=(const Keypair&) = delete;

  uint32_t local_index() const {
    return local_index_;
  }  // receiver_index peers put on messages to us
  uint32_t remote_index() const {
    return remote_index_;
  }  // receiver_index we put on messages to them
  bool is_initiator() const { return is_initiator_; }
  TimePoint created() const { return created_; }
  uint64_t send_counter() const { return send_counter_.load(std::memory_order_relaxed); }

  // Builds a whole type-4 message in `out`: header, then the padded plaintext
  // encrypted with the next counter, then the tag. `plaintext` may already
  // sit at out[16:] (in-place); otherwise it is copied there. Returns the
  // message length, or nullopt if `out` is too small or the keypair is
  // exhausted (counter reached REJECT_AFTER_MESSAGES) or expired at `now`
  // (older than REJECT_AFTER_TIME x scale; pass reject_after = 0 to skip).
  std::optional<size_t> encrypt(std::span<const uint8_t> plaintext, std::span<uint8_t> out,
                                size_t mtu, TimePoint now, Duration reject_after);
  std::optional<size_t> encrypt(std::span<const uint8_t> plaintext, std::span<uint8_t> out,
                                size_t mtu = 0) {
    return encrypt(plaintext, out, mtu, created_, Duration{0});
  }

  // Opens a parsed transport message: replay pre-check, AEAD open into `out`
  // (may alias view.ciphertext exactly), then marks the counter in the
  // window. Returns the plaintext length (padded; 0 = keepalive) or nullopt
  // on replay / authentication failure / expiry. Never throws.
  std::optional<size_t> decrypt(const TransportView& view, std::span<uint8_t> out, TimePoint now,
                                Duration reject_after);
  std::optional<size_t> decrypt(const TransportView& view, std::span<uint8_t> out) {
    return decrypt(view, out, created_, Duration{0});
  }

  // Lower-level pieces for a data path that batches: reserve a counter,
  // seal/open with an explicit counter, and the replay window steps.
  std::optional<uint64_t> next_send_counter();
  bool seal(uint64_t counter, std::span<const uint8_t> plain, std::span<uint8_t> out) const;
  bool open(uint64_t counter, std::span<const uint8_t> cipher, std::span<uint8_t> out) const;
  bool replay_check(uint64_t counter) const;
  bool replay_update(uint64_t counter);

  const Key& send_key() const { return send_key_; }
  // Tests only: jump the send counter (e.g. to just below REJECT_AFTER_MESSAGES).
  void set_send_counter_for_testing(uint64_t c) { send_counter_.store(c); }
  const Key& recv_key() const { return recv_key_; }

 private:
  Key send_key_;
  Key recv_key_;
  uint32_t local_index_;
  uint32_t remote_index_;
  bool is_initiator_;
  TimePoint created_;
  std::atomic<uint64_t> send_counter_{0};
  ReplayWindow replay_;  // lock-free: several workers may receive under one keypair
};

class KeypairSet {
 public:
  using Ptr = std::shared_ptr<Keypair>;
  static constexpr size_t kMaxRetired = 4;

  // Keypairs that left the set for good (the owner frees their receiver indices).
  struct Dropped {
    std::array<Ptr, 3 + kMaxRetired> kps{};
    void add(Ptr p);
    bool contains(const Keypair* p) const;
    size_t size() const;
  };

  explicit KeypairSet(Duration retire_grace = kRekeyTimeout) : grace_(retire_grace) {}

  // Installs a keypair derived by the handshake at `now`; what leaves the
  // three slots retires (see above). Returns what was dropped for good.
  Dropped install(Ptr kp, TimePoint now);
  // The peer sent us a transport message under `kp`. If kp is `next`, it is
  // promoted to current (returns true: handshake is complete for the responder).
  bool received_with(const Keypair* kp, TimePoint now, Dropped* dropped = nullptr);
  // Drops the retired keypairs whose grace ended at `now`.
  Dropped expire(TimePoint now);
  // When expire() next has something to do.
  std::optional<TimePoint> next_expiry() const;

  Ptr current() const;
  Ptr previous() const;
  Ptr next() const;
  // The keypair whose local_index matches, among the three slots and the retired.
  Ptr find(uint32_t local_index) const;
  size_t retired_count() const;
  // Drops all (ZeroKeys, peer removal), retired included.
  Dropped clear();

 private:
  struct Retired {
    Ptr kp;
    TimePoint until{};
  };
  void retire(Ptr kp, TimePoint now, Dropped& d);  // mu_ held

  Duration grace_;
  mutable std::mutex mu_;
  Ptr previous_, current_, next_;
  std::array<Retired, kMaxRetired> retired_{};
};

}  // namespace ferry::tunnel
