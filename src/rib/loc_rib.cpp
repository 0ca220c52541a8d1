// LocRib: Adj-RIB-In storage, the per-prefix decision and best-path change
// batching.
#include "rib/loc_rib.hpp"

#include <algorithm>

namespace ferry::rib {

LocRib::LocRib(const RibOptions& opts, PeerTable& peers, NextHopResolver resolver)
    : opts_(opts), peers_(peers), resolver_(std::move(resolver)) {}

void LocRib::add_listener(BestPathListener* l) {
  listeners_.push_back(l);
}

void LocRib::remove_listener(BestPathListener* l) {
  std::erase(listeners_, l);
}

bool LocRib::end_call() {
  if (--depth_ != 0) return false;
  nh_cache_.clear();
  nh_last_valid_ = false;
  flush();
  return true;
}

void LocRib::flush() {
  if (changes_.empty()) return;
  std::vector<BestChange> batch;
  batch.swap(changes_);
  for (BestPathListener* l : listeners_) l->on_best_changes(batch);
}

// ---- Adj-RIB-In ----------------------------------------------------------------

void LocRib::set_path(const Prefix& prefix, uint32_t peer_id, AttrRef pre, AttrRef post) {
  PeerState& ps = peers_[peer_id];
  PathList& paths = table_.get(prefix);
  // Paths are kept sorted by peer id: deterministic output, cheap lookup.
  auto it = std::lower_bound(paths.begin(), paths.end(), peer_id,
                             [](const Path& a, uint32_t id) { return a.peer < id; });
  if (it != paths.end() && it->peer == peer_id) {
    if (it->pre == pre && it->post == post) {
      it->flags &= static_cast<uint8_t>(~kPathStale);  // refreshed after a restart
      return;
    }
    BestState old = best_state(paths);
    if (it->post) --ps.counters.accepted;
    it->pre = std::move(pre);
    it->post = std::move(post);
    it->flags &= static_cast<uint8_t>(~kPathStale);
    if (it->post) ++ps.counters.accepted;
    recompute(prefix, paths, old);
    return;
  }
  BestState old = best_state(paths);
  Path np;
  np.pre = std::move(pre);
  np.post = std::move(post);
  np.peer = peer_id;
  if (np.post) ++ps.counters.accepted;
  size_t at = static_cast<size_t>(it - paths.begin());
  if (paths.empty()) {
    ++prefix_count_;
    ++prefix_set_version_;
  }
  paths.insert(at, std::move(np));
  ++ps.counters.received;
  ++path_count_;
  recompute(prefix, paths, old);
}

void LocRib::remove_path(const Prefix& prefix, uint32_t peer_id) {
  PathList* paths = table_.find(prefix);
  if (!paths) return;
  auto it = std::lower_bound(paths->begin(), paths->end(), peer_id,
                             [](const Path& a, uint32_t id) { return a.peer < id; });
  if (it == paths->end() || it->peer != peer_id) return;
  PeerState& ps = peers_[peer_id];
  BestState old = best_state(*paths);
  if (it->post) --ps.counters.accepted;
  --ps.counters.received;
  --path_count_;
  paths->erase(static_cast<size_t>(it - paths->begin()));
  if (paths->empty()) {
    --prefix_count_;
    ++prefix_set_version_;
  }
  recompute(prefix, *paths, old);
}

// ---- decision ----------------------------------------------------------------

Candidate LocRib::candidate(const Path& p) const {
  const PeerState& ps = peers_[p.peer];
  Candidate c;
  c.attrs = p.post ? &p.post.summary() : nullptr;
  c.ibgp = ps.ibgp;
  c.local = ps.local;
  c.tiebreak = p.peer;
  c.weight = ps.local ? 0 : ps.cfg.weight;
  if (ps.local) {
    c.router_id = opts_.router_id.value();
    c.nh = NextHopInfo{true, 0};
    return c;
  }
  c.router_id = c.attrs && (c.attrs->has & AttrSummary::kHasOriginator) ? c.attrs->originator_id
                                                                        : ps.sess.router_id.value();
  c.peer_address = ps.cfg.address;
  if (c.attrs && (c.attrs->has & AttrSummary::kHasNextHop))
    c.nh = resolve(c.attrs->next_hop);
  else
    c.nh = NextHopInfo{false, 0};
  return c;
}

NextHopInfo LocRib::resolve(const IpAddress& nh) const {
  if (!resolver_) return NextHopInfo{true, 0};
  if (depth_ == 0) return resolver_(nh);
  if (nh_last_valid_ && nh_last_ == nh) return nh_last_info_;
  auto [it, fresh] = nh_cache_.try_emplace(nh);
  if (fresh) it->second = resolver_(nh);
  nh_last_valid_ = true;
  nh_last_ = nh;
  nh_last_info_ = it->second;
  return it->second;
}

void LocRib::active_next_hops(const PathList& paths, NextHopSet& v) const {
  v.clear();
  for (const Path& p : paths)
    if ((p.flags & kPathBest) && p.post)
      v.push_back({p.post.summary().nh().value_or(IpAddress()), PeerId{p.peer}});
  if (v.empty()) return;
  for (const Path& p : paths)
    if ((p.flags & kPathActive) && !(p.flags & kPathBest) && p.post)
      v.push_back({p.post.summary().nh().value_or(IpAddress()), PeerId{p.peer}});
  std::sort(v.begin() + 1, v.end(), [](const NextHop& a, const NextHop& b) {
    return std::make_pair(a.address, to_int(a.peer)) < std::make_pair(b.address, to_int(b.peer));
  });
}

std::vector<NextHop> LocRib::active_next_hops(const PathList& paths) const {
  NextHopSet v;
  active_next_hops(paths, v);
  return v.to_vector();
}

LocRib::BestState LocRib::best_state(const PathList& paths) const {
  BestState b;
  for (const Path& p : paths) {
    if (p.flags & kPathBest) {
      b.peer = p.peer;
      b.attrs = p.post;
      break;
    }
  }
  active_next_hops(paths, b.nh);
  return b;
}

void LocRib::recompute(const Prefix& prefix, PathList& paths, const BestState& old) {
  if (deferred_) {
    maybe_erase(prefix, paths);
    return;
  }
  cands_.clear();
  for (const Path& p : paths) cands_.push_back(candidate(p));
  DecisionOptions dopt{opts_.max_paths, opts_.always_compare_med, opts_.multipath_relax};
  const DecisionResult& r = decider_.run(cands_, dopt);
  for (size_t i = 0; i < paths.size(); ++i) {
    paths[i].flags &= static_cast<uint8_t>(~(kPathBest | kPathActive));
    paths[i].reason = r.reasons[i];
    uint32_t cost = cands_[i].nh.igp_cost;
    paths[i].igp_cost_hint = static_cast<uint16_t>(std::min<uint32_t>(cost, 0xffff));
  }
  if (r.best >= 0) {
    paths[r.best].flags |= kPathBest;
    for (int i : r.active) paths[i].flags |= kPathActive;
  }
  uint32_t new_peer = r.best >= 0 ? paths[r.best].peer : 0;
  const void* new_attrs = r.best >= 0 ? paths[r.best].post.id() : nullptr;
  NextHopSet new_nh;
  active_next_hops(paths, new_nh);

  if (sink_ && (new_peer != old.peer || new_attrs != old.attrs.id()))
    sink_->best_changed(prefix, paths, r.best >= 0 ? int64_t{new_peer} : -1);
  // Nobody to tell (no listener): the batch would be dropped by flush() anyway.
  if (!listeners_.empty() && (!(new_nh == old.nh) || new_peer != old.peer)) {
    BestChange ch;
    ch.prefix = prefix;
    ch.next_hops = new_nh.to_vector();
    ch.source = r.best >= 0 ? peers_[new_peer].source : RouteSource::Bgp;
    changes_.push_back(std::move(ch));
  }
  maybe_erase(prefix, paths);
}

void LocRib::set_deferred(bool on) {
  if (deferred_ == on) return;
  deferred_ = on;
  if (!on) recompute_all();
}

void LocRib::recompute_all() {
  table_.for_each(
      [&](const Prefix& p, PathList& paths) { recompute(p, paths, best_state(paths)); });
}

// ---- the table -----------------------------------------------------------------

std::shared_ptr<const std::vector<Prefix>> LocRib::prefix_snapshot(Family f) {
  int fi = fam_index(f);
  std::shared_ptr<const std::vector<Prefix>> snap = snapshot_[fi].lock();
  if (snap && snapshot_version_[fi] == prefix_set_version_) return snap;
  auto v = std::make_shared<std::vector<Prefix>>();
  v->reserve(table_.size(f));
  Prefix prefix;
  for (size_t i = 0, n = table_.capacity(f); i < n; ++i)
    if (PathList* e = table_.at(f, i, &prefix); e && !e->empty()) v->push_back(prefix);
  snap = std::move(v);
  snapshot_[fi] = snap;
  snapshot_version_[fi] = prefix_set_version_;
  return snap;
}

size_t LocRib::bytes() const {
  size_t n = table_.bytes();
  table_.for_each([&](const Prefix&, const PathList& paths) {
    if (paths.capacity()) n += paths.capacity() * sizeof(Path) + 16;  // + malloc header
  });
  return n;
}

}  // namespace ferry::rib
