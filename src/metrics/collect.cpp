#include "metrics/collect.hpp"

namespace ferry::metrics {

namespace {

using nlohmann::json;

// A numeric member, or nullopt when absent / not a number.
std::optional<double> num(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

const json& member(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

void daemon_metrics(const json& d, MetricSet& m) {
  m.family("ferry_build_info", "ferryd version; the value is always 1", Type::Gauge)
      .add({{"version", str(d, "version")}}, 1);
  if (auto v = num(d, "started_at"))
    m.family("ferry_start_time_seconds", "when ferryd started, seconds since the Unix epoch",
             Type::Gauge)
        .add(*v);
  if (auto v = num(d, "reloads"))
    m.family("ferry_config_reloads_total", "successful configuration reloads", Type::Counter)
        .add(*v);
  const json& err = member(d, "last_reload_error");
  m.family("ferry_config_last_reload_successful",
           "1 if the last reload succeeded (or none was attempted), 0 if it failed", Type::Gauge)
      .add(err.is_string() && !err.get<std::string>().empty() ? 0 : 1);
}

void bgp_metrics(const json& bgp, MetricSet& m) {
  auto& state = m.family("ferry_bgp_peer_state",
                         "BGP FSM state (RFC 4273 bgpPeerState): 1 idle, 2 connect, 3 active, 4 "
                         "opensent, 5 openconfirm, 6 established",
                         Type::Gauge);
  auto& up = m.family("ferry_bgp_peer_up", "1 if the session is established", Type::Gauge);
  auto& uptime =
      m.family("ferry_bgp_peer_uptime_seconds",
               "seconds since the session became established, 0 when it is not", Type::Gauge);
  auto& rx = m.family("ferry_bgp_peer_prefixes_received",
                      "prefixes the peer currently announces (before import policy)", Type::Gauge);
  auto& acc = m.family("ferry_bgp_peer_prefixes_accepted",
                       "received prefixes accepted by import policy", Type::Gauge);
  auto& adv = m.family("ferry_bgp_peer_prefixes_advertised",
                       "prefixes currently advertised to the peer", Type::Gauge);
  auto& min = m.family("ferry_bgp_peer_messages_received_total",
                       "BGP messages received, by type (other: OPEN, KEEPALIVE, ROUTE-REFRESH)",
                       Type::Counter);
  auto& mout =
      m.family("ferry_bgp_peer_messages_sent_total",
               "BGP messages sent, by type (other: OPEN, KEEPALIVE, ROUTE-REFRESH)", Type::Counter);
  auto& uerr = m.family("ferry_bgp_peer_update_errors_total",
                        "malformed UPDATEs handled per RFC 7606", Type::Counter);
  auto& est =
      m.family("ferry_bgp_peer_established_total", "transitions into Established", Type::Counter);
  auto& flaps =
      m.family("ferry_bgp_peer_flaps_total", "established sessions that went down", Type::Counter);
  auto& fam = m.family("ferry_bgp_peer_afi_safi_negotiated",
                       "address families negotiated on the session (RFC 4760)", Type::Gauge);
  const json& list = member(bgp, "neighbors");
  if (!list.is_array()) return;
  for (const json& n : list) {
    const Labels l{{"peer", str(n, "name")},
                   {"peer_address", str(n, "address")},
                   {"peer_as", str(n, "remote_asn")}};
    const int s = bgp_state_value(str(n, "state"));
    state.add(l, s);
    up.add(l, s == 6 ? 1 : 0);
    uptime.add(l, num(n, "uptime").value_or(0));
    rx.add(l, num(n, "prefixes_received").value_or(0));
    acc.add(l, num(n, "prefixes_accepted").value_or(0));
    adv.add(l, num(n, "prefixes_advertised").value_or(0));
    auto by_type = [&](MetricSet::Family& f, const char* total, const char* updates,
                       const char* notifications) {
      const double t = num(n, total).value_or(0), u = num(n, updates).value_or(0),
                   no = num(n, notifications).value_or(0);
      auto with = [&](const char* type) {
        Labels x = l;
        x.emplace_back("type", type);
        return x;
      };
      f.add(with("update"), u);
      f.add(with("notification"), no);
      f.add(with("other"), t >= u + no ? t - u - no : 0);
    };
    by_type(min, "messages_in", "updates_in", "notifications_in");
    by_type(mout, "messages_out", "updates_out", "notifications_out");
    uerr.add(l, num(n, "update_errors").value_or(0));
    const double e = num(n, "established_count").value_or(0);
    est.add(l, e);
    // Every establishment but the current one has ended.
    flaps.add(l, e > 0 ? e - (s == 6 ? 1 : 0) : 0);
    const json& fams = member(n, "families");
    if (fams.is_array())
      for (const json& f : fams) {
        if (!f.is_string()) continue;
        Labels x = l;
        x.emplace_back("afi", f.get<std::string>());
        x.emplace_back("safi", "unicast");
        fam.add(x, 1);
      }
  }
}

void bfd_metrics(const json& bfd, MetricSet& m) {
  auto& state = m.family("ferry_bfd_session_state",
                         "BFD session state (RFC 5880 §4.1): 0 admin_down, 1 down, 2 init, 3 up",
                         Type::Gauge);
  auto& ups =
      m.family("ferry_bfd_session_up_transitions_total", "transitions into Up", Type::Counter);
  auto& downs =
      m.family("ferry_bfd_session_down_transitions_total", "transitions out of Up", Type::Counter);
  auto& det = m.family("ferry_bfd_session_detection_time_seconds",
                       "negotiated detection time (RFC 5880 §6.8.4)", Type::Gauge);
  auto& rx = m.family("ferry_bfd_session_packets_received_total", "BFD control packets received",
                      Type::Counter);
  auto& tx =
      m.family("ferry_bfd_session_packets_sent_total", "BFD control packets sent", Type::Counter);
  const json& list = member(bfd, "sessions");
  if (list.is_array())
    for (const json& s : list) {
      const Labels l{{"peer", str(s, "peer")}, {"local", str(s, "local")}};
      state.add(l, bfd_state_value(str(s, "state")));
      ups.add(l, num(s, "up_transitions").value_or(0));
      downs.add(l, num(s, "down_transitions").value_or(0));
      det.add(l, num(s, "detection_time_ms").value_or(0) / 1000.0);
      rx.add(l, num(s, "rx_packets").value_or(0));
      tx.add(l, num(s, "tx_packets").value_or(0));
    }
  const json& drops = member(bfd, "drops");
  if (drops.is_object()) {
    auto& d = m.family("ferry_bfd_drops_total", "BFD packets dropped, by reason", Type::Counter);
    for (const auto& [reason, v] : drops.items())
      if (v.is_number()) d.add({{"reason", reason}}, v.get<double>());
  }
}

void bmp_metrics(const json& bmp, MetricSet& m) {
  auto& up = m.family("ferry_bmp_station_up", "1 if the BMP station is connected", Type::Gauge);
  auto& msgs = m.family("ferry_bmp_messages_sent_total", "BMP messages written to the station",
                        Type::Counter);
  auto& bytes =
      m.family("ferry_bmp_bytes_sent_total", "bytes written to the station", Type::Counter);
  auto& queued = m.family("ferry_bmp_queue_bytes", "bytes queued for the station, not written yet",
                          Type::Gauge);
  auto& drops = m.family("ferry_bmp_drops_total",
                         "connections dropped because the station did not keep up", Type::Counter);
  const json& list = member(bmp, "stations");
  if (list.is_array())
    for (const json& s : list) {
      const Labels l{{"station", str(s, "name")}};
      up.add(l, str(s, "state") == "up" ? 1 : 0);
      msgs.add(l, num(s, "messages_sent").value_or(0));
      bytes.add(l, num(s, "bytes_sent").value_or(0));
      queued.add(l, num(s, "queue_bytes").value_or(0));
      drops.add(l, num(s, "drops").value_or(0));
    }
}

// IPsec peers (the metrics shape: counters and SA counts, no prefix lists).
void ipsec_metrics(const json& t, MetricSet& m) {
  const std::string ifname = str(t, "interface");
  auto& up = m.family("ferry_ipsec_peer_up",
                      "1 while the peer's IKE SA and CHILD_SA are established", Type::Gauge);
  auto& ike = m.family("ferry_ipsec_peer_ike_sas", "IKE SAs with the peer, by state", Type::Gauge);
  auto& child = m.family("ferry_ipsec_peer_child_sas", "CHILD_SAs with the peer", Type::Gauge);
  auto& rxb = m.family("ferry_ipsec_peer_receive_bytes_total", "bytes received from the peer",
                       Type::Counter);
  auto& txb =
      m.family("ferry_ipsec_peer_transmit_bytes_total", "bytes sent to the peer", Type::Counter);
  auto& rxp = m.family("ferry_ipsec_peer_receive_packets_total", "packets received from the peer",
                       Type::Counter);
  auto& txp = m.family("ferry_ipsec_peer_transmit_packets_total", "packets sent to the peer",
                       Type::Counter);
  const json& peers = member(t, "peers");
  if (peers.is_array())
    for (const json& p : peers) {
      const Labels l{{"interface", ifname}, {"peer", str(p, "name")}};
      up.add(l, p.value("up", false) ? 1 : 0);
      rxb.add(l, num(p, "rx_bytes").value_or(0));
      txb.add(l, num(p, "tx_bytes").value_or(0));
      rxp.add(l, num(p, "rx_packets").value_or(0));
      txp.add(l, num(p, "tx_packets").value_or(0));
      child.add(l, num(p, "child_sas").value_or(0));
      const json& states = member(p, "ike_sas");
      if (states.is_object())
        for (const auto& [state, n] : states.items())
          if (n.is_number()) {
            Labels ls = l;
            ls.push_back({"state", state});
            ike.add(ls, n.get<double>());
          }
    }
  const json& drops = member(t, "drops");
  if (drops.is_object()) {
    auto& d = m.family("ferry_ipsec_drops_total", "ESP packets dropped, by reason", Type::Counter);
    for (const auto& [reason, v] : drops.items())
      if (v.is_number()) d.add({{"interface", ifname}, {"reason", reason}}, v.get<double>());
  }
}

void fib_metrics(const json& fib, MetricSet& m) {
  struct G {
    const char* key;
    const char* name;
    const char* help;
    Type type;
  };
  static constexpr G kFields[] = {
      {"desired", "ferry_fib_routes_desired", "routes the FIB wants in the kernel", Type::Gauge},
      {"installed", "ferry_fib_routes_installed", "routes installed in the kernel", Type::Gauge},
      {"pending", "ferry_fib_routes_pending", "route operations not yet acknowledged", Type::Gauge},
      {"retrying", "ferry_fib_routes_retrying", "routes waiting for a retry after a failure",
       Type::Gauge},
      {"stale", "ferry_fib_routes_stale", "routes kept from a previous run (graceful restart)",
       Type::Gauge},
      {"failures", "ferry_fib_failures_total", "route operations the kernel refused",
       Type::Counter},
      {"programmed", "ferry_fib_programmed_total", "route operations acknowledged by the kernel",
       Type::Counter},
      {"retries", "ferry_fib_retries_total", "route operations retried", Type::Counter},
      {"resyncs", "ferry_fib_resyncs_total", "full resynchronisations with the kernel",
       Type::Counter},
  };
  for (const auto& f : kFields)
    if (auto v = num(fib, f.key)) m.family(f.name, f.help, f.type).add(*v);
  if (auto s = str(fib, "state"); !s.empty())
    m.family("ferry_fib_synced", "1 when the kernel matches the desired routes", Type::Gauge)
        .add(s == "synced" ? 1 : 0);
}

void tunnel_metrics(const json& t, MetricSet& m) {
  const std::string ifname = str(t, "interface");
  auto& hs = m.family("ferry_tunnel_peer_last_handshake_seconds",
                      "time of the latest completed handshake, seconds since the Unix epoch (0: "
                      "never)",
                      Type::Gauge);
  auto& rxb = m.family("ferry_tunnel_peer_receive_bytes_total",
                       "bytes received from the peer (decrypted payload)", Type::Counter);
  auto& txb = m.family("ferry_tunnel_peer_transmit_bytes_total",
                       "bytes sent to the peer (payload before encryption)", Type::Counter);
  auto& rxp = m.family("ferry_tunnel_peer_receive_packets_total", "packets received from the peer",
                       Type::Counter);
  auto& txp = m.family("ferry_tunnel_peer_transmit_packets_total", "packets sent to the peer",
                       Type::Counter);
  auto& pd = m.family("ferry_tunnel_peer_drops_total", "packets dropped for this peer, by reason",
                      Type::Counter);
  const json& peers = member(t, "peers");
  if (peers.is_array())
    for (const json& p : peers) {
      const Labels l{{"interface", ifname}, {"peer", str(p, "name")}};
      hs.add(l, num(p, "latest_handshake").value_or(0));
      rxb.add(l, num(p, "rx_bytes").value_or(0));
      txb.add(l, num(p, "tx_bytes").value_or(0));
      rxp.add(l, num(p, "rx_packets").value_or(0));
      txp.add(l, num(p, "tx_packets").value_or(0));
      const json& d = member(p, "drops");
      if (d.is_object())
        for (const auto& [reason, v] : d.items()) {
          if (!v.is_number()) continue;
          Labels x = l;
          x.emplace_back("reason", reason);
          pd.add(x, v.get<double>());
        }
    }
  const json& drops = member(t, "drops");
  if (drops.is_object()) {
    auto& d = m.family("ferry_tunnel_drops_total",
                       "packets dropped before a peer was known, by reason", Type::Counter);
    for (const auto& [reason, v] : drops.items())
      if (v.is_number()) d.add({{"interface", ifname}, {"reason", reason}}, v.get<double>());
  }
  if (auto v = num(t, "cookie_sent"))
    m.family("ferry_tunnel_cookie_replies_sent_total",
             "WireGuard cookie replies sent while under load", Type::Counter)
        .add({{"interface", ifname}}, *v);
}

void rib_metrics(const json& r, MetricSet& m) {
  if (auto v = num(r, "prefixes"))
    m.family("ferry_rib_prefixes", "prefixes in the Loc-RIB", Type::Gauge).add(*v);
  if (auto v = num(r, "paths"))
    m.family("ferry_rib_paths", "paths in the Adj-RIBs-In of all peers", Type::Gauge).add(*v);
}

}  // namespace

int bgp_state_value(std::string_view s) {
  static constexpr std::string_view kNames[] = {"Idle",     "Connect",     "Active",
                                                "OpenSent", "OpenConfirm", "Established"};
  for (size_t i = 0; i < std::size(kNames); ++i)
    if (s == kNames[i]) return static_cast<int>(i) + 1;
  return 0;
}

int bfd_state_value(std::string_view s) {
  static constexpr std::string_view kNames[] = {"admin_down", "down", "init", "up"};
  for (size_t i = 0; i < std::size(kNames); ++i)
    if (s == kNames[i]) return static_cast<int>(i);
  return -1;
}

void collect(const nlohmann::json& snap, MetricSet& out) {
  if (snap.contains("daemon")) daemon_metrics(snap["daemon"], out);
  if (snap.contains("bgp")) bgp_metrics(snap["bgp"], out);
  if (snap.contains("bfd")) bfd_metrics(snap["bfd"], out);
  if (snap.contains("bmp")) bmp_metrics(snap["bmp"], out);
  if (snap.contains("fib") && snap["fib"].is_object()) fib_metrics(snap["fib"], out);
  if (snap.contains("tunnel") && snap["tunnel"].is_object()) tunnel_metrics(snap["tunnel"], out);
  if (snap.contains("ipsec") && snap["ipsec"].is_object()) ipsec_metrics(snap["ipsec"], out);
  if (snap.contains("rib") && snap["rib"].is_object()) rib_metrics(snap["rib"], out);
}

std::string render(const nlohmann::json& snapshot) {
  MetricSet m;
  collect(snapshot, m);
  return m.render();
}

}  // namespace ferry::metrics
