// Cryptokey routing table (WireGuard whitepaper §2): maps IP prefixes to the
// peer(s) allowed to send from / receive for them.
//
// Role and data flow: the control plane (config reload, BGP via Tunnel) edits
// the table with add_allowed/remove_allowed or a batched apply(); every edit
// call publishes one new immutable CryptokeySnapshot (an IPv4 and an IPv6
// LpmSnapshot plus the ECMP peer sets) through an atomic shared_ptr. Data-plane
// workers hold a CryptokeyReader that re-loads the snapshot only when the
// generation counter moved, so the per-packet cost is one relaxed atomic load
// plus the trie walk (and, for an ECMP prefix, one flow hash).
//
// Two kinds of entries, by origin:
//  - Static (allowed-ips from config): a prefix belongs to exactly ONE peer,
//    as in WireGuard; adding it to another peer moves it (`wg set ...
//    allowed-ips` does the same).
//  - Learned (from routing): a prefix maps to a SET of up to kMaxEcmpPeers
//    peers (the tunnel peers among the best path's ECMP next hops). A learned
//    add puts the peer into the prefix's set, a learned remove takes it out;
//    the prefix disappears with its last peer.
// Static and learned at the SAME prefix: static wins. The learned set is kept
// aside (shadowed) and comes back if the static entry is removed; a learned
// withdrawal never removes a static entry. At DIFFERENT prefixes the usual
// longest match decides (a static /24 inside a learned /16 takes the /24).
//
// Outbound: route_out(packet) -> the LPM match for the destination; for a set,
// the peer picked by rendezvous hashing of the packet's flow (flow_hash.hpp),
// so a flow sticks to one peer. Inbound: after decryption, allows(packet, P)
// accepts the source iff P is (in the set of) the LPM match for the source.
// A batch (apply) publishes once, so a withdrawal or a new best path switches
// both directions at the same instant for every worker's next batch.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/ip.hpp"
#include "tunnel/datapath.hpp"
#include "tunnel/flow_hash.hpp"
#include "tunnel/lpm.hpp"
#include "tunnel/peer_index.hpp"

namespace ferry::tunnel {

constexpr size_t kMaxEcmpPeers = 16;  // peers per learned prefix

enum class AllowedOrigin : uint8_t { Static = 0, Learned = 1 };

struct AllowedChange {
  enum class Op : uint8_t { Add, Remove };
  Op op = Op::Add;
  PeerIndex peer;
  Prefix prefix;
  AllowedOrigin origin = AllowedOrigin::Static;
};

// An ECMP peer set as the data plane sees it: peers in ascending order, each
// with its rendezvous-hash salt (derived from the table's seed and the peer).
struct PeerSet {
  uint32_t n = 0;
  std::array<PeerIndex, kMaxEcmpPeers> peers{};
  std::array<uint64_t, kMaxEcmpPeers> salt{};

  bool contains(PeerIndex p) const {
    for (uint32_t i = 0; i < n; ++i)
      if (peers[i] == p) return true;
    return false;
  }
  // Highest random weight: the peer whose mix(flow ^ salt) is largest. Only the
  // flows a peer wins move when it joins, only its own when it leaves.
  PeerIndex pick(uint64_t flow) const {
    PeerIndex best = peers[0];
    uint64_t best_w = flow_detail::fmix64(flow ^ salt[0]);
    for (uint32_t i = 1; i < n; ++i) {
      uint64_t w = flow_detail::fmix64(flow ^ salt[i]);
      if (w > best_w) {
        best_w = w;
        best = peers[i];
      }
    }
    return best;
  }
  static uint64_t salt_for(uint64_t seed, PeerIndex p) {
    return flow_detail::fmix64(seed ^ ((uint64_t{p.value} + 1) * 0x9e3779b97f4a7c15ULL));
  }
};

class CryptokeySnapshot {
 public:
  CryptokeySnapshot() = default;
  CryptokeySnapshot(std::shared_ptr<const LpmSnapshot<uint32_t>> v4,
                    std::shared_ptr<const LpmSnapshot<U128>> v6,
                    std::shared_ptr<const std::vector<PeerSet>> sets, uint64_t seed)
      : v4_(std::move(v4)), v6_(std::move(v6)), sets_(std::move(sets)), seed_(seed) {}

