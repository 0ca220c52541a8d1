// Rib: the façade over PeerTable (peer.hpp), LocRib (loc_rib.hpp),
// ExportRules (export.hpp) and AdjRibOut (rib_out.hpp). It owns them and the
// options, policies and interned attributes they share, runs the import side
// (loop checks, RFC 4271 §5.1.5, import policy) and brackets every public
// call so best-path changes are delivered once per call.
#include "rib/rib.hpp"

#include <algorithm>
#include <unordered_map>

#include "rib/export.hpp"
#include "rib/loc_rib.hpp"
#include "rib/peer.hpp"
#include "rib/policy.hpp"
#include "rib/rib_out.hpp"

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
    case LossReason::Weight:
      return "weight";
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
  c.local_pref = n.local_pref;
  c.weight = n.weight;
  c.prepend = n.prepend;
  c.max_prefixes_out = n.max_prefixes_out;
  c.aggregate_candidates = n.aggregate_candidates;
  return c;
}

// ---- Impl ----------------------------------------------------------------------

class Rib::Impl {
 public:
  Impl(RibOptions o, NextHopResolver r)
      : opts(std::move(o)),
        loc(opts, peers, std::move(r)),
        rules(attrs, policy, opts, peers),
        out(loc, peers, rules) {
    loc.set_change_sink(&out);
  }

  // Declared first so it is destroyed last: everything else holds AttrRefs.
  AttrTable attrs;
  RibOptions opts;
  PolicyEngine policy;
  PeerTable peers;
  LocRib loc;
  ExportRules rules;
  AdjRibOut out;
  uint64_t trimmed_gen = 0;  // prefix-table generation at the last settle()

  // RAII around a public call: best-path changes are delivered to the
  // listeners when the outermost call ends, then freed memory is settled.
  struct Call {
    explicit Call(Impl* i) : impl(i) { impl->loc.begin_call(); }
    ~Call() {
      if (impl->loc.end_call()) impl->settle();
    }
    Impl* impl;
  };

  uint32_t cluster_id() const { return opts.cluster_id.value_or(opts.router_id).value(); }
  ImportStamp import_stamp(const PeerState& ps) const {
    return {ps.cfg.import_policies, policy.versions(ps.cfg.import_policies), ps.ibgp, cluster_id()};
  }
  // Import: returns the post-policy attributes or null (rejected).
  AttrRef import_attrs(PeerState& ps, const Prefix& prefix, const AttrRef& base,
                       const bgp::PathAttributes& base_val);
  // Normalises what an eBGP peer sent before policy (RFC 4271 §5.1.5: LOCAL_PREF ignored).
  AttrRef import_base(PeerState& ps, const AttrRef& pre);
  bool import_loop(PeerState& ps, const bgp::PathAttributes& a);
  void apply_import(uint32_t peer_id, std::span<const Prefix> prefixes, const AttrRef& pre);
  // Removes every path of the peer (of family f, or of both; only stale ones
  // if stale_only); returns how many.
  size_t remove_paths(uint32_t peer_id, std::optional<Family> f, bool stale_only);

  // End of a call that may have erased many prefixes: shrinks the prefix
  // table if it became sparse and lets the owner hand freed heap back.
  void settle();
};

void Rib::Impl::settle() {
  bool shrunk = loc.shrink_if_sparse();
  bool big_free = out.take_big_free();
  uint64_t gen = loc.generation();
  bool big = loc.table_bytes() >= AdjRibOut::kTrimBytes;
  // Large blocks freed since the last trim: a grown table's old slot array, a
  // drained queue, or (after a shrink) a withdrawn table's attribute sets.
  // glibc raises its mmap threshold after the first big free, so later ones
  // come from (and are freed back into) the heap, which keeps them: without
  // a trim a full table left ~50 MB of free heap resident (ferry-bench-rib
  // style load, 1M prefixes: RSS 155 -> 102 MB with the trim).
  bool freed = shrunk || big_free || (big && gen != trimmed_gen);
  trimmed_gen = gen;
  if (freed && opts.heap_trim) opts.heap_trim();
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
  if (ps.local) return pre;
  if (ps.cfg.local_pref) {
    // The neighbor's configured LOCAL_PREF replaces a received one (§5.1.5
    // leaves it to local policy); the import policy may still change it.
    const AttrSummary& s = pre.summary();
    if ((s.has & AttrSummary::kHasLocalPref) && s.local_pref == *ps.cfg.local_pref) return pre;
    bgp::PathAttributes a = *pre;
    a.local_pref = *ps.cfg.local_pref;
    return attrs.intern(std::move(a));
  }
  if (ps.ibgp) return pre;
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
    for (const Prefix& p : prefixes) loc.set_path(p, peer_id, pre, pre);
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
    loc.set_path(p, peer_id, pre, std::move(post));
  }
}

