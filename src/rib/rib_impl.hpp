// Internal state of Rib (see rib.hpp for the data flow). Split out so the
// Adj-RIB-In / decision half (rib.cpp) and the export / update-generation half
// (rib_out.cpp) can share it.
#pragma once

#include <functional>
#include <memory>
#include <new>
#include <unordered_map>
#include <vector>

#include "rib/decision.hpp"
#include "rib/policy.hpp"
#include "rib/prefix_map.hpp"
#include "rib/rib.hpp"

namespace ferry::rib {

// One path of a prefix: a few words. `pre` is what the peer sent (kept for
// soft reconfiguration), `post` the result of import policy (null: rejected).
struct Path {
  AttrRef pre;
  AttrRef post;
  uint32_t peer = 0;
  uint8_t flags = 0;
  LossReason reason = LossReason::None;
  uint16_t igp_cost_hint = 0;  // saturated IGP cost seen at the last decision (show only)
};
constexpr uint8_t kPathStale = 1;
constexpr uint8_t kPathBest = 2;
constexpr uint8_t kPathActive = 4;

// The paths of one prefix, sorted by peer id, plus the Adj-RIB-Out bits.
// 16 bytes (a std::vector would be 24 and carry no spare room for `adv`).
class PathList {
 public:
  PathList() = default;
  PathList(PathList&& o) noexcept : adv(o.adv), queued(o.queued), p_(o.p_), n_(o.n_), cap_(o.cap_) {
    o.p_ = nullptr;
    o.n_ = o.cap_ = 0;
    o.adv = o.queued = 0;
  }
  PathList& operator=(PathList&& o) noexcept {
    if (this != &o) {
      destroy();
      p_ = o.p_;
      n_ = o.n_;
      cap_ = o.cap_;
      adv = o.adv;
      queued = o.queued;
      o.p_ = nullptr;
      o.n_ = o.cap_ = 0;
      o.adv = o.queued = 0;
    }
    return *this;
  }
  PathList(const PathList&) = delete;
  PathList& operator=(const PathList&) = delete;
  ~PathList() { destroy(); }

  Path* begin() { return p_; }
  Path* end() { return p_ + n_; }
  const Path* begin() const { return p_; }
  const Path* end() const { return p_ + n_; }
  size_t size() const { return n_; }
  size_t capacity() const { return cap_; }
  bool empty() const { return n_ == 0; }
  Path& operator[](size_t i) { return p_[i]; }
  const Path& operator[](size_t i) const { return p_[i]; }

  void insert(size_t at, Path&& x) {
    if (n_ == cap_) grow(cap_ < 2 ? cap_ + 1 : cap_ * 2);
    new (p_ + n_) Path();
    for (size_t i = n_; i > at; --i) p_[i] = std::move(p_[i - 1]);
    p_[at] = std::move(x);
    ++n_;
  }
  void erase(size_t at) {
    for (size_t i = at; i + 1 < n_; ++i) p_[i] = std::move(p_[i + 1]);
    p_[--n_].~Path();
    if (n_ == 0) destroy();
  }

  // Adj-RIB-Out: bit i set = the peer with out_bit i was sent this prefix
  // and has not been sent a withdrawal since. An entry is kept while any bit
  // is set, even with no paths, so the withdrawal can still be generated.
  uint32_t adv = 0;
  // Bit i set = the prefix is in the pending queue of the peer with out_bit i
  // (dedupes the queue without a hash lookup). Also keeps the entry alive.
  uint32_t queued = 0;

 private:
  void grow(size_t cap) {
    Path* np = static_cast<Path*>(::operator new(cap * sizeof(Path)));
    for (size_t i = 0; i < n_; ++i) {
      new (np + i) Path(std::move(p_[i]));
      p_[i].~Path();
    }
    ::operator delete(p_);
    p_ = np;
    cap_ = static_cast<uint16_t>(cap);
  }
  void destroy() {
    for (size_t i = 0; i < n_; ++i) p_[i].~Path();
    ::operator delete(p_);
    p_ = nullptr;
    n_ = cap_ = 0;
  }
  Path* p_ = nullptr;
  uint16_t n_ = 0;
  uint16_t cap_ = 0;
};
constexpr int kAdvBits = 32;

constexpr uint32_t kFirstBgpPeer = 8;

// Export results for one pull: (source attributes, source peer, family) ->
// exported attributes (null: not exported).
struct ExportKey {
  const void* attrs;
  uint32_t peer;
  int fam;
  bool operator==(const ExportKey&) const = default;
};
struct ExportKeyHash {
  size_t operator()(const ExportKey& k) const noexcept {
    return std::hash<const void*>{}(k.attrs) * 31 + k.peer * 2 + static_cast<size_t>(k.fam);
  }
};
using ExportCache = std::unordered_map<ExportKey, AttrRef, ExportKeyHash>;

struct PeerState {
  bool used = false;
  bool local = false;  // pseudo-peer for a RouteSource
  RouteSource source = RouteSource::Bgp;
  PeerConfig cfg;
  bool up = false;
  bool ibgp = false;
  PeerSession sess;
  bool fam[2] = {false, false};  // negotiated V4, V6
  // The export-relevant settings the Adj-RIB-Out was generated with; a reload
  // re-exports the table to this peer only when they (or a policy they name) change.
  PeerConfig exported_with;
  std::vector<uint64_t> exported_versions;  // PolicyEngine::versions of its export chain
  PeerCounters counters;

