// Cryptokey routing table (WireGuard whitepaper §2): maps IP prefixes to the
// peer allowed to send from / receive for them.
//
// Role and data flow: the control plane (config reload, BGP via Tunnel) edits
// the table with add_allowed/remove_allowed or a batched apply(); every edit
// call publishes one new immutable CryptokeySnapshot (an IPv4 and an IPv6
// LpmSnapshot) through an atomic shared_ptr. Data-plane workers hold a
// CryptokeyReader that re-loads the snapshot only when the generation counter
// moved, so the per-packet cost is one relaxed atomic load plus the trie walk.
//
// Outbound: lookup(destination) -> peer. Inbound: after decryption,
// lookup(source) must equal the peer the packet came from, else it is dropped.
// A prefix belongs to exactly one peer; adding it to another peer moves it
// (as `wg set ... allowed-ips` does). Each entry also records its origin
// (static from config, or learned from routing) so the two can be shown apart
// and a learned withdrawal never removes a static entry.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/ip.hpp"
#include "tunnel/lpm.hpp"

namespace ferry::tunnel {

using PeerIndex = uint32_t;  // dense index of a peer inside one device
constexpr PeerIndex kNoPeer = 0xffffffffu;

enum class AllowedOrigin : uint8_t { Static = 0, Learned = 1 };

struct AllowedChange {
  enum class Op : uint8_t { Add, Remove };
  Op op = Op::Add;
  PeerIndex peer = 0;
  Prefix prefix;
  AllowedOrigin origin = AllowedOrigin::Static;
};

class CryptokeySnapshot {
 public:
  CryptokeySnapshot() = default;
  CryptokeySnapshot(std::shared_ptr<const LpmSnapshot<uint32_t>> v4,
                    std::shared_ptr<const LpmSnapshot<U128>> v6)
      : v4_(std::move(v4)), v6_(std::move(v6)) {}
  // Network-order address bytes (4 or 16).
  PeerIndex lookup_v4(const uint8_t* addr) const {
    return decode(v4_->lookup(LpmTraits<uint32_t>::from_bytes(addr)));
  }
  PeerIndex lookup_v6(const uint8_t* addr) const {
    return decode(v6_->lookup(LpmTraits<U128>::from_bytes(addr)));
  }
  PeerIndex lookup(const IpAddress& a) const {
    return a.is_v4() ? lookup_v4(a.bytes()) : lookup_v6(a.bytes());
  }
  size_t size() const { return v4_->size() + v6_->size(); }
  size_t memory_bytes() const { return v4_->memory_bytes() + v6_->memory_bytes(); }

  // Value encoding shared with CryptokeyTable: (peer + 1) | learned << 31.
  static uint32_t encode(PeerIndex p, AllowedOrigin o) {
    return (p + 1) | (o == AllowedOrigin::Learned ? 0x80000000u : 0u);
  }
  static PeerIndex decode(uint32_t v) { return v == 0 ? kNoPeer : (v & 0x7fffffffu) - 1; }
  static AllowedOrigin origin_of(uint32_t v) {
    return (v & 0x80000000u) ? AllowedOrigin::Learned : AllowedOrigin::Static;
  }

 private:
  // Shared between consecutive snapshots when only the other family changed.
  std::shared_ptr<const LpmSnapshot<uint32_t>> v4_;
  std::shared_ptr<const LpmSnapshot<U128>> v6_;
  friend class CryptokeyTable;
};

class CryptokeyTable {
 public:
  CryptokeyTable();

  // Each call publishes once. add moves a prefix owned by another peer;
  // remove only removes it if `peer` owns it with that origin (returns false otherwise).
  void add_allowed(PeerIndex peer, const Prefix& p, AllowedOrigin o = AllowedOrigin::Static);
  bool remove_allowed(PeerIndex peer, const Prefix& p, AllowedOrigin o = AllowedOrigin::Static);
  // Applies all changes in order, then publishes once. Returns how many changed the table.
  size_t apply(std::span<const AllowedChange> changes);
  // Removes every prefix of a peer (peer deleted); publishes once.
  void remove_peer(PeerIndex peer);

  // Exact-match owner of a prefix, if any.
  std::optional<std::pair<PeerIndex, AllowedOrigin>> owner(const Prefix& p) const;
  // Prefixes of one peer with the given origin (control-plane walk, for show commands).
  std::vector<Prefix> prefixes_of(PeerIndex peer, AllowedOrigin o) const;
  size_t count_of(PeerIndex peer, AllowedOrigin o) const;

  std::shared_ptr<const CryptokeySnapshot> snapshot() const {
    return current_.load(std::memory_order_acquire);
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  size_t size() const { return v4_.size() + v6_.size(); }

 private:
  bool apply_one(const AllowedChange& c);
  void publish();

  LpmTrie<uint32_t> v4_;
  LpmTrie<U128> v6_;
  bool dirty4_ = true, dirty6_ = true;  // set by edits, cleared by publish()
  std::atomic<std::shared_ptr<const CryptokeySnapshot>> current_;
  std::atomic<uint64_t> generation_{0};
};

// Per-thread cached view of a table's latest snapshot.
class CryptokeyReader {
 public:
  explicit CryptokeyReader(const CryptokeyTable& t) : table_(&t) { refresh(); }
  // Call once per batch of packets.
  void refresh() {
    uint64_t g = table_->generation();
    if (g != gen_ || !snap_) {
      snap_ = table_->snapshot();
      gen_ = g;
    }
  }
  const CryptokeySnapshot& get() const { return *snap_; }

 private:
  const CryptokeyTable* table_;
  std::shared_ptr<const CryptokeySnapshot> snap_;
  uint64_t gen_ = ~uint64_t{0};
};

}  // namespace ferry::tunnel
