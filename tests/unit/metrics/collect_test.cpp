// Snapshot (the show commands' JSON) -> metric families.
#include <gtest/gtest.h>

#include <sstream>

#include "metrics/collect.hpp"

using namespace ferry::metrics;
using nlohmann::json;

namespace {

json snapshot() {
  return json::parse(R"({
    "daemon": {"version": "0.1.0", "started_at": 1764750000, "reloads": 2,
               "last_reload_error": null},
    "bgp": {"neighbors": [
      {"name": "site-b", "address": "169.254.10.2", "remote_asn": 65002,
       "state": "Established", "uptime": 42, "families": ["ipv4", "ipv6"],
       "prefixes_received": 5, "prefixes_accepted": 4, "prefixes_advertised": 3,
       "messages_in": 20, "messages_out": 18, "updates_in": 6, "updates_out": 5,
       "notifications_in": 1, "notifications_out": 0, "update_errors": 0,
       "established_count": 3},
      {"name": "down\"peer", "address": "10.0.0.9", "remote_asn": 65009, "state": "Active",
       "uptime": 0, "established_count": 2}]},
    "bfd": {"sessions": [{"peer": "169.254.10.2", "local": null, "state": "up",
                          "detection_time_ms": 900.0, "up_transitions": 1,
                          "down_transitions": 0, "rx_packets": 10, "tx_packets": 11}],
            "drops": {"bad_ttl": 1, "malformed": 0, "no_session": 2}},
    "bmp": {"stations": [{"name": "noc", "state": "up", "messages_sent": 40, "bytes_sent": 4000,
                          "queue_bytes": 12, "drops": 1}], "monitored_peers": 1},
    "fib": {"state": "synced", "desired": 7, "installed": 7, "pending": 0, "retrying": 0,
            "stale": 0, "failures": 1, "programmed": 9, "retries": 1, "resyncs": 0},
    "tunnel": {"interface": "ferry0", "cookie_sent": 0, "drops": {"no_peer": 4},
               "peers": [{"name": "site-b", "latest_handshake": 1764750010, "rx_bytes": 100,
                          "tx_bytes": 200, "rx_packets": 1, "tx_packets": 2,
                          "drops": {"replay": 1}}]},
    "ipsec": {"interface": "ferry-ipsec0", "drops": {"replay": 2, "auth_failed": 1},
              "peers": [{"name": "aws1", "up": true, "rx_bytes": 300, "tx_bytes": 400,
                         "rx_packets": 3, "tx_packets": 4, "child_sas": 2,
                         "ike_sas": {"established": 1, "rekeyed": 1}}]},
    "rib": {"prefixes": 12, "paths": 20}
  })");
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

}  // namespace

