// show bfd: one row per BFD session (RFC 5880), like `show bfd peers` in FRR.
// show health: one row per health check (conditional advertisement).
#include <cstdio>

#include "format.hpp"

namespace ferryctl {

namespace {

std::string text(const Json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

// "300 ms", "1.5 ms"
std::string ms(const Json& j) {
  if (!j.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g ms", j.get<double>());
  return buf;
}

}  // namespace

void register_bfd_formatters(FormatterMap& m) {
  m["show bfd"] = [](const Json& r) {
    std::vector<std::vector<std::string>> rows;
    if (r.contains("sessions") && r["sessions"].is_array())
      for (const auto& s : r["sessions"]) {
        rows.push_back(
            {text(s.value("peer", Json())), text(s.value("local", Json())),
             text(s.value("state", Json())), text(s.value("remote_state", Json())),
             text(s.value("diag", Json())), ms(s.value("tx_interval_ms", Json())),
             ms(s.value("detection_time_ms", Json())),
             text(s.value("up_transitions", Json())) + "/" +
                 text(s.value("down_transitions", Json())),
             text(s.value("rx_packets", Json())) + "/" + text(s.value("tx_packets", Json()))});
      }
    if (rows.empty()) return std::string("no BFD sessions\n");
    std::string out = table({"peer", "local", "state", "remote", "diag", "tx interval", "detect",
                             "up/down", "rx/tx packets"},
                            rows);
    if (r.contains("drops") && r["drops"].is_object()) {
      std::string d;
      for (const auto& [k, v] : r["drops"].items())
        d += (d.empty() ? "" : ", ") + k + " " + text(v);
      out += "drops: " + d + "\n";
    }
    return out;
  };
  m["show health"] = [](const Json& r) {
    std::vector<std::vector<std::string>> rows;
    if (r.contains("health_checks") && r["health_checks"].is_array())
      for (const auto& h : r["health_checks"]) {
        std::string target = text(h.value("target", Json()));
        if (h.value("type", "") == "tcp") target += ":" + text(h.value("port", Json()));
        std::string deps;
        for (const char* k : {"networks", "neighbors"})
          if (h.contains(k) && h[k].is_array())
            for (const auto& x : h[k]) deps += (deps.empty() ? "" : " ") + text(x);
        rows.push_back({text(h.value("name", Json())), text(h.value("type", Json())), target,
                        h.value("up", false) ? "up" : "down",
                        text(h.value("probes", Json())) + "/" + text(h.value("failures", Json())),
                        text(h.value("last_detail", Json())), deps});
      }
    if (rows.empty()) return std::string("no health checks\n");
    return table({"name", "type", "target", "state", "probes/failed", "last", "withheld when down"},
                 rows);
  };
}

}  // namespace ferryctl
