#include "routing/routing.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/log.hpp"

namespace ferry::routing {

size_t Routing::InstalledHash::operator()(const Installed& v) const noexcept {
  size_t h = v.kernel ? fib::RouteTargetHash{}(*v.kernel) * 31 + 1 : 0;
  for (tunnel::PeerIndex p : v.tunnel_peers) h = h * 1000003u ^ (p.value + 0x9e3779b9u);
  return h;
}

uint32_t Routing::InstalledPool::intern(const Installed& v) {
  auto it = ids_.find(v);
  if (it != ids_.end()) return it->second;
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    values_.push_back(nullptr);
    refs_.push_back(0);
    id = static_cast<uint32_t>(values_.size());
  }
  auto [node, inserted] = ids_.emplace(v, id);
  values_[id - 1] = &node->first;
  refs_[id - 1] = 0;
  return id;
}

void Routing::InstalledPool::release(uint32_t id) {
  if (--refs_[id - 1] != 0) return;
  ids_.erase(*values_[id - 1]);
  values_[id - 1] = nullptr;
  free_.push_back(id);
}

const Routing::Installed& Routing::InstalledView::at(const Prefix& p) const {
  const Installed* v = find(p);
  if (!v) throw std::out_of_range("routing: prefix not installed: " + p.str());
  return *v;
}

Routing::Routing(rib::Rib& rib, fib::Fib* fib, LearnedRoutes* tunnel)
    : rib_(rib), fib_(fib), tunnel_(tunnel) {
  rib_.add_listener(this);
}

Routing::~Routing() {
  rib_.remove_listener(this);
}

rib::NextHopInfo Routing::resolve(const IpAddress& nh) const {
  const auto r = resolver_.resolve(nh);
  if (!r) return rib::NextHopInfo{false, 0};
  if (!unusable_.empty() && tunnel_ && r->ifindex == view_.ifindex) {
    auto peer = peer_for_next_hop(r->gateway);
    if (peer && std::binary_search(unusable_.begin(), unusable_.end(), *peer))
      return rib::NextHopInfo{false, 0};
  }
  return rib::NextHopInfo{true, 0};
}

std::optional<tunnel::PeerIndex> Routing::tunnel_peer_of(const IpAddress& a) const {
  if (!tunnel_) return std::nullopt;
  const auto r = resolver_.resolve(a);
  if (!r || r->ifindex != view_.ifindex) return std::nullopt;
  return peer_for_next_hop(r->gateway);
}

void Routing::set_unusable_peers(std::vector<tunnel::PeerIndex> peers) {
  std::sort(peers.begin(), peers.end());
  if (peers == unusable_) return;
  unusable_ = std::move(peers);
  // Re-resolve: BGP paths via those peers become ineligible (or eligible again).
  rib_.next_hops_changed();
  reresolve_statics();
}

void Routing::set_connected(std::vector<std::pair<Prefix, uint32_t>> nets) {
  std::sort(nets.begin(), nets.end());
  nets.erase(std::unique(nets.begin(), nets.end()), nets.end());
  if (nets == connected_) return;
  connected_ = nets;
  resolver_.set_connected(std::move(nets));
  rib_.next_hops_changed();
  reresolve_statics();
  reevaluate_guard();  // a connected network may now hold (or no longer hold) an endpoint
  // The tunnel's own subnets may now cover (or no longer cover) static allowed-ips.
  sync_static_kernel_routes(tunnel_static_);
}

std::optional<tunnel::PeerIndex> Routing::static_owner(const Prefix& p) const {
  std::optional<tunnel::PeerIndex> owner;
  int best = -1;
  for (const auto& [prefix, peer] : inner_)
    if (prefix.len() > 0 && prefix.len() > best && prefix.family() == p.family() &&
        prefix.contains(p)) {
      best = prefix.len();
      owner = peer;
    }
  return owner;
}

