// Rib, export side: per-peer pending queues, the initial-dump walk, the export
// rules (RFC 4271 §9.1.3, RFC 4456 §8, RFC 1997, RFC 8212) and the pull-based
// update generation that packs prefixes by attribute set.
#include <algorithm>
#include <cstdint>

#include "rib/rib_impl.hpp"

namespace ferry::rib {

bool Rib::Impl::advertised(const PeerState& ps, const Prefix& prefix, const PathList* e) const {
  if (ps.out_bit >= 0) return e && (e->adv >> ps.out_bit) & 1;
  return ps.adj_out_overflow.find(prefix) != nullptr;
}

void Rib::Impl::set_advertised(PeerState& ps, const Prefix& prefix, PathList* e, bool on) {
  if (ps.out_bit >= 0) {
    uint32_t bit = 1u << ps.out_bit;
    if (on)
      e->adv = static_cast<uint16_t>(e->adv | bit);
    else
      e->adv = static_cast<uint16_t>(e->adv & ~bit);
  } else if (on) {
    ps.adj_out_overflow.get(prefix);
  } else {
    ps.adj_out_overflow.erase(prefix);
  }
  if (on)
    ++ps.counters.advertised;
  else
    --ps.counters.advertised;
}

void Rib::Impl::clear_out_bits(PeerState& ps) {
  if (ps.out_bit >= 0) {
    uint32_t mask = ~(1u << ps.out_bit);
    for (Family fam : {Family::V4, Family::V6}) {
      Prefix prefix;
      for (size_t i = 0, n = loc.capacity(fam); i < n; ++i) {
        if (PathList* e = loc.at(fam, i, &prefix)) {
          e->adv = static_cast<uint16_t>(e->adv & mask);
          e->queued = static_cast<uint16_t>(e->queued & mask);
          maybe_erase(prefix, *e);
        }
      }
    }
  }
  ps.adj_out_overflow.clear();
  ps.counters.advertised = 0;
}

void Rib::Impl::reset_out(PeerState& ps) {
  clear_out_bits(ps);
  ps.queue.clear();
  ps.queue.shrink_to_fit();
  ps.queue_head = 0;
  ps.queued.clear();
  ps.walk[0] = ps.walk[1] = PeerState::Walk();
  ps.notified = false;
}

void Rib::Impl::enqueue(PeerState& ps, const Prefix& prefix, PathList& e) {
  // Already pending: coalesces into one send of the latest state.
  if (ps.out_bit >= 0) {
    uint32_t bit = 1u << ps.out_bit;
    if (e.queued & bit) return;
    e.queued = static_cast<uint16_t>(e.queued | bit);
  } else {
    bool inserted = false;
    ps.queued.get(prefix, &inserted);
    if (!inserted) return;
  }
  ps.queue.push_back(prefix);
  if (!ps.notified && pending_cb) {
    ps.notified = true;
    pending_cb(PeerId{static_cast<uint32_t>(&ps - peers.data())});
  }
}

void Rib::Impl::mark_dirty(const Prefix& prefix, PathList& e, int64_t best_peer) {
  int fi = fam_index(prefix.family());
  for (PeerState& ps : peers) {
    if (!ps.up || !ps.fam[fi]) continue;
    // Nothing to send when the peer holds nothing of ours for the prefix and
    // the new best path is gone or came from that very peer (never sent back,
    // see export_attrs): for a full table from one peer this saves that peer
    // a million queue entries and table lookups, on announce and withdraw.
    if (ps.out_bit >= 0 && !((e.adv >> ps.out_bit) & 1) &&
        (best_peer < 0 || best_peer == &ps - peers.data()))
      continue;
    // A walk that has not finished will visit the prefix anyway, unless it
    // already passed its slot; queueing is cheap and the Adj-RIB-Out
    // comparison drops duplicates, so always queue.
    enqueue(ps, prefix, e);
  }
}

void Rib::Impl::start_walk(PeerState& ps, Family f, bool eor) {
  auto& w = ps.walk[fam_index(f)];
  w.active = true;
  w.eor = w.eor || eor;
  w.pos = 0;
  // Walks started while the set of prefixes is unchanged (several peers
  // coming up, a reload) share one snapshot.
  int fi = fam_index(f);
  std::shared_ptr<const std::vector<Prefix>> snap = snapshot[fi].lock();
  if (!snap || snapshot_version[fi] != prefix_set_version) {
    auto v = std::make_shared<std::vector<Prefix>>();
    v->reserve(loc.size(f));
    Prefix prefix;
    for (size_t i = 0, n = loc.capacity(f); i < n; ++i)
      if (PathList* e = loc.at(f, i, &prefix); e && !e->empty()) v->push_back(prefix);
    snap = std::move(v);
    snapshot[fi] = snap;
    snapshot_version[fi] = prefix_set_version;
  }
  w.list = std::move(snap);
  if (!ps.notified && pending_cb) {
    ps.notified = true;
    pending_cb(PeerId{static_cast<uint32_t>(&ps - peers.data())});
  }
}

AttrRef Rib::Impl::export_attrs(PeerState& to, const Prefix& prefix, const Path& best,
                                ExportCache* cache, bool prefix_dep) {
  uint32_t to_id = static_cast<uint32_t>(&to - peers.data());
  if (best.peer == to_id || !best.post) return AttrRef();  // never back to where it came from
  const PeerState& from = peers[best.peer];
  bool to_ebgp = !to.ibgp;
  Family fam = prefix.family();
  const auto& chain = to.cfg.export_policies;
  // Everything below depends only on (source attributes, source peer,
  // family) unless the export policy looks at the prefix: cache per pull.
  ExportKey key{best.post.id(), best.peer, fam_index(fam)};
  if (cache && !prefix_dep) {
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
  }
  auto fail = [&]() {
    if (cache && !prefix_dep) cache->emplace(key, AttrRef());
    return AttrRef();
  };
  const bgp::PathAttributes src = *best.post;

  // RFC 1997: well-known communities.
  if (has_community(src, bgp::kNoAdvertise)) return fail();
  if (to_ebgp &&
      (has_community(src, bgp::kNoExport) || has_community(src, bgp::kNoExportSubconfed)))
    return fail();

  // iBGP split horizon (RFC 4271 §9.2) and route reflection (RFC 4456 §8).
  bool reflect = false;
  if (!from.local && from.ibgp && to.ibgp) {
    bool from_client = from.cfg.route_reflector_client;
    bool to_client = to.cfg.route_reflector_client;
    // From a client: reflect to everyone. From a non-client: only to clients.
    if (!from_client && !to_client) return fail();
    reflect = true;
    // Do not reflect a route back to the router that originated it.
    uint32_t originator = src.originator_id.value_or(from.sess.router_id.value());
    if (originator == to.sess.router_id.value()) return fail();
  }
  // Sender-side loop detection: the peer would drop it anyway (RFC 4271 §9.1.2).
  if (to_ebgp && as_path_contains(src, to.cfg.remote_asn.value())) return fail();

  if (chain.empty() && to_ebgp) return fail();  // RFC 8212 §3: send nothing

  std::optional<IpAddress> self;
  if (fam == Family::V4)
    self = to.sess.local_v4;
  else
    self = to.sess.local_v6;

  PolicyOutcome pr;
  std::optional<bgp::PathAttributes> out;
  if (!chain.empty()) {
    PolicyInput in;
    in.prefix = &prefix;
    in.source = from.source;
    in.neighbor_name = &to.cfg.name;
    in.neighbor_address = &to.cfg.address;
    in.local_asn = opts.local_asn.value();
    in.self_next_hop = self;
    pr = policy.run(chain, in, src, out);
    if (!pr.accept) {
      return fail();
    }
  }
  bgp::PathAttributes a = out ? std::move(*out) : src;
  bool set_self = false;
  if (to_ebgp) {
    // RFC 4271 §5.1.2: prepend our AS towards an external peer.
    as_path_prepend(a, opts.local_asn.value(), 1);
    // §5.1.5: LOCAL_PREF is not sent to external peers.
    a.local_pref.reset();
    // §5.1.4: a MED received from another AS is not passed on to other ASes.
    if (!pr.med_set && !from.local) a.med.reset();
    // RFC 4456 §8: ORIGINATOR_ID and CLUSTER_LIST are not sent outside the AS.
    a.originator_id.reset();
    a.cluster_list.clear();
    if (!pr.next_hop_set && (to.cfg.next_hop_self.value_or(true) || !a.next_hop)) set_self = true;
  } else {
    // §5.1.5: LOCAL_PREF is always sent to internal peers.
    if (!a.local_pref) a.local_pref = 100;
    if (reflect) {
      // RFC 4456 §8: set ORIGINATOR_ID once, prepend our CLUSTER_ID.
      if (!a.originator_id) a.originator_id = from.sess.router_id.value();
      a.cluster_list.insert(a.cluster_list.begin(), cluster_id());
    }
    if (!pr.next_hop_set && (to.cfg.next_hop_self.value_or(false) || !a.next_hop))
      set_self = !reflect || !a.next_hop;
  }
  if (set_self) {
    if (!self) {
      // No local address of this family on the session: cannot be announced.
      return fail();
    }
    a.next_hop = *self;
    a.next_hop_ll = fam == Family::V6 ? to.sess.local_v6_ll : std::nullopt;
  }
  if (!a.next_hop || a.next_hop->family() != fam) {
    // RFC 4271 §5.1.3 / RFC 4760: the next hop must be usable for the family.
    if (!(fam == Family::V6 && a.next_hop)) {
      return fail();
    }
  }
  AttrRef r = attrs.intern(std::move(a));
  if (cache && !prefix_dep) cache->emplace(key, r);
  return r;
}

PullResult Rib::Impl::pull(PeerId p, size_t budget) {
  PullResult res;
  PeerState* ps = peer(p);
  if (!ps || ps->local || !ps->up) return res;
  if (budget == 0) budget = 1;
  ExportCache cache;
  std::unordered_map<const void*, size_t> batch_of;  // attrs -> index in res.announce
  size_t emitted = 0;
  const auto& chain = ps->cfg.export_policies;
  const bool prefix_dep = !chain.empty() && policy.depends_on_prefix(chain);
  // Consecutive prefixes mostly came in one UPDATE and share their best
  // path's attributes: remember the last export (and its batch) in front of
  // the hash lookups. The source is held so its address cannot be reused.
  AttrRef memo_src;
  uint32_t memo_peer = 0;
  AttrRef memo_out;
  size_t memo_batch = SIZE_MAX;

  auto process = [&](const Prefix& prefix, PathList* e) {
    AttrRef out;
    if (e) {
      for (const Path& x : *e) {
        if (!(x.flags & kPathBest)) continue;
        if (!prefix_dep && memo_src && x.post == memo_src && x.peer == memo_peer) {
          out = memo_out;
        } else {
          out = export_attrs(*ps, prefix, x, &cache, prefix_dep);
          if (!prefix_dep && x.post) {
            memo_src = x.post;
            memo_peer = x.peer;
            memo_out = out;
            memo_batch = SIZE_MAX;
          }
        }
        break;
      }
    }
    bool was = advertised(*ps, prefix, e);
    if (out) {
      // Dirty means the best path changed, so this is a real update (the
      // attributes sent before are not kept; see PeerState::out_bit).
      if (!was) set_advertised(*ps, prefix, e, true);
      size_t bi;
      if (memo_batch != SIZE_MAX && out == memo_out &&
          res.announce[memo_batch].family == prefix.family()) {
        bi = memo_batch;
      } else {
        auto [it, fresh] = batch_of.try_emplace(out.id(), res.announce.size());
        if (fresh) res.announce.push_back(AnnounceBatch{prefix.family(), out, {}});
        bi = it->second;
        if (out == memo_out) memo_batch = bi;
      }
      res.announce[bi].prefixes.push_back(prefix);
      ++emitted;
    } else if (was) {
      set_advertised(*ps, prefix, e, false);
      res.withdraw.push_back(prefix);
      ++emitted;
    }
  };

  // Lookups started ahead of use: each one misses the cache.
  constexpr size_t kAhead = 8;
  auto is_queued = [&](const Prefix& prefix, const PathList* e) {
    if (ps->out_bit >= 0) return e && ((e->queued >> ps->out_bit) & 1);
    return ps->queued.find(prefix) != nullptr;
  };

  // 1. The table walks.
  for (Family f : {Family::V4, Family::V6}) {
    auto& w = ps->walk[fam_index(f)];
    if (!w.active) continue;
    while (emitted < budget && w.pos < w.list->size()) {
      if (w.pos + kAhead < w.list->size()) loc.prefetch((*w.list)[w.pos + kAhead]);
      Prefix prefix = (*w.list)[w.pos++];
      PathList* e = loc.find(prefix);
      if (is_queued(prefix, e)) continue;  // sent from the queue, in its latest state
      process(prefix, e);
      if (e) maybe_erase(prefix, *e);
    }
    if (w.pos >= w.list->size()) {
      w.active = false;
      w.list.reset();
      if (w.eor) {
        w.eor_wait = true;
        w.eor_mark = ps->queue.size();
      }
      w.eor = false;
    }
  }
  // 2. Changes, oldest first; only once no walk is running (a prefix sent
  // from the queue and then reached by a walk would be sent twice).
  if (!ps->walk[0].active && !ps->walk[1].active) {
    while (ps->queue_head < ps->queue.size() && emitted < budget) {
      if (ps->queue_head + kAhead < ps->queue.size())
        loc.prefetch(ps->queue[ps->queue_head + kAhead]);
      Prefix prefix = ps->queue[ps->queue_head++];
      PathList* e = loc.find(prefix);
      if (ps->out_bit >= 0) {
        if (e) e->queued = static_cast<uint16_t>(e->queued & ~(1u << ps->out_bit));
      } else {
        ps->queued.erase(prefix);
      }
      process(prefix, e);
      if (e) maybe_erase(prefix, *e);
    }
    if (ps->queue_head == ps->queue.size()) {
      // Drained. After a full-table burst the queue may hold megabytes of
      // capacity; give it back rather than keep it for the next burst.
      if (ps->queue.capacity() > 4096) {
        big_free = big_free || ps->queue.capacity() * sizeof(Prefix) >= kTrimTableBytes;
        std::vector<Prefix>().swap(ps->queue);
      } else {
        ps->queue.clear();
      }
      ps->queue_head = 0;
      ps->queued.clear();
    }
  }
  // 3. RFC 4724 §2: End-of-RIB after the initial update set, which includes
  // the prefixes that were queued while the walk ran.
  for (Family f : {Family::V4, Family::V6}) {
    auto& w = ps->walk[fam_index(f)];
    if (w.eor_wait && !w.active && (ps->queue.empty() || ps->queue_head >= w.eor_mark)) {
      res.end_of_rib.push_back(f);
      w.eor_wait = false;
    }
  }
  res.more = ps->queue_head < ps->queue.size() || ps->walk[0].active || ps->walk[1].active ||
             ps->walk[0].eor_wait || ps->walk[1].eor_wait;
  if (!res.more) ps->notified = false;
  settle();  // the withdrawals sent may have emptied many entries
  return res;
}

void Rib::for_each_advertised(PeerId p, const std::function<void(const AdvertisedRoute&)>& fn) {
  Impl& m = *impl_;
  PeerState* ps = m.peer(p);
  if (!ps || ps->local) return;
  m.loc.for_each([&](const Prefix& prefix, PathList& e) {
    if (!m.advertised(*ps, prefix, &e)) return;
    AdvertisedRoute r{prefix, AttrRef(), false};
    for (const Path& x : e) {
      if (!(x.flags & kPathBest)) continue;
      r.attrs = m.export_attrs(*ps, prefix, x, nullptr, true);
      break;
    }
    if (ps->out_bit >= 0)
      r.pending = (e.queued >> ps->out_bit) & 1;
    else
      r.pending = ps->queued.find(prefix) != nullptr;
    fn(r);
  });
}

}  // namespace ferry::rib
