// Control commands of the speaker: JSON views of neighbours and routes, and
// `clear neighbor`. Field names are snake_case and stable (ferryctl and the
// integration tests read them).
#include <chrono>

#include "bgp/attributes.hpp"
#include "speaker/peer.hpp"
#include "speaker/speaker.hpp"

namespace ferry::speaker {

namespace {

const char* origin_name(bgp::Origin o) {
  switch (o) {
    case bgp::Origin::Igp:
      return "igp";
    case bgp::Origin::Egp:
      return "egp";
    case bgp::Origin::Incomplete:
      return "incomplete";
  }
  return "?";
}

void attrs_json(const bgp::PathAttributes& a, ctl::Json& j) {
  j["next_hop"] = a.next_hop ? ctl::Json(a.next_hop->str()) : ctl::Json(nullptr);
  ctl::Json path = ctl::Json::array();
  for (const auto& seg : a.as_path)
    for (uint32_t asn : seg.asns) path.push_back(asn);
  j["as_path"] = std::move(path);
  j["as_path_text"] = bgp::format_as_path(a.as_path);
  ctl::Json comms = ctl::Json::array();
  for (uint32_t c : a.communities) comms.push_back(bgp::format_community(c));
  j["communities"] = std::move(comms);
  ctl::Json large = ctl::Json::array();
  for (const auto& c : a.large_communities) large.push_back(bgp::format_large_community(c));
  j["large_communities"] = std::move(large);
  ctl::Json ext = ctl::Json::array();
  for (uint64_t c : a.ext_communities) ext.push_back(bgp::format_ext_community(c));
  j["ext_communities"] = std::move(ext);
  j["local_pref"] = a.local_pref ? ctl::Json(*a.local_pref) : ctl::Json(nullptr);
  j["med"] = a.med ? ctl::Json(*a.med) : ctl::Json(nullptr);
  j["origin"] = origin_name(a.origin);
}

ctl::Json path_json(const Prefix& prefix, const rib::PathView& v, bool pre_policy) {
  ctl::Json j;
  j["prefix"] = prefix.str();
  const rib::AttrRef& a = pre_policy ? v.pre_policy : v.attrs;
  if (a) {
    attrs_json(*a, j);
  } else if (v.pre_policy) {
    attrs_json(*v.pre_policy, j);
  }
  j["best"] = v.best;
  j["active"] = v.active;
  j["peer"] = v.peer_name;
  j["peer_address"] =
      v.source == rib::RouteSource::Bgp ? ctl::Json(v.peer_address.str()) : ctl::Json(nullptr);
  j["source"] = rib::route_source_name(v.source);
  j["stale"] = v.stale;
  j["ibgp"] = v.ibgp;
  j["rejected"] = !v.attrs;
  j["reason"] = rib::loss_reason_name(v.reason);
  return j;
}

std::optional<Family> family_arg(const ctl::Json& args) {
  if (!args.contains("family") || !args["family"].is_string()) return std::nullopt;
  std::string f = args["family"];
  if (f == "ipv4" || f == "4") return Family::V4;
  if (f == "ipv6" || f == "6") return Family::V6;
  return std::nullopt;
}

// A string argument ("" when absent); nullopt when present with another type, which
// the callers refuse rather than let nlohmann's conversion throw.
std::optional<std::string> string_arg(const ctl::Json& args, const char* key) {
  if (!args.is_object() || !args.contains(key)) return std::string();
  if (!args[key].is_string()) return std::nullopt;
  return args[key].get<std::string>();
}

}  // namespace

ctl::Json Speaker::show_neighbors(const ctl::Json& args) const {
  ctl::Json list = ctl::Json::array();
  auto now = std::chrono::steady_clock::now();
  // A non-string name matches nothing (this command has no error path).
  std::string only = string_arg(args, "name").value_or("\n");
  for (const auto& [name, p] : peers_) {
    if (!only.empty() && only != name && only != p->cfg().address.str()) continue;
    const bgp::Session& s = p->session();
    ctl::Json j;
    j["name"] = name;
    j["address"] = p->cfg().address.str();
    j["remote_asn"] = p->cfg().remote_asn.value();
    j["local_asn"] = opts_.local_asn.value();
    j["description"] = p->cfg().description;
    j["state"] = bgp::fsm_state_name(s.state());
    j["uptime"] =
        s.established()
            ? std::chrono::duration_cast<std::chrono::seconds>(now - s.established_at()).count()
            : 0;
    j["last_error"] = s.last_error();
    j["held_down"] = !p->gate_open();  // fate sharing or strict mode (Peer::set_gate)
    if (!p->gate_open()) j["held_down_reason"] = p->gate_reason();
    j["ibgp"] = s.config().ibgp();
    if (s.established()) {
      j["router_id"] = s.remote_open().bgp_id.str();
      j["hold_time"] = s.negotiated().hold_time;
      ctl::Json fams = ctl::Json::array();
      for (const auto& af : s.negotiated().families) fams.push_back(af.afi == 2 ? "ipv6" : "ipv4");
      j["families"] = std::move(fams);
      j["four_octet_as"] = s.negotiated().four_octet_as;
      j["route_refresh"] = s.negotiated().route_refresh;
      j["enhanced_route_refresh"] = s.negotiated().enhanced_route_refresh;
      j["extended_message"] = s.negotiated().extended_message;
      j["graceful_restart"] = s.peer_graceful_restart();
      // RFC 4724 §3 as the peer sent it: R (it restarted), F per family (forwarding kept).
      if (const auto& gr = s.remote_open().caps.graceful_restart) {
        j["gr_peer_restart_state"] = gr->restart_state;
        j["gr_peer_restart_time"] = gr->restart_time;
        ctl::Json fw = ctl::Json::array();
        for (const auto& f : gr->families)
          if (f.forwarding_preserved) fw.push_back(f.af.afi == 2 ? "ipv6" : "ipv4");
        j["gr_peer_forwarding_preserved"] = std::move(fw);
      }
    }
    uint64_t rx = 0, acc = 0, adv = 0, reeval = 0;
    bool imp_blocked = false, exp_blocked = false;
    ctl::Json budget = nullptr;
    if (auto st = rib_.peer_status(p->id())) {
      if (st->budget) {
        ctl::Json aggs = ctl::Json::array();
        for (const auto& a : st->budget->aggregates) aggs.push_back(a.str());
        budget = {{"max", st->budget->max},
                  {"used", st->budget->used},
                  {"held", st->budget->held},
                  {"aggregated", st->budget->aggregated},
                  {"aggregates", std::move(aggs)}};
      }
      rx = st->counters.received;
      acc = st->counters.accepted;
      adv = st->counters.advertised;
      reeval = st->counters.reevaluated;
      imp_blocked = st->rfc8212_import_blocked;
      exp_blocked = st->rfc8212_export_blocked;
    }
    j["prefixes_received"] = rx;
    j["prefixes_accepted"] = acc;
    j["prefixes_advertised"] = adv;
    j["prefixes_reevaluated"] = reeval;  // import re-run on stored paths by reloads
    j["rfc8212_blocked"] = imp_blocked || exp_blocked;
    j["rfc8212_import_blocked"] = imp_blocked;
    j["rfc8212_export_blocked"] = exp_blocked;
    j["max_prefix_exceeded"] = p->max_prefix_warned();
    j["export_budget"] = std::move(budget);  // null without max-prefixes-out
    j["stale_routes_kept"] = p->stale_pending();
    const auto& c = s.counters();
    j["messages_in"] = c.messages_in;
    j["messages_out"] = c.messages_out;
    j["updates_in"] = c.updates_in;
    j["updates_out"] = c.updates_out;
    j["update_errors"] = c.update_errors;
    j["notifications_in"] = c.notifications_in;
    j["notifications_out"] = c.notifications_out;
    j["established_count"] = c.established_count;
    j["gtsm_refused"] = c.gtsm_refused;
    list.push_back(std::move(j));
  }
  return ctl::Json{{"neighbors", std::move(list)}};
}

Result<ctl::Json> Speaker::show_routes(const ctl::Json& args) const {
  std::optional<Family> fam = family_arg(args);
  if (args.contains("family") && !fam) return make_error("family must be ipv4 or ipv6");
  std::optional<Prefix> filter;
  if (args.contains("prefix") && args["prefix"].is_string()) {
    filter = Prefix::parse(args["prefix"].get<std::string>());
    if (!filter) return make_error("bad prefix");
  }
  const Peer* neighbor = nullptr;
  if (args.contains("neighbor") && args["neighbor"].is_string()) {
    std::string n = args["neighbor"];
    auto it = peers_.find(n);
    if (it == peers_.end()) {
      auto a = IpAddress::parse(n);
      for (const auto& [name, p] : peers_)
        if (a && p->cfg().address == *a) neighbor = p.get();
    } else {
      neighbor = it->second.get();
    }
    if (!neighbor) return make_error("no such neighbor: " + n);
  }
  // Typed reads only: a control client's JSON must not reach a conversion that throws
  // or, for a float into size_t, is undefined behaviour.
  for (const char* flag : {"received", "advertised"})
    if (args.contains(flag) && !args[flag].is_boolean())
      return make_error(std::string(flag) + " must be true or false");
  if (args.contains("limit") && !(args["limit"].is_number_integer() && args["limit"] >= 0))
    return make_error("limit must be a non-negative integer");
  bool received = args.value("received", false);
  bool advertised = args.value("advertised", false);
  if (advertised && received) return make_error("received and advertised exclude each other");
  if (advertised && !neighbor) return make_error("advertised needs a neighbor");
  size_t limit = args.value("limit", size_t{100000});
  ctl::Json routes = ctl::Json::array();
  size_t total = 0;
  auto want = [&](const Prefix& p) {
    if (fam && p.family() != *fam) return false;
    if (filter && !filter->contains(p)) return false;
    return true;
  };
  if (advertised) {
    // Adj-RIB-Out: what the neighbour has been sent, with the attributes as sent
    // (after export policy, AS prepend, next-hop-self).
    rib_.for_each_advertised(neighbor->id(), [&](const rib::AdvertisedRoute& r) {
      if (!want(r.prefix)) return;
      ++total;
      if (routes.size() >= limit) return;
      ctl::Json j;
      j["prefix"] = r.prefix.str();
      if (r.attrs) attrs_json(*r.attrs, j);
      j["peer"] = neighbor->cfg().name;
      j["peer_address"] = neighbor->cfg().address.str();
      j["best"] = true;
      j["pending"] = r.pending;
      j["withdraw_pending"] = !r.attrs;
      routes.push_back(std::move(j));
    });
  } else if (!neighbor) {
    rib_.for_each_best(
        [&](const Prefix& p, const rib::PathView& best, std::span<const rib::NextHop>) {
          if (!want(p)) return;
          ++total;
          if (routes.size() < limit) routes.push_back(path_json(p, best, false));
        });
  } else {
    // Paths learned from one neighbour: received = pre-policy, else post-policy.
    std::vector<Prefix> prefixes;
    rib_.for_each_best([&](const Prefix& p, const rib::PathView&, std::span<const rib::NextHop>) {
      if (want(p)) prefixes.push_back(p);
    });
    for (const Prefix& p : prefixes) {
      for (const rib::PathView& v : rib_.show_route(p)) {
        if (v.source != rib::RouteSource::Bgp || v.peer != neighbor->id()) continue;
        if (!received && !v.attrs) continue;
        ++total;
        if (routes.size() < limit) routes.push_back(path_json(p, v, received));
      }
    }
  }
  const char* view = advertised ? "advertised" : received ? "received" : "accepted";
  if (!neighbor) view = "best";
  return ctl::Json{{"routes", std::move(routes)},
                   {"count", total},
                   {"truncated", total > limit},
                   {"view", view}};
}

Result<ctl::Json> Speaker::show_route(const ctl::Json& args) const {
  if (!args.contains("prefix") || !args["prefix"].is_string()) return make_error("prefix required");
  auto prefix = Prefix::parse(args["prefix"].get<std::string>());
  if (!prefix) return make_error("bad prefix");
  ctl::Json paths = ctl::Json::array();
  for (const rib::PathView& v : rib_.show_route(*prefix))
    paths.push_back(path_json(*prefix, v, false));
  ctl::Json exports = ctl::Json::array();
  for (const rib::ExportStatus& x : rib_.export_status(*prefix)) {
    auto it = by_id_.find(rib::to_int(x.peer));
    if (it == by_id_.end()) continue;
    const Peer* n = it->second;
    ctl::Json j{{"neighbor", n->cfg().name}, {"advertised", x.advertised}, {"reason", x.reason}};
    if (x.aggregate) j["aggregate"] = x.aggregate->str();
    exports.push_back(std::move(j));
  }
  return ctl::Json{
      {"prefix", prefix->str()}, {"paths", std::move(paths)}, {"exports", std::move(exports)}};
}

Result<ctl::Json> Speaker::clear_neighbor(const ctl::Json& args) {
  auto name_arg = string_arg(args, "name");
  auto neighbor_arg = string_arg(args, "neighbor");
  if (!name_arg || !neighbor_arg) return make_error("name must be a string");
  std::string name = name_arg->empty() ? *neighbor_arg : *name_arg;
  if (name.empty()) return make_error("name required (a neighbour name, address, or all)");
  std::vector<Peer*> targets;
  if (name == "all") {
    for (auto& [n, p] : peers_) targets.push_back(p.get());
  } else if (Peer* p = find(name)) {
    targets.push_back(p);
  } else if (auto a = IpAddress::parse(name); a && find(*a)) {
    targets.push_back(find(*a));
  } else {
    return make_error("no such neighbor: " + name);
  }
  // soft: true = both directions, "in" or "out" = one.
  std::string soft;
  if (args.contains("soft")) {
    const auto& s = args["soft"];
    if (s.is_boolean()) {
      soft = s.get<bool>() ? "both" : "";
    } else if (s.is_string()) {
      soft = s.get<std::string>();
      if (soft != "in" && soft != "out" && soft != "both")
        return make_error("soft: in, out or both");
    }
  }
  ctl::Json cleared = ctl::Json::array();
  for (Peer* p : targets) {
    if (soft.empty() && !p->gate_open()) {
      // Held down (fate sharing): it restarts when its path is usable again.
    } else if (soft.empty()) {
      // RFC 9003: Cease / Administrative Reset with a shutdown communication.
      p->session().restart(bgp::Notification::shutdown(bgp::kSubAdminReset, "cleared by operator"),
                           std::chrono::seconds(1));
    } else {
      if (soft == "in" || soft == "both") p->soft_in();
      if (soft == "out" || soft == "both") p->soft_out();
    }
    cleared.push_back(p->cfg().name);
  }
  return ctl::Json{{"cleared", std::move(cleared)}, {"soft", !soft.empty()}};
}

}  // namespace ferry::speaker
