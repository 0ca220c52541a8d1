// Config -> normalised TOML.
//
// Sections and keys come out in one fixed order with defaults written out and
// values in canonical text (prefixes masked, communities by name where
// well-known), so parse(print(c)) == c and print is a fixed point. Optional
// values that are unset are omitted, because absence means something (e.g.
// next-hop-self: the eBGP/iBGP default; import: RFC 8212 behaviour).
#include <charconv>
#include <sstream>

#include "config/config.hpp"
#include "config/reader.hpp"
#include "config/values.hpp"

namespace ferry::config {

namespace {

using detail::quote;

class Printer {
 public:
  std::string text() const { return out_.str(); }

  void section(const std::string& header) {
    if (!first_) out_ << "\n";
    first_ = false;
    out_ << header << "\n";
  }
  void kv(const char* key, const std::string& raw) { out_ << key << " = " << raw << "\n"; }
  void str(const char* key, const std::string& s) { kv(key, quote(s)); }
  void num(const char* key, uint64_t v) { kv(key, std::to_string(v)); }
  void boolean(const char* key, bool b) { kv(key, b ? "true" : "false"); }
  template <typename T, typename F>
  void list(const char* key, const std::vector<T>& v, F&& text) {
    kv(key, array(v, text));
  }
  template <typename T, typename F>
  static std::string array(const std::vector<T>& v, F&& text) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + quote(text(v[i]));
    return s + "]";
  }

 private:
  std::ostringstream out_;
  bool first_ = true;
};

std::string prefix_text(const Prefix& p) {
  return p.str();
}
std::string same(const std::string& s) {
  return s;
}

// Shortest text that reads back as the same double, always with a '.' or exponent.
std::string float_text(double d) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, p);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

const char* action_text(PolicyAction a) {
  switch (a) {
    case PolicyAction::Accept:
      return "accept";
    case PolicyAction::Reject:
      return "reject";
    case PolicyAction::NextTerm:
      break;
  }
  return "next";
}

const char* source_text(RedistributeConfig::Source s) {
  switch (s) {
    case RedistributeConfig::Source::Static:
      return "static";
    case RedistributeConfig::Source::Kernel:
      return "kernel";
    case RedistributeConfig::Source::Connected:
      break;
  }
  return "connected";
}

std::string redistribute_text(const RedistributeConfig& r) {
  if (r.interfaces.empty() && r.protocols.empty() && !r.table) return quote(source_text(r.source));
  std::string s = "{ source = " + quote(source_text(r.source));
  if (!r.interfaces.empty()) s += ", interfaces = " + Printer::array(r.interfaces, same);
  if (!r.protocols.empty()) s += ", protocols = " + Printer::array(r.protocols, same);
  if (r.table) s += ", table = " + std::to_string(*r.table);
  return s + " }";
}

void print_router(Printer& p, const RouterConfig& r) {
  p.section("[router]");
  p.num("asn", r.asn.value());
  p.str("router-id", r.router_id.str());
  p.str("control-socket", r.control_socket);
  p.str("control-group", r.control_group);
  p.str("user", r.user);
}

void print_tunnel(Printer& p, const TunnelConfig& t) {
  p.section("[tunnel]");
  p.str("interface", t.interface);
  p.str("private-key-file", t.private_key_file);
  p.num("listen-port", t.listen_port);
  p.list("addresses", t.addresses, [](const InterfaceAddress& a) { return a.str(); });
  p.num("mtu", t.mtu);
  p.num("workers", t.workers);
  p.kv("timer-scale", float_text(t.timer_scale));
  for (const auto& peer : t.peers) {
    p.section("[[tunnel.peers]]");
    p.str("name", peer.name);
    p.str("public-key", peer.public_key);
    p.str("preshared-key-file", peer.preshared_key_file);
    if (peer.endpoint) p.str("endpoint", peer.endpoint->str());
    p.list("allowed-ips", peer.allowed_ips, prefix_text);
    p.num("persistent-keepalive", peer.persistent_keepalive);
  }
}

