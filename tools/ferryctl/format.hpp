// Human output for ferryctl: aligned tables, as in birdc or `wg show`.
// Each module's commands have a formatter that turns the daemon's JSON result
// into text; commands without one are printed as indented JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ferryctl {

using Json = nlohmann::json;
using Formatter = std::function<std::string(const Json& result)>;
using FormatterMap = std::map<std::string, Formatter>;

// Left-aligned columns separated by two spaces; the header row first.
std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows);

// Registration hooks, one per module (format_<module>.cpp).
void register_core_formatters(FormatterMap& m);    // show status
void register_bgp_formatters(FormatterMap& m);     // show neighbors, show routes, show route
void register_tunnel_formatters(FormatterMap& m);  // show tunnels
void register_bfd_formatters(FormatterMap& m);     // show bfd, show health
void register_bmp_formatters(FormatterMap& m);     // show bmp

}  // namespace ferryctl
