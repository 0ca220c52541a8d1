#include "rib/policy.hpp"

#include <algorithm>

#include "rib/attr_table.hpp"
#include "rib/rib.hpp"

namespace ferry::rib {

bool prefix_match(const config::PrefixMatch& m, const Prefix& p) {
  if (m.prefix.family() != p.family() || !m.prefix.contains(p)) return false;
  if (m.ge < 0 && m.le < 0) return p.len() == m.prefix.len();
  int lo = m.ge >= 0 ? m.ge : m.prefix.len();
  int hi = m.le >= 0 ? m.le : family_bits(p.family());
  return p.len() >= lo && p.len() <= hi;
}

bool policy_match(const config::PolicyMatch& m, const PolicyInput& in,
                  const bgp::PathAttributes& a) {
  if (!m.prefixes.empty()) {
    bool any =
        std::any_of(m.prefixes.begin(), m.prefixes.end(),
                    [&](const config::PrefixMatch& pm) { return prefix_match(pm, *in.prefix); });
    if (!any) return false;
  }
  if (m.as_path_contains && !as_path_contains(a, *m.as_path_contains)) return false;
  if (m.as_path_originates && origin_as(a) != *m.as_path_originates) return false;
  if (m.as_path_length_min && as_path_length(a) < static_cast<int>(*m.as_path_length_min))
    return false;
  if (m.as_path_length_max && as_path_length(a) > static_cast<int>(*m.as_path_length_max))
    return false;
  for (uint32_t c : m.communities)
    if (!has_community(a, c)) return false;
  for (const auto& lc : m.large_communities) {
    if (lc.size() != 3) return false;
    bgp::LargeCommunity want{lc[0], lc[1], lc[2]};
    if (std::find(a.large_communities.begin(), a.large_communities.end(), want) ==
        a.large_communities.end())
      return false;
  }
  if (!m.neighbors.empty()) {
    if (!in.neighbor_name) return false;
    bool any = false;
    for (const auto& n : m.neighbors) {
      if (n == *in.neighbor_name || (in.neighbor_address && n == in.neighbor_address->str())) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (m.origin && static_cast<uint8_t>(a.origin) != *m.origin) return false;
  if (m.family && *m.family != in.prefix->family()) return false;
  if (m.source && *m.source != route_source_name(in.source)) return false;
  return true;
}

void policy_apply(const config::PolicySet& s, const PolicyInput& in, bgp::PathAttributes& a,
                  PolicyOutcome& out) {
  if (s.local_pref) a.local_pref = *s.local_pref;
  if (s.med) {
    a.med = *s.med;
    out.med_set = true;
  }
  if (s.prepend_count > 0) {
    uint32_t asn = s.prepend_asn.value_or(0);
    if (asn == 0) asn = in.local_asn;
    as_path_prepend(a, asn, s.prepend_count);
  }
  if (s.community_replace) a.communities = *s.community_replace;
  for (uint32_t c : s.community_remove) std::erase(a.communities, c);
  for (uint32_t c : s.community_add)
    if (!has_community(a, c)) a.communities.push_back(c);
  for (const auto& lc : s.large_community_remove) {
    if (lc.size() != 3) continue;
    std::erase(a.large_communities, bgp::LargeCommunity{lc[0], lc[1], lc[2]});
  }
  for (const auto& lc : s.large_community_add) {
    if (lc.size() != 3) continue;
    bgp::LargeCommunity v{lc[0], lc[1], lc[2]};
    if (std::find(a.large_communities.begin(), a.large_communities.end(), v) ==
        a.large_communities.end())
      a.large_communities.push_back(v);
  }
  if (s.next_hop) {
    a.next_hop = *s.next_hop;
    out.next_hop_set = true;
  } else if (s.next_hop_self && in.self_next_hop) {
    a.next_hop = *in.self_next_hop;
    out.next_hop_set = true;
  }
}

namespace {

bool same_match(const config::PolicyMatch& a, const config::PolicyMatch& b) {
  return a.prefixes == b.prefixes && a.as_path_contains == b.as_path_contains &&
         a.as_path_originates == b.as_path_originates &&
         a.as_path_length_min == b.as_path_length_min &&
         a.as_path_length_max == b.as_path_length_max && a.communities == b.communities &&
         a.large_communities == b.large_communities && a.neighbors == b.neighbors &&
         a.origin == b.origin && a.family == b.family && a.source == b.source;
}

bool same_set(const config::PolicySet& a, const config::PolicySet& b) {
  return a.local_pref == b.local_pref && a.med == b.med && a.prepend_asn == b.prepend_asn &&
         a.prepend_count == b.prepend_count && a.community_add == b.community_add &&
         a.community_remove == b.community_remove && a.community_replace == b.community_replace &&
         a.large_community_add == b.large_community_add &&
         a.large_community_remove == b.large_community_remove && a.next_hop == b.next_hop &&
         a.next_hop_self == b.next_hop_self;
}

}  // namespace

bool same_policy(const config::PolicyConfig& a, const config::PolicyConfig& b) {
  if (a.name != b.name || a.default_action != b.default_action || a.terms.size() != b.terms.size())
    return false;
  for (size_t i = 0; i < a.terms.size(); ++i) {
    const auto &x = a.terms[i], &y = b.terms[i];
    if (x.name != y.name || x.action != y.action || !same_match(x.match, y.match) ||
        !same_set(x.set, y.set))
      return false;
  }
  return true;
}

void PolicyEngine::set(const std::vector<config::PolicyConfig>& policies) {
  std::unordered_map<std::string, config::PolicyConfig> next;
  for (const auto& p : policies) next[p.name] = p;
  for (const auto& [name, p] : next) {
    auto it = policies_.find(name);
    if (it == policies_.end() || !same_policy(it->second, p)) versions_[name] = next_version_++;
  }
  for (const auto& [name, p] : policies_)
    if (!next.count(name)) versions_[name] = next_version_++;
  policies_.swap(next);
}

bool PolicyEngine::exists(const std::string& name) const {
  return policies_.count(name) || name == "accept-all" || name == "reject-all";
}

PolicyOutcome PolicyEngine::run(const std::vector<std::string>& chain, const PolicyInput& input,
                                const bgp::PathAttributes& in,
                                std::optional<bgp::PathAttributes>& out) const {
  PolicyOutcome res;
  for (const auto& name : chain) {
    auto it = policies_.find(name);
    if (it == policies_.end()) {
      // Built-ins; an unknown name (config validation prevents it) fails closed.
      res.accept = name == "accept-all";
      return res;
    }
    const config::PolicyConfig& pol = it->second;
    for (const auto& term : pol.terms) {
      const bgp::PathAttributes& cur = out ? *out : in;
      if (!policy_match(term.match, input, cur)) continue;
      const auto& s = term.set;
      bool has_set = s.local_pref || s.med || s.prepend_count > 0 || s.community_replace ||
                     !s.community_add.empty() || !s.community_remove.empty() ||
                     !s.large_community_add.empty() || !s.large_community_remove.empty() ||
                     s.next_hop || s.next_hop_self;
      if (has_set) {
        if (!out) out.emplace(in);
        policy_apply(s, input, *out, res);
      }
      if (term.action == config::PolicyAction::Accept) {
        res.accept = true;
        return res;
      }
      if (term.action == config::PolicyAction::Reject) {
        res.accept = false;
        return res;
      }
    }
    if (pol.default_action == config::PolicyAction::Accept) {
      res.accept = true;
      return res;
    }
    if (pol.default_action == config::PolicyAction::Reject) {
      res.accept = false;
      return res;
    }
  }
  res.accept = false;
  return res;
}

bool PolicyEngine::depends_on_prefix(const std::vector<std::string>& chain) const {
  for (const auto& name : chain) {
    auto it = policies_.find(name);
    if (it == policies_.end()) continue;
    for (const auto& t : it->second.terms)
      if (!t.match.prefixes.empty() || t.match.family) return true;
  }
  return false;
}

}  // namespace ferry::rib
