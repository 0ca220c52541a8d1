// "show tunnels" as text, in the spirit of `wg show`: one block per interface,
// one table row per peer, then the allowed/learned IPs and non-zero drops.
// A learned prefix shared by several peers (ECMP) is listed under each of
// them, marked with the peers that share it.
#include <chrono>
#include <cstdio>
#include <sstream>

#include "format.hpp"

namespace ferryctl {

namespace {

std::string bytes(uint64_t b) {
  const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, unit[u]);
  return buf;
}

std::string ago(const Json& t) {
  if (!t.is_number()) return "never";
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  int64_t d = std::max<int64_t>(0, now - t.get<int64_t>());
  char buf[48];
  if (d >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm ago", static_cast<long long>(d / 3600),
                  static_cast<long long>(d % 3600 / 60));
  else if (d >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds ago", static_cast<long long>(d / 60),
                  static_cast<long long>(d % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds ago", static_cast<long long>(d));
  return buf;
}

std::string join(const Json& arr, size_t limit) {
  if (!arr.is_array() || arr.empty()) return "(none)";
  std::string s;
  size_t n = 0;
  for (const auto& x : arr) {
    if (n == limit) {
      s += ", ... (" + std::to_string(arr.size()) + " total)";
      break;
    }
    if (n++) s += ", ";
    s += x.is_string() ? x.get<std::string>() : x.dump();
  }
  return s;
}

// Learned prefixes, each ECMP one followed by "(ecmp: a, b)".
Json learned_annotated(const Json& p) {
  const Json& learned = p["learned_ips"];
  const Json& ecmp = p.contains("ecmp_ips") ? p["ecmp_ips"] : Json();
  if (!learned.is_array() || !ecmp.is_object() || ecmp.empty()) return learned;
  Json out = Json::array();
  for (const auto& x : learned) {
    if (!x.is_string() || !ecmp.contains(x.get<std::string>())) {
      out.push_back(x);
      continue;
    }
    out.push_back(x.get<std::string>() + " (ecmp: " + join(ecmp[x.get<std::string>()], 16) + ")");
  }
  return out;
}

std::string drops(const Json& d) {
  std::string s;
  if (!d.is_object()) return s;
  for (const auto& [k, v] : d.items()) {
    if (!v.is_number() || v.get<uint64_t>() == 0) continue;
    if (!s.empty()) s += ", ";
    s += k + "=" + std::to_string(v.get<uint64_t>());
  }
  return s;
}

// The peer's shared liveness (docs/liveness.md): "down 12s ago: bfd ... (hold-down 2000 ms)".
std::string liveness_line(const Json& l) {
  if (!l.is_object()) return "";
  std::string s = l.value("state", std::string("?")) + " since " + ago(l["since"]);
  if (auto why = l.value("reason", std::string()); !why.empty()) s += ": " + why;
  const auto remaining = l.value("hold_remaining_ms", int64_t{0});
  if (remaining > 0) s += "; " + std::to_string(remaining) + " ms of hold-down left";
  if (const auto n = l.value("failures", uint64_t{0}); n > 0)
    s += " (" + std::to_string(n) + " failures, last hold-down " +
         std::to_string(l.value("hold_down_ms", int64_t{0})) + " ms)";
  return s;
}

// The [ipsec] part: per peer its state, SAs (SPIs, algorithms, counters) and drops.
std::string format_ipsec(const Json& r) {
  std::ostringstream out;
  out << "\nipsec interface: " << r.value("interface", std::string("?"));
  if (!r.value("running", false)) return out.str() + " (not running)\n";
  out << "\n";
  if (auto d = drops(r["drops"]); !d.empty()) out << "  drops: " << d << "\n";
  std::vector<std::vector<std::string>> rows;
  const Json& peers = r["peers"];
  if (!peers.is_array()) return out.str();
  for (const auto& p : peers) {
    const Json& sas = p["child_sas"];
    std::string alg = "-";
    if (sas.is_array() && !sas.empty()) {
      alg = sas[0].value("encryption", std::string("?"));
      if (auto i = sas[0].value("integrity", std::string()); !i.empty()) alg += "-" + i;
    }
    rows.push_back({p.value("name", std::string("?")), p.value("up", false) ? "up" : "down",
                    p.value("esp_endpoint", std::string("(none)")), alg,
                    bytes(p.value("rx_bytes", uint64_t{0})),
                    bytes(p.value("tx_bytes", uint64_t{0}))});
  }
  out << "\n" << table({"peer", "state", "endpoint", "esp", "received", "sent"}, rows);
  for (const auto& p : peers) {
    out << "\nipsec peer " << p.value("name", std::string("?")) << "\n";
    const Json& sas = p["child_sas"];
    if (sas.is_array())
      for (const auto& s : sas)
        out << "  child sa " << s.value("spi_in", std::string("?")) << "/"
            << s.value("spi_out", std::string("?"))
            << (s.value("current", false) ? " (current)" : "") << ": "
            << s.value("rx_packets", uint64_t{0}) << " in, " << s.value("tx_packets", uint64_t{0})
            << " out\n";
    out << "  allowed ips: " << join(p["allowed_ips"], 16) << "\n";
    out << "  learned ips: " << join(p["learned_ips"], 16) << "\n";
    if (auto d = drops(p["drops"]); !d.empty()) out << "  drops: " << d << "\n";
  }
  return out.str();
}

std::string format_tunnels(const Json& r) {
  if (r.contains("ipsec") && !r.value("running", false) && !r.contains("interface"))
    return format_ipsec(r["ipsec"]).substr(1);
  if (r.contains("ipsec")) {
    Json wg = r;
    wg.erase("ipsec");
    return format_tunnels(wg) + format_ipsec(r["ipsec"]);
  }
  std::ostringstream out;
  out << "interface: " << r.value("interface", std::string("?"));
  if (!r.value("running", false)) {
    out << " (not running)\n";
    return out.str();
  }
  out << "\n  public key: " << r.value("public_key", std::string("?"))
      << "\n  listening port: " << r.value("listen_port", 0) << "\n";
  if (auto d = drops(r["drops"]); !d.empty()) out << "  drops: " << d << "\n";
  // Cookie replies (WireGuard §5.4.7) are what the device answers a handshake flood with.
  if (r.value("cookie_sent", uint64_t{0}) > 0)
    out << "  cookie replies sent (under load): " << r.value("cookie_sent", uint64_t{0}) << "\n";
  if (r.value("ecmp_prefixes", uint64_t{0}) > 0)
    out << "  ecmp prefixes: " << r.value("ecmp_prefixes", uint64_t{0}) << "\n";
  std::vector<std::vector<std::string>> rows;
  const Json& peers = r["peers"];
  if (peers.is_array()) {
    for (const auto& p : peers) {
      uint16_t ka = p.value("persistent_keepalive", uint16_t{0});
      rows.push_back({p.value("name", std::string("?")),
                      p["endpoint"].is_string() ? p["endpoint"].get<std::string>() : "(none)",
                      ago(p["latest_handshake"]), bytes(p.value("rx_bytes", uint64_t{0})),
                      bytes(p.value("tx_bytes", uint64_t{0})),
                      ka ? std::to_string(ka) + "s" : "off",
                      p.contains("liveness") && p["liveness"].is_object()
                          ? p["liveness"].value("state", std::string("?"))
                          : "-"});
    }
  }
  out << "\n"
      << table(
             {"peer", "endpoint", "latest handshake", "received", "sent", "keepalive", "liveness"},
             rows);
  if (peers.is_array()) {
    for (const auto& p : peers) {
      out << "\npeer " << p.value("name", std::string("?")) << " ("
          << p.value("public_key", std::string("?")) << ")\n";
      out << "  allowed ips: " << join(p["allowed_ips"], 16) << "\n";
      out << "  learned ips: " << join(learned_annotated(p), 16) << "\n";
      if (auto d = drops(p["drops"]); !d.empty()) out << "  drops: " << d << "\n";
      if (p.contains("liveness")) {
        const Json& l = p["liveness"];
        if (auto line = liveness_line(l); !line.empty()) out << "  liveness: " << line << "\n";
        if (l.is_object() && l["inputs"].is_array())
          for (const auto& in : l["inputs"])
            out << "    " << in.value("kind", std::string("?")) << " "
                << in.value("name", std::string("?")) << ": "
                << in.value("verdict", std::string("?")) << " since " << ago(in["since"])
                << (in.value("reason", std::string()).empty()
                        ? std::string()
                        : " (" + in.value("reason", std::string()) + ")")
                << "\n";
      }
    }
  }
  return out.str();
}

}  // namespace

void register_tunnel_formatters(FormatterMap& m) {
  m["show tunnels"] = format_tunnels;
}

}  // namespace ferryctl
