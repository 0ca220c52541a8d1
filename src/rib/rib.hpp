// The RIB: Adj-RIB-In (pre- and post-import-policy), Loc-RIB with the RFC 4271
// §9.1 decision process and ECMP, import/export policy, and a pull-based
// Adj-RIB-Out per peer.
//
// Data flow. The BGP speaker feeds announce()/withdraw() per peer; the daemon
// feeds locally originated routes with originate()/unoriginate(). Each input
// runs the import rules and policy, stores the path in the prefix's entry and
// re-runs the decision for that prefix. A change of the best path / ECMP set
// (1) is queued for the BestPathListeners, which receive it in one batch at
// the end of the public call, and (2) marks the prefix dirty for every
// established peer. The speaker then calls pull_updates(peer, budget) when its
// socket can take more; the RIB evaluates the export rules and export policy
// for the dirty prefixes at that moment (so a prefix that changed twice is
// sent once, in its latest state), and returns announcements grouped by
// attribute set, withdrawals (for prefixes the peer had been sent and may no
// longer have) and End-of-RIB markers.
//
// Structure (after OpenBGPD's rde_peer.c / rde_rib.c + rde_decide.c /
// rde_adjout.c): Rib is a façade over PeerTable (peer.hpp: configuration,
// session, counters), LocRib (loc_rib.hpp: Adj-RIB-In storage, decision,
// Loc-RIB, best-path batches), ExportRules (export.hpp) and AdjRibOut
// (rib_out.hpp: per-peer Adj-RIB-Out bits, queues, walks, update packing).
//
// Pure logic: no I/O, no threads, no timers; runs on the control-plane loop.
// Storage: one flat hash table per address family keyed by the prefix, each
// slot holding a small array of paths (one per peer, 24 bytes each) and the
// Adj-RIB-Out as one bit per peer (whether the prefix was sent, not with
// what: the attributes are recomputed when needed). Attributes are interned
// in a compact encoding (attr_table.hpp). See bench/rib for bytes per route.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bgp/attributes.hpp"
#include "common/ip.hpp"
#include "common/types.hpp"
#include "config/config.hpp"
#include "rib/attr_table.hpp"

