// Next-hop resolver: turns a BGP NEXT_HOP into what the kernel needs, an
// outgoing interface and a gateway, or says it is unresolved.
//
// Inputs (all replaced wholesale by their owner, the daemon): connected
// networks (from KernelRoutes), static routes (from config) and the tunnel
// peers' inner addresses (from the tunnel module). resolve() takes the
// longest matching entry; on equal length connected beats tunnel beats
// static. A static route via a gateway resolves recursively (bounded depth),
// so the result is always an on-link gateway. Routes via the default route
// are not used unless resolve_via_default (as FRR/BIRD do for BGP). Pure
// logic: no kernel access.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/ip.hpp"
#include "fib/types.hpp"

namespace ferry::fib {

struct ResolvedNextHop {
  uint32_t ifindex = 0;
  IpAddress gateway;
  bool onlink = false;  // gateway not inside a connected network of ifindex (tunnels)
  bool operator==(const ResolvedNextHop&) const = default;
  NextHop nexthop() const { return NextHop{gateway, ifindex, 1, onlink}; }
};

struct StaticNextHopRoute {
  Prefix prefix;
  std::optional<IpAddress> gateway;
  uint32_t ifindex = 0;
  bool blackhole = false;
};

class NextHopResolver {
 public:
  void set_connected(std::vector<std::pair<Prefix, uint32_t>> networks);
  void set_static(std::vector<StaticNextHopRoute> routes);
  // The tunnel's peers: their inner addresses (or allowed prefixes) behind tunnel_ifindex.
  void set_tunnel_peers(uint32_t tunnel_ifindex, std::vector<Prefix> peers);
  void set_resolve_via_default(bool on) { via_default_ = on; }

  // hint_ifindex: the interface the BGP session runs over, required for IPv6
  // link-local next hops (RFC 2545 §3).
  std::optional<ResolvedNextHop> resolve(const IpAddress& nh, uint32_t hint_ifindex = 0) const;

 private:
  enum class Kind : uint8_t { Connected = 0, Tunnel = 1, Static = 2 };
  struct Entry {
    Prefix prefix;
    Kind kind;
    uint32_t ifindex;
    std::optional<IpAddress> gateway;
    bool blackhole;
  };
  void rebuild();
  std::optional<ResolvedNextHop> resolve_depth(const IpAddress& nh, int depth) const;

  std::vector<std::pair<Prefix, uint32_t>> connected_;
  std::vector<StaticNextHopRoute> static_;
  uint32_t tunnel_ifindex_ = 0;
  std::vector<Prefix> peers_;
  std::vector<Entry> entries_;  // longest prefix first, then by kind
  bool via_default_ = false;
};

}  // namespace ferry::fib
