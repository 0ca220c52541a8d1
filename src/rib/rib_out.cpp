// AdjRibOut: per-peer pending queues, the table walks and the pull-based
// update generation that packs prefixes by attribute set.
#include "rib/rib_out.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

namespace ferry::rib {

AdjRibOut::AdjRibOut(LocRib& loc, const PeerTable& peers, const ExportRules& rules)
    : loc_(loc), peers_(peers), rules_(rules) {
  out_.resize(kFirstBgpPeer);
}

AdjRibOut::OutPeer* AdjRibOut::out(PeerId p) {
  uint32_t i = to_int(p);
  const PeerState* ps = peers_.find(p);
  return ps && !ps->local && i < out_.size() ? &out_[i] : nullptr;
}

const AdjRibOut::OutPeer* AdjRibOut::out(PeerId p) const {
  return const_cast<AdjRibOut*>(this)->out(p);
}

// ---- peer lifecycle ------------------------------------------------------------

void AdjRibOut::add_peer(PeerId p) {
  uint32_t i = to_int(p);
  if (out_.size() <= i) out_.resize(i + 1);
  OutPeer& o = out_[i];
  o = OutPeer();
  for (int b = 0; b < kAdvBits; ++b) {
    if (!(used_bits_ & (1u << b))) {
      used_bits_ |= 1u << b;
      o.out_bit = b;
      break;
    }
  }
}

void AdjRibOut::remove_peer(PeerId p) {
  uint32_t i = to_int(p);
  if (i < kFirstBgpPeer || i >= out_.size()) return;
  OutPeer& o = out_[i];
  reset(o);
  if (o.out_bit >= 0) used_bits_ &= ~(1u << o.out_bit);
  o = OutPeer();
}

void AdjRibOut::session_up(PeerId p) {
  OutPeer* o = out(p);
  if (!o) return;
  const PeerState& ps = peers_[to_int(p)];
  o->exported_with = ps.cfg;
  o->exported_versions = rules_.versions(to_int(p));
  reset(*o);
  if (ps.cfg.max_prefixes_out)
    o->budget = std::make_unique<BudgetOut>();
  else
    o->budget.reset();
  for (Family f : {Family::V4, Family::V6})
    if (ps.has_family(f)) start_walk(to_int(p), f, true);
}

void AdjRibOut::session_down(PeerId p) {
  if (OutPeer* o = out(p)) reset(*o);
}

void AdjRibOut::reexport(PeerId p) {
  const PeerState* ps = peers_.find(p);
  if (!out(p) || !ps->up) return;
  for (Family f : {Family::V4, Family::V6})
    if (ps->has_family(f)) start_walk(to_int(p), f, false);
}

void AdjRibOut::route_refresh(PeerId p, Family f) {
  const PeerState* ps = peers_.find(p);
  if (!out(p) || !ps->up || !ps->has_family(f)) return;
  start_walk(to_int(p), f, false);
}

void AdjRibOut::reexport_changed(const PolicyEngine& policy) {
  // Reflection depends on the other peers' client flags too.
  bool rr_changed = false;
  for (uint32_t i = kFirstBgpPeer; i < out_.size(); ++i) {
    const PeerState& ps = peers_[i];
    if (ps.used && out_[i].exported_with.route_reflector_client != ps.cfg.route_reflector_client)
      rr_changed = true;
  }
  for (uint32_t i = kFirstBgpPeer; i < out_.size(); ++i) {
    const PeerState& ps = peers_[i];
    OutPeer& o = out_[i];
    if (!ps.used || !ps.up) continue;
    const PeerConfig& was = o.exported_with;
    if (was.max_prefixes_out.has_value() != ps.cfg.max_prefixes_out.has_value())
      set_budget_mode(i, ps.cfg.max_prefixes_out.has_value());
    bool redo = rr_changed || was.export_policies != ps.cfg.export_policies ||
                was.next_hop_self != ps.cfg.next_hop_self ||
                was.route_reflector_client != ps.cfg.route_reflector_client ||
                was.remote_asn != ps.cfg.remote_asn || was.prepend != ps.cfg.prepend ||
                was.max_prefixes_out != ps.cfg.max_prefixes_out ||
                was.aggregate_candidates != ps.cfg.aggregate_candidates ||
                o.exported_versions != policy.versions(ps.cfg.export_policies);
    if (!redo) continue;
    for (Family f : {Family::V4, Family::V6})
      if (ps.has_family(f)) start_walk(i, f, false);
  }
  for (uint32_t i = kFirstBgpPeer; i < out_.size(); ++i) {
    const PeerState& ps = peers_[i];
    if (!ps.used) continue;
    out_[i].exported_with = ps.cfg;
    out_[i].exported_versions = policy.versions(ps.cfg.export_policies);
  }
}

// ---- Adj-RIB-Out bits ----------------------------------------------------------

bool AdjRibOut::is_advertised(const OutPeer& o, const Prefix& prefix, const PathList* e) const {
  if (o.out_bit >= 0) return e && (e->adv >> o.out_bit) & 1;
  return o.overflow.find(prefix) != nullptr;
}

bool AdjRibOut::is_queued(const OutPeer& o, const Prefix& prefix, const PathList* e) const {
  if (o.out_bit >= 0) return e && ((e->queued >> o.out_bit) & 1);
  return o.queued.find(prefix) != nullptr;
}

void AdjRibOut::set_advertised(OutPeer& o, const Prefix& prefix, PathList* e, bool on) {
  if (o.out_bit >= 0) {
    uint32_t bit = 1u << o.out_bit;
    if (on)
      e->adv = static_cast<uint16_t>(e->adv | bit);
    else
      e->adv = static_cast<uint16_t>(e->adv & ~bit);
  } else if (on) {
    o.overflow.get(prefix);
  } else {
    o.overflow.erase(prefix);
  }
  if (on)
    ++o.advertised;
  else
    --o.advertised;
}

// Forgets everything sent to and queued for the peer.
void AdjRibOut::reset(OutPeer& o) {
  // Bits are set only for advertised or queued prefixes: without any, the
  // table scan finds nothing to clear.
  bool has_bits = o.advertised > 0 || o.queue_head < o.queue.size();
  if (o.out_bit >= 0 && has_bits) {
    uint32_t mask = ~(1u << o.out_bit);
    for (Family fam : {Family::V4, Family::V6}) {
      Prefix prefix;
      for (size_t i = 0, n = loc_.capacity(fam); i < n; ++i) {
        if (PathList* e = loc_.at(fam, i, &prefix)) {
          e->adv = static_cast<uint16_t>(e->adv & mask);
          e->queued = static_cast<uint16_t>(e->queued & mask);
          loc_.maybe_erase(prefix, *e);
        }
      }
    }
  }
  o.overflow.clear();
  o.advertised = 0;
  o.queue.clear();
  o.queue.shrink_to_fit();
  o.queue_head = 0;
  o.queued.clear();
  o.walk[0] = o.walk[1] = Walk();
  o.notified = false;
  if (o.budget) *o.budget = BudgetOut();
}

// Switching a live peer in or out of budget mode keeps what it holds: the
// bits become the `sent` map or the other way round, and the walk that
// follows (reexport_changed) corrects the rest.
void AdjRibOut::set_budget_mode(uint32_t id, bool on) {
  OutPeer& o = out_[id];
  if (on) {
    auto b = std::make_unique<BudgetOut>();
    if (o.advertised > 0) {
      std::vector<Prefix> held;
      loc_.for_each([&](const Prefix& prefix, PathList& e) {
        if (is_advertised(o, prefix, &e)) held.push_back(prefix);
      });
      for (const Prefix& prefix : held) {
        PathList* e = loc_.find(prefix);
        set_advertised(o, prefix, e, false);
        b->sent.emplace(prefix, AttrRef());  // null: announced again by the next plan
      }
    }
    o.advertised = b->sent.size();
    o.budget = std::move(b);
    return;
  }
  if (!o.budget) return;
  auto b = std::move(o.budget);
  o.advertised = 0;
  for (const auto& [prefix, attrs] : b->sent) {
    PathList* e = loc_.find(prefix);
    if (e)
      set_advertised(o, prefix, e, true);
    else
      withdraw_later_.push_back({id, prefix});  // an aggregate: nothing in the Loc-RIB
  }
  if (!withdraw_later_.empty()) notify(id);
}

// ---- queueing ------------------------------------------------------------------

void AdjRibOut::notify(uint32_t id) {
  OutPeer& o = out_[id];
  if (!o.notified && pending_cb_) {
    o.notified = true;
    pending_cb_(PeerId{id});
  }
}

void AdjRibOut::enqueue(uint32_t id, const Prefix& prefix, PathList& e) {
  OutPeer& o = out_[id];
  // Already pending: coalesces into one send of the latest state.
  if (o.out_bit >= 0) {
    uint32_t bit = 1u << o.out_bit;
    if (e.queued & bit) return;
    e.queued = static_cast<uint16_t>(e.queued | bit);
  } else {
    bool inserted = false;
    o.queued.get(prefix, &inserted);
    if (!inserted) return;
  }
  o.queue.push_back(prefix);
  notify(id);
}

void AdjRibOut::best_changed(const Prefix& prefix, PathList& e, int64_t best_peer) {
  int fi = fam_index(prefix.family());
  for (uint32_t i = kFirstBgpPeer, n = static_cast<uint32_t>(out_.size()); i < n; ++i) {
    const PeerState& ps = peers_[i];
    if (!ps.up || !ps.fam[fi]) continue;
    const OutPeer& o = out_[i];
    // Nothing to send when the peer holds nothing of ours for the prefix and
    // the new best path is gone or came from that very peer (never sent back,
    // see ExportRules): for a full table from one peer this saves that peer
    // a million queue entries and table lookups, on announce and withdraw.
    if (!o.budget && o.out_bit >= 0 && !((e.adv >> o.out_bit) & 1) &&
        (best_peer < 0 || best_peer == i))
      continue;
    // A walk that has not finished will visit the prefix anyway, unless it
    // already passed its slot; queueing is cheap and the Adj-RIB-Out
    // comparison drops duplicates, so always queue.
    enqueue(i, prefix, e);
  }
}

void AdjRibOut::start_walk(uint32_t id, Family f, bool eor) {
  Walk& w = out_[id].walk[fam_index(f)];
  w.active = true;
  w.eor = w.eor || eor;
  w.pos = 0;
  // The table may be rebuilt while the walk runs: walk a snapshot of its
  // prefixes (shared by walks started while the prefix set is unchanged,
  // e.g. several peers coming up, a reload).
  w.list = loc_.prefix_snapshot(f);
  notify(id);
}

// ---- output --------------------------------------------------------------------

bool AdjRibOut::pending(const OutPeer& o) const {
  return o.queue_head < o.queue.size() || o.walk[0].active || o.walk[1].active ||
         o.walk[0].eor_wait || o.walk[1].eor_wait || (o.budget && o.budget->dirty) ||
         std::any_of(withdraw_later_.begin(), withdraw_later_.end(),
                     [&](const auto& w) { return &out_[w.first] == &o; });
}

bool AdjRibOut::has_pending(PeerId p) const {
  const OutPeer* o = out(p);
  return o && peers_[to_int(p)].up && pending(*o);
}

size_t AdjRibOut::queued(PeerId p) const {
  const OutPeer* o = out(p);
  return o ? o->queue.size() - o->queue_head : 0;
}

uint64_t AdjRibOut::advertised(PeerId p) const {
  const OutPeer* o = out(p);
  return o ? o->advertised : 0;
}

uint64_t AdjRibOut::advertised_total() const {
  uint64_t n = 0;
  for (const OutPeer& o : out_) n += o.advertised;
  return n;
}

size_t AdjRibOut::bytes() const {
  size_t n = 0;
  for (const OutPeer& o : out_)
    n += o.overflow.bytes() + o.queued.bytes() + o.queue.capacity() * sizeof(Prefix) +
         ((o.walk[0].list ? o.walk[0].list->capacity() : 0) +
          (o.walk[1].list ? o.walk[1].list->capacity() : 0)) *
             sizeof(Prefix);  // shared snapshots are counted once per walker
  return n;
}

PullResult AdjRibOut::pull(PeerId p, size_t budget) {
  PullResult res;
  OutPeer* op = out(p);
  if (!op || !peers_[to_int(p)].up) return res;
  OutPeer& o = *op;
  const uint32_t id = to_int(p);
  if (budget == 0) budget = 1;
  ExportCache cache;
  std::unordered_map<const void*, size_t> batch_of;  // attrs -> index in res.announce
  size_t emitted = 0;
  const bool prefix_dep = rules_.prefix_dependent(id);
  // Consecutive prefixes mostly came in one UPDATE and share their best
  // path's attributes: remember the last export (and its batch) in front of
  // the hash lookups. The source is held so its address cannot be reused.
  AttrRef memo_src;
  uint32_t memo_peer = 0;
  AttrRef memo_out;
  size_t memo_batch = SIZE_MAX;

  auto process = [&](const Prefix& prefix, PathList* e) {
    AttrRef exported;
    if (e) {
      for (const Path& x : *e) {
        if (!(x.flags & kPathBest)) continue;
        if (!prefix_dep && memo_src && x.post == memo_src && x.peer == memo_peer) {
          exported = memo_out;
        } else {
          exported = rules_.apply(id, prefix, x, &cache, prefix_dep);
          if (!prefix_dep && x.post) {
            memo_src = x.post;
            memo_peer = x.peer;
            memo_out = exported;
            memo_batch = SIZE_MAX;
          }
        }
        break;
      }
    }
    if (o.budget) {
      if (exported)
        o.budget->want.insert_or_assign(prefix, exported);
      else
        o.budget->want.erase(prefix);
      o.budget->dirty = true;
      ++emitted;
      return;
    }
    bool was = is_advertised(o, prefix, e);
    if (exported) {
      // Dirty means the best path changed, so this is a real update (the
      // attributes sent before are not kept; see OutPeer::out_bit).
      if (!was) set_advertised(o, prefix, e, true);
      size_t bi;
      if (memo_batch != SIZE_MAX && exported == memo_out &&
          res.announce[memo_batch].family == prefix.family()) {
        bi = memo_batch;
      } else {
        auto [it, fresh] = batch_of.try_emplace(exported.id(), res.announce.size());
        if (fresh) res.announce.push_back(AnnounceBatch{prefix.family(), exported, {}});
        bi = it->second;
        if (exported == memo_out) memo_batch = bi;
      }
      res.announce[bi].prefixes.push_back(prefix);
      ++emitted;
    } else if (was) {
      set_advertised(o, prefix, e, false);
      res.withdraw.push_back(prefix);
      ++emitted;
    }
  };

  // Lookups started ahead of use: each one misses the cache.
  constexpr size_t kAhead = 8;

  // 1. The table walks.
  for (Family f : {Family::V4, Family::V6}) {
    Walk& w = o.walk[fam_index(f)];
    if (!w.active) continue;
    while (emitted < budget && w.pos < w.list->size()) {
      if (w.pos + kAhead < w.list->size()) loc_.prefetch((*w.list)[w.pos + kAhead]);
      Prefix prefix = (*w.list)[w.pos++];
      PathList* e = loc_.find(prefix);
      if (is_queued(o, prefix, e)) continue;  // sent from the queue, in its latest state
      process(prefix, e);
      if (e) loc_.maybe_erase(prefix, *e);
    }
    if (w.pos >= w.list->size()) {
      w.active = false;
      w.list.reset();
      if (w.eor) {
        w.eor_wait = true;
        w.eor_mark = o.queue.size();
      }
      w.eor = false;
    }
  }
  // 2. Changes, oldest first; only once no walk is running (a prefix sent
  // from the queue and then reached by a walk would be sent twice).
  if (!o.walk[0].active && !o.walk[1].active) {
    while (o.queue_head < o.queue.size() && emitted < budget) {
      if (o.queue_head + kAhead < o.queue.size()) loc_.prefetch(o.queue[o.queue_head + kAhead]);
      Prefix prefix = o.queue[o.queue_head++];
      PathList* e = loc_.find(prefix);
      if (o.out_bit >= 0) {
        if (e) e->queued = static_cast<uint16_t>(e->queued & ~(1u << o.out_bit));
      } else {
        o.queued.erase(prefix);
      }
      process(prefix, e);
      if (e) loc_.maybe_erase(prefix, *e);
    }
    if (o.queue_head == o.queue.size()) {
      // Drained. After a full-table burst the queue may hold megabytes of
      // capacity; give it back rather than keep it for the next burst.
      if (o.queue.capacity() > 4096) {
        big_free_ = big_free_ || o.queue.capacity() * sizeof(Prefix) >= kTrimBytes;
        std::vector<Prefix>().swap(o.queue);
      } else {
        o.queue.clear();
      }
      o.queue_head = 0;
      o.queued.clear();
    }
  }
  // Budget peers: once no walk runs, send the difference to the new plan.
  if (o.budget && o.budget->dirty && !o.walk[0].active && !o.walk[1].active) replan(id, res);
  for (auto it = withdraw_later_.begin(); it != withdraw_later_.end();) {
    if (it->first == id) {
      res.withdraw.push_back(it->second);
      it = withdraw_later_.erase(it);
    } else {
      ++it;
    }
  }
  // 3. RFC 4724 §2: End-of-RIB after the initial update set, which includes
  // the prefixes that were queued while the walk ran.
  for (Family f : {Family::V4, Family::V6}) {
    Walk& w = o.walk[fam_index(f)];
    if (w.eor_wait && !w.active && (o.queue.empty() || o.queue_head >= w.eor_mark)) {
      res.end_of_rib.push_back(f);
      w.eor_wait = false;
    }
  }
  res.more = pending(o);
  if (!res.more) o.notified = false;
  return res;
}

void AdjRibOut::replan(uint32_t id, PullResult& res) {
  OutPeer& o = out_[id];
  BudgetOut& b = *o.budget;
  const PeerState& ps = peers_[id];
  const size_t max = ps.cfg.max_prefixes_out.value_or(SIZE_MAX);
  BudgetPlan plan = plan_budget(
      b.want, max, ps.cfg.aggregate_candidates,
      [&](const Prefix&, std::span<const AttrRef> parts) { return rules_.aggregate(parts); });
  std::unordered_map<const void*, size_t> batch_of;
  for (const auto& [prefix, attrs] : plan.out) {
    auto it = b.sent.find(prefix);
    if (it != b.sent.end() && it->second == attrs) continue;
    auto [bt, fresh] = batch_of.try_emplace(attrs.id(), res.announce.size());
    if (fresh) res.announce.push_back(AnnounceBatch{prefix.family(), attrs, {}});
    res.announce[bt->second].prefixes.push_back(prefix);
  }
  for (const auto& [prefix, attrs] : b.sent)
    if (!plan.out.count(prefix)) res.withdraw.push_back(prefix);
  b.sent = std::move(plan.out);
  b.dirty = false;
  o.advertised = b.sent.size();
  b.status = BudgetStatus{max, b.sent.size(), plan.held.size(), plan.aggregated.size(),
                          std::move(plan.aggregates)};
  // A warning as use reaches 80 % (or routes are held back); again only
  // after it fell below.
  const bool high = b.status.used * 5 >= max * 4 || b.status.held > 0;
  if (high && !b.warned && budget_cb_) budget_cb_(PeerId{id}, b.status);
  b.warned = high;
}

ExportStatus AdjRibOut::explain(PeerId p, const Prefix& prefix) const {
  ExportStatus s{p, false, {}, std::nullopt};
  const OutPeer* o = out(p);
  const PeerState& ps = peers_[to_int(p)];
  if (!o || !ps.up) {
    s.reason = "not_established";
    return s;
  }
  if (!ps.has_family(prefix.family())) {
    s.reason = "family_not_negotiated";
    return s;
  }
  PathList* e = loc_.find(prefix);
  const Path* best = nullptr;
  if (e)
    for (const Path& x : *e)
      if (x.flags & kPathBest) best = &x;
  if (o->budget) {
    if (o->budget->sent.count(prefix)) {
      s.advertised = true;
      s.reason = "advertised";
      return s;
    }
  } else if (is_advertised(*o, prefix, e)) {
    s.advertised = true;
    s.reason = is_queued(*o, prefix, e) ? "pending" : "advertised";
    return s;
  }
  if (!best) {
    s.reason = "no_route";
    return s;
  }
  const char* why = "export_policy";
  if (!rules_.apply(to_int(p), prefix, *best, nullptr, true, &why)) {
    s.reason = why;
    return s;
  }
  s.reason = "pending";
  if (o->budget && !o->budget->dirty) {
    s.reason = "export_budget";
    for (const Prefix& a : o->budget->status.aggregates)
      if (a.family() == prefix.family() && a.contains(prefix) && o->budget->sent.count(a)) {
        s.reason = "aggregated";
        s.aggregate = a;
      }
  }
  return s;
}

std::optional<BudgetStatus> AdjRibOut::budget_status(PeerId p) const {
  const OutPeer* o = out(p);
  if (!o || !o->budget) {
    const PeerState* ps = peers_.find(p);
    if (ps && ps->cfg.max_prefixes_out) return BudgetStatus{*ps->cfg.max_prefixes_out, 0, 0, 0, {}};
    return std::nullopt;
  }
  return o->budget->status;
}

AttrRef AdjRibOut::advertised_attrs(PeerId p, const Prefix& prefix, const PathList& e) const {
  const OutPeer* op = out(p);
  if (op && op->budget) {  // an export budget's peer: what it was sent
    auto it = op->budget->sent.find(prefix);
    return it == op->budget->sent.end() ? AttrRef() : it->second;
  }
  if (!op || !is_advertised(*op, prefix, &e)) return AttrRef();
  for (const Path& x : e)
    if (x.flags & kPathBest) return rules_.apply(to_int(p), prefix, x, nullptr, true);
  return AttrRef();
}

void AdjRibOut::for_each_advertised(PeerId p,
                                    const std::function<void(const AdvertisedRoute&)>& fn) {
  OutPeer* op = out(p);
  if (!op) return;
  if (op->budget) {
    for (const auto& [prefix, attrs] : op->budget->sent) fn(AdvertisedRoute{prefix, attrs, false});
    return;
  }
  const uint32_t id = to_int(p);
  loc_.for_each([&](const Prefix& prefix, PathList& e) {
    if (!is_advertised(*op, prefix, &e)) return;
    AdvertisedRoute r{prefix, AttrRef(), false};
    for (const Path& x : e) {
      if (!(x.flags & kPathBest)) continue;
      r.attrs = rules_.apply(id, prefix, x, nullptr, true);
      break;
    }
    r.pending = is_queued(*op, prefix, &e);
    fn(r);
  });
}

}  // namespace ferry::rib