void Routing::apply(const Options& opts) {
  const bool rule_changed = opts.learned_override_static != learned_override_static_;
  learned_override_static_ = opts.learned_override_static;
  if (rule_changed) reevaluate_static_rule();
  const std::vector<StaticRoute>& routes = opts.static_routes;
  // Withdraw statics that are gone, then (re)originate the current ones.
  for (const auto& old : statics_) {
    const bool still = std::any_of(routes.begin(), routes.end(),
                                   [&](const auto& s) { return s.prefix == old.prefix; });
    if (!still) rib_.unoriginate(rib::RouteSource::Static, old.prefix);
  }
  statics_ = routes;
  std::vector<fib::StaticNextHopRoute> nh_routes;
  for (const auto& r : routes) nh_routes.push_back({r.prefix, r.next_hop, r.ifindex, r.blackhole});
  resolver_.set_static(std::move(nh_routes));
  rib_.next_hops_changed();
  for (const auto& s : statics_) {
    bgp::PathAttributes a;
    a.origin = bgp::Origin::Incomplete;
    if (s.next_hop) a.next_hop = *s.next_hop;
    rib_.originate(rib::RouteSource::Static, s.prefix, a);
  }
  reresolve_statics();  // a static route may resolve through another one
}

void Routing::reresolve_statics() {
  std::vector<Change> tunnel_changes;
  for (const auto& [p, next_hops] : static_best_) {
    auto it = std::find_if(statics_.begin(), statics_.end(),
                           [&](const auto& s) { return s.prefix == p; });
    want_for(next_hops, it != statics_.end() && it->blackhole, scratch_);
    install(p, scratch_, tunnel_changes);  // unchanged: one probe, nothing sent
  }
  if (tunnel_ && !tunnel_changes.empty()) tunnel_->apply_learned(tunnel_changes);
}

void Routing::set_tunnel(tunnel::View view) {
  std::vector<std::pair<Prefix, tunnel::PeerIndex>> inner;
  for (const auto& p : view.peers)
    for (const auto& a : p.allowed_ips) inner.emplace_back(a, p.id);
  const bool resolution_changed = view.ifindex != view_.ifindex || inner != inner_;
  view_ = std::move(view);
  if (resolution_changed) {
    inner_ = std::move(inner);
    tunnel_changed();
  } else if (refresh_endpoints()) {
    reevaluate_guard();
  }
}

std::string Routing::peer_name(tunnel::PeerIndex peer) const {
  for (const auto& p : view_.peers)
    if (p.id == peer) return p.name;
  return "?";
}

std::optional<tunnel::PeerIndex> Routing::peer_for_next_hop(const IpAddress& nh) const {
  for (const auto& [prefix, peer] : inner_)
    if (prefix.contains(nh)) return peer;
  return std::nullopt;
}

void Routing::tunnel_changed() {
  std::vector<Prefix> now;
  if (tunnel_) {
    for (const auto& [prefix, peer] : inner_) now.push_back(prefix);
    resolver_.set_tunnel_peers(view_.ifindex, now);
  }
  const bool endpoints_moved = refresh_endpoints();  // peers may have come or gone
  sync_static_kernel_routes(now);
  tunnel_static_ = std::move(now);
  rib_.next_hops_changed();
  reresolve_statics();
  if (endpoints_moved) reevaluate_guard();
  reevaluate_static_rule();
}

void Routing::reevaluate_static_rule() {
  if (!tunnel_) return;
  std::vector<std::pair<Prefix, Installed>> redo;
  for (const auto& [p, k] : kept_by_static_) redo.emplace_back(p, k.wanted);
  if (!learned_override_static_ && !inner_.empty()) {
    installed_.for_each([&](const Prefix& p, uint32_t id) {
      const Installed& have = pool_.get(id);
      if (have.tunnel_peers.empty() || kept_by_static_.count(p)) return;
      auto owner = static_owner(p);
      if (owner && std::any_of(have.tunnel_peers.begin(), have.tunnel_peers.end(),
                               [&](auto x) { return x != *owner; }))
        redo.emplace_back(p, have);
    });
  }
  std::vector<Change> tunnel_changes;
  for (auto& [p, want] : redo) install(p, want, tunnel_changes);
  if (!tunnel_changes.empty()) tunnel_->apply_learned(tunnel_changes);
}

