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
    if (!r["last_reload_error"].is_null())
      rows.push_back({"last reload error", str(r["last_reload_error"])});
    return table({"ferryd", ""}, rows);
  };
  m["reload"] = [](const Json& r) { return "reloaded " + str(r["config_file"]) + "\n"; };
}

}  // namespace ferryctl
