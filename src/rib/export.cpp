// ExportRules: the export rules and attribute rewrites for one peer.
#include "rib/export.hpp"

#include "rib/export_budget.hpp"

#include <optional>

namespace ferry::rib {

bool ExportRules::prefix_dependent(uint32_t to) const {
  const auto& chain = peers_[to].cfg.export_policies;
  return !chain.empty() && policy_.depends_on_prefix(chain);
}

AttrRef ExportRules::aggregate(std::span<const AttrRef> parts) const {
  return attrs_.intern(
      aggregate_attrs(parts, opts_.local_asn.value(), IpAddress::v4(opts_.router_id.value())));
}

std::vector<uint64_t> ExportRules::versions(uint32_t to) const {
  return policy_.versions(peers_[to].cfg.export_policies);
}

AttrRef ExportRules::apply(uint32_t to_id, const Prefix& prefix, const Path& best,
                           ExportCache* cache, bool prefix_dep, const char** why) const {
  // never back to where it came from
  if (best.peer == to_id || !best.post) {
    if (why) *why = best.post ? "learned_from_this_neighbor" : "rejected_on_import";
    return AttrRef();
  }
  const PeerState& to = peers_[to_id];
  const PeerState& from = peers_[best.peer];
  if (to.export_suspended) {
    if (why) *why = "health_check";
    return AttrRef();
  }
  bool to_ebgp = !to.ibgp;
  Family fam = prefix.family();
  const auto& chain = to.cfg.export_policies;
  // Everything below depends only on (source attributes, source peer,
  // family) unless the export policy looks at the prefix: cache per pull.
  ExportKey key{best.post.id(), best.peer, fam_index(fam)};
  if (cache && !prefix_dep) {
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
  }
  auto fail = [&](const char* reason) {
    if (why) *why = reason;
    if (cache && !prefix_dep) cache->emplace(key, AttrRef());
    return AttrRef();
  };
  const bgp::PathAttributes src = *best.post;

  // RFC 1997: well-known communities.
  if (has_community(src, bgp::kNoAdvertise)) return fail("no_advertise");
  if (to_ebgp &&
      (has_community(src, bgp::kNoExport) || has_community(src, bgp::kNoExportSubconfed)))
    return fail("no_export");

  // iBGP split horizon (RFC 4271 §9.2) and route reflection (RFC 4456 §8).
  bool reflect = false;
  if (!from.local && from.ibgp && to.ibgp) {
    bool from_client = from.cfg.route_reflector_client;
    bool to_client = to.cfg.route_reflector_client;
    // From a client: reflect to everyone. From a non-client: only to clients.
    if (!from_client && !to_client) return fail("ibgp_split_horizon");
    reflect = true;
    // Do not reflect a route back to the router that originated it.
    uint32_t originator = src.originator_id.value_or(from.sess.router_id.value());
    if (originator == to.sess.router_id.value()) return fail("originator");
  }
  // Sender-side loop detection: the peer would drop it anyway (RFC 4271 §9.1.2).
  if (to_ebgp && as_path_contains(src, to.cfg.remote_asn.value())) return fail("as_path_loop");

  if (chain.empty() && to_ebgp)
    return fail("rfc8212_no_export_policy");  // RFC 8212 §3: send nothing

  std::optional<IpAddress> self;
  if (fam == Family::V4)
    self = to.sess.local_v4;
  else
    self = to.sess.local_v6;

  PolicyOutcome pr;
  std::optional<bgp::PathAttributes> out;
  if (!chain.empty()) {
    PolicyInput in;
    in.prefix = &prefix;
    in.source = from.source;
    in.neighbor_name = &to.cfg.name;
    in.neighbor_address = &to.cfg.address;
    in.local_asn = opts_.local_asn.value();
    in.self_next_hop = self;
    pr = policy_.run(chain, in, src, out);
    if (!pr.accept) {
      return fail("export_policy");
    }
  }
  bgp::PathAttributes a = out ? std::move(*out) : src;
  bool set_self = false;
  if (to_ebgp) {
    // RFC 4271 §5.1.2: prepend our AS towards an external peer.
    // The neighbor's `prepend` adds more copies, so that the far end prefers
    // another path to this site (active/standby tunnels).
    as_path_prepend(a, opts_.local_asn.value(), 1u + to.cfg.prepend);
    // §5.1.5: LOCAL_PREF is not sent to external peers.
    a.local_pref.reset();
    // §5.1.4: a MED received from another AS is not passed on to other ASes.
    if (!pr.med_set && !from.local) a.med.reset();
    // RFC 4456 §8: ORIGINATOR_ID and CLUSTER_LIST are not sent outside the AS.
    a.originator_id.reset();
    a.cluster_list.clear();
    if (!pr.next_hop_set && (to.cfg.next_hop_self.value_or(true) || !a.next_hop)) set_self = true;
  } else {
    // §5.1.5: LOCAL_PREF is always sent to internal peers.
    if (!a.local_pref) a.local_pref = 100;
    if (reflect) {
      // RFC 4456 §8: set ORIGINATOR_ID once, prepend our CLUSTER_ID.
      if (!a.originator_id) a.originator_id = from.sess.router_id.value();
      a.cluster_list.insert(a.cluster_list.begin(), cluster_id());
    }
    if (!pr.next_hop_set && (to.cfg.next_hop_self.value_or(false) || !a.next_hop))
      set_self = !reflect || !a.next_hop;
  }
  if (set_self) {
    if (!self) {
      // No local address of this family on the session: cannot be announced.
      return fail("no_local_address");
    }
    a.next_hop = *self;
    a.next_hop_ll = fam == Family::V6 ? to.sess.local_v6_ll : std::nullopt;
  }
  if (!a.next_hop || a.next_hop->family() != fam) {
    // RFC 4271 §5.1.3 / RFC 4760: the next hop must be usable for the family.
    if (!(fam == Family::V6 && a.next_hop)) {
      return fail("no_next_hop");
    }
  }
  AttrRef r = attrs_.intern(std::move(a));
  if (cache && !prefix_dep) cache->emplace(key, r);
  return r;
}

}  // namespace ferry::rib
