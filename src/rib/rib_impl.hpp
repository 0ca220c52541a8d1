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
#include "rib/inline_vec.hpp"
#include "rib/path_list.hpp"
#include "rib/policy.hpp"
#include "rib/prefix_map.hpp"
#include "rib/rib.hpp"

namespace ferry::rib {

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
  // mark_stale() flagged paths of this family (V4, V6) that no sweep has
  // looked at since: without it, End-of-RIB (sent after every initial
  // table) would scan the whole table for nothing.
  bool maybe_stale[2] = {false, false};

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
  // Scratch for recompute(), reused so a decision allocates nothing.
  std::vector<Candidate> cands;
  Decider decider;
  // Resolver answers within one public call (they cannot change during it):
  // a full-table recompute asks about a handful of next hops a million times.
  mutable std::unordered_map<IpAddress, NextHopInfo> nh_cache;
  // The last answer, in front of nh_cache: a full table has few next hops,
  // and consecutive prefixes nearly always share one.
  mutable bool nh_last_valid = false;
  mutable IpAddress nh_last;
  mutable NextHopInfo nh_last_info;
  NextHopInfo resolve(const IpAddress& nh) const;

  // RAII: deliver batched best-path changes when the outermost public call ends.
  struct Batch {
    explicit Batch(Impl* i) : impl(i) { ++impl->batch_depth; }
    ~Batch() {
      if (--impl->batch_depth == 0) {
        impl->nh_cache.clear();
        impl->nh_last_valid = false;
        impl->flush();
        impl->settle();
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
  using NextHopSet = InlineVec<NextHop, 2>;  // normally one: no allocation
  struct BestState {
    uint32_t peer = 0;
    AttrRef attrs;
    NextHopSet nh;
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
  void active_next_hops(const PathList& paths, NextHopSet& out) const;
  Candidate candidate(const Path& p) const;

  // Output side (rib_out.cpp).
  void enqueue(PeerState& ps, const Prefix& prefix, PathList& e);
  uint32_t used_bits = 0;  // out_bit allocation
  // best_peer: the new best path's peer, or -1 when there is none.
  void mark_dirty(const Prefix& prefix, PathList& e, int64_t best_peer);
  void start_walk(PeerState& ps, Family f, bool eor);
  // prefix_dep: the peer's export chain looks at the prefix (no caching).
  AttrRef export_attrs(PeerState& to, const Prefix& prefix, const Path& best, ExportCache* cache,
                       bool prefix_dep);
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
  // End of a public call that may have erased many prefixes: shrinks the
  // prefix table if it became sparse and hands freed heap back to the OS.
  void settle();
  static constexpr size_t kTrimTableBytes = size_t{4} << 20;
  uint64_t trimmed_gen = 0;  // prefix-table generation at the last settle()
  bool big_free = false;     // a large buffer (a drained queue) was freed
  size_t table_bytes() const;
};

}  // namespace ferry::rib
