// Adj-RIB-Out, one per peer (after OpenBGPD's rde_adjout.c): what each peer
// has been sent, what is queued for it, and the update generation that packs
// the pending prefixes by attribute set.
//
// Data flow. LocRib reports each best-path change through ChangeSink; the
// prefix is queued for every established peer that may need an update. A
// full-table pass (the initial dump after session_up, a route refresh, an
// export-policy change) walks a snapshot of the family's prefixes instead.
// pull() evaluates the export rules for the pending prefixes when the
// speaker asks (so a prefix that changed twice is sent once, in its latest
// state) and returns announcements grouped by attribute set, withdrawals
// and End-of-RIB markers.
//
// State. AdjRibOut owns, per peer: its Adj-RIB-Out bit, the pending queue,
// the walks, the advertised count and the export settings the table was sent
// with. The bits themselves live in the LocRib's entries (PathList::adv and
// ::queued) so a full table's Adj-RIB-Out costs one bit per prefix and peer;
// peers beyond the first kAdvBits keep per-peer maps instead. Only the fact
// that a prefix was sent is stored, not the attributes: they are recomputed
// (ExportRules) when needed.
//
// A peer with an export budget (PeerConfig::max_prefixes_out, see
// export_budget.hpp) is the exception: its tables are small by definition,
// so it keeps what it would export (`want`) and what it was sent (`sent`,
// with attributes) in maps, and each pull re-plans the whole set once the
// walks are done and sends the difference.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "rib/export.hpp"
#include "rib/export_budget.hpp"
#include "rib/loc_rib.hpp"
#include "rib/peer.hpp"
#include "rib/policy.hpp"
#include "rib/prefix_map.hpp"
#include "rib/rib.hpp"

namespace ferry::rib {

class AdjRibOut final : public ChangeSink {
 public:
  // A freed buffer at least this large is worth handing back to the OS.
  static constexpr size_t kTrimBytes = size_t{4} << 20;

  // loc, peers and rules belong to the RIB façade and outlive this.
  AdjRibOut(LocRib& loc, const PeerTable& peers, const ExportRules& rules);
  AdjRibOut(const AdjRibOut&) = delete;
  AdjRibOut& operator=(const AdjRibOut&) = delete;

  // Called (once per transition from nothing pending to something pending)
  // so the speaker can schedule pull() for that peer.
  void set_pending_callback(std::function<void(PeerId)> cb) { pending_cb_ = std::move(cb); }

  // ---- peer lifecycle (the peer is in the PeerTable) ----
  void add_peer(PeerId p);     // allocates its Adj-RIB-Out bit
  void remove_peer(PeerId p);  // forgets everything, frees the bit
  // Session established (PeerTable already up): forgets what was sent and
  // queues the full table for each negotiated family, ending with End-of-RIB.
  void session_up(PeerId p);
  // Session lost: forgets what was sent and queued.
  void session_down(PeerId p);
  // Re-evaluates the whole table for the peer (its export conditions changed).
  void reexport(PeerId p);
  // RFC 2918 §4: re-send every exportable route of the family.
  void route_refresh(PeerId p, Family f);
  // After a policy or neighbour reload: re-sends the whole table to each
  // established peer whose export settings or export policies changed.
  void reexport_changed(const PolicyEngine& policy);

  // ChangeSink: the prefix's best path changed; queue it where needed.
  void best_changed(const Prefix& prefix, PathList& e, int64_t best_peer) override;

  // Whether `prefix` is sent to the peer, and if not why (Rib::export_status).
  ExportStatus explain(PeerId p, const Prefix& prefix) const;
  // Export budget use of a peer with max-prefixes-out; nullopt otherwise.
  std::optional<BudgetStatus> budget_status(PeerId p) const;
  // Called when a peer's budget use reaches 80 % or prefixes start being held back.
  void set_budget_callback(std::function<void(PeerId, const BudgetStatus&)> cb) {
    budget_cb_ = std::move(cb);
  }