  // ---- data plane ----
  // Outbound: the peer for this packet (`pkt` is the buffer parse_inner accepted as `ip`).
  PeerIndex route_out(const InnerPacket& ip, std::span<const uint8_t> pkt) const {
    uint32_t v = raw(ip.version, ip.dst);
    if (!(v & kSetBit)) return decode_single(v);
    return set_of(v).pick(flow_hash(pkt, ip, seed_));
  }
  // Inbound: may `peer` send packets from this packet's source address?
  bool allows(const InnerPacket& ip, PeerIndex peer) const {
    uint32_t v = raw(ip.version, ip.src);
    if (!(v & kSetBit)) return v != 0 && decode_single(v) == peer;
    return set_of(v).contains(peer);
  }

  // ---- control plane / tests ----
  // The match's peer; for an ECMP set, its lowest-index member. Network-order bytes.
  PeerIndex lookup_v4(const uint8_t* addr) const { return first_peer(raw(4, addr)); }
  PeerIndex lookup_v6(const uint8_t* addr) const { return first_peer(raw(6, addr)); }
  PeerIndex lookup(const IpAddress& a) const {
    return a.is_v4() ? lookup_v4(a.bytes()) : lookup_v6(a.bytes());
  }
  // Every peer of the match (empty if none).
  std::vector<PeerIndex> lookup_all(const IpAddress& a) const;
  size_t size() const { return v4_->size() + v6_->size(); }
  size_t memory_bytes() const {
    return v4_->memory_bytes() + v6_->memory_bytes() + sets_->capacity() * sizeof(PeerSet);
  }
  uint64_t seed() const { return seed_; }

  // Value encoding shared with CryptokeyTable (0 = no entry):
  //   bit 31: learned; bit 30: ECMP set, low 30 bits = index into sets;
  //   otherwise low 30 bits = peer + 1.
  static constexpr uint32_t kLearnedBit = 0x80000000u;
  static constexpr uint32_t kSetBit = 0x40000000u;
  static constexpr uint32_t kLowMask = 0x3fffffffu;
  static uint32_t encode(PeerIndex p, AllowedOrigin o) {
    return (p.value + 1) | (o == AllowedOrigin::Learned ? kLearnedBit : 0u);
  }
  static uint32_t encode_set(uint32_t set_id) { return kLearnedBit | kSetBit | set_id; }
  static PeerIndex decode_single(uint32_t v) {
    return v == 0 ? kNoPeer : PeerIndex((v & kLowMask) - 1);
  }
  static AllowedOrigin origin_of(uint32_t v) {
    return (v & kLearnedBit) ? AllowedOrigin::Learned : AllowedOrigin::Static;
  }

 private:
  uint32_t raw(uint8_t version, const uint8_t* addr) const {
    return version == 4 ? v4_->lookup(LpmTraits<uint32_t>::from_bytes(addr))
                        : v6_->lookup(LpmTraits<U128>::from_bytes(addr));
  }
  const PeerSet& set_of(uint32_t v) const { return (*sets_)[v & kLowMask]; }
  PeerIndex first_peer(uint32_t v) const {
    return (v & kSetBit) ? set_of(v).peers[0] : decode_single(v);
  }

  // Shared between consecutive snapshots when only the other family changed.
  std::shared_ptr<const LpmSnapshot<uint32_t>> v4_;
  std::shared_ptr<const LpmSnapshot<U128>> v6_;
  std::shared_ptr<const std::vector<PeerSet>> sets_;
  uint64_t seed_ = 0;
  friend class CryptokeyTable;
};

class CryptokeyTable {
 public:
  // hash_seed: the ECMP flow-hash seed; 0 = random (per daemon). Fixed for the table's life.
  explicit CryptokeyTable(uint64_t hash_seed = 0);

