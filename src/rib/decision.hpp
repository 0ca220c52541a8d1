// The BGP decision process (RFC 4271 §9.1.2) over the candidate paths of one
// prefix, plus the ECMP set.
//
// It is written as the RFC's successive elimination over the whole candidate
// set rather than as a pairwise comparator, because the MED step only compares
// routes from the same neighbouring AS and is therefore not transitive: a
// comparator-based sort would give an arrival-order-dependent answer, the
// elimination does not. Each eliminated path records the step that removed it.
//
// Deviation: a per-neighbor weight (local to this router, never sent, as in
// most BGP implementations) is compared before LOCAL_PREF. Locally
// originated routes have weight 0 like unconfigured neighbors, so the step
// changes nothing until an operator sets a weight.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bgp/attributes.hpp"
#include "rib/rib.hpp"

namespace ferry::rib {

struct Candidate {
  const AttrSummary* attrs = nullptr;  // post-policy; null: rejected
  bool ibgp = false;
  bool local = false;      // locally originated (counts as eBGP at step (d))
  uint32_t router_id = 0;  // ORIGINATOR_ID if present, else the peer's BGP Identifier
  IpAddress peer_address;  // unspecified for local routes
  uint32_t tiebreak = 0;   // unique per path (the peer id): total order at the end
  uint32_t weight = 0;     // the source's configured weight; higher wins before LOCAL_PREF
  NextHopInfo nh;
};

struct DecisionOptions {
  uint32_t max_paths = 1;
  bool always_compare_med = false;
  bool multipath_relax = false;
};

struct DecisionResult {
  int best = -1;                    // index into the candidates, -1: none usable
  std::vector<int> active;          // ECMP set, best first; empty iff best == -1
  std::vector<LossReason> reasons;  // per candidate; None for the active ones
};

DecisionResult decide(std::span<const Candidate> c, const DecisionOptions& opts);

// The same decision, reusing its working vectors between calls: the RIB runs
// it once per changed prefix (a million times for a full table), so it must
// not allocate. The result stays valid until the next run().
class Decider {
 public:
  const DecisionResult& run(std::span<const Candidate> c, const DecisionOptions& opts);

 private:
  DecisionResult r_;
  std::vector<int> alive_, keep_, pool_;
};

}  // namespace ferry::rib
