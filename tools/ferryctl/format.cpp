#include "format.hpp"

#include <algorithm>
#include <sstream>

namespace ferryctl {

std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::ostringstream out;
  auto emit = [&](const std::vector<std::string>& r) {
    std::string line;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < r.size() ? r[i] : "";
      line += cell;
      if (i + 1 < width.size()) line += std::string(width[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  emit(header);
  for (const auto& r : rows) emit(r);
  return out.str();
}

static std::string duration(int64_t s) {
  char buf[64];
  if (s >= 86400)
    std::snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600), static_cast<long long>(s % 3600 / 60));
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60), static_cast<long long>(s % 60));
  return buf;
}

static std::string str(const Json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

void register_core_formatters(FormatterMap& m) {
  m["show status"] = [](const Json& r) {
    std::vector<std::vector<std::string>> rows = {
        {"version", str(r["version"])},
        {"pid", str(r["pid"])},
        {"uptime", duration(r.value("uptime_seconds", int64_t{0}))},
        {"router id", str(r["router_id"])},
        {"asn", str(r["asn"])},
        {"config file", str(r["config_file"])},
        {"control socket", str(r["control_socket"])},
        {"reloads", str(r["reloads"])},
    };
    if (r.contains("reloads_coalesced"))
      rows.push_back({"reloads coalesced", str(r["reloads_coalesced"])});
    if (r.contains("rollbacks")) rows.push_back({"rollbacks", str(r["rollbacks"])});
    if (!r["last_reload_error"].is_null())
      rows.push_back({"last reload error", str(r["last_reload_error"])});
    if (r.contains("pending_confirmation") && r["pending_confirmation"].is_object()) {
      const Json& p = r["pending_confirmation"];
      rows.push_back({"pending confirmation", "rolls back in " + str(p["seconds_left"]) +
                                                  " s (at " + str(p["deadline"]) +
                                                  ") unless `ferryctl reload --commit`"});
    }
    return table({"ferryd", ""}, rows);
  };
  m["show config"] = [](const Json& r) { return str(r["text"]); };
  m["reload"] = [](const Json& r) {
    // The daemon renders the plan (daemon/reload_plan.hpp); --json has it structured.
    std::string s = r.contains("text") ? str(r["text"]) : "";
    if (r.value("dry_run", false)) {
      s += "dry run: nothing applied";
      if (r.contains("error")) s += "; the reload would fail: " + str(r["error"]);
      return s + "\n";
    }
    if (r.value("committed", false)) return "committed " + str(r["config_file"]) + "\n";
    if (r.value("rolled_back", false))
      return s + "rolled back to the last committed configuration\n";
    s += "reloaded " + str(r["config_file"]);
    if (r.contains("confirm_deadline"))
      s += "; rolls back at " + str(r["confirm_deadline"]) +
           " (unix time) unless `ferryctl reload --commit` follows";
    return s + "\n";
  };
}

}  // namespace ferryctl
