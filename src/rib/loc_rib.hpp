// Adj-RIB-In storage, the decision process and the Loc-RIB (after OpenBGPD's
// rde_rib.c and rde_decide.c).
//
// LocRib owns the prefix table: one entry per prefix holding every peer's
// path (pre- and post-import-policy attributes) with its decision flags. Each
// change of a prefix's paths re-runs the RFC 4271 §9.1 decision for that
// prefix (decision.hpp). A change of the best path (peer or attributes) is
// reported to the ChangeSink (the Adj-RIB-Out), before the entry may be
// erased; a change of the best path or ECMP next hops is queued for the
// BestPathListeners and delivered in one batch when the outermost call
// (begin_call()/end_call()) ends.
//
// The table's entries also carry the Adj-RIB-Out bits (PathList::adv and
// ::queued) so that a full table costs no extra map per peer. Their meaning
// is AdjRibOut's; LocRib only keeps an entry alive while any bit is set
// (maybe_erase()).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "rib/decision.hpp"
#include "rib/inline_vec.hpp"
#include "rib/path_list.hpp"
#include "rib/peer.hpp"
#include "rib/prefix_map.hpp"
#include "rib/rib.hpp"

namespace ferry::rib {

// Told about every change of a prefix's best path. best_peer: the new best
// path's peer, or -1 when there is none.
class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  virtual void best_changed(const Prefix& prefix, PathList& e, int64_t best_peer) = 0;
};

class LocRib {
 public:
  // opts and peers belong to the RIB façade and outlive this; counters of
  // `peers` are updated here as paths come and go.
  LocRib(const RibOptions& opts, PeerTable& peers, NextHopResolver resolver);
  LocRib(const LocRib&) = delete;
  LocRib& operator=(const LocRib&) = delete;

  void set_change_sink(ChangeSink* s) { sink_ = s; }
  void add_listener(BestPathListener* l);
  void remove_listener(BestPathListener* l);

  // Brackets one public RIB call. Within a call resolver answers are cached;
  // end_call() of the outermost call delivers the batched changes to the
  // listeners and returns true.
  void begin_call() { ++depth_; }
  bool end_call();

  // ---- Adj-RIB-In ----
  // Stores (replaces) the peer's path for the prefix and re-runs the decision.
  void set_path(const Prefix& prefix, uint32_t peer, AttrRef pre, AttrRef post);
  void remove_path(const Prefix& prefix, uint32_t peer);

  // ---- decision ----
  // The best path as it was before a change (holds a reference, so the
  // identity comparison after the change cannot be fooled by address reuse).
  using NextHopSet = InlineVec<NextHop, 2>;  // normally one: no allocation
  struct BestState {
    uint32_t peer = 0;
    AttrRef attrs;
    NextHopSet nh;
  };
  BestState best_state(const PathList& paths) const;
  // Decision for one prefix whose paths were changed in place; `old` was
  // captured before. Erases the entry if it has no paths left.
  void recompute(const Prefix& prefix, PathList& paths, const BestState& old);
  void recompute_all();
  // RFC 4724 §4.1 selection deferral: while on, paths are stored but no
  // decision runs (no best path, nothing reported to the sink or listeners);
  // switching it off decides every prefix once.
  void set_deferred(bool on);
  bool deferred() const { return deferred_; }
  // The best path's next hop first, then the other ECMP members.
  std::vector<NextHop> active_next_hops(const PathList& paths) const;

  // ---- the table ----
  PathList* find(const Prefix& p) { return table_.find(p); }
  const PathList* find(const Prefix& p) const { return table_.find(p); }
  void prefetch(const Prefix& p) const { table_.prefetch(p); }
  template <class Fn>
  void for_each(Fn&& fn) {
    table_.for_each(std::forward<Fn>(fn));
  }
  template <class Fn>
  void for_each(Fn&& fn) const {
    table_.for_each(std::forward<Fn>(fn));
  }
  // Slot walker (safe against maybe_erase() of the current slot).
  size_t capacity(Family f) const { return table_.capacity(f); }
  PathList* at(Family f, size_t i, Prefix* p) { return table_.at(f, i, p); }
  // Drops the entry if it holds neither paths nor Adj-RIB-Out bits.
  void maybe_erase(const Prefix& prefix, PathList& e) {
    if (e.empty() && e.adv == 0 && e.queued == 0) table_.erase(prefix);
  }
  // The prefixes of family f that have paths, as of now. Snapshots taken
  // while the set of prefixes is unchanged are shared.
  std::shared_ptr<const std::vector<Prefix>> prefix_snapshot(Family f);

  size_t prefix_count() const { return prefix_count_; }  // entries with a path
  size_t path_count() const { return path_count_; }
  // Table slots plus the heap arrays of multi-path entries.
  size_t bytes() const;
  size_t table_bytes() const { return table_.bytes(); }
  // Shrinks a sparse table; true if it rebuilt.
  bool shrink_if_sparse() { return table_.shrink_if_sparse(); }
  // Changes whenever the table is rebuilt (grown or shrunk).
  uint64_t generation() const {
    return table_.generation(Family::V4) + table_.generation(Family::V6);
  }

 private:
  Candidate candidate(const Path& p) const;
  NextHopInfo resolve(const IpAddress& nh) const;
  void active_next_hops(const PathList& paths, NextHopSet& out) const;
  void flush();

  const RibOptions& opts_;
  PeerTable& peers_;
  NextHopResolver resolver_;
  ChangeSink* sink_ = nullptr;

  PrefixMap<PathList> table_;
  size_t path_count_ = 0;
  size_t prefix_count_ = 0;
  // Bumped whenever a prefix gains its first path or loses its last one;
  // walk snapshots taken at the same version are shared.
  uint64_t prefix_set_version_ = 0;
  std::weak_ptr<const std::vector<Prefix>> snapshot_[2];
  uint64_t snapshot_version_[2] = {0, 0};

  std::vector<BestPathListener*> listeners_;
  std::vector<BestChange> changes_;  // batched for listeners
  int depth_ = 0;

  // Scratch for recompute(), reused so a decision allocates nothing.
  std::vector<Candidate> cands_;
  Decider decider_;
  // Resolver answers within one call (they cannot change during it): a
  // full-table recompute asks about a handful of next hops a million times.
  mutable std::unordered_map<IpAddress, NextHopInfo> nh_cache_;
  // The last answer, in front of nh_cache_: a full table has few next hops,
  // and consecutive prefixes nearly always share one.
  mutable bool nh_last_valid_ = false;
  mutable IpAddress nh_last_;
  mutable NextHopInfo nh_last_info_;
  bool deferred_ = false;  // see set_deferred()
};

}  // namespace ferry::rib