namespace ferry::rib {

// A BGP neighbour or a local route source, as numbered by the RIB.
enum class PeerId : uint32_t {};
inline uint32_t to_int(PeerId p) {
  return static_cast<uint32_t>(p);
}

// Where a path came from. Non-BGP sources are "peers" of the RIB too (one
// pseudo-peer per source, see local_peer()), so they take part in the same
// decision process: they have an empty AS_PATH and win at equal LOCAL_PREF.
enum class RouteSource : uint8_t { Bgp, Network, Static, Connected, Kernel };
const char* route_source_name(RouteSource s);  // "bgp", "network", ...

// The pseudo-peer for locally originated routes of a source (not Bgp).
PeerId local_peer(RouteSource s);

// Why a path is not the best one, for `ferryctl show route PREFIX`. The
// string names are stable (used in JSON and tests).
enum class LossReason : uint8_t {
  None,                // best, or an ECMP member
  Weight,              // the neighbor's configured weight (local; before §9.1.1)
  LocalPref,           // RFC 4271 §9.1.1 / §9.1.2.2 preamble: higher LOCAL_PREF wins
  AsPathLength,        // §9.1.2.2 (a)
  Origin,              // §9.1.2.2 (b)
  Med,                 // §9.1.2.2 (c)
  EbgpOverIbgp,        // §9.1.2.2 (d)
  IgpCost,             // §9.1.2.2 (e)
  RouterId,            // §9.1.2.2 (f), ORIGINATOR_ID per RFC 4456 §9
  ClusterList,         // RFC 4456 §9
  PeerAddress,         // §9.1.2.2 (g)
  NextHopUnreachable,  // §9.1.2 (ineligible)
  Rejected,            // import policy or import loop check rejected it (post-policy absent)
};
const char* loss_reason_name(LossReason r);  // "local_pref", "as_path_length", ...

// Next-hop resolution: is it reachable, and at what IGP cost (§9.1.2.2 (e)).
struct NextHopInfo {
  bool reachable = true;
  uint32_t igp_cost = 0;
};
using NextHopResolver = std::function<NextHopInfo(const IpAddress&)>;

struct RibOptions {
  Asn local_asn;
  RouterId router_id;
  std::optional<RouterId> cluster_id;  // default: router_id (RFC 4456 §7)
  uint32_t max_paths = 1;              // ECMP width; 1 = no multipath
  bool always_compare_med = false;
  bool multipath_relax = false;  // ECMP across different neighbouring ASes
  // Called at the end of a call that freed large blocks (a table that shrank
  // or was rebuilt, a drained update queue) so the owner can hand free heap
  // back to the OS (glibc keeps it otherwise). Empty: nothing is done. The
  // RIB itself does no system calls.
  std::function<void()> heap_trim = {};
};

// Static description of a BGP neighbour (from config; can change on reload).
struct PeerConfig {
  std::string name;
  IpAddress address;
  Asn remote_asn;
  bool route_reflector_client = false;
  std::optional<bool> next_hop_self;  // default: on for eBGP, off for iBGP
  std::vector<std::string> import_policies;
  std::vector<std::string> export_policies;
  bool import_set = false;  // the key was present (an explicit empty list is still "set")
  bool export_set = false;
  std::optional<uint32_t> local_pref;  // LOCAL_PREF of every route from this peer (before import)
  uint32_t weight = 0;                 // decision step before LOCAL_PREF (local routes: 0)
  uint8_t prepend = 0;                 // extra copies of our AS on export (eBGP only)
  std::optional<uint32_t> max_prefixes_out;  // export budget
  std::vector<Prefix> aggregate_candidates;  // announced instead of held-back more-specifics
  static PeerConfig from(const config::BgpNeighborConfig& n);
};

// What the session negotiated, given at peer_up().
struct PeerSession {
  RouterId router_id;                    // the peer's BGP Identifier
  std::vector<Family> families;          // negotiated unicast families (MP-BGP)
  std::optional<IpAddress> local_v4;     // our address for next-hop-self, IPv4 routes
  std::optional<IpAddress> local_v6;     // ... IPv6 routes (global)
  std::optional<IpAddress> local_v6_ll;  // optional link-local second next hop (RFC 2545)
};

// A batch of announcements sharing one (post-export-policy) attribute set.
struct AnnounceBatch {
  Family family = Family::V4;
  AttrRef attrs;
  std::vector<Prefix> prefixes;
};

struct PullResult {
  std::vector<AnnounceBatch> announce;
  std::vector<Prefix> withdraw;    // both families; the codec splits them
  std::vector<Family> end_of_rib;  // send after the above, in this order
  bool more = false;               // more is pending: call again
};

struct NextHop {
  IpAddress address;
  PeerId peer;
  bool operator==(const NextHop&) const = default;
};

// One best-path change: the new active next hops (best first, then the other
// ECMP members), or empty when the prefix has no usable route any more.
struct BestChange {
  Prefix prefix;
  std::vector<NextHop> next_hops;
  RouteSource source = RouteSource::Bgp;  // of the best path
};

// Receives best-path changes in batches (one batch per RIB call that changed
// anything). Used by the FIB and the tunnel's cryptokey routing.
class BestPathListener {
 public:
  virtual ~BestPathListener() = default;
  virtual void on_best_changes(std::span<const BestChange> changes) = 0;
};

// One path of a prefix, for show route.
struct PathView {
  PeerId peer;
  std::string peer_name;  // neighbour name, or the source name for local routes
  IpAddress peer_address;
  RouteSource source = RouteSource::Bgp;
  AttrRef attrs;  // post-policy; null when rejected
  AttrRef pre_policy;
  bool best = false;
  bool active = false;  // in the ECMP set (the best path is active too)
  bool stale = false;   // graceful restart: kept from a session that went down
  bool ibgp = false;
  uint32_t igp_cost = 0;
  LossReason reason = LossReason::None;
};

// One Adj-RIB-Out entry (show routes --advertised): a prefix the peer has been
// sent, with the attributes the export rules give it now. pending: a change for
// it is queued and not sent yet; attrs null: a withdrawal is queued.
struct AdvertisedRoute {
  Prefix prefix;
  AttrRef attrs;
  bool pending = false;
};

// Which of a peer's tables a monitoring walk reads (BMP, RFC 7854 §5 and
// RFC 8671): what it sent (before or after import policy) or what we sent it.
enum class PeerView : uint8_t { AdjInPre, AdjInPost, AdjOut };

// A resumable walk over one peer's routes of one family (see walk_peer()).
// Position is a slot of the prefix table: nothing is copied, so walking a
// million routes in steps costs no memory.
struct PeerWalk {
  Family family = Family::V4;
  PeerView view = PeerView::AdjInPre;
  size_t slot = 0;
  uint64_t generation = 0;  // of the table when slot was taken
  bool started = false;
  bool done = false;
};

struct PeerCounters {
  uint64_t received = 0;    // prefixes in Adj-RIB-In (pre-policy)
  uint64_t accepted = 0;    // ... accepted by import
  uint64_t advertised = 0;  // prefixes in Adj-RIB-Out
  uint64_t updates_in = 0;  // announce/withdraw prefix events seen
  uint64_t loops_rejected = 0;
  uint64_t reevaluated = 0;  // stored paths re-run through import by reloads
};

// Export budget use (max-prefixes-out) of one peer.
struct BudgetStatus {
  uint64_t max = 0;
  uint64_t used = 0;               // prefixes the peer holds, aggregates included
  uint64_t held = 0;               // exportable, not sent
  uint64_t aggregated = 0;         // exportable, covered by an aggregate that is sent
  std::vector<Prefix> aggregates;  // aggregate candidates in use
};

// Whether one prefix is sent to one neighbor, and if not why (show route):
// "advertised", "pending", "not_established", "family_not_negotiated",
// "no_route", "learned_from_this_neighbor", "rejected_on_import",
// "no_advertise", "no_export", "ibgp_split_horizon", "originator",
// "as_path_loop", "rfc8212_no_export_policy", "export_policy",
// "no_local_address", "no_next_hop", "export_budget", "aggregated",
// "health_check".
struct ExportStatus {
  PeerId peer;
  bool advertised = false;
  std::string reason;
  std::optional<Prefix> aggregate;  // reason "aggregated": the aggregate sent instead
};

struct PeerStatus {
  PeerId id;
  std::string name;
  IpAddress address;
  bool up = false;
  bool ibgp = false;
  bool rr_client = false;
  // RFC 8212: eBGP neighbour without an import (export) policy: nothing accepted (sent).
  bool rfc8212_import_blocked = false;
  bool rfc8212_export_blocked = false;
  size_t pending = 0;  // prefixes queued for pull_updates
  PeerCounters counters;
  std::optional<BudgetStatus> budget;
};

struct MemoryStats {
  size_t prefixes = 0;     // Loc-RIB entries
  size_t paths = 0;        // Adj-RIB-In paths (all peers)
  size_t attr_sets = 0;    // distinct interned attribute sets
  size_t adj_out = 0;      // Adj-RIB-Out entries (all peers)
  size_t table_bytes = 0;  // prefix tables + path vectors + Adj-RIB-Out
  size_t attr_bytes = 0;   // interned attributes
  size_t total_bytes() const { return table_bytes + attr_bytes; }
};

class Rib {
 public:
  explicit Rib(RibOptions opts, NextHopResolver resolver = {});
  ~Rib();
  Rib(const Rib&) = delete;
  Rib& operator=(const Rib&) = delete;

