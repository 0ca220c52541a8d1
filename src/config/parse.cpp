// TOML -> Config: the schema of ferry's configuration file.
//
// parse() lets toml++ build a document, then walks it top-down: each section
// gets a TableReader (which rejects unknown keys first), each value is checked
// for type and range as it is read, and cross references (policy names,
// neighbor names, duplicates) are checked with the referring key's position.
// The first problem found aborts the walk with "file:line: key.path: what";
// see reader.hpp for how positions are tracked.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "config/config.hpp"
#include "config/reader.hpp"
#include "config/values.hpp"

namespace ferry::config {

namespace detail {
// parse_health.cpp
std::vector<HealthCheckConfig> parse_health_checks(const Ctx& ctx, const Value& v, const Config& c);

// Names that appear in policies and on the ferryctl command line.
std::string check_name(const Value& v) {
  const std::string s = v.string();
  const bool ok = !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  if (!ok) v.fail("expected a name of 1..64 letters, digits, '-', '_' or '.', got " + quote(s));
  return s;
}

// Linux dev_valid_name(): shorter than IFNAMSIZ, no '/', ':' or whitespace.
std::string check_ifname(const Value& v) {
  const std::string s = v.string();
  const bool ok = !s.empty() && s.size() < 16 && s != "." && s != ".." &&
                  std::none_of(s.begin(), s.end(), [](char c) {
                    return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) ||
                           static_cast<unsigned char>(c) < 0x20;
                  });
  if (!ok)
    v.fail("expected an interface name of 1..15 characters without '/', ':' or spaces, got " +
           quote(s));
  return s;
}

IpAddress address(const Value& v) {
  return v.parsed("an IP address", IpAddress::parse);
}

Prefix prefix(const Value& v) {
  return v.parsed("a prefix without host bits (\"10.0.0.0/8\")", [](const std::string& s) {
    return s.find('/') == std::string::npos ? std::nullopt : Prefix::parse_strict(s);
  });
}

std::vector<Prefix> prefixes(const Value& v) {
  std::vector<Prefix> out;
  for (const auto& e : v.array("prefixes")) {
    Prefix p = prefix(e);
    if (std::find(out.begin(), out.end(), p) != out.end())
      e.fail("duplicate prefix " + quote(p.str()));
    out.push_back(p);
  }
  return out;
}

}  // namespace detail

