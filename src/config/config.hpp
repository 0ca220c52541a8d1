// Typed configuration of one gateway, parsed from one TOML file.
//
// load() is the only producer: it validates everything (types, ranges, cross
// references such as policy names) and reports the first error as
// "file:line: key.path: expected ...". Consumers get a fully checked value and
// never see TOML. print() writes the normalised form back out (round-trip
// tests diff it against golden files).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/ip.hpp"
#include "common/result.hpp"
#include "common/types.hpp"

namespace ferry::config {

// An address with its prefix length, as assigned to an interface
// ("169.254.10.1/30"): unlike Prefix, the host bits are kept.
struct InterfaceAddress {
  IpAddress addr;
  int len = 0;
  Prefix network() const { return Prefix(addr, len); }
  std::string str() const { return addr.str() + "/" + std::to_string(len); }
  bool operator==(const InterfaceAddress&) const = default;
};

struct Endpoint {
  IpAddress addr;
  uint16_t port = 0;
  std::string str() const;  // "1.2.3.4:51820", "[2001:db8::1]:51820"
  bool operator==(const Endpoint&) const = default;
};

struct RouterConfig {
  Asn asn;
  RouterId router_id;
  std::string control_socket = "/run/ferry/ferry.sock";
  std::string control_group;  // empty: root's group
  std::string user;           // drop privileges to this user after setup; empty: stay root
  bool operator==(const RouterConfig&) const = default;
};

struct TunnelPeerConfig {
  std::string name;
  std::string public_key;  // base64, 32 bytes decoded
  std::string preshared_key_file;
  std::optional<Endpoint> endpoint;
  std::vector<Prefix> allowed_ips;
  uint16_t persistent_keepalive = 0;  // seconds, 0 = off
  bool operator==(const TunnelPeerConfig&) const = default;
};

struct TunnelConfig {
  std::string interface = "ferry0";
  std::string private_key_file;
  uint16_t listen_port = 51820;
  std::vector<InterfaceAddress> addresses;
  uint32_t mtu = 1420;
  uint32_t workers = 0;  // data-plane threads; 0 = one per core
  // Test-only: scales the protocol's rekey timers down (1.0 = real timers).
  double timer_scale = 1.0;
  // A prefix learned by BGP via one peer inside another peer's static
  // allowed-ip (other than a /0) takes that part over only when this is true;
  // by default static allowed-ips are authoritative for sending and for
  // source validation.
  bool learned_override_static = false;
  // TCP MSS clamping of transit SYNs (both directions) to mtu minus the
  // IP and TCP headers, so LAN hosts never need fragments across the tunnel.
  bool mss_clamp = true;
  std::vector<TunnelPeerConfig> peers;
  bool operator==(const TunnelConfig&) const = default;
};

// [ipsec]: IKEv2 + ESP-in-UDP tunnels to IPsec gateways (docs/ipsec.md). A
// preset ("aws", "azure", "gcp") fills proposals, lifetimes and DPD with the
// values that cloud documents; keys given explicitly override it. Secrets are
// files, read (with the permission checks of WireGuard keys) when the tunnel
// starts.
struct IpsecPeerConfig {
  std::string name;
  std::string preset;                // "", "aws", "azure" or "gcp"
  std::optional<Endpoint> endpoint;  // the peer's IKE address and port (500); required to initiate
  std::string local_id, remote_id;   // IDi/IDr (RFC 7296 §3.5): an IP address or FQDN
  std::string psk_file;              // pre-shared key, or certificates:
  std::string cert_file, key_file, ca_file;
  std::vector<std::string> ike_proposals, esp_proposals;  // strongSwan notation, preferred first
  uint32_t ike_lifetime = 28800, child_lifetime = 3600, rekey_margin = 540;  // seconds
  uint32_t dpd_interval = 10, dpd_timeout = 30;  // seconds; interval 0 = no DPD
  bool initiate = true;
  uint32_t replay_window = 1024;  // packets (RFC 4303 §3.4.3)
  std::vector<Prefix> allowed_ips;
  bool operator==(const IpsecPeerConfig&) const = default;
};

struct IpsecConfig {
  std::string interface = "ferry-ipsec0";  // its own TUN device (docs/architecture.md)
  std::vector<InterfaceAddress> addresses;
  uint32_t mtu = 1400;
  uint32_t workers = 0;  // data-plane threads; 0 = one per core
  std::vector<IpsecPeerConfig> peers;
  bool operator==(const IpsecConfig&) const = default;
};

enum class MaxPrefixAction { Warn, Restart };

struct BgpNeighborConfig {
  std::string name;
  IpAddress address;
  Asn remote_asn;
  std::optional<IpAddress> local_address;
  uint16_t port = 179;
  bool passive = false;
  std::vector<std::string> import_policies;  // empty: none given (RFC 8212 applies on eBGP)
  std::vector<std::string> export_policies;
  bool import_set = false;  // true when the key was present (even if empty)
  bool export_set = false;
  uint16_t hold_time = 90;     // seconds; 0 or >= 3 (RFC 4271 §4.2)
  uint16_t connect_retry = 5;  // seconds
  std::string password;        // TCP-MD5 (RFC 2385); empty: off
  bool ttl_security = false;   // GTSM (RFC 5082)
  uint8_t multihop = 1;        // eBGP TTL
  bool route_reflector_client = false;
  std::optional<bool> next_hop_self;  // default: on for eBGP, off for iBGP
  bool ipv4 = true;
  bool ipv6 = true;
  std::optional<uint32_t> max_prefixes;
  MaxPrefixAction max_prefix_action = MaxPrefixAction::Restart;
  uint32_t max_prefix_restart = 60;  // seconds before reconnecting after a limit tear-down
  // BFD for this session (RFC 5882 §4.3). Unset: on when the neighbour's address
  // is inside a tunnel peer's allowed-ips (the session runs across the tunnel).
  std::optional<bool> bfd;
  // Strict mode (draft-ietf-idr-bgp-bfd-strict-mode §4): the session may only
  // establish while its BFD session is Up and the tunnel peer's liveness is Up
  // (past any hold-down). Needs a neighbour reached through a tunnel peer.
  bool bfd_strict = false;
  bool graceful_restart = false;
  std::string description;
  // Path preference for an active/standby pair of tunnels to one site.
  std::optional<uint32_t> local_pref;  // LOCAL_PREF given to routes from this neighbor
  uint32_t weight = 0;                 // local preference step before LOCAL_PREF
  uint8_t prepend = 0;                 // extra copies of our AS towards this (eBGP) neighbor
  // Export budget (cloud gateways accept ~100 prefixes per session): never
  // more than this many prefixes advertised; the rest is held back (or
  // covered by an aggregate candidate), with a warning at 80 %.
  std::optional<uint32_t> max_prefixes_out;
  std::vector<Prefix> aggregate_candidates;  // covering prefixes the site owns
  bool operator==(const BgpNeighborConfig&) const = default;
};

struct RedistributeConfig {
  enum class Source { Connected, Static, Kernel };
  Source source = Source::Connected;
  std::vector<std::string> interfaces;  // connected: only these (empty: all but lo and the tunnel)
  std::vector<std::string>
      protocols;  // kernel: "ospf", "bird", "zebra", numbers; empty: all but ferry's
  std::optional<uint32_t> table;  // kernel: table to read (default main)
  bool operator==(const RedistributeConfig&) const = default;
};

struct BfdConfig {
  uint32_t min_tx_ms = 300;
  uint32_t min_rx_ms = 300;
  uint32_t multiplier = 3;
  bool operator==(const BfdConfig&) const = default;
};

struct BgpConfig {
  std::vector<Prefix> networks;
  std::vector<RedistributeConfig> redistribute;
  std::vector<BgpNeighborConfig> neighbors;
  uint32_t max_paths = 1;
  bool always_compare_med = false;
  bool multipath_relax = false;  // ECMP across paths from different neighbor ASes
  std::optional<RouterId> cluster_id;
  uint16_t listen_port = 179;
  std::optional<IpAddress> listen_address;
  uint32_t graceful_restart_time = 120;  // seconds
  BfdConfig bfd;
  bool operator==(const BgpConfig&) const = default;
};

struct StaticRouteConfig {
  Prefix prefix;
  std::optional<IpAddress> next_hop;
  std::string interface;
  bool blackhole = false;
  bool operator==(const StaticRouteConfig&) const = default;
};

struct FibConfig {
  uint32_t table = 254;    // main
  uint8_t protocol = 200;  // ferry's rtnetlink protocol number
  uint32_t metric = 20;
  bool install = true;
  bool keep_on_shutdown = false;  // graceful restart: leave routes installed
  bool operator==(const FibConfig&) const = default;
};

// [liveness]: the shared liveness state of each tunnel peer (docs/liveness.md).
struct LivenessConfig {
  uint32_t hold_down_ms = 1000;       // first hold-down after a peer failed
  uint32_t hold_down_max_ms = 30000;  // ceiling of the exponential back-off
  uint32_t reset_after_ms = 60000;    // Up this long: the back-off starts again
  // WireGuard: the peer is down after this many handshake initiations went
  // unanswered (one per REKEY_TIMEOUT, whitepaper §6.4).
  uint32_t handshake_timeouts = 3;
  bool operator==(const LivenessConfig&) const = default;
};

// [metrics]: the Prometheus endpoint (off unless listen is set).
struct MetricsConfig {
  std::optional<Endpoint> listen;  // "127.0.0.1:9342", "[::1]:9342"
  bool operator==(const MetricsConfig&) const = default;
};

// [[bmp]]: one BGP Monitoring Protocol station (RFC 7854) ferryd connects to.
struct BmpConfig {
  std::string name;
  Endpoint station;                           // "192.0.2.10:11019"
  bool pre_policy = true;                     // route-monitoring contains "pre-policy"
  bool post_policy = false;                   // route-monitoring contains "post-policy"
  bool adj_rib_out = false;                   // RFC 8671 post-policy Adj-RIB-Out
  uint32_t stats_interval = 60;               // seconds; 0: no Stats Reports
  uint64_t queue_limit = uint64_t{32} << 20;  // bytes queued before a slow station is dropped
  bool operator==(const BmpConfig&) const = default;
};

// ---- Policy -----------------------------------------------------------------

struct PrefixMatch {
  Prefix prefix;
  int ge = -1;  // -1: exact length unless le given
  int le = -1;
  bool matches(const Prefix& p) const;
  std::string str() const;  // "10.0.0.0/8 ge 16 le 24"
  bool operator==(const PrefixMatch&) const = default;
};

struct PolicyMatch {
  std::vector<PrefixMatch> prefixes;  // any of
  std::optional<uint32_t> as_path_contains;
  std::optional<uint32_t> as_path_originates;
  std::optional<uint32_t> as_path_length_min;
  std::optional<uint32_t> as_path_length_max;
  std::vector<uint32_t> communities;                     // all of
  std::vector<std::vector<uint32_t>> large_communities;  // each {g, l1, l2}; all of
  std::vector<std::string> neighbors;                    // any of
  std::optional<uint8_t> origin;                         // 0 igp, 1 egp, 2 incomplete
  std::optional<Family> family;
  std::optional<std::string> source;  // "bgp", "static", "connected", "kernel", "network"
  bool empty() const;
  bool operator==(const PolicyMatch&) const = default;
};

struct PolicySet {
  std::optional<uint32_t> local_pref;
  std::optional<uint32_t> med;
  // Unset (or 0) with prepend_count > 0: prepend the local AS. The parser
  // leaves it unset for `prepend = N` and sets it for `prepend = { asn, count }`.
  std::optional<uint32_t> prepend_asn;
  uint32_t prepend_count = 0;
  std::vector<uint32_t> community_add;
  std::vector<uint32_t> community_remove;
  std::optional<std::vector<uint32_t>> community_replace;
  std::vector<std::vector<uint32_t>> large_community_add;
  std::vector<std::vector<uint32_t>> large_community_remove;
  std::optional<IpAddress> next_hop;
  bool next_hop_self = false;
  bool operator==(const PolicySet&) const = default;
};

enum class PolicyAction { Accept, Reject, NextTerm };

struct PolicyTerm {
  std::string name;
  PolicyMatch match;
  PolicySet set;
  PolicyAction action = PolicyAction::NextTerm;
  bool operator==(const PolicyTerm&) const = default;
};

struct PolicyConfig {
  std::string name;
  std::vector<PolicyTerm> terms;
  // What happens when no term decided: reject (the default), or accept.
  PolicyAction default_action = PolicyAction::Reject;
  bool operator==(const PolicyConfig&) const = default;
};

// A health check of the site's LAN from the gateway: an ICMP echo or a TCP
// connect, every interval, up after `rise` successes in a row and down after
// `fall` failures. While it is down the networks it names are not
// advertised and the neighbors it names are sent nothing, so a gateway whose
// LAN is dead stops attracting traffic.
enum class HealthProbe { Icmp, Tcp };
struct HealthCheckConfig {
  std::string name;
  HealthProbe probe = HealthProbe::Icmp;
  IpAddress target;
  uint16_t port = 0;  // tcp only
  uint32_t interval_ms = 1000;
  uint32_t timeout_ms = 500;
  uint32_t rise = 2;
  uint32_t fall = 3;
  std::vector<Prefix> networks;        // entries of [bgp] networks
  std::vector<std::string> neighbors;  // [[bgp.neighbors]] names
  bool operator==(const HealthCheckConfig&) const = default;
};

// -----------------------------------------------------------------------------

struct Config {
  std::string path;  // the file this was loaded from
  RouterConfig router;
  std::optional<TunnelConfig> tunnel;
  std::optional<IpsecConfig> ipsec;
  std::optional<BgpConfig> bgp;
  std::vector<StaticRouteConfig> static_routes;
  std::vector<PolicyConfig> policies;
  FibConfig fib;
  LivenessConfig liveness;
  MetricsConfig metrics;
  std::vector<HealthCheckConfig> health_checks;  // [[health-checks]]
  std::vector<BmpConfig> bmp;

