// Routing table update: turns the RIB's best paths into kernel routes and
// tunnel cryptokey entries, and resolves BGP next hops for the RIB.
//
// Data flow: rib::Rib --BestChange batches--> Routing::on_best_changes ->
//   for each prefix: resolve every active next hop ->
//     via a tunnel peer (next hop is a peer's inner address): kernel route
//       "prefix dev <tunnel-if>" + the prefix becomes a learned allowed prefix
//       of that peer in the cryptokey table. With ECMP (bgp max-paths > 1) the
//       next hops may resolve to several tunnel peers: the kernel route stays
//       the single "prefix dev <tunnel-if>" and the prefix is learned by every
//       one of those peers (a peer set; the tunnel spreads flows over it by a
//       5-tuple hash and accepts the prefix's sources from any member);
//     via a connected network: kernel route "prefix via nh";
//     unresolvable: nothing (the RIB already made such paths ineligible).
//   The kernel side goes to fib::Fib (desired state, batched netlink); the
//   tunnel side goes to LearnedRoutes::apply_learned in one batch per RIB call, so the
//   data plane switches peers atomically: a withdrawn or moved prefix is
//   never sent to, nor accepted from, the old peer after the batch.
//
// Next-hop resolution (RFC 4271 §9.1.2.1) is fib::NextHopResolver's: a next
// hop resolves through a tunnel peer's inner address, a connected network or
// a static route (recursively). A result on the tunnel interface is mapped to
// the peer whose allowed-ips hold the gateway (the first in configuration
// order). The RIB calls resolve() through its NextHopResolver; when the inputs
// change (connected networks, tunnel peers, static routes) Routing tells the
// RIB to re-run its decisions.
//
// Inputs, all values pushed by their owners (Routing never calls out to ask):
//   - set_tunnel(tunnel::View): the tunnel's ifindex, its peers' ids, names,
//     static allowed-ips and current endpoints, published by the tunnel when
//     they change (see tunnel/view.hpp). Routing keeps its copy and answers
//     every per-prefix question from it: no syscall, no config scan.
//   - set_connected(): connected networks (the daemon, from fib::KernelRoutes).
//   - apply(Options): static routes, their interfaces already resolved.
//   - set_unusable_peers(): tunnel peers whose shared liveness is Down or
//     HoldDown (liveness::Tracker, pushed by the daemon). A next hop that
//     resolves through such a peer is unresolvable (RFC 4271 §9.1.2.1: the
//     route is not eligible), so every route via the peer, in both families,
//     is withdrawn or moves to another path at once, and the peer's learned
//     cryptokey entries go with them.
// Outputs: fib::Fib (kernel routes) and LearnedRoutes (the tunnel's cryptokey
// table), both narrow interfaces; a fake of each in unit tests.
//
// The tunnel peers' static allowed-ips that lie outside the tunnel's own
// subnets get a kernel route into the tunnel device too (as wg-quick does).
//
// Static routes ([[static-routes]]) are originated into the RIB as source
// Static, so they compete in the decision process and can be redistributed;
// when a static route is best, Routing installs it like any other.
//
// Tunnel loop guard. ferry installs its routes in a normal table (no fwmark
// policy routing as wg-quick does), so a route into the tunnel device whose
// prefix contains a tunnel peer's underlay endpoint would carry the tunnel's
// own encrypted UDP packets back into the tunnel (a recursive routing loop:
// handshakes and BFD fail, the session flaps). Such a route is withheld: for
// a best path with next hops into the tunnel, neither the kernel route's
// tunnel next hop nor the cryptokey learned entry is installed (non-tunnel
// ECMP next hops of the same prefix stay; other prefixes are unaffected); a
// static allowed-ip covering an endpoint gets no kernel route. A prefix is
// not withheld when a connected network outside the tunnel that is more
// specific than the prefix holds the endpoint (the kernel's longest match
// keeps the endpoint on the underlay then). Withheld routes are logged
// (rate-limited), counted and listed (withheld(), `show fib`); whenever the
// endpoints (configured or learned by roaming), the peers or the connected
// networks change, the withheld routes and the installed routes covering an
// endpoint are re-evaluated, so a route returns once it no longer loops.
// Routes covering an endpoint via a non-tunnel next hop are installed as usual.
//
// Static allowed-ips are authoritative (unless Options::learned_override_static):
// a BGP prefix whose best path leads to peer B but lies inside peer A's static
// allowed-ip (a configured range, not a /0 catch-all) is not made a learned
// prefix of B. The longest match in the cryptokey table then stays A's static
// entry, for sending and for source validation, so a BGP announcement cannot
// take over part of a statically configured range. Such prefixes are listed
// (kept_by_static(), `show fib`).
//
// Per-prefix state. With a full table (1M prefixes) Routing holds one entry
// per installed prefix, so the entry must be small and the lookup cheap: a flat
// open-addressing rib::PrefixMap (IPv4 keys packed in 8 bytes) maps each prefix
// to a 4-byte id of an interned Installed value (InstalledPool). Almost every
// prefix shares one of a handful of distinct values (the same next-hop set), so
// a prefix costs ~16 bytes of slot (x1.75 load headroom) and no heap block.
// A best change is resolved into a reused scratch value, interned (a lookup in
// a small cache-resident table), and compared by id with what is installed: an
// unchanged route costs one flat-map probe and touches neither FIB nor tunnel.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/log.hpp"
#include "fib/fib.hpp"
#include "fib/resolver.hpp"
#include "rib/prefix_map.hpp"
#include "rib/rib.hpp"
#include "routing/options.hpp"
#include "tunnel/view.hpp"

