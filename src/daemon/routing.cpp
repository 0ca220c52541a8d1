#include "daemon/routing.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace ferry::daemon {

Routing::Routing(rib::Rib& rib, fib::Fib* fib, TunnelRoutes* tunnel)
    : rib_(rib), fib_(fib), tunnel_(tunnel) {
  rib_.add_listener(this);
}

Routing::~Routing() {
  rib_.remove_listener(this);
}

Routing::Resolution Routing::resolve_detail(const IpAddress& nh, int depth) const {
  Resolution r;
  if (nh.is_unspecified()) return r;
  // A tunnel peer's inner address: the route goes into that peer's tunnel.
  if (tunnel_) {
    if (auto peer = tunnel_->peer_for_next_hop(nh)) {
      r.via = Via::Tunnel;
      r.peer = *peer;
      r.gateway = nh;
      return r;
    }
  }
  // A directly connected network (longest match first).
  for (const auto& c : connected_) {
    if (c.prefix.contains(nh)) {
      r.via = Via::Connected;
      r.ifindex = c.ifindex;
      r.gateway = nh;
      return r;
    }
  }
  // A static route covering the next hop, resolved recursively (bounded).
  if (depth < 4) {
    const config::StaticRouteConfig* best = nullptr;
    for (const auto& s : statics_) {
      if (s.blackhole || !s.next_hop || !s.prefix.contains(nh)) continue;
      if (!best || s.prefix.len() > best->prefix.len()) best = &s;
    }
    if (best) {
      Resolution inner = resolve_detail(*best->next_hop, depth + 1);
      if (inner.via != Via::None) return inner;
    }
  }
  return r;
}

rib::NextHopInfo Routing::resolve(const IpAddress& nh) const {
  const Resolution r = resolve_detail(nh, 0);
  // IGP cost: 0 for a tunnel peer or a connected next hop, 1 through a static route.
  return rib::NextHopInfo{r.via != Via::None, 0};
}

void Routing::set_connected(std::vector<ConnectedNet> nets) {
  std::sort(nets.begin(), nets.end(), [](const ConnectedNet& a, const ConnectedNet& b) {
    if (a.prefix.len() != b.prefix.len()) return a.prefix.len() > b.prefix.len();
    return a < b;
  });
  nets.erase(std::unique(nets.begin(), nets.end()), nets.end());
  if (nets == connected_) return;
  connected_ = std::move(nets);
  rib_.next_hops_changed();
}

void Routing::set_static_routes(const std::vector<config::StaticRouteConfig>& routes) {
  // Withdraw statics that are gone, then (re)originate the current ones.
  for (const auto& old : statics_) {
    const bool still = std::any_of(routes.begin(), routes.end(),
                                   [&](const auto& s) { return s.prefix == old.prefix; });
    if (!still) rib_.unoriginate(rib::RouteSource::Static, old.prefix);
  }
  statics_ = routes;
  rib_.next_hops_changed();
  for (const auto& s : statics_) {
    bgp::PathAttributes a;
    a.origin = bgp::Origin::Incomplete;
    if (s.next_hop) a.next_hop = *s.next_hop;
    rib_.originate(rib::RouteSource::Static, s.prefix, a);
  }
}

void Routing::tunnel_changed() {
  rib_.next_hops_changed();
}

void Routing::install(const Prefix& p, const std::vector<IpAddress>& next_hops, bool blackhole,
                      std::vector<TunnelRoutes::Change>& tunnel_changes) {
  Installed want;
  if (blackhole) {
    want.kernel = fib::RouteTarget::blackhole();
  } else {
    std::vector<fib::NextHop> kernel_nhs;
    bool via_tunnel = false;
    for (const auto& nh : next_hops) {
      const Resolution r = resolve_detail(nh, 0);
      switch (r.via) {
        case Via::Tunnel:
          if (std::find(want.tunnel_peers.begin(), want.tunnel_peers.end(), r.peer) ==
              want.tunnel_peers.end())
            want.tunnel_peers.push_back(r.peer);
          via_tunnel = true;
          break;
        case Via::Connected:
        case Via::Static: {
          fib::NextHop k;
          k.gateway = r.gateway;
          k.ifindex = r.ifindex;
          kernel_nhs.push_back(k);
          break;
        }
        case Via::None:
          ++unresolved_;
          break;
      }
    }
    if (via_tunnel) {
      // One kernel route into the tunnel device; the cryptokey table picks the peer.
      fib::NextHop k;
      k.ifindex = tunnel_->ifindex();
      kernel_nhs.insert(kernel_nhs.begin(), k);
    }
    if (!kernel_nhs.empty()) want.kernel = fib::RouteTarget::via(std::move(kernel_nhs));
  }

  Installed& have = installed_[p];
  // Tunnel side: removals first, so a moved prefix is never owned by two peers.
  if (tunnel_) {
    for (uint32_t old : have.tunnel_peers)
      if (std::find(want.tunnel_peers.begin(), want.tunnel_peers.end(), old) ==
          want.tunnel_peers.end())
        tunnel_changes.push_back({false, old, p});
    // The cryptokey table maps a prefix to one peer: the best path's peer.
    // (Equal-cost tunnel peers still share the prefix in the RIB and kernel.)
    if (!want.tunnel_peers.empty()) {
      want.tunnel_peers.resize(1);
      if (have.tunnel_peers.empty() || have.tunnel_peers.front() != want.tunnel_peers.front())
        tunnel_changes.push_back({true, want.tunnel_peers.front(), p});
    }
  }
  if (fib_) {
    if (want.kernel) {
      if (!have.kernel || !(*have.kernel == *want.kernel)) fib_->set(p, *want.kernel);
    } else if (have.kernel) {
      fib_->remove(p);
    }
  }
  if (want.kernel || !want.tunnel_peers.empty())
    have = std::move(want);
  else
    installed_.erase(p);
}

void Routing::on_best_changes(std::span<const rib::BestChange> changes) {
  std::vector<TunnelRoutes::Change> tunnel_changes;
  for (const auto& c : changes) {
    bool blackhole = false;
    std::vector<IpAddress> nhs;
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
    if (ours_to_install)
      for (const auto& nh : c.next_hops) nhs.push_back(nh.address);
    if (ours_to_install) {
      install(c.prefix, nhs, blackhole, tunnel_changes);
    } else if (installed_.count(c.prefix)) {
      install(c.prefix, {}, false, tunnel_changes);  // removes both sides
    }
  }
  if (tunnel_ && !tunnel_changes.empty()) tunnel_->apply_learned(tunnel_changes);
}

}  // namespace ferry::daemon