  AttrTable& attrs();

  // ---- configuration ----
  // Replaces the policy set (reload). Call reapply_policies() afterwards.
  void set_policies(const std::vector<config::PolicyConfig>& policies);
  void set_options(const RibOptions& opts);  // max_paths, MED mode: re-runs decisions
  // Soft reconfiguration: re-runs import policy on the stored pre-policy paths
  // of every peer whose import changed (its chain, a policy in it, its remote
  // AS) and re-evaluates export for every peer whose export changed (only
  // differences are sent). Peers with nothing changed are not walked.
  void reapply_policies();
  // The resolver's answers changed: re-run decisions everywhere.
  void next_hops_changed();
  // Listener is not owned; remove it before destroying it.
  void add_listener(BestPathListener* l);
  void remove_listener(BestPathListener* l);
  // Called (once per transition from nothing pending to something pending)
  // so the speaker can schedule pull_updates for that peer. It runs in the
  // middle of a RIB call: post a task, do not call back into the Rib from it.
  void set_pending_callback(std::function<void(PeerId)> cb);
  // Conditional advertisement: while suspended the peer is sent nothing (its
  // Adj-RIB-Out is withdrawn); resuming re-sends the table. No session reset.
  void set_export_suspended(PeerId p, bool on);
  // RFC 4724 §4.1: defer route selection while a restart re-converges (see
  // LocRib::set_deferred); ending it decides and reports every prefix.
  void set_selection_deferred(bool on);
  bool selection_deferred() const;
  // Export budget: use reached 80 % of max-prefixes-out, or prefixes are held back.
  void set_budget_listener(std::function<void(PeerId, const BudgetStatus&)> cb);

