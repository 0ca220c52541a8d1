// What a reload would do to the running daemon: the config diff
// (config/diff.hpp) plus its consequences, per object. Used by `ferryctl
// reload --dry-run`, by `ferryd --check --diff`, and logged by every reload.
// A pure function of the running and the new configuration.
//
// Consequences, matching what Modules::apply / Speaker::apply / Tunnel::apply do:
//  - a neighbour whose session parameters changed is reset, naming the keys
//    (session_reset_keys(): what goes into the OPEN or the TCP connection);
//    every other neighbour keeps its session;
//  - import policy changes (a policy's terms, a neighbour's import list) are
//    re-evaluated from the stored Adj-RIB-In: ferry keeps every received path
//    before policy, rejected ones included (RFC 4271 §9.1 soft
//    reconfiguration), so no ROUTE-REFRESH is needed and none is sent;
//  - export changes (export policies, next-hop-self, route-reflector-client)
//    re-evaluate that neighbour's Adj-RIB-Out and send only the differences;
//  - a tunnel peer whose public key changed is a new peer (new handshake);
//    endpoint, keepalive, preshared key and allowed-ips change in place;
//  - what Modules::apply refuses (restart_required) makes the reload fail and
//    keeps the running configuration; at_restart lists what is accepted but
//    only used at the next start.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/diff.hpp"
#include "ctl/registry.hpp"

namespace ferry::daemon {

struct SessionEffect {
  enum class Action { Start, Stop, Reset, SoftIn, SoftOut };
  std::string neighbor;
  Action action = Action::Reset;
  std::string reason;
  bool operator==(const SessionEffect&) const = default;
};
const char* action_name(SessionEffect::Action a);

struct ReloadPlan {
  std::vector<config::ObjectChange> changes;
  std::vector<SessionEffect> sessions;  // BGP sessions the reload touches
  std::vector<std::string> tunnel_peers_recreated;
  std::vector<std::string> restart_required;  // non-empty: the reload is refused
  std::vector<std::string> at_restart;        // accepted, effective at the next start
  size_t resets() const;
};

// Neighbour keys (as printed) whose change resets the session, and why.
struct ResetKey {
  const char* key;
  const char* why;
};
const std::vector<ResetKey>& session_reset_keys();

ReloadPlan plan_reload(const config::Config& running, const config::Config& next);

ctl::Json to_json(const ReloadPlan& p);
// Human text: one line per changed object, then the sessions touched.
std::string to_text(const ReloadPlan& p);

}  // namespace ferry::daemon
