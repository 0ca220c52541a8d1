#include "rib/export_budget.hpp"

#include <algorithm>
#include <set>

namespace ferry::rib {

namespace {

bool covers(const Prefix& outer, const Prefix& inner) {
  return outer.family() == inner.family() && outer.contains(inner);
}

std::vector<uint32_t> flatten_sequence_prefix(const std::vector<bgp::AsPathSegment>& path) {
  // The leading AS_SEQUENCE ASes, in order (what aggregation may keep as a sequence).
  std::vector<uint32_t> v;
  for (const auto& s : path) {
    if (s.type != bgp::SegmentType::Sequence) break;
    v.insert(v.end(), s.asns.begin(), s.asns.end());
  }
  return v;
}

}  // namespace

bgp::PathAttributes aggregate_attrs(std::span<const AttrRef> parts, uint32_t local_asn,
                                    const IpAddress& router_id) {
  bgp::PathAttributes a = *parts.front();
  bool same_path = true, same_med = true;
  std::vector<uint32_t> common = flatten_sequence_prefix(a.as_path);
  std::set<uint32_t> comms, all_as;
  std::set<std::tuple<uint32_t, uint32_t, uint32_t>> large;
  for (const AttrRef& r : parts) {
    const bgp::PathAttributes p = *r;
    // ORIGIN (§9.2.2.2): INCOMPLETE if any is, else EGP if any is, else IGP.
    if (static_cast<int>(p.origin) > static_cast<int>(a.origin)) a.origin = p.origin;
    if (p.as_path != parts.front()->as_path) same_path = false;
    if (p.med != parts.front()->med) same_med = false;
    if (p.atomic_aggregate) a.atomic_aggregate = true;
    auto seq = flatten_sequence_prefix(p.as_path);
    size_t n = 0;
    while (n < common.size() && n < seq.size() && common[n] == seq[n]) ++n;
    common.resize(n);
    for (const auto& s : p.as_path) all_as.insert(s.asns.begin(), s.asns.end());
    comms.insert(p.communities.begin(), p.communities.end());
    for (const auto& l : p.large_communities) large.insert({l.global, l.local1, l.local2});
  }
  if (!same_path) {
    // AS_PATH (§9.2.2.2): the common leading sequence, then an AS_SET of the rest.
    for (uint32_t asn : common) all_as.erase(asn);
    a.as_path.clear();
    if (!common.empty()) a.as_path.push_back({bgp::SegmentType::Sequence, common});
    if (!all_as.empty())
      a.as_path.push_back(
          {bgp::SegmentType::Set, std::vector<uint32_t>(all_as.begin(), all_as.end())});
  }
  if (!same_med) a.med.reset();
  a.communities.assign(comms.begin(), comms.end());
  a.large_communities.clear();
  for (const auto& [g, l1, l2] : large) a.large_communities.push_back({g, l1, l2});
  a.aggregator = bgp::Aggregator{local_asn, router_id};
  return a;
}

BudgetPlan plan_budget(const std::map<Prefix, AttrRef>& want, size_t max,
                       std::span<const Prefix> candidates, const AggregateFn& aggregate) {
  BudgetPlan plan;
  if (want.size() <= max) {
    plan.out = want;
    return plan;
  }
  // Entries: prefix -> (is aggregate). Start with every wanted prefix.
  std::map<Prefix, bool> cur;
  for (const auto& [p, a] : want) cur.emplace(p, false);
  std::vector<bool> used(candidates.size(), false);
  while (cur.size() > max) {
    // A candidate that saves enough on its own: the longest (it hides the
    // least), then the one covering fewest. Otherwise the one saving most
    // (ties: the longest), and go round again.
    const size_t need = cur.size() - max;
    int pick = -1;
    size_t pick_save = 0;
    auto better = [&](size_t i, size_t save) {
      if (pick < 0) return true;
      const Prefix& q = candidates[static_cast<size_t>(pick)];
      const bool enough = save >= need, pick_enough = pick_save >= need;
      if (enough != pick_enough) return enough;
      if (enough) {
        if (candidates[i].len() != q.len()) return candidates[i].len() > q.len();
        return save < pick_save;
      }
      if (save != pick_save) return save > pick_save;
      return candidates[i].len() > q.len();
    };
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (used[i]) continue;
      size_t n = 0;
      for (const auto& [p, agg] : cur)
        if (covers(candidates[i], p)) ++n;
      // Replacing n entries by one saves n - 1 (the candidate itself may be one of them).
      if (n < 2) continue;
      if (better(i, n - 1)) {
        pick = static_cast<int>(i);
        pick_save = n - 1;
      }
    }
    if (pick < 0) break;
    used[static_cast<size_t>(pick)] = true;
    const Prefix& c = candidates[static_cast<size_t>(pick)];
    for (auto it = cur.begin(); it != cur.end();) {
      if (covers(c, it->first))
        it = cur.erase(it);
      else
        ++it;
    }
    cur.emplace(c, true);
  }
  // Aggregates first, then shorter prefixes, then prefix order.
  std::vector<std::pair<Prefix, bool>> order(cur.begin(), cur.end());
  std::stable_sort(order.begin(), order.end(), [](const auto& x, const auto& y) {
    if (x.second != y.second) return x.second;
    return x.first.len() < y.first.len();
  });
  std::vector<Prefix> kept_aggs;
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& [p, is_agg] = order[i];
    if (i >= max) {
      if (!is_agg) plan.held.push_back(p);
      continue;
    }
    if (!is_agg) {
      plan.out.emplace(p, want.at(p));
      continue;
    }
    std::vector<AttrRef> parts;
    for (const auto& [wp, wa] : want)
      if (covers(p, wp)) parts.push_back(wa);
    // A candidate that is itself a route keeps that route's attributes.
    auto self = want.find(p);
    plan.out.emplace(p, self != want.end() ? self->second : aggregate(p, parts));
    plan.aggregates.push_back(p);
    kept_aggs.push_back(p);
  }
  for (const auto& kv : want) {
    const Prefix& wp = kv.first;
    if (plan.out.count(wp)) continue;
    bool in_agg = std::any_of(kept_aggs.begin(), kept_aggs.end(),
                              [&](const Prefix& a) { return covers(a, wp); });
    if (in_agg) plan.aggregated.push_back(wp);
  }
  // Prefixes under an aggregate that did not fit are held too.
  for (const auto& [p, is_agg] : order)
    if (is_agg && !plan.out.count(p))
      for (const auto& [wp, wa] : want)
        if (covers(p, wp) && !plan.out.count(wp)) plan.held.push_back(wp);
  std::sort(plan.held.begin(), plan.held.end());
  plan.held.erase(std::unique(plan.held.begin(), plan.held.end()), plan.held.end());
  return plan;
}

}  // namespace ferry::rib
