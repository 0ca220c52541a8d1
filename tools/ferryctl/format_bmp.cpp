// show bmp: one row per BMP monitoring station (RFC 7854).
#include "format.hpp"

namespace ferryctl {

namespace {
std::string text(const Json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}
}  // namespace

void register_bmp_formatters(FormatterMap& m) {
  m["show bmp"] = [](const Json& r) {
    std::vector<std::vector<std::string>> rows;
    if (r.contains("stations") && r["stations"].is_array())
      for (const auto& s : r["stations"]) {
        std::string views;
        for (const auto& v : s.value("route_monitoring", Json::array()))
          views += (views.empty() ? "" : ",") + text(v);
        rows.push_back({text(s.value("name", Json())), text(s.value("station", Json())),
                        text(s.value("state", Json())), views,
                        text(s.value("messages_sent", Json())),
                        text(s.value("queue_bytes", Json())), text(s.value("drops", Json())),
                        text(s.value("connects", Json())), text(s.value("last_error", Json()))});
      }
    if (rows.empty()) return std::string("no BMP stations\n");
    return table({"name", "station", "state", "monitoring", "messages", "queued", "drops",
                  "connects", "last error"},
                 rows);
  };
}

}  // namespace ferryctl