void Routing::sync_static_kernel_routes(const std::vector<Prefix>& now) {
  // Kernel routes for static allowed-ips beyond the tunnel's connected subnets.
  for (auto it = withheld_allowed_.begin(); it != withheld_allowed_.end();)
    it = std::find(now.begin(), now.end(), it->first) == now.end() ? withheld_allowed_.erase(it)
                                                                   : std::next(it);
  if (!fib_ || !tunnel_) return;
  auto on_link = [&](const Prefix& p) {
    return std::any_of(connected_.begin(), connected_.end(), [&](const auto& c) {
      return c.second == view_.ifindex && c.first.contains(p);
    });
  };
  for (const auto& old : tunnel_static_)
    if (std::find(now.begin(), now.end(), old) == now.end() && !installed_.find(old))
      fib_->remove(old);
  for (const auto& p : now) {
    if (on_link(p)) {
      // The connected subnet covers it (it may not have been known earlier).
      if (!installed_.find(p) && fib_->desired(p)) fib_->remove(p);
      continue;
    }
    if (auto e = loops_endpoint(p)) {
      // Loop guard: the allowed-ip covers a peer's endpoint; no kernel route into the tunnel.
      auto w = withheld_allowed_.find(p);
      if (w == withheld_allowed_.end() || w->second.peer != e->peer ||
          w->second.endpoint != e->addr)
        note_withheld(p, *e, w == withheld_allowed_.end());
      withheld_allowed_[p] = Withheld{e->peer, e->addr, {}};
      if (!installed_.find(p) && fib_->desired(p)) fib_->remove(p);
      continue;
    }
    if (withheld_allowed_.erase(p))
      spdlog::info("routing: allowed-ip {} no longer covers a tunnel endpoint; routed again",
                   p.str());
    fib::NextHop k;
    k.ifindex = view_.ifindex;
    fib_->set(p, fib::RouteTarget::via({k}));
  }
}

bool Routing::refresh_endpoints() {
  std::vector<PeerEndpoint> now;
  if (tunnel_)
    for (const auto& p : view_.peers)
      if (p.endpoint) now.push_back({p.id, *p.endpoint});
  std::sort(now.begin(), now.end());
  now.erase(std::unique(now.begin(), now.end()), now.end());
  if (now == endpoints_) return false;
  endpoints_ = std::move(now);
  return true;
}

std::optional<Routing::PeerEndpoint> Routing::loops_endpoint(const Prefix& p) const {
  if (!tunnel_) return std::nullopt;
  for (const auto& e : endpoints_) {
    if (e.addr.family() != p.family() || !p.contains(e.addr)) continue;
    // A more specific connected network outside the tunnel wins the kernel's
    // longest-prefix match for the endpoint: the underlay keeps it, no loop.
    const uint32_t tif = view_.ifindex;
    const bool shadowed = std::any_of(connected_.begin(), connected_.end(), [&](const auto& c) {
      return c.second != tif && c.first.len() > p.len() && c.first.contains(e.addr);
    });
    if (!shadowed) return e;
  }
  return std::nullopt;
}

void Routing::note_withheld(const Prefix& p, const PeerEndpoint& e, bool newly) {
  if (newly) ++withheld_total_;
  if (!guard_log_.allow()) return;
  const uint64_t skipped = guard_log_.take_suppressed();
  spdlog::warn(
      "routing: {} is not routed into the tunnel: it covers {}, the endpoint of tunnel peer {} "
      "(the tunnel's own packets would loop){}",
      p.str(), e.addr.str(), peer_name(e.peer),
      skipped ? fmt::format(" ({} similar messages suppressed)", skipped) : std::string());
}

void Routing::reevaluate_guard() {
  // Withheld routes may be installable now; installed routes into the tunnel may
  // cover a new endpoint (every prefix that contains an endpoint is one of its
  // masks: one lookup per prefix length).
  std::map<Prefix, Installed> todo;
  for (const auto& [p, w] : withheld_) todo.emplace(p, w.wanted);
  for (const auto& e : endpoints_) {
    for (int len = 0; len <= family_bits(e.addr.family()); ++len) {
      const Prefix q(e.addr, len);
      if (todo.count(q)) continue;
      if (const uint32_t* id = installed_.find(q)) todo.emplace(q, pool_.get(*id));
    }
  }
  std::vector<Change> tunnel_changes;
  for (auto& [p, want] : todo) install(p, want, tunnel_changes);
  if (tunnel_ && !tunnel_changes.empty()) tunnel_->apply_learned(tunnel_changes);
  if (!endpoints_.empty() || !withheld_allowed_.empty()) sync_static_kernel_routes(tunnel_static_);
}