void print_ipsec(Printer& p, const IpsecConfig& c) {
  p.section("[ipsec]");
  p.str("interface", c.interface);
  p.list("addresses", c.addresses, [](const InterfaceAddress& a) { return a.str(); });
  p.num("mtu", c.mtu);
  p.num("workers", c.workers);
  auto text = [](const std::string& s) { return s; };
  for (const auto& peer : c.peers) {
    p.section("[[ipsec.peers]]");
    p.str("name", peer.name);
    // Empty strings are absent keys (an empty identity or path is not valid).
    auto opt = [&](const char* k, const std::string& v) {
      if (!v.empty()) p.str(k, v);
    };
    opt("preset", peer.preset);
    if (peer.endpoint) p.str("endpoint", peer.endpoint->str());
    opt("local-id", peer.local_id);
    opt("remote-id", peer.remote_id);
    opt("psk-file", peer.psk_file);
    opt("cert-file", peer.cert_file);
    opt("key-file", peer.key_file);
    opt("ca-file", peer.ca_file);
    p.list("ike-proposals", peer.ike_proposals, text);
    p.list("esp-proposals", peer.esp_proposals, text);
    p.num("ike-lifetime", peer.ike_lifetime);
    p.num("child-lifetime", peer.child_lifetime);
    p.num("rekey-margin", peer.rekey_margin);
    p.num("dpd-interval", peer.dpd_interval);
    p.num("dpd-timeout", peer.dpd_timeout);
    p.boolean("initiate", peer.initiate);
    p.num("replay-window", peer.replay_window);
    p.list("allowed-ips", peer.allowed_ips, prefix_text);
  }
}

void print_neighbor(Printer& p, const BgpNeighborConfig& n) {
  p.section("[[bgp.neighbors]]");
  p.str("name", n.name);
  p.str("description", n.description);
  p.str("address", n.address.str());
  p.num("remote-asn", n.remote_asn.value());
  if (n.local_address) p.str("local-address", n.local_address->str());
  p.num("port", n.port);
  p.boolean("passive", n.passive);
  p.num("multihop", n.multihop);
  p.boolean("ttl-security", n.ttl_security);
  p.str("password", n.password);
  p.num("hold-time", n.hold_time);
  p.num("connect-retry", n.connect_retry);
  if (n.import_set) p.list("import", n.import_policies, same);
  if (n.export_set) p.list("export", n.export_policies, same);
  if (n.next_hop_self) p.boolean("next-hop-self", *n.next_hop_self);
  p.boolean("route-reflector-client", n.route_reflector_client);
  p.boolean("ipv4", n.ipv4);
  p.boolean("ipv6", n.ipv6);
  if (n.max_prefixes) p.num("max-prefixes", *n.max_prefixes);
  p.str("max-prefix-action", n.max_prefix_action == MaxPrefixAction::Warn ? "warn" : "restart");
  p.num("max-prefix-restart", n.max_prefix_restart);
  p.boolean("bfd", n.bfd);
  p.boolean("graceful-restart", n.graceful_restart);
}

void print_bgp(Printer& p, const BgpConfig& b) {
  p.section("[bgp]");
  p.list("networks", b.networks, prefix_text);
  std::string redist = "[";
  for (size_t i = 0; i < b.redistribute.size(); ++i)
    redist += (i ? ", " : "") + redistribute_text(b.redistribute[i]);
  p.kv("redistribute", redist + "]");
  p.num("max-paths", b.max_paths);
  p.boolean("always-compare-med", b.always_compare_med);
  if (b.cluster_id) p.str("cluster-id", b.cluster_id->str());
  p.num("listen-port", b.listen_port);
  if (b.listen_address) p.str("listen-address", b.listen_address->str());
  p.num("graceful-restart-time", b.graceful_restart_time);
  p.section("[bgp.bfd]");
  p.num("min-tx-ms", b.bfd.min_tx_ms);
  p.num("min-rx-ms", b.bfd.min_rx_ms);
  p.num("multiplier", b.bfd.multiplier);
  for (const auto& n : b.neighbors) print_neighbor(p, n);
}

