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
#include <vector>

#include "bgp/attributes.hpp"
#include "common/ip.hpp"
#include "config/config.hpp"

namespace ferry::rib {

enum class RouteSource : uint8_t;

struct PolicyInput {
  const Prefix* prefix = nullptr;
  RouteSource source{};
  const std::string* neighbor_name = nullptr;  // null for locally originated routes
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

class PolicyEngine {
 public:
  void set(const std::vector<config::PolicyConfig>& policies);
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
};

}  // namespace ferry::rib
