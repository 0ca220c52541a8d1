// Internal state of Rib (see rib.hpp for the data flow). Split out so the
// Adj-RIB-In / decision half (rib.cpp) and the export / update-generation half
// (rib_out.cpp) can share it.
#pragma once

#include <functional>
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

using PathList = std::vector<Path>;

constexpr uint32_t kFirstBgpPeer = 8;

struct PeerState {
  bool used = false;
  bool local = false;  // pseudo-peer for a RouteSource
  RouteSource source = RouteSource::Bgp;
  PeerConfig cfg;
  bool up = false;
  bool ibgp = false;
  PeerSession sess;
  bool fam[2] = {false, false};  // negotiated V4, V6
  PeerCounters counters;

  // ---- Adj-RIB-Out and the pending queue (filled while up, cleared on down) ----
  PrefixMap<AttrRef> adj_out;  // what the peer was last sent
  std::vector<Prefix> queue;   // dirty prefixes, in the order they changed
  size_t queue_head = 0;
  PrefixMap<uint8_t> queued;  // dedupes `queue` (coalescing)
  struct Walk {
    bool active = false;
    bool eor = false;  // send End-of-RIB when the walk ends
    size_t pos = 0;
    uint64_t gen = 0;
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
  std::vector<BestPathListener*> listeners;
  std::function<void(PeerId)> pending_cb;
  std::vector<BestChange> changes;  // batched for listeners
  int batch_depth = 0;

  // RAII: deliver batched best-path changes when the outermost public call ends.
  struct Batch {
    explicit Batch(Impl* i) : impl(i) { ++impl->batch_depth; }
    ~Batch() {
      if (--impl->batch_depth == 0) impl->flush();
    }
    Impl* impl;
  };

  PeerState* peer(PeerId p);
  const PeerState* peer(PeerId p) const;
  uint32_t cluster_id() const { return opts.cluster_id.value_or(opts.router_id).value(); }

  // Import: returns the post-policy attributes or null (rejected).
  AttrRef import_attrs(PeerState& ps, const Prefix& prefix, const AttrRef& pre);
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
  void enqueue(PeerState& ps, const Prefix& prefix);
  void mark_dirty(const Prefix& prefix);
  void start_walk(PeerState& ps, Family f, bool eor);
  AttrRef export_attrs(PeerState& to, const Prefix& prefix, const Path& best,
                       std::unordered_map<uint64_t, AttrRef>* cache);
  PullResult pull(PeerId p, size_t budget);
  void reset_out(PeerState& ps);

  void flush();
  size_t table_bytes() const;
};

}  // namespace ferry::rib