void print_match(Printer& p, const PolicyMatch& m) {
  p.section("[policies.terms.match]");
  if (!m.prefixes.empty())
    p.list("prefixes", m.prefixes, [](const PrefixMatch& x) { return x.str(); });
  if (m.as_path_contains) p.num("as-path-contains", *m.as_path_contains);
  if (m.as_path_originates) p.num("as-path-originates", *m.as_path_originates);
  if (m.as_path_length_min) p.num("as-path-length-min", *m.as_path_length_min);
  if (m.as_path_length_max) p.num("as-path-length-max", *m.as_path_length_max);
  if (!m.communities.empty()) p.list("communities", m.communities, detail::format_community);
  if (!m.large_communities.empty())
    p.list("large-communities", m.large_communities, detail::format_large_community);
  if (!m.neighbors.empty()) p.list("neighbors", m.neighbors, same);
  if (m.origin) {
    static const char* const kOrigins[] = {"igp", "egp", "incomplete"};
    p.str("origin", kOrigins[*m.origin < 3 ? *m.origin : 2]);
  }
  if (m.family) p.str("family", family_name(*m.family));
  if (m.source) p.str("source", *m.source);
}

bool set_empty(const PolicySet& s) {
  return !s.local_pref && !s.med && s.prepend_count == 0 && s.community_add.empty() &&
         s.community_remove.empty() && !s.community_replace && s.large_community_add.empty() &&
         s.large_community_remove.empty() && !s.next_hop && !s.next_hop_self;
}

void print_set(Printer& p, const PolicySet& s) {
  p.section("[policies.terms.set]");
  if (s.local_pref) p.num("local-pref", *s.local_pref);
  if (s.med) p.num("med", *s.med);
  if (s.prepend_count) {
    if (s.prepend_asn && *s.prepend_asn)
      p.kv("prepend", "{ asn = " + std::to_string(*s.prepend_asn) +
                          ", count = " + std::to_string(s.prepend_count) + " }");
    else
      p.num("prepend", s.prepend_count);
  }
  if (!s.community_add.empty()) p.list("community-add", s.community_add, detail::format_community);
  if (!s.community_remove.empty())
    p.list("community-remove", s.community_remove, detail::format_community);
  if (s.community_replace)
    p.list("community-replace", *s.community_replace, detail::format_community);
  if (!s.large_community_add.empty())
    p.list("large-community-add", s.large_community_add, detail::format_large_community);
  if (!s.large_community_remove.empty())
    p.list("large-community-remove", s.large_community_remove, detail::format_large_community);
  if (s.next_hop_self)
    p.str("next-hop", "self");
  else if (s.next_hop)
    p.str("next-hop", s.next_hop->str());
}

void print_policy(Printer& p, const PolicyConfig& pol) {
  p.section("[[policies]]");
  p.str("name", pol.name);
  p.str("default-action", action_text(pol.default_action));
  for (const auto& t : pol.terms) {
    p.section("[[policies.terms]]");
    p.str("name", t.name);
    p.str("action", action_text(t.action));
    if (!t.match.empty()) print_match(p, t.match);
    if (!set_empty(t.set)) print_set(p, t.set);
  }
}

}  // namespace

std::string print(const Config& c) {
  Printer p;
  print_router(p, c.router);
  if (c.tunnel) print_tunnel(p, *c.tunnel);
  if (c.ipsec) print_ipsec(p, *c.ipsec);
  if (c.bgp) print_bgp(p, *c.bgp);
  for (const auto& s : c.static_routes) {
    p.section("[[static-routes]]");
    p.str("prefix", s.prefix.str());
    if (s.next_hop) p.str("next-hop", s.next_hop->str());
    if (!s.interface.empty()) p.str("interface", s.interface);
    p.boolean("blackhole", s.blackhole);
  }
  p.section("[fib]");
  p.num("table", c.fib.table);
  p.num("protocol", c.fib.protocol);
  p.num("metric", c.fib.metric);
  p.boolean("install", c.fib.install);
  p.boolean("keep-on-shutdown", c.fib.keep_on_shutdown);
  if (c.metrics.listen) {
    p.section("[metrics]");
    p.str("listen", c.metrics.listen->str());
  }
  for (const auto& pol : c.policies) print_policy(p, pol);
  return p.text();
}

}  // namespace ferry::config
