#include "rib/decision.hpp"

#include <algorithm>
#include <limits>

namespace ferry::rib {
namespace {

constexpr uint32_t kDefaultLocalPref = 100;

// Keeps the candidates with the best key (lowest, or highest when maximise);
// the others get `why`.
template <class KeyFn>
void eliminate(std::vector<int>& alive, std::vector<LossReason>& reasons, LossReason why, KeyFn key,
               bool maximise = false) {
  if (alive.size() <= 1) return;
  auto best = key(alive.front());
  for (int i : alive) {
    auto k = key(i);
    if (maximise ? k > best : k < best) best = k;
  }
  std::erase_if(alive, [&](int i) {
    if (key(i) == best) return false;
    reasons[i] = why;
    return true;
  });
}

}  // namespace

DecisionResult decide(std::span<const Candidate> c, const DecisionOptions& opts) {
  Decider d;
  return d.run(c, opts);
}

const DecisionResult& Decider::run(std::span<const Candidate> c, const DecisionOptions& opts) {
  DecisionResult& r = r_;
  r.best = -1;
  r.active.clear();
  r.reasons.assign(c.size(), LossReason::None);
  std::vector<int>& alive = alive_;
  alive.clear();
  // §9.1.2: only feasible routes with a resolvable NEXT_HOP take part.
  for (int i = 0; i < static_cast<int>(c.size()); ++i) {
    if (!c[i].attrs)
      r.reasons[i] = LossReason::Rejected;
    else if (!c[i].nh.reachable)
      r.reasons[i] = LossReason::NextHopUnreachable;
    else
      alive.push_back(i);
  }
  if (alive.empty()) return r;
  if (alive.size() == 1) {  // the common case: nothing to compare
    r.best = alive.front();
    r.active.push_back(r.best);
    return r;
  }

  auto lp = [&](int i) { return c[i].attrs->local_pref_or(kDefaultLocalPref); };
  auto nas = [&](int i) { return c[i].attrs->neighbor_as; };
  // Local deviation (see decision.hpp): highest weight first.
  eliminate(
      alive, r.reasons, LossReason::Weight, [&](int i) { return c[i].weight; }, true);
  // §9.1.1: degree of preference = LOCAL_PREF.
  eliminate(alive, r.reasons, LossReason::LocalPref, lp, true);
  // §9.1.2.2 (a) shortest AS_PATH.
  eliminate(alive, r.reasons, LossReason::AsPathLength,
            [&](int i) { return c[i].attrs->as_path_len; });
  // (b) lowest ORIGIN.
  eliminate(alive, r.reasons, LossReason::Origin,
            [&](int i) { return static_cast<int>(c[i].attrs->origin); });
  // (c) lowest MED among routes from the same neighbouring AS; missing MED = 0.
  if (alive.size() > 1) {
    auto med = [&](int i) { return c[i].attrs->med_or_zero(); };
    std::vector<int>& keep = keep_;
    keep.clear();
    for (int i : alive) {
      bool beaten = false;
      for (int j : alive) {
        if (i == j || (!opts.always_compare_med && nas(i) != nas(j))) continue;
        if (med(j) < med(i)) {
          beaten = true;
          break;
        }
      }
      if (beaten)
        r.reasons[i] = LossReason::Med;
      else
        keep.push_back(i);
    }
    alive.swap(keep);
  }
  // (d) eBGP (and locally originated) over iBGP.
  eliminate(alive, r.reasons, LossReason::EbgpOverIbgp, [&](int i) { return c[i].ibgp ? 1 : 0; });
  // (e) lowest IGP cost to the NEXT_HOP.
  eliminate(alive, r.reasons, LossReason::IgpCost, [&](int i) { return c[i].nh.igp_cost; });

  // The multipath pool: every candidate still equal here.
  std::vector<int>& pool = pool_;
  pool.assign(alive.begin(), alive.end());

  // (f) lowest BGP Identifier (ORIGINATOR_ID for reflected routes, RFC 4456 §9).
  eliminate(alive, r.reasons, LossReason::RouterId, [&](int i) { return c[i].router_id; });
  // RFC 4456 §9: shortest CLUSTER_LIST.
  eliminate(alive, r.reasons, LossReason::ClusterList,
            [&](int i) { return c[i].attrs->cluster_len; });
  // (g) lowest peer address; the tiebreak makes the order total.
  eliminate(alive, r.reasons, LossReason::PeerAddress,
            [&](int i) { return std::make_pair(c[i].peer_address, c[i].tiebreak); });
  r.best = alive.front();
  r.active.push_back(r.best);

  if (opts.max_paths > 1 && pool.size() > 1) {
    auto order = [&](int i) {
      return std::make_tuple(c[i].router_id, c[i].attrs->cluster_len, c[i].peer_address,
                             c[i].tiebreak);
    };
    std::sort(pool.begin(), pool.end(), [&](int a, int b) { return order(a) < order(b); });
    const auto best_nh = c[r.best].attrs->nh();
    uint32_t best_as = nas(r.best);
    for (int i : pool) {
      if (r.active.size() >= opts.max_paths) break;
      if (i == r.best) continue;
      if (!opts.multipath_relax && nas(i) != best_as) continue;
      if (c[i].ibgp != c[r.best].ibgp) continue;
      const auto nh = c[i].attrs->nh();
      if (!nh || (best_nh && *nh == *best_nh)) continue;
      bool dup = false;
      for (int j : r.active)
        if (c[j].attrs->nh() == nh) dup = true;
      if (dup) continue;
      r.active.push_back(i);
      r.reasons[i] = LossReason::None;
    }
  }
  return r;
}

}  // namespace ferry::rib