namespace {

using detail::address;
using detail::check_ifname;
using detail::check_name;
using detail::ConfigError;
using detail::Ctx;
using detail::prefix;
using detail::prefixes;
using detail::quote;
using detail::TableReader;
using detail::Value;

constexpr uint64_t kU16 = 0xffff;
constexpr uint64_t kU32 = 0xffffffff;
const std::string kAsnRange = "an integer 1..4294967295";

uint32_t community(const Value& v) {
  return v.parsed("a community \"ASN:VALUE\" (each 0..65535) or a well-known name",
                  parse_community);
}

std::vector<uint32_t> communities(const Value& v) {
  std::vector<uint32_t> out;
  for (const auto& e : v.array("communities")) out.push_back(community(e));
  return out;
}

std::vector<std::vector<uint32_t>> large_communities(const Value& v) {
  std::vector<std::vector<uint32_t>> out;
  for (const auto& e : v.array("large communities"))
    out.push_back(e.parsed("a large community \"GLOBAL:LOCAL1:LOCAL2\" (each 0..4294967295)",
                           parse_large_community));
  return out;
}

template <typename T>
T one_of(const Value& v, std::initializer_list<std::pair<const char*, T>> choices) {
  const std::string s = v.string();
  std::string list;
  for (const auto& [name, val] : choices) {
    if (s == name) return val;
    list += (list.empty() ? "" : " or ") + quote(name);
  }
  v.fail("expected " + list + ", got " + quote(s));
}

// ---- [router] -----------------------------------------------------------------

RouterConfig parse_router(const TableReader& t) {
  RouterConfig r;
  r.asn = Asn(static_cast<uint32_t>(t.require("asn", kAsnRange).uint(1, kU32)));
  r.router_id =
      t.require("router-id", "a dotted-quad router ID")
          .parsed("a non-zero dotted-quad router ID (RFC 6286)", [](const std::string& s) {
            auto id = RouterId::parse(s);
            return id && id->value() != 0 ? id : std::nullopt;
          });
  t.string_into("control-socket", r.control_socket);
  if (r.control_socket.empty()) t.fail("control-socket", "expected a non-empty path");
  t.string_into("control-group", r.control_group);
  t.string_into("user", r.user);
  return r;
}

// ---- [tunnel] -----------------------------------------------------------------

TunnelPeerConfig parse_peer(const TableReader& t) {
  TunnelPeerConfig p;
  p.name = check_name(t.require("name", "a name"));
  p.public_key = t.require("public-key", "a base64 WireGuard public key")
                     .parsed("a base64 WireGuard public key (32 bytes)",
                             [](const std::string& s) -> std::optional<std::string> {
                               return detail::is_wg_key(s) ? std::optional(s) : std::nullopt;
                             });
  t.string_into("preshared-key-file", p.preshared_key_file);
  if (auto v = t.get("endpoint"))
    p.endpoint = v->parsed("an endpoint \"1.2.3.4:51820\" or \"[2001:db8::1]:51820\"",
                           detail::parse_endpoint);
  if (auto v = t.get("allowed-ips")) p.allowed_ips = prefixes(*v);
  t.uint_into("persistent-keepalive", 0, kU16, p.persistent_keepalive);
  return p;
}

TunnelConfig parse_tunnel(const Ctx& ctx, const TableReader& t) {
  TunnelConfig c;
  if (auto v = t.get("interface")) c.interface = check_ifname(*v);
  c.private_key_file = t.require("private-key-file", "a path").string();
  if (c.private_key_file.empty()) t.fail("private-key-file", "expected a non-empty path");
  t.uint_into("listen-port", 1, kU16, c.listen_port);
  if (auto v = t.get("addresses")) {
    for (const auto& e : v->array("interface addresses"))
      c.addresses.push_back(
          e.parsed("an interface address \"169.254.10.1/30\"", detail::parse_interface_address));
  }
  t.uint_into("mtu", 576, kU16, c.mtu);
  t.bool_into("learned-override-static", c.learned_override_static);
  t.bool_into("mss-clamp", c.mss_clamp);
  t.uint_into("workers", 0, 256, c.workers);
  if (auto v = t.get("timer-scale")) {
    c.timer_scale = v->number();
    if (!(c.timer_scale > 0 && c.timer_scale <= 1)) v->fail("expected a number in (0, 1]");
  }
  if (auto v = t.get("peers")) {
    std::map<std::string, std::string> names, keys;  // value -> path of first use
    for (const auto& e : v->array("tables ([[tunnel.peers]])")) {
      TableReader pt(ctx, e.table(), e.path,
                     {"name", "public-key", "preshared-key-file", "endpoint", "allowed-ips",
                      "persistent-keepalive"});
      TunnelPeerConfig p = parse_peer(pt);
      if (auto [it, fresh] = names.emplace(p.name, e.path); !fresh)
        pt.fail("name", "duplicate peer name " + quote(p.name) + " (also " + it->second + ")");
      if (auto [it, fresh] = keys.emplace(p.public_key, e.path); !fresh)
        pt.fail("public-key", "duplicate public key (also " + it->second + ")");
      c.peers.push_back(std::move(p));
    }
  }
  return c;
}

// ---- [[policies]] ---------------------------------------------------------------

// A neighbor name used in a policy match; checked once [bgp] is parsed.
struct NeighborRef {
  std::string name;
  uint32_t line;
  std::string path;
};

PolicyMatch parse_match(const TableReader& t, std::vector<NeighborRef>& refs) {
  PolicyMatch m;
  if (auto v = t.get("prefixes")) {
    for (const auto& e : v->array("prefix matches"))
      m.prefixes.push_back(e.parsed(
          "a prefix match \"PREFIX [ge N] [le M]\" with prefix length <= N <= M <= address bits",
          detail::parse_prefix_match));
  }
  t.uint_into("as-path-contains", 1, kU32, m.as_path_contains);
  t.uint_into("as-path-originates", 1, kU32, m.as_path_originates);
  t.uint_into("as-path-length-min", 0, kU32, m.as_path_length_min);
  t.uint_into("as-path-length-max", 0, kU32, m.as_path_length_max);
  if (m.as_path_length_min && m.as_path_length_max && *m.as_path_length_max < *m.as_path_length_min)
    t.fail("as-path-length-max", "expected an integer >= as-path-length-min (" +
                                     std::to_string(*m.as_path_length_min) + ")");
  if (auto v = t.get("communities")) m.communities = communities(*v);
  if (auto v = t.get("large-communities")) m.large_communities = large_communities(*v);
  if (auto v = t.get("neighbors")) {
    for (const auto& e : v->array("neighbor names or addresses")) {
      // A neighbor's name, or its address in canonical text (what the RIB compares).
      std::string ref = e.string();
      if (auto a = IpAddress::parse(ref)) ref = a->str();
      m.neighbors.push_back(std::move(ref));
      refs.push_back({m.neighbors.back(), e.line, e.path});
    }
  }
  if (auto v = t.get("origin"))
    m.origin = one_of<uint8_t>(*v, {{"igp", 0}, {"egp", 1}, {"incomplete", 2}});
  if (auto v = t.get("family"))
    m.family = one_of<Family>(*v, {{"ipv4", Family::V4}, {"ipv6", Family::V6}});
  if (auto v = t.get("source")) {
    m.source = one_of<std::string>(*v, {{"bgp", "bgp"},
                                        {"static", "static"},
                                        {"connected", "connected"},
                                        {"kernel", "kernel"},
                                        {"network", "network"}});
  }
  return m;
}

PolicySet parse_set(const Ctx& ctx, const TableReader& t) {
  PolicySet s;
  t.uint_into("local-pref", 0, kU32, s.local_pref);
  t.uint_into("med", 0, kU32, s.med);
  if (auto v = t.get("prepend")) {
    if (v->node.is_table()) {
      TableReader pt(ctx, v->table(), v->path, {"asn", "count"});
      pt.uint_into("asn", 1, kU32, s.prepend_asn);
      s.prepend_count = static_cast<uint32_t>(pt.require("count", "an integer 1..32").uint(1, 32));
    } else if (v->node.is_integer()) {
      s.prepend_count = static_cast<uint32_t>(v->uint(1, 32));
    } else {
      v->fail("expected a count 1..32 or a table { asn = ASN, count = N }, got " +
              detail::type_name(v->node));
    }
  }
  if (auto v = t.get("community-add")) s.community_add = communities(*v);
  if (auto v = t.get("community-remove")) s.community_remove = communities(*v);
  if (auto v = t.get("community-replace")) s.community_replace = communities(*v);
  if (auto v = t.get("large-community-add")) s.large_community_add = large_communities(*v);
  if (auto v = t.get("large-community-remove")) s.large_community_remove = large_communities(*v);
  if (auto v = t.get("next-hop")) {
    if (v->node.is_string() && v->string() == "self") {
      s.next_hop_self = true;
    } else {
      s.next_hop = v->parsed("an IP address or \"self\"", IpAddress::parse);
    }
  }
  return s;
}

PolicyConfig parse_policy(const Ctx& ctx, const TableReader& t, std::vector<NeighborRef>& refs) {
  PolicyConfig p;
  const Value name = t.require("name", "a name");
  p.name = check_name(name);
  if (p.name == "accept-all" || p.name == "reject-all")
    name.fail("expected a name other than the built-in " + quote(p.name));
  if (auto v = t.get("default-action"))
    p.default_action = one_of<PolicyAction>(
        *v, {{"accept", PolicyAction::Accept}, {"reject", PolicyAction::Reject}});
  if (auto v = t.get("terms")) {
    std::set<std::string> names;
    size_t i = 0;
    for (const auto& e : v->array("tables ([[policies.terms]])")) {
      ++i;
      TableReader tt(ctx, e.table(), e.path, {"name", "action", "match", "set"});
      PolicyTerm term;
      term.name = "term-" + std::to_string(i);
      if (auto n = tt.get("name")) term.name = check_name(*n);
      if (!names.insert(term.name).second)
        tt.fail("name", "duplicate term name " + quote(term.name) + " in policy " + quote(p.name));
      if (auto a = tt.get("action")) {
        term.action = one_of<PolicyAction>(*a, {{"accept", PolicyAction::Accept},
                                                {"reject", PolicyAction::Reject},
                                                {"next", PolicyAction::NextTerm}});
      }
      if (auto m = tt.get("match")) {
        term.match = parse_match(
            TableReader(ctx, m->table(), m->path,
                        {"prefixes", "as-path-contains", "as-path-originates", "as-path-length-min",
                         "as-path-length-max", "communities", "large-communities", "neighbors",
                         "origin", "family", "source"}),
            refs);
      }
      if (auto s = tt.get("set")) {
        term.set = parse_set(
            ctx, TableReader(ctx, s->table(), s->path,
                             {"local-pref", "med", "prepend", "community-add", "community-remove",
                              "community-replace", "large-community-add", "large-community-remove",
                              "next-hop"}));
      }
      p.terms.push_back(std::move(term));
    }
  }
  return p;
}

// ---- [bgp] ----------------------------------------------------------------------

RedistributeConfig parse_redistribute(const Ctx& ctx, const Value& v) {
  using Source = RedistributeConfig::Source;
  const std::initializer_list<std::pair<const char*, Source>> sources = {
      {"connected", Source::Connected}, {"static", Source::Static}, {"kernel", Source::Kernel}};
  RedistributeConfig r;
  if (v.node.is_string()) {
    r.source = one_of<Source>(v, sources);
    return r;
  }
  if (!v.node.is_table())
    v.fail("expected \"connected\", \"static\", \"kernel\" or a table { source = ... }, got " +
           detail::type_name(v.node));
  TableReader t(ctx, v.table(), v.path, {"source", "interfaces", "protocols", "table"});
  r.source =
      one_of<Source>(t.require("source", "\"connected\", \"static\" or \"kernel\""), sources);
  if (auto i = t.get("interfaces")) {
    if (r.source != Source::Connected) i->fail("expected only with source = \"connected\"");
    for (const auto& e : i->array("interface names")) r.interfaces.push_back(check_ifname(e));
  }
  if (auto p = t.get("protocols")) {
    if (r.source != Source::Kernel) p->fail("expected only with source = \"kernel\"");
    // rtnetlink protocol names (iproute2's rt_protos) or numbers 0..255.
    static const std::set<std::string> kNames = {
        "redirect", "kernel",   "boot", "static", "gated", "ra",      "mrt",        "zebra",
        "bird",     "dnrouted", "xorp", "ntk",    "dhcp",  "mrouted", "keepalived", "babel",
        "openr",    "bgp",      "isis", "ospf",   "rip",   "eigrp"};
    for (const auto& e : p->array("routing protocol names")) {
      if (e.node.is_integer()) {
        r.protocols.push_back(std::to_string(e.uint(0, 255)));
        continue;
      }
      const std::string s = e.string();
      if (!kNames.count(s) && !detail::parse_decimal(s, 255))
        e.fail(
            "expected a routing protocol name (\"ospf\", \"bird\", \"zebra\", ...) or 0..255, "
            "got " +
            quote(s));
      r.protocols.push_back(s);
    }
  }
  if (auto tb = t.get("table")) {
    if (r.source != Source::Kernel) tb->fail("expected only with source = \"kernel\"");
    r.table = static_cast<uint32_t>(tb->uint(1, kU32));
  }
  return r;
}

BgpNeighborConfig parse_neighbor(const TableReader& t, const Config& c) {
  BgpNeighborConfig n;
  n.name = check_name(t.require("name", "a name"));
  const Value addr = t.require("address", "an IP address");
  n.address = address(addr);
  if (n.address.is_unspecified())
    addr.fail("expected a unicast address, got " + quote(n.address.str()));
  n.remote_asn = Asn(static_cast<uint32_t>(t.require("remote-asn", kAsnRange).uint(1, kU32)));
  if (auto v = t.get("local-address")) {
    n.local_address = address(*v);
    if (n.local_address->family() != n.address.family())
      v->fail(std::string("expected an ") + (n.address.is_v4() ? "IPv4" : "IPv6") +
              " address (the family of address " + quote(n.address.str()) + ")");
  }
  t.uint_into("port", 1, kU16, n.port);
  t.bool_into("passive", n.passive);
  t.string_into("description", n.description);
  for (const char* key : {"import", "export"}) {
    auto v = t.get(key);
    if (!v) continue;
    auto& list = key[0] == 'i' ? n.import_policies : n.export_policies;
    (key[0] == 'i' ? n.import_set : n.export_set) = true;
    for (const auto& e : v->array("policy names")) {
      std::string name = e.string();
      if (name != "accept-all" && name != "reject-all" && !c.find_policy(name))
        e.fail(
            "expected the name of a [[policies]] entry, \"accept-all\" or \"reject-all\", got "
            "undefined policy " +
            quote(name));
      list.push_back(std::move(name));
    }
  }
  if (auto v = t.get("hold-time")) {
    const uint64_t h = v->uint(0, kU16);
    // RFC 4271 §4.2: "the Hold Time MUST be either zero or at least three seconds".
    if (h == 1 || h == 2)
      v->fail("expected 0 or an integer 3..65535 (RFC 4271 §4.2), got " + std::to_string(h));
    n.hold_time = static_cast<uint16_t>(h);
  }
  t.uint_into("connect-retry", 1, kU16, n.connect_retry);
  t.string_into("password", n.password);
  // TCP_MD5SIG_MAXKEYLEN (linux/tcp.h) is 80 bytes.
  if (n.password.size() > 80) t.fail("password", "expected at most 80 bytes (TCP-MD5 key length)");
  t.bool_into("ttl-security", n.ttl_security);
  t.uint_into("multihop", 1, 255, n.multihop);
  t.bool_into("route-reflector-client", n.route_reflector_client);
  if (n.route_reflector_client && n.remote_asn != c.router.asn)
    t.fail("route-reflector-client",
           "expected false for an eBGP neighbor (RFC 4456 clients are iBGP peers)");
  if (auto v = t.get("next-hop-self")) n.next_hop_self = v->boolean();
  t.bool_into("ipv4", n.ipv4);
  t.bool_into("ipv6", n.ipv6);
  if (!n.ipv4 && !n.ipv6) t.fail("ipv6", "expected ipv4 or ipv6 (or both) to be true");
  t.uint_into("max-prefixes", 1, kU32, n.max_prefixes);
  if (auto v = t.get("max-prefix-action")) {
    n.max_prefix_action = one_of<MaxPrefixAction>(
        *v, {{"warn", MaxPrefixAction::Warn}, {"restart", MaxPrefixAction::Restart}});
  }
  t.uint_into("max-prefix-restart", 1, 86400, n.max_prefix_restart);
  if (auto v = t.get("bfd")) n.bfd = v->boolean();
  t.bool_into("bfd-strict", n.bfd_strict);
  if (n.bfd_strict && n.bfd == false)
    t.fail("bfd-strict", "expected false when bfd = false (strict mode waits for BFD)");
  if (n.bfd_strict) {
    const bool over_tunnel =
        c.tunnel && std::any_of(c.tunnel->peers.begin(), c.tunnel->peers.end(), [&](const auto& p) {
          return std::any_of(p.allowed_ips.begin(), p.allowed_ips.end(),
                             [&](const Prefix& a) { return a.contains(n.address); });
        });
    if (!over_tunnel)
      t.fail("bfd-strict",
             "expected false for a neighbor whose address is not in a tunnel peer's allowed-ips");
  }
  t.bool_into("graceful-restart", n.graceful_restart);
  t.uint_into("local-pref", 0, kU32, n.local_pref);
  t.uint_into("weight", 0, kU16, n.weight);
  if (auto v = t.get("prepend")) {
    n.prepend = static_cast<uint8_t>(v->uint(0, 32));
    if (n.prepend && n.remote_asn == c.router.asn)
      v->fail("expected 0 for an iBGP neighbor (AS_PATH is only prepended towards other ASes)");
  }
  t.uint_into("max-prefixes-out", 1, kU32, n.max_prefixes_out);
  if (auto v = t.get("aggregate-candidates")) {
    n.aggregate_candidates = prefixes(*v);
    if (!n.max_prefixes_out)
      v->fail("expected max-prefixes-out to be set too (aggregates are used over the budget)");
  }
  return n;
}

BgpConfig parse_bgp(const Ctx& ctx, const TableReader& t, const Config& c) {
  BgpConfig b;
  if (auto v = t.get("networks")) b.networks = prefixes(*v);
  if (auto v = t.get("redistribute")) {
    for (const auto& e : v->array("redistribute sources"))
      b.redistribute.push_back(parse_redistribute(ctx, e));
  }
  t.uint_into("max-paths", 1, 64, b.max_paths);
  t.bool_into("always-compare-med", b.always_compare_med);
  t.bool_into("multipath-relax", b.multipath_relax);
  if (auto v = t.get("cluster-id"))
    b.cluster_id = v->parsed("a dotted-quad cluster ID", RouterId::parse);
  t.uint_into("listen-port", 1, kU16, b.listen_port);
  if (auto v = t.get("listen-address")) b.listen_address = address(*v);
  // RFC 4724 §3: the Restart Time field is 12 bits.
  t.uint_into("graceful-restart-time", 0, 4095, b.graceful_restart_time);
  if (auto v = t.get("bfd")) {
    TableReader bt(ctx, v->table(), v->path, {"min-tx-ms", "min-rx-ms", "multiplier"});
    bt.uint_into("min-tx-ms", 1, 60000, b.bfd.min_tx_ms);
    bt.uint_into("min-rx-ms", 1, 60000, b.bfd.min_rx_ms);
    bt.uint_into("multiplier", 1, 255, b.bfd.multiplier);
  }
  if (auto v = t.get("neighbors")) {
    std::map<std::string, std::string> names;
    std::map<IpAddress, std::string> addrs;
    for (const auto& e : v->array("tables ([[bgp.neighbors]])")) {
      TableReader nt(ctx, e.table(), e.path,
                     {"name",
                      "address",
                      "remote-asn",
                      "local-address",
                      "port",
                      "passive",
                      "import",
                      "export",
                      "hold-time",
                      "connect-retry",
                      "password",
                      "ttl-security",
                      "multihop",
                      "route-reflector-client",
                      "next-hop-self",
                      "ipv4",
                      "ipv6",
                      "max-prefixes",
                      "max-prefix-action",
                      "max-prefix-restart",
                      "bfd",
                      "bfd-strict",
                      "graceful-restart",
                      "description",
                      "local-pref",
                      "weight",
                      "prepend",
                      "max-prefixes-out",
                      "aggregate-candidates"});
      BgpNeighborConfig n = parse_neighbor(nt, c);
      if (auto [it, fresh] = names.emplace(n.name, e.path); !fresh)
        nt.fail("name", "duplicate neighbor name " + quote(n.name) + " (also " + it->second + ")");
      if (auto [it, fresh] = addrs.emplace(n.address, e.path); !fresh)
        nt.fail("address", "duplicate neighbor address " + quote(n.address.str()) + " (also " +
                               it->second + ")");
      b.neighbors.push_back(std::move(n));
    }
  }
  return b;
}

// ---- [[static-routes]], [fib] ----------------------------------------------------

StaticRouteConfig parse_static(const TableReader& t) {
  StaticRouteConfig s;
  s.prefix = prefix(t.require("prefix", "a prefix"));
  if (auto v = t.get("next-hop")) {
    s.next_hop = address(*v);
    if (s.next_hop->family() != s.prefix.family())
      v->fail(std::string("expected an ") + (s.prefix.family() == Family::V4 ? "IPv4" : "IPv6") +
              " address (the family of the prefix)");
  }
  if (auto v = t.get("interface")) s.interface = check_ifname(*v);
  t.bool_into("blackhole", s.blackhole);
  if (s.blackhole && s.next_hop)
    t.fail("blackhole", "expected either next-hop or blackhole = true, not both");
  if (s.blackhole && !s.interface.empty())
    t.fail("interface", "expected no interface on a blackhole route");
  if (!s.blackhole && !s.next_hop)
    t.fail("next-hop", "missing; expected a next-hop address or blackhole = true");
  return s;
}

FibConfig parse_fib(const TableReader& t) {
  FibConfig f;
  t.uint_into("table", 1, kU32, f.table);
  // rtnetlink protocols 0..4 belong to the kernel (RTPROT_UNSPEC..RTPROT_STATIC).
  t.uint_into("protocol", 5, 255, f.protocol);
  t.uint_into("metric", 0, kU32, f.metric);
  t.bool_into("install", f.install);
  t.bool_into("keep-on-shutdown", f.keep_on_shutdown);
  return f;
}

LivenessConfig parse_liveness(const TableReader& t) {
  LivenessConfig l;
  t.uint_into("hold-down-ms", 0, 3600000, l.hold_down_ms);
  t.uint_into("hold-down-max-ms", 0, 3600000, l.hold_down_max_ms);
  t.uint_into("reset-after-ms", 0, 86400000, l.reset_after_ms);
  t.uint_into("handshake-timeouts", 1, 18,
              l.handshake_timeouts);  // REKEY_ATTEMPT_TIME / REKEY_TIMEOUT
  if (l.hold_down_max_ms < l.hold_down_ms)
    t.fail("hold-down-max-ms",
           "expected at least hold-down-ms (" + std::to_string(l.hold_down_ms) + ")");
  return l;
}

MetricsConfig parse_metrics(const TableReader& t) {
  MetricsConfig m;
  if (auto v = t.get("listen"))
    m.listen = v->parsed("an address and port \"127.0.0.1:9342\" or \"[::1]:9342\"",
                         detail::parse_endpoint);
  return m;
}

BmpConfig parse_bmp(const TableReader& t) {
  BmpConfig b;
  b.name = t.require("name", "a station name").string();
  if (b.name.empty()) t.fail("name", "expected a non-empty station name");
  b.station = t.require("station", "an address and port \"192.0.2.10:11019\"")
                  .parsed("an address and port \"192.0.2.10:11019\" or \"[2001:db8::10]:11019\"",
                          detail::parse_endpoint);
  if (b.station.port == 0) t.fail("station", "expected a port 1..65535");
  if (auto v = t.get("route-monitoring")) {
    b.pre_policy = b.post_policy = false;
    for (const auto& e : v->array("\"pre-policy\" / \"post-policy\"")) {
      *one_of<bool*>(e, {{"pre-policy", &b.pre_policy}, {"post-policy", &b.post_policy}}) = true;
    }
  }
  t.bool_into("adj-rib-out", b.adj_rib_out);
  t.uint_into("stats-interval", 0, 86400, b.stats_interval);
  t.uint_into("queue-limit", 65536, uint64_t{1} << 32, b.queue_limit);
  return b;
}

Config parse_document(const Ctx& ctx, const toml::table& root) {
  Config c;
  TableReader top(ctx, root, "",
                  {"router", "tunnel", "ipsec", "bgp", "static-routes", "fib", "policies",
                   "liveness", "metrics", "health-checks", "bmp"});
  auto sub = [&](std::string_view key) -> std::optional<Value> {
    auto v = top.get(key);
    if (v && !v->node.is_table()) v->fail("expected a table, got " + detail::type_name(v->node));
    return v;
  };

  auto router = sub("router");
  if (!router) ctx.fail(1, "router", "missing; expected a [router] table with asn and router-id");
  c.router =
      parse_router(TableReader(ctx, router->table(), "router",
                               {"asn", "router-id", "control-socket", "control-group", "user"}));

  if (auto v = sub("tunnel")) {
    c.tunnel = parse_tunnel(ctx, TableReader(ctx, v->table(), "tunnel",
                                             {"interface", "private-key-file", "listen-port",
                                              "addresses", "mtu", "workers", "timer-scale",
                                              "learned-override-static", "mss-clamp", "peers"}));
  }

  if (auto v = sub("ipsec")) {
    c.ipsec = detail::parse_ipsec(
        ctx, TableReader(ctx, v->table(), "ipsec",
                         {"interface", "addresses", "mtu", "workers", "peers"}));
    if (c.tunnel && c.tunnel->interface == c.ipsec->interface)
      ctx.fail(detail::line_of(v->table(), 1), "ipsec.interface",
               "expected an interface other than the [tunnel]'s " + quote(c.ipsec->interface));
    // Peer names are shared by both kinds (ferryctl show/clear tunnel NAME, routing).
    for (const auto& ip : c.ipsec->peers)
      if (c.tunnel && std::any_of(c.tunnel->peers.begin(), c.tunnel->peers.end(),
                                  [&](const auto& wp) { return wp.name == ip.name; }))
        ctx.fail(detail::line_of(v->table(), 1), "ipsec.peers",
                 "duplicate peer name " + quote(ip.name) + " (also a [[tunnel.peers]] name)");
  }

  std::vector<NeighborRef> refs;
  if (auto v = top.get("policies")) {
    for (const auto& e : v->array("tables ([[policies]])")) {
      TableReader pt(ctx, e.table(), e.path, {"name", "default-action", "terms"});
      PolicyConfig p = parse_policy(ctx, pt, refs);
      if (c.find_policy(p.name)) pt.fail("name", "duplicate policy name " + quote(p.name));
      c.policies.push_back(std::move(p));
    }
  }

  if (auto v = sub("bgp")) {
    c.bgp =
        parse_bgp(ctx,
                  TableReader(ctx, v->table(), "bgp",
                              {"networks", "redistribute", "neighbors", "max-paths",
                               "multipath-relax", "always-compare-med", "cluster-id", "listen-port",
                               "listen-address", "graceful-restart-time", "bfd"}),
                  c);
  }
  for (const auto& r : refs) {
    const bool found =
        c.bgp && std::any_of(c.bgp->neighbors.begin(), c.bgp->neighbors.end(), [&](const auto& n) {
          return n.name == r.name || n.address.str() == r.name;
        });
    if (!found)
      ctx.fail(r.line, r.path,
               "expected the name or address of a [[bgp.neighbors]] entry, got undefined "
               "neighbor " +
                   quote(r.name));
  }

  if (auto v = top.get("static-routes")) {
    std::set<Prefix> seen;
    for (const auto& e : v->array("tables ([[static-routes]])")) {
      TableReader st(ctx, e.table(), e.path, {"prefix", "next-hop", "interface", "blackhole"});
      StaticRouteConfig s = parse_static(st);
      if (!seen.insert(s.prefix).second)
        st.fail("prefix", "duplicate static route " + quote(s.prefix.str()));
      c.static_routes.push_back(std::move(s));
    }
  }

  if (auto v = sub("fib")) {
    c.fib = parse_fib(TableReader(ctx, v->table(), "fib",
                                  {"table", "protocol", "metric", "install", "keep-on-shutdown"}));
  }
  if (auto v = sub("liveness"))
    c.liveness = parse_liveness(
        TableReader(ctx, v->table(), "liveness",
                    {"hold-down-ms", "hold-down-max-ms", "reset-after-ms", "handshake-timeouts"}));
  if (auto v = sub("metrics"))
    c.metrics = parse_metrics(TableReader(ctx, v->table(), "metrics", {"listen"}));
  if (auto v = top.get("health-checks")) c.health_checks = detail::parse_health_checks(ctx, *v, c);
  if (auto v = top.get("bmp")) {
    for (const auto& e : v->array("tables ([[bmp]])")) {
      TableReader bt(
          ctx, e.table(), e.path,
          {"name", "station", "route-monitoring", "adj-rib-out", "stats-interval", "queue-limit"});
      if (!c.bgp) bt.fail("station", "expected a [bgp] section too: BMP monitors BGP sessions");
      BmpConfig b = parse_bmp(bt);
      for (const auto& o : c.bmp)
        if (o.name == b.name) bt.fail("name", "duplicate BMP station name " + quote(b.name));
      c.bmp.push_back(std::move(b));
    }
  }
  return c;
}

}  // namespace

Result<Config> parse(const std::string& text, const std::string& path) {
  const Ctx ctx(path);
  try {
    toml::table root = toml::parse(std::string_view(text), std::string_view(path));
    Config c = parse_document(ctx, root);
    c.path = path;
    return c;
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return make_error(path + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                      ": invalid TOML: " + std::string(e.description()));
  } catch (const ConfigError& e) {
    return make_error(e.message);
  } catch (const std::exception& e) {
    return make_error(path + ": " + e.what());
  }
}

Result<Config> load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(path + ": cannot read: " + std::strerror(errno));
  return parse(ss.str(), path);
}

}  // namespace ferry::config