  // nullptr for unknown names and for the built-ins "accept-all" / "reject-all",
  // which are never stored in `policies`.
  const PolicyConfig* find_policy(const std::string& name) const;
  // Field-wise (path included): modules compare old and new values on reload.
  bool operator==(const Config&) const = default;
};

// Parses and validates a file. The error names file:line, the key and what was expected.
Result<Config> load(const std::string& path);
// Same, from text (path is used in messages only).
Result<Config> parse(const std::string& text, const std::string& path);
// Normalised TOML: every key in a fixed order, defaults written out.
std::string print(const Config& c);

// The configuration as objects, each with its keys as print() writes them
// (canonical text): what a reload diff compares (config/diff.hpp).
struct ConfigObject {
  // "router", "tunnel", "tunnel-peer", "bgp", "network", "neighbor",
  // "static-route", "fib", "metrics", "policy".
  std::string type;
  std::string id;  // name (neighbour, tunnel peer, policy) or prefix; empty for sections
  // key -> printed value, in print order; sub-sections are dotted prefixes
  // ("bfd.min-tx-ms", "terms.<term>.match.prefixes").
  std::vector<std::pair<std::string, std::string>> keys;
};
std::vector<ConfigObject> config_objects(const Config& c);

// "65001:100", "no-export", "no-advertise", "no-export-subconfed" -> 32-bit value.
std::optional<uint32_t> parse_community(const std::string& s);
// "65001:1:2" -> {65001, 1, 2}.
std::optional<std::vector<uint32_t>> parse_large_community(const std::string& s);

}  // namespace ferry::config
