// Shared helpers for the RIB unit tests.
#pragma once

#include <string>
#include <vector>

#include "rib/rib.hpp"

namespace ferry::rib::test {

inline IpAddress ip(const std::string& s) {
  return *IpAddress::parse(s);
}
inline Prefix pfx(const std::string& s) {
  return *Prefix::parse(s);
}

inline bgp::PathAttributes attrs(std::vector<uint32_t> path, const std::string& nh,
                                 bgp::Origin origin = bgp::Origin::Igp) {
  bgp::PathAttributes a;
  a.origin = origin;
  if (!path.empty()) a.as_path.push_back({bgp::SegmentType::Sequence, std::move(path)});
  a.next_hop = ip(nh);
  return a;
}

inline PeerConfig peer_cfg(const std::string& name, const std::string& addr, uint32_t asn,
                           std::vector<std::string> import = {"accept-all"},
                           std::vector<std::string> exp = {"accept-all"}) {
  PeerConfig c;
  c.name = name;
  c.address = ip(addr);
  c.remote_asn = Asn(asn);
  c.import_policies = std::move(import);
  c.export_policies = std::move(exp);
  c.import_set = !c.import_policies.empty();
  c.export_set = !c.export_policies.empty();
  return c;
}

inline PeerSession session(uint32_t router_id, const std::string& local_v4 = "192.0.2.1") {
  PeerSession s;
  s.router_id = RouterId(router_id);
  s.families = {Family::V4, Family::V6};
  s.local_v4 = ip(local_v4);
  s.local_v6 = ip("2001:db8::1");
  return s;
}

inline RibOptions options(uint32_t asn = 65000, uint32_t rid = 0x0a000001) {
  RibOptions o;
  o.local_asn = Asn(asn);
  o.router_id = RouterId(rid);
  return o;
}

// Drains everything pending for a peer.
inline PullResult pull_all(Rib& rib, PeerId p) {
  PullResult all;
  for (int i = 0; i < 1000; ++i) {
    PullResult r = rib.pull_updates(p, 100000);
    for (auto& b : r.announce) all.announce.push_back(std::move(b));
    for (auto& w : r.withdraw) all.withdraw.push_back(w);
    for (auto f : r.end_of_rib) all.end_of_rib.push_back(f);
    if (!r.more) break;
  }
  return all;
}

// The BGP neighbour with that address, from the RIB's peer list.
inline std::optional<PeerId> peer_at(const Rib& rib, const IpAddress& addr) {
  for (const PeerStatus& s : rib.peers())
    if (s.address == addr) return s.id;
  return std::nullopt;
}

// The batch that announces a prefix in `r` (a copy: `r` is often a temporary).
inline std::optional<AnnounceBatch> find_announce(const PullResult& r, const Prefix& p) {
  for (const auto& b : r.announce)
    for (const auto& x : b.prefixes)
      if (x == p) return b;
  return std::nullopt;
}

}  // namespace ferry::rib::test
