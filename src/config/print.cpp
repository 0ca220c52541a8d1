// Config -> normalised TOML.
//
// Sections and keys come out in one fixed order with defaults written out and
// values in canonical text (prefixes masked, communities by name where
// well-known), so parse(print(c)) == c and print is a fixed point. Optional
// values that are unset are omitted, because absence means something (e.g.
// next-hop-self: the eBGP/iBGP default; import: RFC 8212 behaviour).
#include <charconv>
#include <functional>
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
  if (t.learned_override_static) p.boolean("learned-override-static", true);
  if (!t.mss_clamp) p.boolean("mss-clamp", false);
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
  if (n.bfd) p.boolean("bfd", *n.bfd);
  if (n.bfd_strict) p.boolean("bfd-strict", n.bfd_strict);
  p.boolean("graceful-restart", n.graceful_restart);
  if (n.local_pref) p.num("local-pref", *n.local_pref);
  if (n.weight) p.num("weight", n.weight);
  if (n.prepend) p.num("prepend", n.prepend);
  if (n.max_prefixes_out) p.num("max-prefixes-out", *n.max_prefixes_out);
  if (!n.aggregate_candidates.empty())
    p.list("aggregate-candidates", n.aggregate_candidates, prefix_text);
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
  if (b.multipath_relax) p.boolean("multipath-relax", true);
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

// One object's printed keys: print_fn writes the object (its header section first,
// then possibly sub-sections); each key is named relative to that header, with
// sub-sections as dotted prefixes and array-of-table elements by their name
// ("terms.<term>.match.prefixes").
ConfigObject object_of(std::string type, std::string id,
                       const std::function<void(Printer&)>& print_fn) {
  Printer p;
  print_fn(p);
  ConfigObject o{std::move(type), std::move(id), {}};
  std::istringstream in(p.text());
  std::string line, root, prefix, elem_rel;
  bool in_elem = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.front() == '[') {
      const bool array = line.rfind("[[", 0) == 0;
      std::string h = line.substr(array ? 2 : 1, line.size() - (array ? 4 : 2));
      if (root.empty()) {
        root = h;
        continue;
      }
      // Relative to the object's header's parent table ("bgp.bfd" -> "bfd").
      const auto dot = root.find('.');
      const std::string base = dot == std::string::npos ? root : root.substr(0, dot);
      std::string rel = h.rfind(base + ".", 0) == 0 ? h.substr(base.size() + 1) : h;
      if (array) {
        in_elem = true;
        elem_rel = rel;
        prefix = rel + ".";  // completed by the element's name key
      } else if (in_elem && rel.rfind(elem_rel + ".", 0) == 0) {
        const auto cut = prefix.find('.', elem_rel.size() + 1);
        prefix = prefix.substr(0, cut + 1) + rel.substr(elem_rel.size() + 1) + ".";
      } else {
        in_elem = false;
        prefix = rel + ".";
      }
      continue;
    }
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 3);
    if (in_elem && key == "name" && prefix == elem_rel + ".") {
      // The element's name identifies it (quotes stripped); it is not a key of its own.
      prefix += (value.size() >= 2 ? value.substr(1, value.size() - 2) : value) + ".";
      continue;
    }
    o.keys.emplace_back(prefix + key, std::move(value));
  }
  return o;
}

void print_fib(Printer& p, const FibConfig& f) {
  p.section("[fib]");
  p.num("table", f.table);
  p.num("protocol", f.protocol);
  p.num("metric", f.metric);
  p.boolean("install", f.install);
  p.boolean("keep-on-shutdown", f.keep_on_shutdown);
}

void print_bmp(Printer& p, const BmpConfig& b) {
  p.section("[[bmp]]");
  p.str("name", b.name);
  p.str("station", b.station.str());
  std::vector<std::string> views;
  if (b.pre_policy) views.push_back("pre-policy");
  if (b.post_policy) views.push_back("post-policy");
  p.list("route-monitoring", views, [](const std::string& v) { return v; });
  p.boolean("adj-rib-out", b.adj_rib_out);
  p.num("stats-interval", b.stats_interval);
  p.num("queue-limit", b.queue_limit);
}

void print_liveness(Printer& p, const LivenessConfig& l) {
  p.section("[liveness]");
  p.num("hold-down-ms", l.hold_down_ms);
  p.num("hold-down-max-ms", l.hold_down_max_ms);
  p.num("reset-after-ms", l.reset_after_ms);
  p.num("handshake-timeouts", l.handshake_timeouts);
}