  // ---- output ----
  // Up to `budget` prefixes (announced or withdrawn) for the peer.
  PullResult pull(PeerId p, size_t budget);
  bool has_pending(PeerId p) const;
  size_t queued(PeerId p) const;  // prefixes in the change queue
  // The peer's Adj-RIB-Out with the attributes the export rules give now.
  void for_each_advertised(PeerId p, const std::function<void(const AdvertisedRoute&)>& fn);
  // The attributes the peer holds for prefix (e is its entry), recomputed by the
  // export rules; null when the prefix was not sent to it.
  AttrRef advertised_attrs(PeerId p, const Prefix& prefix, const PathList& e) const;
  uint64_t advertised(PeerId p) const;  // prefixes the peer holds from us
  uint64_t advertised_total() const;
  size_t bytes() const;  // queues, snapshots and per-peer maps
  // True (once) if a large buffer was freed since the last call.
  bool take_big_free() { return std::exchange(big_free_, false); }

 private:
  struct Walk {
    bool active = false;
    bool eor = false;       // send End-of-RIB when the walk ends
    bool eor_wait = false;  // walk ended; EoR once the queue is drained up to eor_mark
    size_t eor_mark = 0;
    size_t pos = 0;
    std::shared_ptr<const std::vector<Prefix>> list;  // set while active
  };
  struct BudgetOut {
    std::map<Prefix, AttrRef> want;     // what the export rules would send now
    std::map<Prefix, AttrRef> sent;     // what the peer holds (null attrs: re-announce)
    std::vector<Prefix> withdraw_next;  // leaving budget mode: aggregates to withdraw
    bool dirty = false;
    BudgetStatus status;
    bool warned = false;  // the 80 % / held-back warning fired since use last fell below
  };
  struct OutPeer {
    // Whether a prefix was sent: bit `out_bit` of PathList::adv, or for
    // peers beyond the first kAdvBits, membership in `overflow`.
    int out_bit = -1;
    PrefixMap<uint8_t> overflow;
    std::vector<Prefix> queue;  // dirty prefixes, in the order they changed
    size_t queue_head = 0;
    PrefixMap<uint8_t> queued;  // dedupes `queue` for peers without an out_bit
    // Walks run before the queue; prefixes that change meanwhile are queued
    // and sent from the queue, so nothing is sent twice.
    Walk walk[2];
    bool notified = false;  // pending callback fired and not yet drained
    uint64_t advertised = 0;
    // The export-relevant settings the Adj-RIB-Out was generated with; a
    // reload re-exports to this peer only when they (or a policy they name)
    // change. Set at session_up() and by reexport_changed().
    PeerConfig exported_with;
    std::unique_ptr<BudgetOut> budget;  // set while the peer has max_prefixes_out
    std::vector<uint64_t> exported_versions;
  };

  OutPeer* out(PeerId p);
  const OutPeer* out(PeerId p) const;
  bool is_advertised(const OutPeer& o, const Prefix& prefix, const PathList* e) const;
  bool is_queued(const OutPeer& o, const Prefix& prefix, const PathList* e) const;
  void set_advertised(OutPeer& o, const Prefix& prefix, PathList* e, bool on);
  void enqueue(uint32_t id, const Prefix& prefix, PathList& e);
  void start_walk(uint32_t id, Family f, bool eor);
  void notify(uint32_t id);
  void reset(OutPeer& o);
  bool pending(const OutPeer& o) const;
  void set_budget_mode(uint32_t id, bool on);
  void replan(uint32_t id, PullResult& res);

  LocRib& loc_;
  const PeerTable& peers_;
  const ExportRules& rules_;
  std::function<void(PeerId)> pending_cb_;
  std::function<void(PeerId, const BudgetStatus&)> budget_cb_;
  std::vector<OutPeer> out_;  // indexed by PeerId, grown by add_peer()
  uint32_t used_bits_ = 0;    // out_bit allocation
  bool big_free_ = false;     // a large buffer (a drained queue) was freed
  // Withdrawals owed after a peer left budget mode (aggregates it holds).
  std::vector<std::pair<uint32_t, Prefix>> withdraw_later_;
};

}  // namespace ferry::rib
