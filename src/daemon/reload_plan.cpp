#include "daemon/reload_plan.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace ferry::daemon {

namespace {

using config::ObjectChange;
using Kind = config::ObjectChange::Kind;

// Keys of a section that Modules::apply refuses to change live.
struct Refusal {
  const char* type;
  const char* key;
};
constexpr Refusal kRefused[] = {
    {"router", "asn"},
    {"router", "router-id"},
    {"fib", "table"},
    {"fib", "protocol"},
    {"tunnel", "interface"},
    {"tunnel", "listen-port"},
    {"tunnel", "private-key-file"},
    {"tunnel", "mtu"},
    {"tunnel", "workers"},
    {"tunnel", "addresses"},
    {"tunnel", "timer-scale"},
    {"tunnel", "mss-clamp"},
};
// Keys read only at start.
constexpr Refusal kAtRestart[] = {
    {"router", "control-socket"}, {"router", "control-group"}, {"router", "user"},
    {"fib", "install"},           {"fib", "metric"},           {"bgp", "redistribute"},
};

void add_effect(std::vector<SessionEffect>& out, const std::string& n, SessionEffect::Action a,
                const std::string& why) {
  for (auto& e : out) {
    if (e.neighbor != n) continue;
    // A reset, start or stop supersedes a soft refresh; soft refreshes add up.
    if (e.action == a) {
      if (e.reason.find(why) == std::string::npos) e.reason += "; " + why;
      return;
    }
    if (e.action != SessionEffect::Action::SoftIn && e.action != SessionEffect::Action::SoftOut)
      return;
    if (a == SessionEffect::Action::SoftIn || a == SessionEffect::Action::SoftOut) continue;
    e = {n, a, why};
    return;
  }
  out.push_back({n, a, why});
}

}  // namespace

const char* action_name(SessionEffect::Action a) {
  switch (a) {
    case SessionEffect::Action::Start:
      return "start";
    case SessionEffect::Action::Stop:
      return "stop";
    case SessionEffect::Action::Reset:
      return "reset";
    case SessionEffect::Action::SoftIn:
      return "soft-refresh-in";
    case SessionEffect::Action::SoftOut:
      return "soft-refresh-out";
  }
  return "reset";
}

size_t ReloadPlan::resets() const {
  return std::count_if(sessions.begin(), sessions.end(), [](const SessionEffect& e) {
    return e.action == SessionEffect::Action::Reset;
  });
}

const std::vector<ResetKey>& session_reset_keys() {
  // What bgp::SessionConfig::needs_reset compares (a unit test keeps the two in step).
  static const std::vector<ResetKey> keys = {
      {"address", "the TCP connection's remote address changes"},
      {"port", "the TCP connection's remote port changes"},
      {"local-address", "the TCP connection's local address changes"},
      {"remote-asn", "the peer's AS is checked against its OPEN (RFC 4271 §6.2)"},
      {"passive", "who opens the TCP connection changes"},
      {"password", "TCP-MD5 protects the connection from its first segment (RFC 2385)"},
      {"ttl-security", "GTSM is set on the connection (RFC 5082 §3)"},
      {"multihop", "the connection's TTL changes"},
      {"ipv4", "address families are negotiated in the OPEN (RFC 4760 §8)"},
      {"ipv6", "address families are negotiated in the OPEN (RFC 4760 §8)"},
      {"graceful-restart", "the capability is sent in the OPEN (RFC 4724 §3)"},
      {"hold-time", "the hold time is negotiated in the OPEN (RFC 4271 §4.2)"},
  };
  return keys;
}

