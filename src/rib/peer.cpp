// PeerTable: configuration, session and counters of the RIB's peers.
#include "rib/peer.hpp"

namespace ferry::rib {

PeerTable::PeerTable() {
  peers_.resize(kFirstBgpPeer);
  for (RouteSource s :
       {RouteSource::Network, RouteSource::Static, RouteSource::Connected, RouteSource::Kernel}) {
    PeerState& ps = peers_[to_int(local_peer(s))];
    ps.used = true;
    ps.local = true;
    ps.source = s;
    ps.cfg.name = route_source_name(s);
  }
}

PeerId PeerTable::add(const PeerConfig& cfg, Asn local_asn) {
  PeerId id{size()};
  PeerState& ps = peers_.emplace_back();
  ps.used = true;
  ps.cfg = cfg;
  ps.ibgp = cfg.remote_asn == local_asn;
  return id;
}

void PeerTable::reconfigure(PeerId p, const PeerConfig& cfg, Asn local_asn) {
  PeerState* ps = find(p);
  if (!ps || ps->local) return;
  ps->cfg = cfg;
  ps->ibgp = cfg.remote_asn == local_asn;
}

void PeerTable::remove(PeerId p) {
  if (PeerState* ps = find(p); ps && !ps->local) *ps = PeerState();
}

void PeerTable::session_up(PeerId p, const PeerSession& s) {
  PeerState* ps = find(p);
  if (!ps || ps->local) return;
  ps->up = true;
  ps->sess = s;
  ps->fam[0] = ps->fam[1] = false;
  for (Family f : s.families) ps->fam[fam_index(f)] = true;
}

void PeerTable::session_down(PeerId p) {
  if (PeerState* ps = find(p); ps && !ps->local) ps->up = false;
}

PeerState* PeerTable::find(PeerId p) {
  uint32_t i = to_int(p);
  return i < peers_.size() && peers_[i].used ? &peers_[i] : nullptr;
}

const PeerState* PeerTable::find(PeerId p) const {
  return const_cast<PeerTable*>(this)->find(p);
}

}  // namespace ferry::rib
