#include "fib/resolver.hpp"

#include <algorithm>

namespace ferry::fib {

void NextHopResolver::set_connected(std::vector<std::pair<Prefix, uint32_t>> networks) {
  connected_ = std::move(networks);
  rebuild();
}

void NextHopResolver::set_static(std::vector<StaticNextHopRoute> routes) {
  static_ = std::move(routes);
  rebuild();
}

void NextHopResolver::set_tunnel_peers(uint32_t tunnel_ifindex, std::vector<Prefix> peers) {
  tunnel_ifindex_ = tunnel_ifindex;
  peers_ = std::move(peers);
  rebuild();
}

void NextHopResolver::rebuild() {
  entries_.clear();
  for (const auto& [p, idx] : connected_) entries_.push_back({p, Kind::Connected, idx, {}, false});
  for (const auto& p : peers_) entries_.push_back({p, Kind::Tunnel, tunnel_ifindex_, {}, false});
  for (const auto& s : static_) {
    entries_.push_back({s.prefix, Kind::Static, s.ifindex, s.gateway, s.blackhole});
  }
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    if (a.prefix.len() != b.prefix.len()) return a.prefix.len() > b.prefix.len();
    return a.kind < b.kind;
  });
}

std::optional<ResolvedNextHop> NextHopResolver::resolve(const IpAddress& nh,
                                                        uint32_t hint_ifindex) const {
  if (nh.is_unspecified()) return std::nullopt;
  if (nh.is_v6_link_local()) {
    // Link-local addresses are only meaningful with the interface they were learned on.
    if (hint_ifindex == 0) return std::nullopt;
    return ResolvedNextHop{hint_ifindex, nh, false};
  }
  return resolve_depth(nh, 0);
}

std::optional<ResolvedNextHop> NextHopResolver::resolve_depth(const IpAddress& nh,
                                                              int depth) const {
  if (depth > 4) return std::nullopt;  // static routes pointing at each other
  for (const auto& e : entries_) {
    if (e.prefix.family() != nh.family() || !e.prefix.contains(nh)) continue;
    if (e.prefix.len() == 0 && !via_default_) continue;
    switch (e.kind) {
      case Kind::Connected:
        return ResolvedNextHop{e.ifindex, nh, false};
      case Kind::Tunnel:
        if (e.ifindex == 0) continue;
        return ResolvedNextHop{e.ifindex, nh, true};
      case Kind::Static:
        if (e.blackhole) return std::nullopt;
        if (e.gateway) {
          if (*e.gateway == nh) continue;  // a route via itself resolves nothing
          return resolve_depth(*e.gateway, depth + 1);
        }
        if (e.ifindex == 0) continue;
        return ResolvedNextHop{e.ifindex, nh, true};
    }
  }
  return std::nullopt;
}

}  // namespace ferry::fib