void Routing::want_for(std::span<const rib::NextHop> next_hops, bool blackhole, Installed& want) {
  // Reuse the vectors' storage: take the kernel next hops out before resetting.
  std::vector<fib::NextHop> kernel_nhs =
      want.kernel ? std::move(want.kernel->nexthops) : std::move(spare_nhs_);
  kernel_nhs.clear();
  want.kernel.reset();
  want.tunnel_peers.clear();
  if (blackhole) {
    spare_nhs_ = std::move(kernel_nhs);
    want.kernel = fib::RouteTarget::blackhole();
    return;
  }
  bool via_tunnel = false;
  for (const auto& hop : next_hops) {
    const auto r = resolver_.resolve(hop.address);
    if (!r) continue;
    if (tunnel_ && r->ifindex == view_.ifindex) {
      if (auto peer = peer_for_next_hop(r->gateway)) {
        if (std::binary_search(unusable_.begin(), unusable_.end(), *peer)) continue;
        // Best path first: if there are more tunnel peers than a cryptokey entry can
        // hold, the best path's peer is always among those kept.
        if (std::find(want.tunnel_peers.begin(), want.tunnel_peers.end(), *peer) ==
                want.tunnel_peers.end() &&
            want.tunnel_peers.size() < view_.max_ecmp_peers)
          want.tunnel_peers.push_back(*peer);
        via_tunnel = true;
        continue;
      }
    }
    kernel_nhs.push_back(r->nexthop());
  }
  if (via_tunnel) {
    // One kernel route into the tunnel device; the cryptokey table picks the peer.
    fib::NextHop k;
    k.ifindex = view_.ifindex;
    kernel_nhs.insert(kernel_nhs.begin(), k);
  }
  if (kernel_nhs.empty()) {
    spare_nhs_ = std::move(kernel_nhs);
    return;
  }
  want.kernel.emplace();
  want.kernel->type = fib::RouteType::Unicast;
  want.kernel->nexthops = std::move(kernel_nhs);
  want.kernel->canonicalize();  // as RouteTarget::via
}