size_t Rib::Impl::remove_paths(uint32_t peer_id, std::optional<Family> f, bool stale_only) {
  std::vector<Prefix> gone;
  loc.for_each([&](const Prefix& prefix, PathList& paths) {
    if (f && prefix.family() != *f) return;
    for (const Path& x : paths)
      if (x.peer == peer_id && (!stale_only || (x.flags & kPathStale))) gone.push_back(prefix);
  });
  for (const Prefix& prefix : gone) loc.remove_path(prefix, peer_id);
  return gone.size();
}

// ---- Rib: public API -----------------------------------------------------------

Rib::Rib(RibOptions opts, NextHopResolver resolver)
    : impl_(std::make_unique<Impl>(std::move(opts), std::move(resolver))) {}
Rib::~Rib() = default;

AttrTable& Rib::attrs() {
  return impl_->attrs;
}

void Rib::set_policies(const std::vector<config::PolicyConfig>& policies) {
  impl_->policy.set(policies);
}

void Rib::set_options(const RibOptions& opts) {
  Impl::Call c(impl_.get());
  impl_->opts = opts;
  impl_->loc.recompute_all();
}

void Rib::reapply_policies() {
  Impl& m = *impl_;
  Impl::Call c(&m);
  // Soft reconfiguration (RFC 4271 §9 "soft-reconfiguration inbound"): the
  // stored pre-policy paths go through the current import rules again.
  // Only peers whose import changed (ImportStamp) are re-evaluated.
  std::unordered_map<uint64_t, AttrRef> cache;  // (peer, pre) -> post when prefix-independent
  std::vector<char> per_prefix(m.peers.size()), redo(m.peers.size());
  bool any = false;
  for (uint32_t i = 0; i < m.peers.size(); ++i) {
    PeerState& ps = m.peers[i];
    if (!ps.used || ps.local) continue;
    per_prefix[i] = m.policy.depends_on_prefix(ps.cfg.import_policies);
    ImportStamp now = m.import_stamp(ps);
    redo[i] = now != ps.imported;
    any = any || redo[i];
    ps.imported = std::move(now);
  }
  if (any)
    m.loc.for_each([&](const Prefix& prefix, PathList& paths) {
      LocRib::BestState old = m.loc.best_state(paths);
      bool changed = false;
      for (Path& p : paths) {
        PeerState& ps = m.peers[p.peer];
        if (ps.local || !redo[p.peer]) continue;
        changed = true;
        ++ps.counters.reevaluated;
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
      if (changed) m.loc.recompute(prefix, paths, old);
    });
  // Export side: a peer whose export settings or export policies changed
  // gets the whole table re-evaluated and re-sent (the Adj-RIB-Out keeps
  // which prefixes were sent, not their attributes, so everything exportable
  // is announced again and what is no longer exportable is withdrawn). Best
  // path changes caused by the import side above are already queued.
  m.out.reexport_changed(m.policy);
}

void Rib::set_selection_deferred(bool on) {
  Impl::Call c(impl_.get());
  impl_->loc.set_deferred(on);
}

void Rib::set_export_suspended(PeerId p, bool on) {
  Impl& m = *impl_;
  PeerState* ps = m.peers.find(p);
  if (!ps || ps->local || ps->export_suspended == on) return;
  Impl::Call c(&m);
  ps->export_suspended = on;
  m.out.reexport(p);
}

bool Rib::selection_deferred() const {
  return impl_->loc.deferred();
}

void Rib::next_hops_changed() {
  Impl::Call c(impl_.get());
  impl_->loc.recompute_all();
}

void Rib::add_listener(BestPathListener* l) {
  impl_->loc.add_listener(l);
}
void Rib::remove_listener(BestPathListener* l) {
  impl_->loc.remove_listener(l);
}
void Rib::set_budget_listener(std::function<void(PeerId, const BudgetStatus&)> cb) {
  impl_->out.set_budget_callback(std::move(cb));
}

void Rib::set_pending_callback(std::function<void(PeerId)> cb) {
  impl_->out.set_pending_callback(std::move(cb));
}

PeerId Rib::add_peer(const PeerConfig& cfg) {
  PeerId id = impl_->peers.add(cfg, impl_->opts.local_asn);
  PeerState& ps = impl_->peers[to_int(id)];
  ps.imported = impl_->import_stamp(ps);  // no paths yet: nothing to re-evaluate
  impl_->out.add_peer(id);
  return id;
}

void Rib::update_peer(PeerId p, const PeerConfig& cfg) {
  impl_->peers.reconfigure(p, cfg, impl_->opts.local_asn);
}

void Rib::remove_peer(PeerId p) {
  PeerState* ps = impl_->peers.find(p);
  if (!ps || ps->local) return;
  peer_down(p, false);
  impl_->out.remove_peer(p);
  impl_->peers.remove(p);  // id is not reused
}

void Rib::peer_up(PeerId p, const PeerSession& s) {
  Impl& m = *impl_;
  PeerState* ps = m.peers.find(p);
  if (!ps || ps->local) return;
  m.peers.session_up(p, s);
  m.out.session_up(p);
}

void Rib::peer_down(PeerId p, bool graceful) {
  Impl& m = *impl_;
  Impl::Call c(&m);
  PeerState* ps = m.peers.find(p);
  if (!ps || ps->local) return;
  m.peers.session_down(p);
  m.out.session_down(p);
  if (graceful) {
    mark_stale(p);
    return;
  }
  m.remove_paths(to_int(p), std::nullopt, false);
}

void Rib::mark_stale(PeerId p) {
  PeerState* ps = impl_->peers.find(p);
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
  PeerState* ps = m.peers.find(p);
  if (!ps || !ps->maybe_stale[fam_index(f)]) return 0;
  ps->maybe_stale[fam_index(f)] = false;
  Impl::Call c(&m);
  return m.remove_paths(to_int(p), f, true);
}

void Rib::route_refresh(PeerId p, Family f) {
  impl_->out.route_refresh(p, f);
}

void Rib::announce(PeerId p, const bgp::PathAttributes& a, std::span<const Prefix> prefixes) {
  Impl& m = *impl_;
  Impl::Call c(&m);
  PeerState* ps = m.peers.find(p);
  if (!ps || ps->local || prefixes.empty()) return;
  ps->counters.updates_in += prefixes.size();
  m.apply_import(to_int(p), prefixes, m.attrs.intern(a));
}

void Rib::withdraw(PeerId p, std::span<const Prefix> prefixes) {
  Impl& m = *impl_;
  Impl::Call c(&m);
  PeerState* ps = m.peers.find(p);
  if (!ps) return;
  ps->counters.updates_in += prefixes.size();
  constexpr size_t kAhead = 8;  // lookups in flight (see apply_import)
  for (size_t i = 0; i < prefixes.size() && i < kAhead; ++i) m.loc.prefetch(prefixes[i]);
  for (size_t i = 0; i < prefixes.size(); ++i) {
    if (i + kAhead < prefixes.size()) m.loc.prefetch(prefixes[i + kAhead]);
    m.loc.remove_path(prefixes[i], to_int(p));
  }
}

void Rib::end_of_rib(PeerId p, Family f) {
  sweep_stale(p, f);
}

void Rib::originate(RouteSource src, const Prefix& prefix, const bgp::PathAttributes& a) {
  if (src == RouteSource::Bgp) return;
  Impl& m = *impl_;
  Impl::Call c(&m);
  AttrRef ref;
  if (src == RouteSource::Network && a.origin != bgp::Origin::Igp) {
    bgp::PathAttributes copy = a;
    copy.origin = bgp::Origin::Igp;  // a configured network is an IGP-origin route
    ref = m.attrs.intern(std::move(copy));
  } else {
    ref = m.attrs.intern(a);
  }
  Prefix one[1] = {prefix};
  m.apply_import(to_int(local_peer(src)), one, ref);
}

void Rib::unoriginate(RouteSource src, const Prefix& prefix) {
  if (src == RouteSource::Bgp) return;
  Impl::Call c(impl_.get());
  impl_->loc.remove_path(prefix, to_int(local_peer(src)));
}

PullResult Rib::pull_updates(PeerId p, size_t budget) {
  PullResult r = impl_->out.pull(p, budget);
  impl_->settle();  // the withdrawals sent may have emptied many entries
  return r;
}

bool Rib::has_pending(PeerId p) const {
  return impl_->out.has_pending(p);
}

// ---- queries -------------------------------------------------------------------

namespace {

PathView make_view(const PeerTable& peers, const Path& p) {
  const PeerState& ps = peers[p.peer];
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

std::vector<ExportStatus> Rib::export_status(const Prefix& prefix) const {
  std::vector<ExportStatus> v;
  for (uint32_t i = kFirstBgpPeer; i < impl_->peers.size(); ++i)
    if (impl_->peers[i].used) v.push_back(impl_->out.explain(PeerId{i}, prefix));
  return v;
}

std::vector<PathView> Rib::show_route(const Prefix& prefix) const {
  std::vector<PathView> out;
  const PathList* paths = impl_->loc.find(prefix);
  if (!paths) return out;
  for (const Path& p : *paths) out.push_back(make_view(impl_->peers, p));
  // Best first, then the other active paths, then the rest by peer id.
  std::stable_sort(out.begin(), out.end(), [](const PathView& a, const PathView& b) {
    return std::make_pair(!a.best, !a.active) < std::make_pair(!b.best, !b.active);
  });
  return out;
}

void Rib::for_each_best(
    const std::function<void(const Prefix&, const PathView&, std::span<const NextHop>)>& fn) const {
  const LocRib& loc = impl_->loc;
  loc.for_each([&](const Prefix& prefix, const PathList& paths) {
    for (const Path& p : paths) {
      if (!(p.flags & kPathBest)) continue;
      std::vector<NextHop> nh = loc.active_next_hops(paths);
      fn(prefix, make_view(impl_->peers, p), nh);
      break;
    }
  });
}

void Rib::for_each_advertised(PeerId p, const std::function<void(const AdvertisedRoute&)>& fn) {
  impl_->out.for_each_advertised(p, fn);
}

namespace {
AttrRef view_of(const AdjRibOut& out, PeerId p, PeerView view, const Prefix& prefix,
                const PathList& e) {
  if (view == PeerView::AdjOut) return out.advertised_attrs(p, prefix, e);
  for (const Path& x : e)
    if (x.peer == to_int(p)) return view == PeerView::AdjInPre ? x.pre : x.post;
  return AttrRef();
}
}  // namespace

void Rib::walk_peer(PeerId p, PeerWalk& w, size_t budget,
                    const std::function<void(const Prefix&, const AttrRef&)>& fn) {
  LocRib& loc = impl_->loc;
  if (!w.started || w.generation != loc.generation()) {
    w.started = true;
    w.slot = 0;
    w.generation = loc.generation();
  }
  const size_t cap = loc.capacity(w.family);
  for (size_t n = 0; n < budget && w.slot < cap; ++n, ++w.slot) {
    Prefix prefix;
    const PathList* e = loc.at(w.family, w.slot, &prefix);
    if (!e) continue;
    if (AttrRef a = view_of(impl_->out, p, w.view, prefix, *e)) fn(prefix, a);
  }
  w.done = w.slot >= cap;
}

AttrRef Rib::peer_route(PeerId p, PeerView view, const Prefix& prefix) {
  const PathList* e = impl_->loc.find(prefix);
  return e ? view_of(impl_->out, p, view, prefix, *e) : AttrRef();
}

std::optional<PeerStatus> Rib::peer_status(PeerId p) const {
  const PeerState* ps = impl_->peers.find(p);
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
  s.pending = impl_->out.queued(p);
  s.counters.received = ps->counters.received;
  s.counters.accepted = ps->counters.accepted;
  s.counters.advertised = impl_->out.advertised(p);
  s.budget = impl_->out.budget_status(p);
  s.counters.updates_in = ps->counters.updates_in;
  s.counters.loops_rejected = ps->counters.loops_rejected;
  s.counters.reevaluated = ps->counters.reevaluated;
  return s;
}

std::vector<PeerStatus> Rib::peers() const {
  std::vector<PeerStatus> v;
  for (uint32_t i = kFirstBgpPeer; i < impl_->peers.size(); ++i)
    if (auto s = peer_status(PeerId{i})) v.push_back(std::move(*s));
  return v;
}

MemoryStats Rib::memory_stats() const {
  MemoryStats s;
  s.prefixes = impl_->loc.prefix_count();
  s.paths = impl_->loc.path_count();
  s.attr_sets = impl_->attrs.size();
  s.adj_out = impl_->out.advertised_total();
  s.table_bytes = impl_->loc.bytes() + impl_->out.bytes();
  s.attr_bytes = impl_->attrs.bytes();
  return s;
}

size_t Rib::prefix_count() const {
  return impl_->loc.prefix_count();
}

size_t Rib::path_count() const {
  return impl_->loc.path_count();
}

}  // namespace ferry::rib
