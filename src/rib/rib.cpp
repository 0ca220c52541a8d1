// Rib: peers, Adj-RIB-In, import, decision and queries. The export side and
// update generation live in rib_out.cpp.
#include "rib/rib.hpp"

#include <algorithm>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "rib/rib_impl.hpp"

namespace ferry::rib {

const char* route_source_name(RouteSource s) {
  switch (s) {
    case RouteSource::Bgp:
      return "bgp";
    case RouteSource::Network:
      return "network";
    case RouteSource::Static:
      return "static";
    case RouteSource::Connected:
      return "connected";
    case RouteSource::Kernel:
      return "kernel";
  }
  return "unknown";
}

PeerId local_peer(RouteSource s) {
  return PeerId{static_cast<uint32_t>(s)};
}

const char* loss_reason_name(LossReason r) {
  switch (r) {
    case LossReason::None:
      return "none";
    case LossReason::LocalPref:
      return "local_pref";
    case LossReason::AsPathLength:
      return "as_path_length";
    case LossReason::Origin:
      return "origin";
    case LossReason::Med:
      return "med";
    case LossReason::EbgpOverIbgp:
      return "ebgp_over_ibgp";
    case LossReason::IgpCost:
      return "igp_cost";
    case LossReason::RouterId:
      return "router_id";
    case LossReason::ClusterList:
      return "cluster_list";
    case LossReason::PeerAddress:
      return "peer_address";
    case LossReason::NextHopUnreachable:
      return "next_hop_unreachable";
    case LossReason::Rejected:
      return "rejected";
  }
  return "unknown";
}

PeerConfig PeerConfig::from(const config::BgpNeighborConfig& n) {
  PeerConfig c;
  c.name = n.name;
  c.address = n.address;
  c.remote_asn = n.remote_asn;
  c.route_reflector_client = n.route_reflector_client;
  c.next_hop_self = n.next_hop_self;
  c.import_policies = n.import_policies;
  c.export_policies = n.export_policies;
  c.import_set = n.import_set;
  c.export_set = n.export_set;
  return c;
}

// ---- Impl: helpers -----------------------------------------------------------

Rib::Impl::Impl(RibOptions o, NextHopResolver r) : opts(o), resolver(std::move(r)) {
  peers.resize(kFirstBgpPeer);
  for (RouteSource s :
       {RouteSource::Network, RouteSource::Static, RouteSource::Connected, RouteSource::Kernel}) {
    PeerState& ps = peers[to_int(local_peer(s))];
    ps.used = true;
    ps.local = true;
    ps.source = s;
    ps.cfg.name = route_source_name(s);
  }
}

PeerState* Rib::Impl::peer(PeerId p) {
  uint32_t i = to_int(p);
  return i < peers.size() && peers[i].used ? &peers[i] : nullptr;
}
const PeerState* Rib::Impl::peer(PeerId p) const {
  return const_cast<Impl*>(this)->peer(p);
}

void Rib::Impl::flush() {
  if (changes.empty()) return;
  std::vector<BestChange> batch;
  batch.swap(changes);
  for (BestPathListener* l : listeners) l->on_best_changes(batch);
}

void Rib::Impl::settle() {
  bool shrunk = loc.shrink_if_sparse();
  uint64_t gen = loc.generation(Family::V4) + loc.generation(Family::V6);
  bool big = loc.bytes() >= kTrimTableBytes;
  // Large blocks freed since the last trim: a grown table's old slot array, a
  // drained queue, or (after a shrink) a withdrawn table's attribute sets.
  // glibc raises its mmap threshold after the first big free, so later ones
  // come from (and are freed back into) the heap, which keeps them: without
  // a trim a full table left ~50 MB of free heap resident (ferry-bench-rib
  // style load, 1M prefixes: RSS 155 -> 102 MB with the trim).
  bool freed = shrunk || big_free || (big && gen != trimmed_gen);
  trimmed_gen = gen;
  big_free = false;
  if (!freed) return;
#ifdef __GLIBC__
  malloc_trim(0);  // a few ms; a table reaches kTrimTableBytes after ~15 growth steps
#endif
}

// ---- import ------------------------------------------------------------------

bool Rib::Impl::import_loop(PeerState& ps, const bgp::PathAttributes& a) {
  if (!ps.ibgp) {
    // RFC 4271 §9.1.2: a route whose AS_PATH contains our own AS is a loop.
    return as_path_contains(a, opts.local_asn.value());
  }
  // RFC 4456 §8: ORIGINATOR_ID equal to our router ID, or our CLUSTER_ID in
  // the CLUSTER_LIST, means the route was reflected back to us.
  if (a.originator_id && *a.originator_id == opts.router_id.value()) return true;
  uint32_t cid = cluster_id();
  return std::find(a.cluster_list.begin(), a.cluster_list.end(), cid) != a.cluster_list.end();
}

AttrRef Rib::Impl::import_base(PeerState& ps, const AttrRef& pre) {
  if (ps.ibgp || ps.local) return pre;
  // RFC 4271 §5.1.5: LOCAL_PREF from an external peer is ignored (removed,
  // so the decision uses the default unless import policy sets one). Peers
  // rarely send it, so this normally costs nothing.
  if (!(pre.summary().has & AttrSummary::kHasLocalPref)) return pre;
  bgp::PathAttributes a = *pre;
  a.local_pref.reset();
  return attrs.intern(std::move(a));
}

AttrRef Rib::Impl::import_attrs(PeerState& ps, const Prefix& prefix, const AttrRef& base,
                                const bgp::PathAttributes& base_val) {
  const auto& chain = ps.cfg.import_policies;
  if (chain.empty()) {
    // RFC 8212 §3: without import policy an eBGP session accepts nothing.
    if (!ps.ibgp) return AttrRef();
    return base;
  }
  PolicyInput in;
  in.prefix = &prefix;
  in.source = RouteSource::Bgp;
  in.neighbor_name = &ps.cfg.name;
  in.neighbor_address = &ps.cfg.address;
  in.local_asn = opts.local_asn.value();
  std::optional<bgp::PathAttributes> out;
  PolicyOutcome r = policy.run(chain, in, base_val, out);
  if (!r.accept) return AttrRef();
  return out ? attrs.intern(std::move(*out)) : base;
}

void Rib::Impl::apply_import(uint32_t peer_id, std::span<const Prefix> prefixes,
                             const AttrRef& pre) {
  PeerState& ps = peers[peer_id];
  // The prefix table is far larger than the cache: start every lookup of
  // this UPDATE before doing the first one.
  for (const Prefix& p : prefixes) loc.prefetch(p);
  if (ps.local) {
    for (const Prefix& p : prefixes) set_path(p, peer_id, pre, pre);
    return;
  }
  AttrRef base = import_base(ps, pre);
  const bgp::PathAttributes base_val = *base;  // decoded once per UPDATE
  bool loop = import_loop(ps, base_val);
  if (loop) ps.counters.loops_rejected += prefixes.size();
  bool per_prefix = policy.depends_on_prefix(ps.cfg.import_policies);
  AttrRef cached;
  bool have = false;
  for (const Prefix& p : prefixes) {
    AttrRef post;
    if (!loop) {
      if (!per_prefix && have) {
        post = cached;
      } else {
        post = import_attrs(ps, p, base, base_val);
        cached = post;
        have = true;
      }
    }
    set_path(p, peer_id, pre, std::move(post));
  }
}

void Rib::Impl::set_path(const Prefix& prefix, uint32_t peer_id, AttrRef pre, AttrRef post) {
  PeerState& ps = peers[peer_id];
  PathList& paths = loc.get(prefix);
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
    ++prefix_count;
    ++prefix_set_version;
  }
  paths.insert(at, std::move(np));
  ++ps.counters.received;
  ++path_count;
  recompute(prefix, paths, old);
}