  // ---- peer lifecycle ----
  PeerId add_peer(const PeerConfig& cfg);
  void update_peer(PeerId p, const PeerConfig& cfg);  // reload; call reapply_policies()
  void remove_peer(PeerId p);                         // drops its routes first
  // Session established: queues the initial full dump for each family, ending
  // with an End-of-RIB marker.
  void peer_up(PeerId p, const PeerSession& s);
  // Session lost. graceful=true (graceful restart helper, RFC 4724 §4.2):
  // keep its routes but mark them stale; otherwise remove them.
  void peer_down(PeerId p, bool graceful = false);
  void mark_stale(PeerId p);
  // Removes the peer's paths of that family still marked stale; returns how many.
  size_t sweep_stale(PeerId p, Family f);
  // The peer sent a ROUTE-REFRESH (RFC 2918): re-send the whole table for f.
  void route_refresh(PeerId p, Family f);

  // ---- input ----
  // One UPDATE's NLRI (all with the same attributes). Replaces the peer's
  // previous path for each prefix (implicit withdraw, RFC 4271 §3.1).
  void announce(PeerId p, const bgp::PathAttributes& attrs, std::span<const Prefix> prefixes);
  void withdraw(PeerId p, std::span<const Prefix> prefixes);
  // The peer's End-of-RIB for f (RFC 4724 §2): sweeps its stale paths of f.
  void end_of_rib(PeerId p, Family f);
  // Locally originated routes; src must not be Bgp. Missing attributes are
  // filled in: ORIGIN IGP for networks, INCOMPLETE for redistribution.
  void originate(RouteSource src, const Prefix& prefix, const bgp::PathAttributes& attrs);
  void unoriginate(RouteSource src, const Prefix& prefix);

  // ---- output ----
  PullResult pull_updates(PeerId p, size_t budget);
  bool has_pending(PeerId p) const;

  // ---- queries ----
  std::vector<PathView> show_route(const Prefix& prefix) const;
  // For every BGP neighbor: is `prefix` sent to it, and if not, why.
  std::vector<ExportStatus> export_status(const Prefix& prefix) const;
  // Every prefix with its best path (and ECMP set), in no particular order.
  void for_each_best(const std::function<void(const Prefix&, const PathView& best,
                                              std::span<const NextHop> active)>& fn) const;
  // The peer's Adj-RIB-Out: what it has been sent (the RIB keeps one bit per prefix
  // and peer; the attributes are recomputed). Not const: exports are interned.
  void for_each_advertised(PeerId p, const std::function<void(const AdvertisedRoute&)>& fn);
  // Monitoring: up to `budget` table slots of the walk, fn for each of the peer's
  // routes found there; sets w.done at the end. If the table was rebuilt since
  // the last step the walk starts over, so a route may be reported twice but
  // none is missed. Not const: Adj-RIB-Out attributes are recomputed (interned).
  void walk_peer(PeerId p, PeerWalk& w, size_t budget,
                 const std::function<void(const Prefix&, const AttrRef&)>& fn);
  // One prefix of a peer's table as walk_peer() would report it (null: absent).
  AttrRef peer_route(PeerId p, PeerView view, const Prefix& prefix);
  std::optional<PeerStatus> peer_status(PeerId p) const;
  std::vector<PeerStatus> peers() const;
  MemoryStats memory_stats() const;
  size_t prefix_count() const;
  size_t path_count() const;  // Adj-RIB-In paths of all peers; O(1), unlike memory_stats()

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::rib

template <>
struct std::hash<ferry::rib::PeerId> {
  size_t operator()(ferry::rib::PeerId p) const noexcept {
    return std::hash<uint32_t>{}(ferry::rib::to_int(p));
  }
};