TEST(Collect, BgpPeers) {
  const std::string t = render(snapshot());
  const std::string b = R"(peer="site-b",peer_address="169.254.10.2",peer_as="65002")";
  EXPECT_TRUE(has_line(t, "# TYPE ferry_bgp_peer_state gauge"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_state{" + b + "} 6"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_up{" + b + "} 1"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_uptime_seconds{" + b + "} 42"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_prefixes_received{" + b + "} 5"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_prefixes_accepted{" + b + "} 4"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_prefixes_advertised{" + b + "} 3"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_messages_received_total{" + b + ",type=\"update\"} 6"));
  EXPECT_TRUE(
      has_line(t, "ferry_bgp_peer_messages_received_total{" + b + ",type=\"notification\"} 1"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_messages_received_total{" + b + ",type=\"other\"} 13"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_messages_sent_total{" + b + ",type=\"other\"} 13"));
  // Established three times and up now: two sessions ended.
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_flaps_total{" + b + "} 2"));
  EXPECT_TRUE(
      has_line(t, "ferry_bgp_peer_afi_safi_negotiated{" + b + ",afi=\"ipv6\",safi=\"unicast\"} 1"));
  // The second peer: not established, its name escaped, missing counters as 0.
  const std::string d = R"(peer="down\"peer",peer_address="10.0.0.9",peer_as="65009")";
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_state{" + d + "} 3"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_up{" + d + "} 0"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_flaps_total{" + d + "} 2"));
  EXPECT_TRUE(has_line(t, "ferry_bgp_peer_prefixes_received{" + d + "} 0"));
}

TEST(Collect, TunnelBfdFibRibDaemon) {
  const std::string t = render(snapshot());
  const std::string p = R"(interface="ferry0",peer="site-b")";
  EXPECT_TRUE(has_line(t, "ferry_tunnel_peer_last_handshake_seconds{" + p + "} 1764750010"));
  EXPECT_TRUE(has_line(t, "ferry_tunnel_peer_receive_bytes_total{" + p + "} 100"));
  EXPECT_TRUE(has_line(t, "ferry_tunnel_peer_transmit_bytes_total{" + p + "} 200"));
  EXPECT_TRUE(has_line(t, "ferry_tunnel_peer_drops_total{" + p + ",reason=\"replay\"} 1"));
  EXPECT_TRUE(has_line(t, "ferry_tunnel_drops_total{interface=\"ferry0\",reason=\"no_peer\"} 4"));
  EXPECT_TRUE(has_line(t, "ferry_bfd_session_state{peer=\"169.254.10.2\",local=\"\"} 3"));
  EXPECT_TRUE(has_line(
      t, "ferry_bfd_session_detection_time_seconds{peer=\"169.254.10.2\",local=\"\"} 0.9"));
  EXPECT_TRUE(has_line(t, "ferry_bfd_drops_total{reason=\"no_session\"} 2"));
  EXPECT_TRUE(has_line(t, "ferry_bmp_station_up{station=\"noc\"} 1"));
  EXPECT_TRUE(has_line(t, "ferry_bmp_messages_sent_total{station=\"noc\"} 40"));
  EXPECT_TRUE(has_line(t, "ferry_bmp_queue_bytes{station=\"noc\"} 12"));
  EXPECT_TRUE(has_line(t, "ferry_bmp_drops_total{station=\"noc\"} 1"));
  EXPECT_TRUE(has_line(t, "ferry_fib_routes_installed 7"));
  EXPECT_TRUE(has_line(t, "ferry_fib_routes_pending 0"));
  EXPECT_TRUE(has_line(t, "ferry_fib_failures_total 1"));
  EXPECT_TRUE(has_line(t, "ferry_fib_synced 1"));
  EXPECT_TRUE(has_line(t, "ferry_rib_paths 20"));
  EXPECT_TRUE(has_line(t, "ferry_rib_prefixes 12"));
  EXPECT_TRUE(has_line(t, "ferry_build_info{version=\"0.1.0\"} 1"));
  EXPECT_TRUE(has_line(t, "ferry_config_reloads_total 2"));
  EXPECT_TRUE(has_line(t, "ferry_config_last_reload_successful 1"));
  const std::string i = R"(interface="ferry-ipsec0",peer="aws1")";
  EXPECT_TRUE(has_line(t, "ferry_ipsec_peer_up{" + i + "} 1"));
  EXPECT_TRUE(has_line(t, "ferry_ipsec_peer_child_sas{" + i + "} 2"));
  EXPECT_TRUE(has_line(t, "ferry_ipsec_peer_ike_sas{" + i + ",state=\"established\"} 1"));
  EXPECT_TRUE(has_line(t, "ferry_ipsec_peer_receive_bytes_total{" + i + "} 300"));
  EXPECT_TRUE(has_line(t, "ferry_ipsec_peer_transmit_packets_total{" + i + "} 4"));
  EXPECT_TRUE(
      has_line(t, "ferry_ipsec_drops_total{interface=\"ferry-ipsec0\",reason=\"replay\"} 2"));
}

TEST(Collect, EveryFamilyHasHelpThenTypeThenItsSamples) {
  const std::string t = render(snapshot());
  std::string current;
  size_t families = 0;
  std::istringstream in(t);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# HELP ")) {
      current = line.substr(7, line.find(' ', 7) - 7);
      ++families;
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      EXPECT_EQ(line.substr(7, line.find(' ', 7) - 7), current);
      continue;
    }
    EXPECT_TRUE(line.starts_with(current + "{") || line.starts_with(current + " ")) << line;
  }
  EXPECT_GT(families, 30u);
}

TEST(Collect, ModulesThatAreOffGiveNoFamilies) {
  const std::string t = render(json{{"daemon", {{"version", "1"}}}});
  EXPECT_EQ(t.find("ferry_bgp_"), std::string::npos);
  EXPECT_EQ(t.find("ferry_tunnel_"), std::string::npos);
  EXPECT_NE(t.find("ferry_build_info{version=\"1\"} 1"), std::string::npos);
}

TEST(Collect, WrongShapesAreSkipped) {
  const json odd = json::parse(R"({"bgp": {"neighbors": [1, "x", {"state": 5}]},
      "bfd": [], "fib": "no", "tunnel": {"peers": {"a": 1}, "drops": 3}, "rib": null,
      "daemon": 7})");
  const std::string t = render(odd);
  EXPECT_NE(t.find("ferry_bgp_peer_state{peer=\"\",peer_address=\"\",peer_as=\"\"} 0"),
            std::string::npos);
  EXPECT_EQ(t.find("ferry_fib_"), std::string::npos);
}

TEST(Collect, StateNumbers) {
  EXPECT_EQ(bgp_state_value("Idle"), 1);
  EXPECT_EQ(bgp_state_value("Established"), 6);
  EXPECT_EQ(bgp_state_value("?"), 0);
  EXPECT_EQ(bfd_state_value("admin_down"), 0);
  EXPECT_EQ(bfd_state_value("up"), 3);
  EXPECT_EQ(bfd_state_value("x"), -1);
}