  // ---- Adj-RIB-Out and the pending queue (filled while up, cleared on down) ----
  // Whether a prefix was sent to this peer: bit `out_bit` of PathList::adv, or
  // for peers beyond the first kAdvBits, membership in adj_out_overflow. Only
  // the fact is stored, not the attributes: they are recomputed from the
  // Loc-RIB when needed, which keeps a full table's Adj-RIB-Out at one bit
  // per prefix and peer.
  int out_bit = -1;
  PrefixMap<uint8_t> adj_out_overflow;
  std::vector<Prefix> queue;  // dirty prefixes, in the order they changed
  size_t queue_head = 0;
  PrefixMap<uint8_t> queued;  // dedupes `queue` for peers without an out_bit
  // A full-table pass: the initial dump after peer_up, a route refresh or
  // an export-policy change. It walks a snapshot of the family's prefixes
  // taken at the start (the table itself may be rebuilt meanwhile); prefixes
  // that change later are queued and sent from the queue. Walks run before
  // the queue, so nothing is sent twice.
  struct Walk {
    bool active = false;
    bool eor = false;       // send End-of-RIB when the walk ends
    bool eor_wait = false;  // walk ended; EoR once the queue is drained up to eor_mark
    size_t eor_mark = 0;
    size_t pos = 0;
    std::shared_ptr<const std::vector<Prefix>> list;  // set while active
  } walk[2];
  bool notified = false;  // pending callback fired and not yet drained
};

inline int fam_index(Family f) {
  return f == Family::V4 ? 0 : 1;
}

class Rib::Impl {
 public:
  Impl(RibOptions o, NextHopResolver r);

  // Declared first so it is destroyed last: everything else holds AttrRefs.
  AttrTable attrs;
  RibOptions opts;
  NextHopResolver resolver;
  PolicyEngine policy;
  std::vector<PeerState> peers;  // indexed by PeerId
  PrefixMap<PathList> loc;       // Adj-RIB-In + Loc-RIB, one entry per prefix
  size_t path_count = 0;
  size_t prefix_count = 0;  // entries with at least one path
  // Bumped whenever a prefix gains its first path or loses its last one;
  // walk snapshots taken at the same version are shared.
  uint64_t prefix_set_version = 0;
  std::weak_ptr<const std::vector<Prefix>> snapshot[2];
  uint64_t snapshot_version[2] = {0, 0};
  std::vector<BestPathListener*> listeners;
  std::function<void(PeerId)> pending_cb;
  std::vector<BestChange> changes;  // batched for listeners
  int batch_depth = 0;
  // Resolver answers within one public call (they cannot change during it):
  // a full-table recompute asks about a handful of next hops a million times.
  mutable std::unordered_map<IpAddress, NextHopInfo> nh_cache;
  NextHopInfo resolve(const IpAddress& nh) const;

  // RAII: deliver batched best-path changes when the outermost public call ends.
  struct Batch {
    explicit Batch(Impl* i) : impl(i) { ++impl->batch_depth; }
    ~Batch() {
      if (--impl->batch_depth == 0) {
        impl->nh_cache.clear();
        impl->flush();
      }
    }
    Impl* impl;
  };

  PeerState* peer(PeerId p);
  const PeerState* peer(PeerId p) const;
  uint32_t cluster_id() const { return opts.cluster_id.value_or(opts.router_id).value(); }

  // Import: returns the post-policy attributes or null (rejected).
  AttrRef import_attrs(PeerState& ps, const Prefix& prefix, const AttrRef& base,
                       const bgp::PathAttributes& base_val);
  // Normalises what an eBGP peer sent before policy (RFC 4271 §5.1.5: LOCAL_PREF ignored).
  AttrRef import_base(PeerState& ps, const AttrRef& pre);
  bool import_loop(PeerState& ps, const bgp::PathAttributes& a);
  bool import_chain_empty_reject(const PeerState& ps) const;
  void apply_import(uint32_t peer_id, std::span<const Prefix> prefixes, const AttrRef& pre);
  void set_path(const Prefix& prefix, uint32_t peer_id, AttrRef pre, AttrRef post);
  void remove_path(const Prefix& prefix, uint32_t peer_id);

  // The best path as it was before a change (holds a reference, so the
  // identity comparison after the change cannot be fooled by address reuse).
  struct BestState {
    uint32_t peer = 0;
    AttrRef attrs;
    std::vector<NextHop> nh;
  };
  BestState best_state(const PathList& paths) const;
  // Decision for one prefix; `old` was captured before the paths changed.
  // Erases the entry if it has no paths left.
  void recompute(const Prefix& prefix, PathList& paths, const BestState& old);
  void recompute(const Prefix& prefix, PathList& paths) {
    recompute(prefix, paths, best_state(paths));
  }
  void recompute_all();
  std::vector<NextHop> active_next_hops(const PathList& paths) const;
  Candidate candidate(const Path& p) const;

  // Output side (rib_out.cpp).
  void enqueue(PeerState& ps, const Prefix& prefix, PathList& e);
  uint32_t used_bits = 0;  // out_bit allocation
  void mark_dirty(const Prefix& prefix, PathList& e);
  void start_walk(PeerState& ps, Family f, bool eor);
  AttrRef export_attrs(PeerState& to, const Prefix& prefix, const Path& best, ExportCache* cache);
  bool advertised(const PeerState& ps, const Prefix& prefix, const PathList* e) const;
  void set_advertised(PeerState& ps, const Prefix& prefix, PathList* e, bool on);
  // Forgets everything sent to and queued for the peer (session down).
  void clear_out_bits(PeerState& ps);
  // Drops the entry if it holds neither paths nor Adj-RIB-Out bits.
  void maybe_erase(const Prefix& prefix, PathList& e) {
    if (e.empty() && e.adv == 0 && e.queued == 0) loc.erase(prefix);
  }
  PullResult pull(PeerId p, size_t budget);
  void reset_out(PeerState& ps);

  void flush();
  size_t table_bytes() const;
};

}  // namespace ferry::rib