void Rib::Impl::remove_path(const Prefix& prefix, uint32_t peer_id) {
  PathList* paths = loc.find(prefix);
  if (!paths) return;
  auto it = std::lower_bound(paths->begin(), paths->end(), peer_id,
                             [](const Path& a, uint32_t id) { return a.peer < id; });
  if (it == paths->end() || it->peer != peer_id) return;
  PeerState& ps = peers[peer_id];
  BestState old = best_state(*paths);
  if (it->post) --ps.counters.accepted;
  --ps.counters.received;
  --path_count;
  paths->erase(static_cast<size_t>(it - paths->begin()));
  if (paths->empty()) {
    --prefix_count;
    ++prefix_set_version;
  }
  recompute(prefix, *paths, old);
}

// ---- decision ----------------------------------------------------------------

Candidate Rib::Impl::candidate(const Path& p) const {
  const PeerState& ps = peers[p.peer];
  Candidate c;
  c.attrs = p.post ? &p.post.summary() : nullptr;
  c.ibgp = ps.ibgp;
  c.local = ps.local;
  c.tiebreak = p.peer;
  if (ps.local) {
    c.router_id = opts.router_id.value();
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

NextHopInfo Rib::Impl::resolve(const IpAddress& nh) const {
  if (!resolver) return NextHopInfo{true, 0};
  if (batch_depth == 0) return resolver(nh);
  if (nh_last_valid && nh_last == nh) return nh_last_info;
  auto [it, fresh] = nh_cache.try_emplace(nh);
  if (fresh) it->second = resolver(nh);
  nh_last_valid = true;
  nh_last = nh;
  nh_last_info = it->second;
  return it->second;
}

void Rib::Impl::active_next_hops(const PathList& paths, NextHopSet& v) const {
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

std::vector<NextHop> Rib::Impl::active_next_hops(const PathList& paths) const {
  NextHopSet v;
  active_next_hops(paths, v);
  return v.to_vector();
}

Rib::Impl::BestState Rib::Impl::best_state(const PathList& paths) const {
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

void Rib::Impl::recompute(const Prefix& prefix, PathList& paths, const BestState& old) {
  cands.clear();
  for (const Path& p : paths) cands.push_back(candidate(p));
  DecisionOptions dopt{opts.max_paths, opts.always_compare_med, opts.multipath_relax};
  const DecisionResult& r = decider.run(cands, dopt);
  for (size_t i = 0; i < paths.size(); ++i) {
    paths[i].flags &= static_cast<uint8_t>(~(kPathBest | kPathActive));
    paths[i].reason = r.reasons[i];
    uint32_t cost = cands[i].nh.igp_cost;
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

  if (new_peer != old.peer || new_attrs != old.attrs.id())
    mark_dirty(prefix, paths, r.best >= 0 ? int64_t{new_peer} : -1);
  // Nobody to tell (no listener): the batch would be dropped by flush() anyway.
  if (!listeners.empty() && (!(new_nh == old.nh) || new_peer != old.peer)) {
    BestChange ch;
    ch.prefix = prefix;
    ch.next_hops = new_nh.to_vector();
    ch.source = r.best >= 0 ? peers[new_peer].source : RouteSource::Bgp;
    changes.push_back(std::move(ch));
  }
  maybe_erase(prefix, paths);
}

void Rib::Impl::recompute_all() {
  loc.for_each([&](const Prefix& p, PathList& paths) { recompute(p, paths); });
}

size_t Rib::Impl::table_bytes() const {
  size_t n = loc.bytes();
  loc.for_each([&](const Prefix&, const PathList& paths) {
    if (paths.capacity()) n += paths.capacity() * sizeof(Path) + 16;  // + malloc header
  });
  for (const PeerState& ps : peers)
    n += ps.adj_out_overflow.bytes() + ps.queued.bytes() + ps.queue.capacity() * sizeof(Prefix) +
         ((ps.walk[0].list ? ps.walk[0].list->capacity() : 0) +
          (ps.walk[1].list ? ps.walk[1].list->capacity() : 0)) *
             sizeof(Prefix);  // shared snapshots are counted once per walker
  return n;
}

// ---- Rib: public API -----------------------------------------------------------

Rib::Rib(RibOptions opts, NextHopResolver resolver)
    : impl_(std::make_unique<Impl>(opts, std::move(resolver))) {}
Rib::~Rib() = default;

AttrTable& Rib::attrs() {
  return impl_->attrs;
}

void Rib::set_policies(const std::vector<config::PolicyConfig>& policies) {
  impl_->policy.set(policies);
}

void Rib::set_options(const RibOptions& opts) {
  Impl::Batch b(impl_.get());
  impl_->opts = opts;
  impl_->recompute_all();
}

void Rib::reapply_policies() {
  Impl& m = *impl_;
  Impl::Batch b(&m);
  // Soft reconfiguration (RFC 4271 §9 "soft-reconfiguration inbound"): the
  // stored pre-policy paths go through the current import rules again.
  std::unordered_map<uint64_t, AttrRef> cache;  // (peer, pre) -> post when prefix-independent
  std::vector<char> per_prefix(m.peers.size());
  for (size_t i = 0; i < m.peers.size(); ++i)
    per_prefix[i] = m.peers[i].used && m.policy.depends_on_prefix(m.peers[i].cfg.import_policies);
  m.loc.for_each([&](const Prefix& prefix, PathList& paths) {
    Impl::BestState old = m.best_state(paths);
    for (Path& p : paths) {
      PeerState& ps = m.peers[p.peer];
      if (ps.local) continue;
      AttrRef post;
      uint64_t key = (uint64_t{p.peer} << 48) ^ reinterpret_cast<uintptr_t>(p.pre.id());
      auto it = per_prefix[p.peer] ? cache.end() : cache.find(key);
      if (it != cache.end()) {
        post = it->second;
      } else {
        AttrRef base = m.import_base(ps, p.pre);
        const bgp::PathAttributes base_val = *base;
        if (!m.import_loop(ps, base_val)) post = m.import_attrs(ps, prefix, base, base_val);
        if (!per_prefix[p.peer]) cache.emplace(key, post);
      }
      if (p.post) --ps.counters.accepted;
      p.post = std::move(post);
      if (p.post) ++ps.counters.accepted;
    }
    m.recompute(prefix, paths, old);
  });
  // Export side: a peer whose export settings or export policies changed
  // gets the whole table re-evaluated and re-sent (the Adj-RIB-Out keeps
  // which prefixes were sent, not their attributes, so everything exportable
  // is announced again and what is no longer exportable is withdrawn). Best
  // path changes caused by the import side above are already queued.
  for (PeerState& ps : m.peers) {
    if (!ps.used || ps.local || !ps.up) continue;
    const PeerConfig& was = ps.exported_with;
    bool redo = was.export_policies != ps.cfg.export_policies ||
                was.next_hop_self != ps.cfg.next_hop_self ||
                was.route_reflector_client != ps.cfg.route_reflector_client ||
                was.remote_asn != ps.cfg.remote_asn;
    redo = redo || ps.exported_versions != m.policy.versions(ps.cfg.export_policies);
    // Reflection depends on the other peers' client flags too.
    for (const PeerState& other : m.peers)
      if (other.used && !other.local &&
          other.exported_with.route_reflector_client != other.cfg.route_reflector_client)
        redo = true;
    if (!redo) continue;
    for (Family f : {Family::V4, Family::V6})
      if (ps.fam[fam_index(f)]) m.start_walk(ps, f, false);
  }
  for (PeerState& ps : m.peers)
    if (ps.used && !ps.local) {
      ps.exported_with = ps.cfg;
      ps.exported_versions = m.policy.versions(ps.cfg.export_policies);
    }
}

void Rib::next_hops_changed() {
  Impl::Batch b(impl_.get());
  impl_->recompute_all();
}

void Rib::add_listener(BestPathListener* l) {
  impl_->listeners.push_back(l);
}
void Rib::remove_listener(BestPathListener* l) {
  std::erase(impl_->listeners, l);
}
void Rib::set_pending_callback(std::function<void(PeerId)> cb) {
  impl_->pending_cb = std::move(cb);
}

PeerId Rib::add_peer(const PeerConfig& cfg) {
  Impl& m = *impl_;
  PeerId id{static_cast<uint32_t>(m.peers.size())};
  m.peers.emplace_back();
  PeerState& ps = m.peers.back();
  ps.used = true;
  ps.cfg = cfg;
  ps.ibgp = cfg.remote_asn == m.opts.local_asn;
  for (int b = 0; b < kAdvBits; ++b) {
    if (!(m.used_bits & (1u << b))) {
      m.used_bits |= 1u << b;
      ps.out_bit = b;
      break;
    }
  }
  return id;
}

void Rib::update_peer(PeerId p, const PeerConfig& cfg) {
  PeerState* ps = impl_->peer(p);
  if (!ps || ps->local) return;
  ps->cfg = cfg;
  ps->ibgp = cfg.remote_asn == impl_->opts.local_asn;
}

void Rib::remove_peer(PeerId p) {
  PeerState* ps = impl_->peer(p);
  if (!ps || ps->local) return;
  peer_down(p, false);
  ps = impl_->peer(p);
  if (ps->out_bit >= 0) impl_->used_bits &= ~(1u << ps->out_bit);
  *ps = PeerState();  // id is not reused
}

void Rib::peer_up(PeerId p, const PeerSession& s) {
  Impl& m = *impl_;
  PeerState* ps = m.peer(p);
  if (!ps || ps->local) return;
  ps->up = true;
  ps->sess = s;
  ps->fam[0] = ps->fam[1] = false;
  for (Family f : s.families) ps->fam[fam_index(f)] = true;
  ps->exported_with = ps->cfg;
  ps->exported_versions = m.policy.versions(ps->cfg.export_policies);
  m.reset_out(*ps);
  for (Family f : {Family::V4, Family::V6})
    if (ps->fam[fam_index(f)]) m.start_walk(*ps, f, true);
}

void Rib::peer_down(PeerId p, bool graceful) {
  Impl& m = *impl_;
  Impl::Batch b(&m);
  PeerState* ps = m.peer(p);
  if (!ps || ps->local) return;
  ps->up = false;
  m.reset_out(*ps);
  if (graceful) {
    mark_stale(p);
    return;
  }
  uint32_t id = to_int(p);
  std::vector<Prefix> gone;
  m.loc.for_each([&](const Prefix& prefix, PathList& paths) {
    for (const Path& x : paths)
      if (x.peer == id) gone.push_back(prefix);
  });
  for (const Prefix& prefix : gone) m.remove_path(prefix, id);
}

void Rib::mark_stale(PeerId p) {
  PeerState* ps = impl_->peer(p);
  if (!ps) return;
  uint32_t id = to_int(p);
  impl_->loc.for_each([&](const Prefix& prefix, PathList& paths) {
    for (Path& x : paths) {
      if (x.peer != id) continue;
      x.flags |= kPathStale;
      ps->maybe_stale[fam_index(prefix.family())] = true;
    }
  });
}

size_t Rib::sweep_stale(PeerId p, Family f) {
  Impl& m = *impl_;
  PeerState* ps = m.peer(p);
  if (!ps || !ps->maybe_stale[fam_index(f)]) return 0;
  ps->maybe_stale[fam_index(f)] = false;
  Impl::Batch b(&m);
  uint32_t id = to_int(p);
  std::vector<Prefix> gone;
  m.loc.for_each([&](const Prefix& prefix, PathList& paths) {
    if (prefix.family() != f) return;
    for (const Path& x : paths)
      if (x.peer == id && (x.flags & kPathStale)) gone.push_back(prefix);
  });
  for (const Prefix& prefix : gone) m.remove_path(prefix, id);
  return gone.size();
}

void Rib::route_refresh(PeerId p, Family f) {
  Impl& m = *impl_;
  PeerState* ps = m.peer(p);
  if (!ps || !ps->up || !ps->fam[fam_index(f)]) return;
  // The walk re-sends every exportable route of the family (RFC 2918 §4).
  m.start_walk(*ps, f, false);
}

void Rib::announce(PeerId p, const bgp::PathAttributes& a, std::span<const Prefix> prefixes) {
  Impl& m = *impl_;
  Impl::Batch b(&m);
  PeerState* ps = m.peer(p);
  if (!ps || ps->local || prefixes.empty()) return;
  ps->counters.updates_in += prefixes.size();
  m.apply_import(to_int(p), prefixes, m.attrs.intern(a));
}

void Rib::withdraw(PeerId p, std::span<const Prefix> prefixes) {
  Impl& m = *impl_;
  Impl::Batch b(&m);
  PeerState* ps = m.peer(p);
  if (!ps) return;
  ps->counters.updates_in += prefixes.size();
  constexpr size_t kAhead = 8;  // lookups in flight (see apply_import)
  for (size_t i = 0; i < prefixes.size() && i < kAhead; ++i) m.loc.prefetch(prefixes[i]);
  for (size_t i = 0; i < prefixes.size(); ++i) {
    if (i + kAhead < prefixes.size()) m.loc.prefetch(prefixes[i + kAhead]);
    m.remove_path(prefixes[i], to_int(p));
  }
}

void Rib::end_of_rib(PeerId p, Family f) {
  sweep_stale(p, f);
}

void Rib::originate(RouteSource src, const Prefix& prefix, const bgp::PathAttributes& a) {
  if (src == RouteSource::Bgp) return;
  Impl& m = *impl_;
  Impl::Batch b(&m);
  AttrRef ref;
  if (src == RouteSource::Network && a.origin != bgp::Origin::Igp) {
    bgp::PathAttributes c = a;
    c.origin = bgp::Origin::Igp;  // a configured network is an IGP-origin route
    ref = m.attrs.intern(std::move(c));
  } else {
    ref = m.attrs.intern(a);
  }
  Prefix one[1] = {prefix};
  m.apply_import(to_int(local_peer(src)), one, ref);
}

void Rib::unoriginate(RouteSource src, const Prefix& prefix) {
  if (src == RouteSource::Bgp) return;
  Impl::Batch b(impl_.get());
  impl_->remove_path(prefix, to_int(local_peer(src)));
}

PullResult Rib::pull_updates(PeerId p, size_t budget) {
  return impl_->pull(p, budget);
}

bool Rib::has_pending(PeerId p) const {
  const PeerState* ps = impl_->peer(p);
  if (!ps || !ps->up) return false;
  return ps->queue_head < ps->queue.size() || ps->walk[0].active || ps->walk[1].active ||
         ps->walk[0].eor_wait || ps->walk[1].eor_wait;
}

// ---- queries -------------------------------------------------------------------

namespace {

PathView make_view(const Rib::Impl& m, const Path& p) {
  const PeerState& ps = m.peers[p.peer];
  PathView v;
  v.peer = PeerId{p.peer};
  v.peer_name = ps.cfg.name;
  v.peer_address = ps.cfg.address;
  v.source = ps.source;
  v.attrs = p.post;
  v.pre_policy = p.pre;
  v.best = p.flags & kPathBest;
  v.active = p.flags & kPathActive;
  v.stale = p.flags & kPathStale;
  v.ibgp = ps.ibgp && !ps.local;
  v.igp_cost = p.igp_cost_hint;
  v.reason = p.reason;
  return v;
}

}  // namespace

std::vector<PathView> Rib::show_route(const Prefix& prefix) const {
  std::vector<PathView> out;
  const PathList* paths = impl_->loc.find(prefix);
  if (!paths) return out;
  for (const Path& p : *paths) out.push_back(make_view(*impl_, p));
  // Best first, then the other active paths, then the rest by peer id.
  std::stable_sort(out.begin(), out.end(), [](const PathView& a, const PathView& b) {
    return std::make_pair(!a.best, !a.active) < std::make_pair(!b.best, !b.active);
  });
  return out;
}

void Rib::for_each_best(
    const std::function<void(const Prefix&, const PathView&, std::span<const NextHop>)>& fn) const {
  impl_->loc.for_each([&](const Prefix& prefix, const PathList& paths) {
    for (const Path& p : paths) {
      if (!(p.flags & kPathBest)) continue;
      std::vector<NextHop> nh = impl_->active_next_hops(paths);
      fn(prefix, make_view(*impl_, p), nh);
      break;
    }
  });
}

std::vector<BestChange> Rib::snapshot_best() const {
  std::vector<BestChange> v;
  impl_->loc.for_each([&](const Prefix& prefix, const PathList& paths) {
    std::vector<NextHop> nh = impl_->active_next_hops(paths);
    if (nh.empty()) return;
    BestChange c;
    c.prefix = prefix;
    c.source = impl_->peers[to_int(nh.front().peer)].source;
    c.next_hops = std::move(nh);
    v.push_back(std::move(c));
  });
  return v;
}

std::optional<PeerStatus> Rib::peer_status(PeerId p) const {
  const PeerState* ps = impl_->peer(p);
  if (!ps) return std::nullopt;
  PeerStatus s;
  s.id = p;
  s.name = ps->cfg.name;
  s.address = ps->cfg.address;
  s.up = ps->up;
  s.ibgp = ps->ibgp && !ps->local;
  s.rr_client = ps->cfg.route_reflector_client;
  if (!ps->local && !ps->ibgp) {
    s.rfc8212_import_blocked = ps->cfg.import_policies.empty();
    s.rfc8212_export_blocked = ps->cfg.export_policies.empty();
  }
  s.pending = ps->queue.size() - ps->queue_head;
  s.counters = ps->counters;
  return s;
}

std::vector<PeerStatus> Rib::peers() const {
  std::vector<PeerStatus> v;
  for (uint32_t i = kFirstBgpPeer; i < impl_->peers.size(); ++i)
    if (auto s = peer_status(PeerId{i})) v.push_back(std::move(*s));
  return v;
}

std::optional<PeerId> Rib::find_peer(const IpAddress& addr) const {
  for (uint32_t i = kFirstBgpPeer; i < impl_->peers.size(); ++i)
    if (impl_->peers[i].used && impl_->peers[i].cfg.address == addr) return PeerId{i};
  return std::nullopt;
}

MemoryStats Rib::memory_stats() const {
  MemoryStats s;
  s.prefixes = impl_->prefix_count;
  s.paths = impl_->path_count;
  s.attr_sets = impl_->attrs.size();
  for (const PeerState& ps : impl_->peers) s.adj_out += ps.counters.advertised;
  s.table_bytes = impl_->table_bytes();
  s.attr_bytes = impl_->attrs.bytes();
  return s;
}

size_t Rib::prefix_count() const {
  return impl_->prefix_count;
}

size_t Rib::path_count() const {
  return impl_->path_count;
}

}  // namespace ferry::rib