void print_health_check(Printer& p, const HealthCheckConfig& h) {
  p.section("[[health-checks]]");
  p.str("name", h.name);
  p.str("type", h.probe == HealthProbe::Tcp ? "tcp" : "icmp");
  p.str("target", h.target.str());
  if (h.probe == HealthProbe::Tcp) p.num("port", h.port);
  p.num("interval-ms", h.interval_ms);
  p.num("timeout-ms", h.timeout_ms);
  p.num("rise", h.rise);
  p.num("fall", h.fall);
  p.list("networks", h.networks, prefix_text);
  p.list("neighbors", h.neighbors, same);
}

}  // namespace

std::vector<ConfigObject> config_objects(const Config& c) {
  std::vector<ConfigObject> out;
  out.push_back(object_of("router", "", [&](Printer& p) { print_router(p, c.router); }));
  if (c.tunnel) {
    TunnelConfig t = *c.tunnel;
    t.peers.clear();
    out.push_back(object_of("tunnel", "", [&](Printer& p) { print_tunnel(p, t); }));
    for (const auto& peer : c.tunnel->peers) {
      out.push_back(object_of("tunnel-peer", peer.name, [&](Printer& p) {
        p.section("[[tunnel.peers]]");
        p.str("public-key", peer.public_key);
        p.str("preshared-key-file", peer.preshared_key_file);
        if (peer.endpoint) p.str("endpoint", peer.endpoint->str());
        p.list("allowed-ips", peer.allowed_ips, prefix_text);
        p.num("persistent-keepalive", peer.persistent_keepalive);
      }));
    }
  }
  if (c.bgp) {
    BgpConfig b = *c.bgp;
    b.neighbors.clear();
    b.networks.clear();
    ConfigObject o = object_of("bgp", "", [&](Printer& p) { print_bgp(p, b); });
    // Networks are objects of their own.
    std::erase_if(o.keys, [](const auto& kv) { return kv.first == "networks"; });
    out.push_back(std::move(o));
    for (const auto& n : c.bgp->networks) out.push_back({"network", n.str(), {}});
    for (const auto& n : c.bgp->neighbors)
      out.push_back(object_of("neighbor", n.name, [&](Printer& p) { print_neighbor(p, n); }));
  }
  for (const auto& s : c.static_routes)
    out.push_back(object_of("static-route", s.prefix.str(), [&](Printer& p) {
      p.section("[[static-routes]]");
      if (s.next_hop) p.str("next-hop", s.next_hop->str());
      if (!s.interface.empty()) p.str("interface", s.interface);
      p.boolean("blackhole", s.blackhole);
    }));
  out.push_back(object_of("fib", "", [&](Printer& p) { print_fib(p, c.fib); }));
  if (c.tunnel)
    out.push_back(object_of("liveness", "", [&](Printer& p) { print_liveness(p, c.liveness); }));
  if (c.metrics.listen)
    out.push_back(object_of("metrics", "", [&](Printer& p) {
      p.section("[metrics]");
      p.str("listen", c.metrics.listen->str());
    }));
  for (const auto& pol : c.policies)
    out.push_back(object_of("policy", pol.name, [&](Printer& p) { print_policy(p, pol); }));
  for (const auto& h : c.health_checks)
    out.push_back(object_of("health-check", h.name, [&](Printer& p) { print_health_check(p, h); }));
  for (const auto& b : c.bmp)
    out.push_back(object_of("bmp", b.name, [&](Printer& p) { print_bmp(p, b); }));
  // The name key identifies neighbours, peers and policies: it is the id, not a key.
  for (auto& o : out) std::erase_if(o.keys, [](const auto& kv) { return kv.first == "name"; });
  return out;
}

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
  print_fib(p, c.fib);
  if (c.tunnel) print_liveness(p, c.liveness);
  if (c.metrics.listen) {
    p.section("[metrics]");
    p.str("listen", c.metrics.listen->str());
  }
  for (const auto& b : c.bmp) print_bmp(p, b);
  for (const auto& pol : c.policies) print_policy(p, pol);
  for (const auto& h : c.health_checks) print_health_check(p, h);
  return p.text();
}

}  // namespace ferry::config