  // Each call publishes once (if anything changed). Static add moves a prefix owned by
  // another peer; learned add joins the prefix's ECMP set. Remove only removes `peer`
  // with that origin (returns false otherwise).
  void add_allowed(PeerIndex peer, const Prefix& p, AllowedOrigin o = AllowedOrigin::Static);
  bool remove_allowed(PeerIndex peer, const Prefix& p, AllowedOrigin o = AllowedOrigin::Static);
  // Applies all changes in order, then publishes once. Returns how many changed what the
  // data plane sees (a learned change under a static entry only updates the shadow).
  size_t apply(std::span<const AllowedChange> changes);
  // Removes a peer from every prefix (peer deleted); publishes once.
  void remove_peer(PeerIndex peer);
  // Removes a peer from every learned set, shadowed ones included; publishes once.
  size_t clear_learned(PeerIndex peer);

  // Exact-match owner of a prefix (for an ECMP set: its lowest-index member), if any.
  std::optional<std::pair<PeerIndex, AllowedOrigin>> owner(const Prefix& p) const;
  // Exact-match peers of a prefix in effect (the static owner, or the learned set).
  std::vector<PeerIndex> peers_of(const Prefix& p) const;
  // Prefixes in effect that `peer` is (a member of) with the given origin (control-plane
  // walk, for show commands). Shadowed learned prefixes are not listed.
  std::vector<Prefix> prefixes_of(PeerIndex peer, AllowedOrigin o) const;
  size_t count_of(PeerIndex peer, AllowedOrigin o) const;
  // Learned prefixes in effect with more than one peer: f(prefix, peers).
  template <typename F>
  void for_each_ecmp(F&& f) const;

  std::shared_ptr<const CryptokeySnapshot> snapshot() const {
    return current_.load(std::memory_order_acquire);
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  size_t size() const { return v4_.size() + v6_.size(); }
  // Learned adds refused because the prefix already had kMaxEcmpPeers peers.
  uint64_t set_overflows() const { return overflows_; }
  size_t set_count() const { return set_ids_.size(); }

 private:
  struct SetSlot {
    std::vector<PeerIndex> peers;  // sorted; empty = free slot
    uint32_t refs = 0;
  };
  bool apply_one(const AllowedChange& c);
  uint32_t get(const Prefix& p) const;
  void put(const Prefix& p, uint32_t v);  // v == 0 erases
  std::vector<PeerIndex> members(uint32_t v) const;
  uint32_t intern(const std::vector<PeerIndex>& learned_peers);  // non-empty, sorted
  void retain(uint32_t v);
  void release(uint32_t v);
  bool has_member(uint32_t v, PeerIndex p) const;
  void publish();

  uint64_t seed_;
  LpmTrie<uint32_t> v4_;
  LpmTrie<U128> v6_;
  std::vector<SetSlot> sets_;                           // by set id
  std::vector<uint32_t> free_sets_;                     // ids of empty slots
  std::map<std::vector<PeerIndex>, uint32_t> set_ids_;  // hash-consing of sets
  std::map<Prefix, uint32_t> shadow_;  // learned values hidden by a static entry (rare)
  bool dirty4_ = true, dirty6_ = true, dirty_sets_ = true;  // set by edits, cleared by publish()
  uint64_t overflows_ = 0;
  std::atomic<std::shared_ptr<const CryptokeySnapshot>> current_;
  std::atomic<uint64_t> generation_{0};
};

template <typename F>
void CryptokeyTable::for_each_ecmp(F&& f) const {
  constexpr uint32_t kSet = CryptokeySnapshot::kSetBit;
  v4_.for_each([&](uint32_t k, int len, uint32_t v) {
    if (v & kSet)
      f(Prefix(LpmTraits<uint32_t>::to_address(k), len),
        sets_[v & CryptokeySnapshot::kLowMask].peers);
  });
  v6_.for_each([&](U128 k, int len, uint32_t v) {
    if (v & kSet)
      f(Prefix(LpmTraits<U128>::to_address(k), len), sets_[v & CryptokeySnapshot::kLowMask].peers);
  });
}

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
