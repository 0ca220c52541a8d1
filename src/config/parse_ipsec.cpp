// The [ipsec] section: IPsec tunnels (IKEv2, RFC 7296; ESP in UDP, RFC 4303
// and RFC 3948) next to the WireGuard [tunnel].
//
// A peer's `preset` is applied first and every key given explicitly
// overrides it. The presets are the parameters each cloud's VPN gateway
// documents for IKEv2 site-to-site tunnels (docs/ipsec.md lists them with
// their sources). Proposals use strongSwan's notation; here they are checked
// token by token against what the ESP data plane and the IKE engine
// implement, so a typo is a config error with its line, not a failed
// negotiation later.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "config/config.hpp"
#include "config/reader.hpp"
#include "config/values.hpp"

namespace ferry::config::detail {

namespace {

constexpr uint64_t kU16 = 0xffff;

struct Preset {
  std::vector<std::string> ike, esp;
  uint32_t ike_lifetime, child_lifetime, rekey_margin, dpd_interval, dpd_timeout;
};

// AWS Site-to-Site VPN tunnel options: phase 1 lifetime 28800 s, phase 2 3600 s,
// rekey margin 540 s, DPD timeout 30 s, replay window 1024 packets; AES-GCM and
// DH groups 14..24 accepted (group 20 = ecp384, 14 = modp2048).
// Azure VPN Gateway (IKEv2 route-based): main mode SA 28800 s, quick mode SA
// 27000 s, DPD timeout 45 s, GCMAES256 and ECP384 in custom policies, no PFS by default.
// Google Cloud VPN supported IKE ciphers: phase 1 lifetime 36000 s, phase 2
// 10800 s, AES-GCM-16 and DH group 14.
const std::map<std::string, Preset>& presets() {
  static const std::map<std::string, Preset> kPresets = {
      {"aws",
       {{"aes256gcm16-prfsha384-ecp384", "aes256-sha256-modp2048"},
        {"aes256gcm16-ecp384", "aes256-sha256-modp2048"},
        28800,
        3600,
        540,
        10,
        30}},
      {"azure",
       {{"aes256gcm16-prfsha384-ecp384", "aes256-sha256-modp2048"},
        {"aes256gcm16", "aes256-sha256"},
        28800,
        27000,
        540,
        10,
        45}},
      {"gcp",
       {{"aes256gcm16-prfsha256-modp2048", "aes256-sha256-modp2048"},
        {"aes256gcm16-modp2048", "aes256-sha256-modp2048"},
        36000,
        10800,
        540,
        10,
        40}},
  };
  return kPresets;
}

// Tokens of a strongSwan proposal this implementation knows (RFC 7296 §3.3.2 transforms).
const std::set<std::string>& known_tokens(bool ike) {
  // The DH groups the IKE engine implements: 14, 19, 20, 31 (RFC 7296 §3.3.2).
  static const std::set<std::string> kEsp = {
      "aes128",   "aes256", "aes128gcm16", "aes256gcm16", "sha256", "sha384", "sha512",
      "modp2048", "ecp256", "ecp384",      "curve25519",  "esn",    "noesn"};
  static const std::set<std::string> kIke = [] {
    std::set<std::string> s = kEsp;
    s.erase("esn");
    s.erase("noesn");
    s.insert({"prfsha256", "prfsha384", "prfsha512"});
    return s;
  }();
  return ike ? kIke : kEsp;
}

std::vector<std::string> proposals(const Value& v, bool ike) {
  std::vector<std::string> out;
  for (const auto& e : v.array("proposals")) {
    const std::string s = e.string();
    std::istringstream in(s);
    std::string tok;
    bool cipher = false, aead = false, integ = false, dh = false;
    while (std::getline(in, tok, '-')) {
      if (!known_tokens(ike).count(tok))
        e.fail("unknown algorithm " + quote(tok) + " in proposal " + quote(s));
      cipher = cipher || tok.rfind("aes", 0) == 0;
      aead = aead || tok.find("gcm") != std::string::npos;
      integ = integ || tok.rfind("sha", 0) == 0;
      dh = dh || tok.rfind("modp", 0) == 0 || tok.rfind("ecp", 0) == 0 || tok == "curve25519";
    }
    if (!cipher) e.fail("expected an encryption algorithm in proposal " + quote(s));
    if (!aead && !integ) e.fail("expected an integrity algorithm with CBC in proposal " + quote(s));
    if (ike && !dh) e.fail("expected a DH group in IKE proposal " + quote(s));
    out.push_back(s);
  }
  if (out.empty()) v.fail("expected at least one proposal");
  return out;
}

std::string id(const Value& v) {
  const std::string s = v.string();
  if (s.empty() || s.size() > 255) v.fail("expected an IP address or FQDN of 1..255 bytes");
  return s;
}

IpsecPeerConfig parse_ipsec_peer(const TableReader& t) {
  IpsecPeerConfig p;
  p.name = check_name(t.require("name", "a name"));
  if (auto v = t.get("preset")) {
    p.preset = v->string();
    auto it = presets().find(p.preset);
    if (it == presets().end())
      v->fail("expected \"aws\", \"azure\" or \"gcp\", got " + quote(p.preset));
    const Preset& pr = it->second;
    p.ike_proposals = pr.ike;
    p.esp_proposals = pr.esp;
    p.ike_lifetime = pr.ike_lifetime;
    p.child_lifetime = pr.child_lifetime;
    p.rekey_margin = pr.rekey_margin;
    p.dpd_interval = pr.dpd_interval;
    p.dpd_timeout = pr.dpd_timeout;
  } else {
    p.ike_proposals = presets().at("aws").ike;
    p.esp_proposals = presets().at("aws").esp;
  }
  if (auto v = t.get("endpoint"))
    p.endpoint =
        v->parsed("an endpoint \"203.0.113.1:500\" or \"[2001:db8::1]:500\"", parse_endpoint);
  if (auto v = t.get("local-id")) p.local_id = id(*v);
  if (auto v = t.get("remote-id")) p.remote_id = id(*v);
  t.string_into("psk-file", p.psk_file);
  t.string_into("cert-file", p.cert_file);
  t.string_into("key-file", p.key_file);
  t.string_into("ca-file", p.ca_file);
  if (auto v = t.get("ike-proposals")) p.ike_proposals = proposals(*v, true);
  if (auto v = t.get("esp-proposals")) p.esp_proposals = proposals(*v, false);
  t.uint_into("ike-lifetime", 300, 86400, p.ike_lifetime);
  t.uint_into("child-lifetime", 60, 86400, p.child_lifetime);
  t.uint_into("rekey-margin", 10, 86400, p.rekey_margin);
  t.uint_into("dpd-interval", 0, 3600, p.dpd_interval);
  t.uint_into("dpd-timeout", 1, 86400, p.dpd_timeout);
  t.bool_into("initiate", p.initiate);
  t.uint_into("replay-window", 1024, 8128, p.replay_window);
  if (auto v = t.get("allowed-ips")) p.allowed_ips = prefixes(*v);

  // Exactly one way to authenticate (RFC 7296 §2.15).
  const bool certs = !p.cert_file.empty() || !p.key_file.empty() || !p.ca_file.empty();
  if (!p.psk_file.empty() && certs)
    t.fail("psk-file", "expected either psk-file or cert-file/key-file/ca-file, not both");
  if (p.psk_file.empty() && !certs)
    t.fail("psk-file", "missing; expected psk-file or cert-file, key-file and ca-file");
  if (certs)
    for (const char* k : {"cert-file", "key-file", "ca-file"})
      if (!t.has(k))
        t.fail(k, "missing; certificate authentication needs cert-file, key-file and ca-file");
  if (p.local_id.empty())
    t.fail("local-id", "missing; expected our IKE identity (an IP address or FQDN)");
  if (p.remote_id.empty() && !p.endpoint)
    t.fail("remote-id",
           "missing; expected the peer's IKE identity (default: its endpoint address)");
  if (p.initiate && !p.endpoint)
    t.fail("endpoint", "missing; expected the peer's address to initiate (or initiate = false)");
  if (p.rekey_margin >= p.child_lifetime || p.rekey_margin >= p.ike_lifetime)
    t.fail(t.has("rekey-margin") ? "rekey-margin" : "child-lifetime",
           "expected rekey-margin below child-lifetime and ike-lifetime");
  if (p.dpd_interval != 0 && p.dpd_timeout < p.dpd_interval)
    t.fail("dpd-timeout", "expected at least dpd-interval");
  return p;
}

}  // namespace

IpsecConfig parse_ipsec(const Ctx& ctx, const TableReader& t) {
  IpsecConfig c;
  if (auto v = t.get("interface")) c.interface = check_ifname(*v);
  if (auto v = t.get("addresses")) {
    for (const auto& e : v->array("interface addresses"))
      c.addresses.push_back(
          e.parsed("an interface address \"169.254.10.1/30\"", parse_interface_address));
  }
  t.uint_into("mtu", 576, kU16, c.mtu);
  t.uint_into("workers", 0, 256, c.workers);
  if (auto v = t.get("peers")) {
    std::map<std::string, std::string> names;  // name -> path of first use
    for (const auto& e : v->array("tables ([[ipsec.peers]])")) {
      TableReader pt(ctx, e.table(), e.path,
                     {"name", "preset", "endpoint", "local-id", "remote-id", "psk-file",
                      "cert-file", "key-file", "ca-file", "ike-proposals", "esp-proposals",
                      "ike-lifetime", "child-lifetime", "rekey-margin", "dpd-interval",
                      "dpd-timeout", "initiate", "replay-window", "allowed-ips"});
      IpsecPeerConfig p = parse_ipsec_peer(pt);
      if (auto [it, fresh] = names.emplace(p.name, e.path); !fresh)
        pt.fail("name", "duplicate peer name " + quote(p.name) + " (also " + it->second + ")");
      c.peers.push_back(std::move(p));
    }
  }
  return c;
}

}  // namespace ferry::config::detail