namespace ferry::routing {

// Where learned prefixes go: the tunnel's cryptokey table (an adapter over
// tunnel::Tunnel in the daemon; a fake in unit tests).
class LearnedRoutes {
 public:
  virtual ~LearnedRoutes() = default;
  // Applies learned-prefix changes (in order) as one atomic publish.
  virtual void apply_learned(std::span<const tunnel::LearnedChange> changes) = 0;
};

class Routing : public rib::BestPathListener {
 public:
  using Change = tunnel::LearnedChange;
  // A tunnel peer's current underlay endpoint address (configured, or learned by roaming).
  struct PeerEndpoint {
    tunnel::PeerIndex peer;
    IpAddress addr;
    auto operator<=>(const PeerEndpoint&) const = default;
    bool operator==(const PeerEndpoint&) const = default;
  };

  // tunnel: nullptr when there is no tunnel.
  Routing(rib::Rib& rib, fib::Fib* fib, LearnedRoutes* tunnel);
  ~Routing() override;

  // The RIB's NextHopResolver.
  rib::NextHopInfo resolve(const IpAddress& nh) const;

  // Inputs that change resolution; each re-runs the RIB's decisions if needed.
  void set_connected(std::vector<std::pair<Prefix, uint32_t>> nets);
  // Static routes (originated into the RIB as source Static).
  void apply(const Options& opts);
  // The tunnel's latest view. A change of its ifindex or of the peers' allowed-ips
  // re-runs resolution; a change of endpoints only (roaming, reload, peer removed)
  // re-evaluates the routes withheld by the loop guard and the installed routes
  // that cover an endpoint. An unchanged view costs a comparison.
  void set_tunnel(tunnel::View view);
  // Tunnel peers whose next hops must not be used (fate sharing); the rest are usable.
  void set_unusable_peers(std::vector<tunnel::PeerIndex> peers);
  // The tunnel peer a BGP neighbour (or any address) is reached through, if any.
  std::optional<tunnel::PeerIndex> tunnel_peer_of(const IpAddress& a) const;
  // The tunnel as last seen (peer names for `show fib`).
  const tunnel::View& tunnel() const { return view_; }
  // A tunnel peer's name from the view ("?" if unknown).
  std::string peer_name(tunnel::PeerIndex peer) const;

  void on_best_changes(std::span<const rib::BestChange> changes) override;

  // What Routing installed for one prefix, for checks and `show fib`.
  struct Installed {
    std::vector<tunnel::PeerIndex>
        tunnel_peers;  // learned allowed prefix of these peers (best first)
    std::optional<fib::RouteTarget> kernel;
    bool empty() const { return !kernel && tunnel_peers.empty(); }
    bool operator==(const Installed&) const = default;
  };
  struct InstalledHash {
    size_t operator()(const Installed& v) const noexcept;
  };

  // Interns Installed values: each distinct value is stored once, under an id
  // >= 1 that is reference-counted by the prefixes using it (ids are reused).
  class InstalledPool {
   public:
    // The id of v, adding v (with no references) if new. Does not add a reference.
    uint32_t intern(const Installed& v);
    void ref(uint32_t id) { ++refs_[id - 1]; }
    // Drops a reference; the value goes away with its last one.
    void release(uint32_t id);
    // Valid while id is referenced (or interned and not yet released).
    const Installed& get(uint32_t id) const { return *values_[id - 1]; }
    size_t distinct() const { return ids_.size(); }

   private:
    std::unordered_map<Installed, uint32_t, InstalledHash> ids_;  // value -> id
    std::vector<const Installed*> values_;  // id - 1 -> value (node in ids_; stable)
    std::vector<uint32_t> refs_;            // id - 1 -> references
    std::vector<uint32_t> free_;            // released ids
  };

  // Read-only view of the installed routes: prefix -> Installed.
  class InstalledView {
   public:
    InstalledView(const rib::PrefixMap<uint32_t>& ids, const InstalledPool& pool)
        : ids_(ids), pool_(pool) {}
    size_t size() const { return ids_.size(); }
    bool empty() const { return ids_.size() == 0; }
    size_t count(const Prefix& p) const { return ids_.find(p) ? 1 : 0; }
    const Installed* find(const Prefix& p) const {
      const uint32_t* id = ids_.find(p);
      return id ? &pool_.get(*id) : nullptr;
    }
    // Throws std::out_of_range if p is not installed (as std::map::at).
    const Installed& at(const Prefix& p) const;
    template <class Fn>
    void for_each(Fn&& fn) const {
      ids_.for_each([&](const Prefix& p, uint32_t id) { fn(p, pool_.get(id)); });
    }
    // Bytes of per-prefix state (the flat map's slot arrays).
    size_t bytes() const { return ids_.bytes(); }
    // Distinct installed values shared by the prefixes.
    size_t distinct() const { return pool_.distinct(); }