void Routing::install(const Prefix& p, Installed& want, std::vector<Change>& tunnel_changes) {
  // Loop guard: nothing of a route that covers a tunnel endpoint points into the tunnel.
  if (tunnel_) {
    const uint32_t tif = view_.ifindex;
    auto into_tunnel = [&](const fib::NextHop& nh) { return nh.ifindex == tif; };
    const bool tunnel_side = !want.tunnel_peers.empty() ||
                             (want.kernel && std::any_of(want.kernel->nexthops.begin(),
                                                         want.kernel->nexthops.end(), into_tunnel));
    auto w = withheld_.find(p);
    std::optional<PeerEndpoint> e;
    if (tunnel_side) e = loops_endpoint(p);
    if (e) {
      const bool newly = w == withheld_.end();
      if (newly || w->second.peer != e->peer || w->second.endpoint != e->addr)
        note_withheld(p, *e, newly);
      withheld_[p] = Withheld{e->peer, e->addr, want};
      want.tunnel_peers.clear();
      if (want.kernel) {
        auto& nhs = want.kernel->nexthops;
        nhs.erase(std::remove_if(nhs.begin(), nhs.end(), into_tunnel), nhs.end());
        if (nhs.empty()) want.kernel.reset();
      }
    } else if (w != withheld_.end()) {
      if (tunnel_side && guard_log_.allow())
        spdlog::info("routing: {} no longer covers a tunnel endpoint; routed into the tunnel",
                     p.str());
      withheld_.erase(w);
    }
  }

  // Static allowed-ips are authoritative (see routing.hpp).
  if (tunnel_) {
    std::optional<tunnel::PeerIndex> owner;
    if (!learned_override_static_ && !want.tunnel_peers.empty()) owner = static_owner(p);
    auto& v = want.tunnel_peers;
    auto other = [&](tunnel::PeerIndex x) { return x != *owner; };
    if (owner && std::any_of(v.begin(), v.end(), other)) {
      if (!kept_by_static_.count(p) && guard_log_.allow())
        spdlog::warn(
            "routing: {} lies inside a static allowed-ip of tunnel peer {}: not learned "
            "by another peer ([tunnel] learned-override-static = false)",
            p.str(), peer_name(*owner));
      kept_by_static_[p] = KeptByStatic{*owner, want};
      v.erase(std::remove_if(v.begin(), v.end(), other), v.end());
    } else {
      kept_by_static_.erase(p);
    }
  }

  // One probe: insert (id 0 for now) only when there is something to install.
  static const Installed kNothing;
  const bool want_any = !want.empty();
  uint32_t* slot = want_any ? &installed_.get(p) : installed_.find(p);
  if (!slot) return;
  const uint32_t old_id = *slot;
  const uint32_t new_id = want_any ? pool_.intern(want) : 0;
  if (new_id == old_id) return;  // same route as installed: nothing to do
  const Installed& have = old_id ? pool_.get(old_id) : kNothing;
  // Tunnel side: the prefix maps to the SET of tunnel peers among the active next hops
  // (ECMP; the data plane picks one per flow). Removals first, then additions, all in
  // the caller's single batch: the cryptokey table publishes once, so no packet is sent
  // to or accepted from a dropped peer after it, and the kept peers never see a gap.
  if (tunnel_) {
    auto has = [](const std::vector<tunnel::PeerIndex>& v, tunnel::PeerIndex x) {
      return std::find(v.begin(), v.end(), x) != v.end();
    };
    for (tunnel::PeerIndex old : have.tunnel_peers)
      if (!has(want.tunnel_peers, old)) tunnel_changes.push_back({false, old, p});
    for (tunnel::PeerIndex peer : want.tunnel_peers)
      if (!has(have.tunnel_peers, peer)) tunnel_changes.push_back({true, peer, p});
  }
  if (fib_) {
    if (want.kernel) {
      if (!have.kernel || !(*have.kernel == *want.kernel)) fib_->set(p, *want.kernel);
    } else if (have.kernel) {
      fib_->remove(p);
    }
  }
  if (new_id) {
    pool_.ref(new_id);
    *slot = new_id;
  } else {
    installed_.erase(p);
  }
  if (old_id) pool_.release(old_id);  // last: `have` refers into the pool
}

void Routing::on_best_changes(std::span<const rib::BestChange> changes) {
  std::vector<Change> tunnel_changes;
  const size_t before = installed_.size();
  for (const auto& c : changes) {
    bool blackhole = false;
    bool ours_to_install = false;
    if (!c.next_hops.empty()) {
      switch (c.source) {
        case rib::RouteSource::Bgp:
          ours_to_install = true;
          break;
        case rib::RouteSource::Static: {
          ours_to_install = true;
          auto it = std::find_if(statics_.begin(), statics_.end(),
                                 [&](const auto& s) { return s.prefix == c.prefix; });
          blackhole = it != statics_.end() && it->blackhole;
          break;
        }
        // Networks, connected and kernel routes are already the kernel's own.
        case rib::RouteSource::Network:
        case rib::RouteSource::Connected:
        case rib::RouteSource::Kernel:
          break;
      }
    }
    if (ours_to_install && c.source == rib::RouteSource::Static)
      static_best_[c.prefix] = c.next_hops;
    else if (!static_best_.empty())
      static_best_.erase(c.prefix);
    if (ours_to_install) {
      want_for(c.next_hops, blackhole, scratch_);
      install(c.prefix, scratch_, tunnel_changes);
    } else if (installed_.find(c.prefix) || withheld_.count(c.prefix)) {
      Installed none;
      install(c.prefix, none, tunnel_changes);  // removes both sides
    }
  }
  if (tunnel_ && !tunnel_changes.empty()) tunnel_->apply_learned(tunnel_changes);
  // After mass withdrawal give the slot array back (a cheap size check otherwise).
  if (installed_.size() < before) installed_.shrink_if_sparse();
}

}  // namespace ferry::routing
