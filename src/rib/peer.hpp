// Peer state of the RIB (after OpenBGPD's rde_peer.c): what the RIB knows
// about each BGP neighbour and each local route source — its configuration,
// the negotiated session and the Adj-RIB-In counters.
//
// PeerTable owns this state, indexed by PeerId. Ids below kFirstBgpPeer are
// the pseudo-peers of locally originated routes (one per RouteSource, see
// local_peer()); BGP neighbours get the ids after them, never reused, so a
// path's peer id stays valid for as long as the path exists. The RIB façade
// changes the table (add, reload, session up/down); LocRib updates the
// counters; ExportRules and AdjRibOut only read it. What was sent to a peer
// (Adj-RIB-Out) is not here: AdjRibOut owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rib/rib.hpp"

namespace ferry::rib {

constexpr uint32_t kFirstBgpPeer = 8;

inline int fam_index(Family f) {
  return f == Family::V4 ? 0 : 1;
}

// Adj-RIB-In side counters (the advertised count is AdjRibOut's).
struct PeerInCounters {
  uint64_t received = 0;    // prefixes in Adj-RIB-In (pre-policy)
  uint64_t accepted = 0;    // ... accepted by import
  uint64_t updates_in = 0;  // announce/withdraw prefix events seen
  uint64_t loops_rejected = 0;
  // Stored paths run through import again by Rib::reapply_policies (reloads).
  uint64_t reevaluated = 0;
};

// What a peer's stored paths were last run through import with (its import
// chain and those policies' versions, iBGP-ness, our cluster id for the
// reflection loop check): Rib::reapply_policies() re-evaluates a peer's
// Adj-RIB-In only when this changed, so a reload that touches nothing of the
// peer's import costs nothing however large its table is.
struct ImportStamp {
  std::vector<std::string> chain;
  std::vector<uint64_t> versions;
  bool ibgp = false;
  uint32_t cluster_id = 0;
  bool operator==(const ImportStamp&) const = default;
};

struct PeerState {
  bool used = false;
  bool local = false;  // pseudo-peer for a RouteSource
  RouteSource source = RouteSource::Bgp;
  PeerConfig cfg;
  bool ibgp = false;
  // ---- session: set by session_up(), `up` cleared by session_down() ----
  bool up = false;
  // Conditional advertisement: nothing is exported while set (a health check
  // the neighbor depends on is down); kept across session flaps and reloads.
  bool export_suspended = false;
  PeerSession sess;
  bool fam[2] = {false, false};  // negotiated V4, V6
  PeerInCounters counters;
  ImportStamp imported;  // set by Rib::add_peer and Rib::reapply_policies
  // mark_stale() flagged paths of this family (V4, V6) that no sweep has
  // looked at since: without it, End-of-RIB (sent after every initial
  // table) would scan the whole table for nothing.
  bool maybe_stale[2] = {false, false};

  bool has_family(Family f) const { return fam[fam_index(f)]; }
};

class PeerTable {
 public:
  PeerTable();  // with the local pseudo-peers

  PeerId add(const PeerConfig& cfg, Asn local_asn);
  // Reload: new configuration (iBGP-ness follows the remote AS).
  void reconfigure(PeerId p, const PeerConfig& cfg, Asn local_asn);
  // Frees the slot; the id is not reused.
  void remove(PeerId p);
  void session_up(PeerId p, const PeerSession& s);
  void session_down(PeerId p);

  // nullptr unless p names a peer in use.
  PeerState* find(PeerId p);
  const PeerState* find(PeerId p) const;

  // By index, used or not (the hot path: a stored path's peer id is valid).
  PeerState& operator[](uint32_t i) { return peers_[i]; }
  const PeerState& operator[](uint32_t i) const { return peers_[i]; }
  uint32_t size() const { return static_cast<uint32_t>(peers_.size()); }

 private:
  std::vector<PeerState> peers_;
};

}  // namespace ferry::rib