   private:
    const rib::PrefixMap<uint32_t>& ids_;
    const InstalledPool& pool_;
  };
  InstalledView installed() const { return InstalledView(installed_, pool_); }

  // A route into the tunnel the loop guard withholds: its prefix covers `endpoint`,
  // the underlay endpoint of tunnel peer `peer`.
  struct Withheld {
    tunnel::PeerIndex peer;
    IpAddress endpoint;
    Installed wanted;  // what would be installed without the guard
  };
  // RIB best paths withheld from the tunnel.
  const std::map<Prefix, Withheld>& withheld() const { return withheld_; }
  // Static allowed-ips that get no kernel route (their cryptokey entry is the tunnel's).
  const std::map<Prefix, Withheld>& withheld_allowed_ips() const { return withheld_allowed_; }
  // Learned prefixes kept out of the tunnel's learned set by a static allowed-ip of this peer.
  struct KeptByStatic {
    tunnel::PeerIndex owner;  // the peer whose static allowed-ip holds the prefix
    Installed wanted;         // what would be installed without the rule
  };
  const std::map<Prefix, KeptByStatic>& kept_by_static() const { return kept_by_static_; }
  // How many times a route was withheld (a route withheld again after a change counts again).
  uint64_t withheld_total() const { return withheld_total_; }

 private:
  // Resolves next hops into `out` (reusing its storage: no allocation once warm).
  void want_for(std::span<const rib::NextHop> next_hops, bool blackhole, Installed& out);
  // Installs `want` for p (after the loop guard, which may strip `want`'s tunnel
  // side) and diffs it against what is installed.
  void install(const Prefix& p, Installed& want, std::vector<Change>& tunnel_changes);
  // The endpoint a route into the tunnel for p would loop, if any.
  std::optional<PeerEndpoint> loops_endpoint(const Prefix& p) const;
  // Kernel routes for the static allowed-ips outside the tunnel's subnets.
  void sync_static_kernel_routes(const std::vector<Prefix>& now);
  // Re-runs the loop guard over withheld routes and routes covering an endpoint.
  void reevaluate_guard();
  // Resolves the best static routes again (after connected networks, tunnel peers or
  // static routes changed). Local routes are eligible whatever their next hop, so the
  // RIB reports no best change when only their resolution changes.
  void reresolve_statics();
  // Re-resolves after the tunnel's ifindex or static allowed-ips changed.
  void tunnel_changed();
  // The endpoints of view_; true if they differ from endpoints_ (which it updates).
  bool refresh_endpoints();
  // The tunnel peer whose static allowed-ips contain this inner address.
  std::optional<tunnel::PeerIndex> peer_for_next_hop(const IpAddress& nh) const;
  void note_withheld(const Prefix& p, const PeerEndpoint& e, bool newly);

  rib::Rib& rib_;
  fib::Fib* fib_;
  LearnedRoutes* tunnel_;
  fib::NextHopResolver resolver_;
  std::vector<std::pair<Prefix, uint32_t>> connected_;
  std::vector<StaticRoute> statics_;
  std::map<Prefix, std::vector<rib::NextHop>> static_best_;  // best paths of source Static
  tunnel::View view_;                                        // as last published by the tunnel
  std::vector<std::pair<Prefix, tunnel::PeerIndex>>
      inner_;                           // view_'s allowed-ips -> peer, config order
  std::vector<Prefix> tunnel_static_;   // routed into the tunnel by config, not by BGP
  rib::PrefixMap<uint32_t> installed_;  // prefix -> id in pool_ (never 0)
  InstalledPool pool_;
  Installed scratch_;                        // want_for's output, reused across changes
  std::vector<fib::NextHop> spare_nhs_;      // kernel next-hop storage kept while scratch_ has none
  std::vector<PeerEndpoint> endpoints_;      // sorted
  std::vector<tunnel::PeerIndex> unusable_;  // sorted; set_unusable_peers()
  std::map<Prefix, Withheld> withheld_;
  std::map<Prefix, Withheld> withheld_allowed_;
  std::map<Prefix, KeptByStatic> kept_by_static_;
  // Re-applies the rule to every learned prefix (static allowed-ips or the rule changed).
  void reevaluate_static_rule();
  bool learned_override_static_ = false;
  // The peer whose static allowed-ip (not a /0) is the longest containing p.
  std::optional<tunnel::PeerIndex> static_owner(const Prefix& p) const;
  uint64_t withheld_total_ = 0;
  RateLimitedLog guard_log_{5, std::chrono::seconds(10)};
};

}  // namespace ferry::routing
