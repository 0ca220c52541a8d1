// Export rules (after OpenBGPD's up_test_update() in rde_update.c): what a
// best path looks like when sent to one peer, or that it is not sent at all.
// RFC 1997 well-known communities, iBGP split horizon (RFC 4271 §9.2), route
// reflection (RFC 4456 §8), sender-side loop detection, RFC 8212, the export
// policy, then the attribute rewrites of RFC 4271 §5.1 and next-hop-self.
//
// Stateless apart from the interned results: it reads the options, the
// policies and the peer table, which the RIB façade owns, and interns the
// exported attribute sets in the AttrTable. Used by AdjRibOut.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>

#include "rib/attr_table.hpp"
#include "rib/path_list.hpp"
#include "rib/peer.hpp"
#include "rib/policy.hpp"
#include "rib/rib.hpp"

namespace ferry::rib {

// Export results for one pull: (source attributes, source peer, family) ->
// exported attributes (null: not exported).
struct ExportKey {
  const void* attrs;
  uint32_t peer;
  int fam;
  bool operator==(const ExportKey&) const = default;
};
struct ExportKeyHash {
  size_t operator()(const ExportKey& k) const noexcept {
    return std::hash<const void*>{}(k.attrs) * 31 + k.peer * 2 + static_cast<size_t>(k.fam);
  }
};
using ExportCache = std::unordered_map<ExportKey, AttrRef, ExportKeyHash>;

class ExportRules {
 public:
  ExportRules(AttrTable& attrs, const PolicyEngine& policy, const RibOptions& opts,
              const PeerTable& peers)
      : attrs_(attrs), policy_(policy), opts_(opts), peers_(peers) {}

  // The attributes `best` (a path of `prefix`) is sent to peer `to` with, or
  // null when it is not sent. cache: per-pull memo, used unless prefix_dep.
  // why: if not null and the route is not sent, the rule that stopped it
  // ("export_policy", "no_export", "ibgp_split_horizon", ...; stable names).
  AttrRef apply(uint32_t to, const Prefix& prefix, const Path& best, ExportCache* cache,
                bool prefix_dep, const char** why = nullptr) const;
  // An aggregate route of `parts` (exported attributes, RFC 4271 §9.2.2.2).
  AttrRef aggregate(std::span<const AttrRef> parts) const;
  // The peer's export chain looks at the prefix: results cannot be cached.
  bool prefix_dependent(uint32_t to) const;
  // PolicyEngine::versions of the peer's export chain.
  std::vector<uint64_t> versions(uint32_t to) const;

 private:
  uint32_t cluster_id() const { return opts_.cluster_id.value_or(opts_.router_id).value(); }

  AttrTable& attrs_;
  const PolicyEngine& policy_;
  const RibOptions& opts_;
  const PeerTable& peers_;
};

}  // namespace ferry::rib
