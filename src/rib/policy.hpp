// Routing policy evaluation over config::PolicyConfig.
//
// A chain is a list of policy names evaluated in order. Inside a policy the
// terms run in order: a term whose match holds applies its set actions and
// then its action: accept or reject ends the whole chain, next-term goes on.
// When no term decided, the policy's default action applies (next-term there
// means "go on with the next policy"). Falling off the end of the chain
// rejects. Built-ins: "accept-all" and "reject-all" (unless the config
// defines a policy of that name).
//
// Attributes are copy-on-write: the input is only copied when a set action
// runs, so the common accept-without-change case allocates nothing.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bgp/attributes.hpp"
#include "common/ip.hpp"
#include "config/config.hpp"

namespace ferry::rib {

enum class RouteSource : uint8_t;

struct PolicyInput {
  const Prefix* prefix = nullptr;
  RouteSource source{};
  // The neighbour matched by `neighbors`: on import the one the route came
  // from, on export the one it is being sent to.
  const std::string* neighbor_name = nullptr;
  const IpAddress* neighbor_address = nullptr;
  uint32_t local_asn = 0;
  std::optional<IpAddress> self_next_hop;  // for "next_hop_self" (export)
};

struct PolicyOutcome {
  bool accept = false;
  bool med_set = false;  // a set action wrote MED (then it may cross AS borders)
  bool next_hop_set = false;
};

// RFC-agnostic prefix-list semantics: ge/le bound the candidate length, with
// neither given the length must be exact (config.hpp's PrefixMatch).
bool prefix_match(const config::PrefixMatch& m, const Prefix& p);
bool policy_match(const config::PolicyMatch& m, const PolicyInput& in,
                  const bgp::PathAttributes& a);
// Applies one term's set actions; returns true if anything may have changed.
void policy_apply(const config::PolicySet& s, const PolicyInput& in, bgp::PathAttributes& a,
                  PolicyOutcome& out);

bool same_policy(const config::PolicyConfig& a, const config::PolicyConfig& b);

class PolicyEngine {
 public:
  // Replaces the policies. Each name has a version that changes whenever the
  // policy of that name is added, removed or different, so a reload only
  // re-exports to peers whose policies really changed.
  void set(const std::vector<config::PolicyConfig>& policies);
  uint64_t version(const std::string& name) const {
    auto it = versions_.find(name);
    return it == versions_.end() ? 0 : it->second;
  }
  std::vector<uint64_t> versions(const std::vector<std::string>& chain) const {
    std::vector<uint64_t> v;
    for (const auto& n : chain) v.push_back(version(n));
    return v;
  }
  bool exists(const std::string& name) const;
  // Runs the chain on `in`. If any set action runs, `out` holds the modified
  // attributes (otherwise it is left empty and `in` is the result).
  PolicyOutcome run(const std::vector<std::string>& chain, const PolicyInput& input,
                    const bgp::PathAttributes& in, std::optional<bgp::PathAttributes>& out) const;
  // True if the chain's result can depend on the prefix (prefix, family
  // match); if false, callers may cache results per attribute set.
  bool depends_on_prefix(const std::vector<std::string>& chain) const;

 private:
  std::unordered_map<std::string, config::PolicyConfig> policies_;
  std::unordered_map<std::string, uint64_t> versions_;
  uint64_t next_version_ = 1;
};

}  // namespace ferry::rib
