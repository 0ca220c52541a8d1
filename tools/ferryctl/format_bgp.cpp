// Human output for the BGP commands (show neighbors, show routes, show route),
// in the spirit of birdc: one aligned table row per neighbour or route.
#include <cstdio>
#include <sstream>

#include "format.hpp"

namespace ferryctl {

namespace {

std::string str(const Json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "-";
  const Json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string duration(int64_t s) {
  char buf[48];
  if (s <= 0) return "-";
  if (s >= 86400)
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  else if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  else
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  return buf;
}

std::string join(const Json& arr, const char* sep = " ") {
  std::string out;
  if (!arr.is_array()) return out;
  for (const auto& v : arr) {
    if (!out.empty()) out += sep;
    out += v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

std::string as_path(const Json& r) {
  if (r.contains("as_path_text") && r["as_path_text"].is_string()) {
    std::string s = r["as_path_text"];
    return s.empty() ? "(local)" : s;
  }
  std::string s = join(r.value("as_path", Json::array()));
  return s.empty() ? "(local)" : s;
}

std::string neighbors(const Json& res) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> notes;
  for (const auto& n : res.value("neighbors", Json::array())) {
    std::string prefixes = str(n, "prefixes_received") + "/" + str(n, "prefixes_accepted") + "/" +
                           str(n, "prefixes_advertised");
    // The shared liveness of the tunnel peer the session runs across (docs/liveness.md).
    std::string path = "-";
    if (n.contains("liveness") && n["liveness"].is_object()) {
      const Json& l = n["liveness"];
      path = l.value("peer", std::string("?")) + " " + l.value("state", std::string("?")) + " " +
             (l.value("for_s", int64_t{0}) > 0 ? duration(l.value("for_s", int64_t{0})) : "0m00s");
      if (l.value("state", std::string()) != "up" && l.value("state", std::string()) != "unknown")
        notes.push_back(str(n, "name") + ": tunnel peer " + l.value("peer", std::string("?")) +
                        " " + l.value("state", std::string("?")) + ": " +
                        l.value("reason", std::string()));
    }
    if (n.value("held_down", false)) path += " (held)";
    rows.push_back({str(n, "name"), str(n, "address"), str(n, "remote_asn"), str(n, "state"),
                    duration(n.value("uptime", int64_t{0})), prefixes, path,
                    n.value("last_error", "")});
    if (n.contains("export_budget") && n["export_budget"].is_object()) {
      const Json& b = n["export_budget"];
      std::string line = str(n, "name") + ": export budget " + str(b, "used") + "/" + str(b, "max");
      if (b.value("held", 0) > 0) line += ", " + str(b, "held") + " held back";
      if (b.value("aggregated", 0) > 0)
        line += ", " + str(b, "aggregated") + " aggregated into " + join(b["aggregates"], ", ");
      notes.push_back(line);
    }
    if (n.value("rfc8212_blocked", false)) {
      notes.push_back(str(n, "name") +
                      ": eBGP without import/export policy, routes blocked (RFC 8212)");
    }
  }
  std::string out = table(
      {"name", "address", "asn", "state", "uptime", "rcvd/accepted/sent", "path", "last error"},
      rows);
  for (const auto& s : notes) out += s + "\n";
  return out;
}

std::string routes(const Json& res) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : res.value("routes", Json::array())) {
    std::string flag = r.value("best", false) ? "*" : (r.value("active", false) ? "+" : " ");
    if (r.value("stale", false)) flag += "s";
    if (r.value("withdraw_pending", false)) {
      flag = "w";  // advertised view: a withdrawal is queued
    } else if (r.value("pending", false)) {
      flag += "p";  // advertised view: a change is queued
    }
    std::string comms = join(r.value("communities", Json::array()));
    std::string large = join(r.value("large_communities", Json::array()));
    if (!large.empty()) comms += (comms.empty() ? "" : " ") + large;
    rows.push_back({flag, str(r, "prefix"), str(r, "next_hop"), str(r, "peer"), as_path(r),
                    str(r, "local_pref"), str(r, "med"), str(r, "origin"), comms});
  }
  const bool sent = res.value("view", "") == "advertised";
  std::string out = table({"", "prefix", "next hop", sent ? "to" : "from", "as path", "lpref",
                           "med", "origin", "communities"},
                          rows);
  out += std::to_string(res.value("count", rows.size())) + " routes";
  if (res.value("truncated", false)) out += " (output truncated)";
  out += "\n";
  return out;
}

std::string route(const Json& res) {
  std::ostringstream o;
  o << str(res, "prefix") << "\n";
  const Json paths = res.value("paths", Json::array());
  if (paths.empty()) o << "  no paths\n";
  for (const auto& p : paths) {
    o << (p.value("best", false) ? "  * " : p.value("active", false) ? "  + " : "    ");
    o << "via " << str(p, "next_hop") << " from " << str(p, "peer");
    if (p.contains("peer_address") && !p["peer_address"].is_null())
      o << " (" << str(p, "peer_address") << ")";
    o << " [" << str(p, "source") << (p.value("ibgp", false) ? ", ibgp" : "") << "]";
    if (p.value("stale", false)) o << " stale";
    o << "\n";
    o << "      as path " << as_path(p) << ", origin " << str(p, "origin") << ", local pref "
      << str(p, "local_pref") << ", med " << str(p, "med") << "\n";
    std::string c = join(p.value("communities", Json::array()));
    std::string l = join(p.value("large_communities", Json::array()));
    std::string e = join(p.value("ext_communities", Json::array()));
    if (!c.empty()) o << "      communities " << c << "\n";
    if (!l.empty()) o << "      large communities " << l << "\n";
    if (!e.empty()) o << "      ext communities " << e << "\n";
    if (p.value("rejected", false)) {
      o << "      rejected by import policy\n";
    } else if (!p.value("best", false) && p.value("reason", "none") != "none") {
      o << "      not best: " << str(p, "reason") << "\n";
    }
  }
  const Json exports = res.value("exports", Json::array());
  if (!exports.empty()) o << "  to neighbors:\n";
  for (const auto& x : exports) {
    o << "    " << str(x, "neighbor") << ": ";
    if (x.value("advertised", false))
      o << "advertised";
    else
      o << "not advertised (" << str(x, "reason")
        << (x.contains("aggregate") ? " into " + str(x, "aggregate") : "") << ")";
    o << "\n";
  }
  return o.str();
}

}  // namespace

void register_bgp_formatters(FormatterMap& m) {
  m["show neighbors"] = neighbors;
  m["show routes"] = routes;
  m["show route"] = route;
}

}  // namespace ferryctl