ReloadPlan plan_reload(const config::Config& running, const config::Config& next) {
  ReloadPlan p;
  p.changes = config::diff(running, next);
  std::set<std::string> import_changed, export_changed;  // policies by name
  for (const ObjectChange& c : p.changes) {
    const std::string what = c.type + (c.id.empty() ? "" : " " + c.id);
    if (c.type == "tunnel" || c.type == "bgp") {
      if (c.kind != Kind::Changed) {
        p.restart_required.push_back(std::string(config::kind_name(c.kind)) + " [" + c.type +
                                     "] section");
        continue;
      }
    }
    for (const Refusal& r : kRefused)
      if (c.type == r.type && c.changed(r.key)) p.restart_required.push_back(c.type + "." + r.key);
    for (const Refusal& r : kAtRestart)
      if (c.type == r.type && c.changed(r.key)) p.at_restart.push_back(c.type + "." + r.key);
    if (c.type == "metrics") p.at_restart.push_back("[metrics] section");
    if (c.type == "tunnel-peer" && c.kind == Kind::Changed && c.changed("public-key"))
      p.tunnel_peers_recreated.push_back(c.id);
    if (c.type == "policy") {
      import_changed.insert(c.id);
      export_changed.insert(c.id);
    }
    if (c.type != "neighbor") continue;
    if (c.kind == Kind::Added) {
      add_effect(p.sessions, c.id, SessionEffect::Action::Start, "new neighbor");
      continue;
    }
    if (c.kind == Kind::Removed) {
      add_effect(p.sessions, c.id, SessionEffect::Action::Stop,
                 "neighbor removed (Cease, Peer De-configured: RFC 4486 §4)");
      continue;
    }
    std::string why;
    for (const ResetKey& k : session_reset_keys())
      if (c.changed(k.key)) why += (why.empty() ? "" : "; ") + std::string(k.key) + ": " + k.why;
    if (!why.empty()) {
      add_effect(p.sessions, c.id, SessionEffect::Action::Reset, why);
      continue;
    }
    if (c.changed("import"))
      add_effect(p.sessions, c.id, SessionEffect::Action::SoftIn,
                 "import list changed: stored Adj-RIB-In re-evaluated");
    for (const char* k : {"export", "next-hop-self", "route-reflector-client"})
      if (c.changed(k))
        add_effect(p.sessions, c.id, SessionEffect::Action::SoftOut,
                   std::string(k) + " changed: Adj-RIB-Out re-evaluated");
  }
  // Policy edits reach the neighbours that use them (in the new configuration).
  if (next.bgp) {
    for (const auto& n : next.bgp->neighbors) {
      for (const auto& pol : n.import_policies)
        if (import_changed.count(pol))
          add_effect(p.sessions, n.name, SessionEffect::Action::SoftIn,
                     "import policy " + pol + " changed: stored Adj-RIB-In re-evaluated");
      for (const auto& pol : n.export_policies)
        if (export_changed.count(pol))
          add_effect(p.sessions, n.name, SessionEffect::Action::SoftOut,
                     "export policy " + pol + " changed: Adj-RIB-Out re-evaluated");
    }
  }
  // Reflection depends on every peer's client flag (RFC 4456 §6): one neighbour's
  // route-reflector-client re-evaluates every Adj-RIB-Out.
  for (const ObjectChange& c : p.changes) {
    if (c.type != "neighbor" || c.kind != Kind::Changed || !c.changed("route-reflector-client"))
      continue;
    if (next.bgp)
      for (const auto& n : next.bgp->neighbors)
        add_effect(p.sessions, n.name, SessionEffect::Action::SoftOut,
                   "route-reflector-client of " + c.id + " changed: Adj-RIB-Out re-evaluated");
  }
  return p;
}

ctl::Json to_json(const ReloadPlan& p) {
  ctl::Json changes = ctl::Json::array();
  for (const auto& c : p.changes) {
    ctl::Json keys = ctl::Json::array();
    for (const auto& k : c.keys)
      keys.push_back({{"key", k.key}, {"before", k.before}, {"after", k.after}});
    changes.push_back(
        {{"type", c.type}, {"id", c.id}, {"change", config::kind_name(c.kind)}, {"keys", keys}});
  }
  ctl::Json sessions = ctl::Json::array();
  for (const auto& s : p.sessions)
    sessions.push_back(
        {{"neighbor", s.neighbor}, {"action", action_name(s.action)}, {"reason", s.reason}});
  return {{"changes", changes},
          {"sessions", sessions},
          {"session_resets", p.resets()},
          {"tunnel_peers_recreated", p.tunnel_peers_recreated},
          {"restart_required", p.restart_required},
          {"at_restart", p.at_restart}};
}

std::string to_text(const ReloadPlan& p) {
  std::string s;
  if (p.changes.empty()) s += "no changes\n";
  for (const auto& c : p.changes) {
    s += std::string(config::kind_name(c.kind)) + " " + c.type;
    if (!c.id.empty()) s += " " + c.id;
    s += "\n";
    for (const auto& k : c.keys)
      s += "    " + k.key + ": " + (k.before.empty() ? "(unset)" : k.before) + " -> " +
           (k.after.empty() ? "(unset)" : k.after) + "\n";
  }
  if (!p.restart_required.empty()) {
    s += "refused, needs a restart (the running configuration would be kept):\n";
    for (const auto& r : p.restart_required) s += "    " + r + "\n";
  }
  if (!p.at_restart.empty()) {
    s += "accepted, takes effect at the next restart:\n";
    for (const auto& r : p.at_restart) s += "    " + r + "\n";
  }
  for (const auto& t : p.tunnel_peers_recreated)
    s += "tunnel peer " + t + ": public key changed, new peer (new handshake)\n";
  if (p.sessions.empty()) {
    s += "BGP sessions: none touched\n";
  } else {
    s += "BGP sessions (" + std::to_string(p.resets()) + " reset, all others keep running):\n";
    for (const auto& e : p.sessions)
      s += "    " + e.neighbor + ": " + action_name(e.action) + " (" + e.reason + ")\n";
  }
  return s;
}

}  // namespace ferry::daemon
