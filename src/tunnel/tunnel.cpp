#include "tunnel/tunnel.hpp"

#include <net/if.h>
#include <sys/stat.h>

#include <set>
#include <thread>

#include "common/log.hpp"
#include "tunnel/keys.hpp"
#include "tunnel/tun.hpp"
#include "tunnel/udp.hpp"

namespace ferry::tunnel {

namespace {

UdpEndpoint to_udp(const config::Endpoint& e) {
  return {e.addr, e.port};
}

std::string mode_str(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

}  // namespace

Result<Key> read_secret_key_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return make_error("key file " + path + ": " + std::strerror(errno));
  if (st.st_mode & 077)
    return make_error("key file " + path + " is accessible by group/others (mode " +
                      mode_str(st.st_mode) + "); run: chmod 600 " + path);
  return read_key_file(path);
}

Tunnel::Tunnel(config::TunnelConfig cfg, TunnelIo io) : cfg_(std::move(cfg)), io_(std::move(io)) {
  if (!io_.iface) io_.iface = make_linux_interface_configurator();
  if (!io_.open_tun)
    io_.open_tun = [](const std::string& name, size_t q) { return open_linux_tun(name, q, true); };
  if (!io_.open_udp)
    io_.open_udp = [](uint16_t port, size_t n) { return open_linux_udp(port, n, /*gro=*/true); };
  if (!io_.ifindex)
    io_.ifindex = [](const std::string& name) { return ::if_nametoindex(name.c_str()); };
}

Tunnel::~Tunnel() {
  stop();
}

Result<void> Tunnel::start() {
  if (device_) return {};
  auto key = read_secret_key_file(cfg_.private_key_file);
  if (!key) return make_error("tunnel: " + key.error());
  size_t workers = cfg_.workers ? cfg_.workers : std::max(1u, std::thread::hardware_concurrency());
  auto tun = io_.open_tun(cfg_.interface, workers);
  if (!tun) return make_error(tun.error());
  auto udp = io_.open_udp(cfg_.listen_port, workers);
  if (!udp) return make_error(udp.error());
  const std::string& ifname = (*tun)->name();
  if (auto r = io_.iface->set_mtu(ifname, cfg_.mtu); !r)
    return make_error("tunnel: " + ifname + ": set mtu: " + r.error());
  for (const auto& a : cfg_.addresses)
    if (auto r = io_.iface->add_address(ifname, a); !r)
      return make_error("tunnel: " + ifname + ": address " + a.str() + ": " + r.error());
  if (auto r = io_.iface->set_up(ifname, true); !r)
    return make_error("tunnel: " + ifname + ": up: " + r.error());

  DeviceConfig dc;
  dc.private_key = *key;
  dc.mtu = cfg_.mtu;
  dc.mss_clamp = cfg_.mss_clamp;
  dc.timers.scale = cfg_.timer_scale;
  device_ = std::make_unique<Device>(dc, std::move(*tun), std::move(*udp), workers);
  secure_zero(dc.private_key);
  secure_zero(*key);
  peers_.clear();
  for (const auto& pc : cfg_.peers) {
    if (auto r = add_peer(pc); !r) {
      device_.reset();
      return r;
    }
  }
  device_->start();
  ifindex_ = io_.ifindex(ifname);
  publish_view();
  spdlog::info("tunnel {}: listening on UDP port {}, {} peer(s), {} worker(s), public key {}",
               ifname, device_->listen_port(), peers_.size(), workers,
               key_to_base64(device_->public_key()));
  return {};
}

void Tunnel::stop() {
  if (!device_) return;
  device_->stop();
  device_.reset();
  peers_.clear();
  pending_.clear();
  ifindex_ = 0;
}

Result<void> Tunnel::add_peer(const config::TunnelPeerConfig& pc) {
  auto pub = parse_key_base64(pc.public_key);
  if (!pub) return make_error("tunnel: peer " + pc.name + ": public-key: " + pub.error());
  DevicePeerConfig dp;
  dp.name = pc.name;
  dp.public_key = *pub;
  if (!pc.preshared_key_file.empty()) {
    auto psk = read_secret_key_file(pc.preshared_key_file);
    if (!psk) return make_error("tunnel: peer " + pc.name + ": " + psk.error());
    dp.preshared_key = *psk;
  }
  if (pc.endpoint) dp.endpoint = to_udp(*pc.endpoint);
  dp.persistent_keepalive = pc.persistent_keepalive;
  PeerIndex idx = device_->add_peer(dp);
  secure_zero(dp.preshared_key);
  peers_[pc.name] = idx;
  std::vector<AllowedChange> ch;
  for (const auto& p : pc.allowed_ips)
    ch.push_back({AllowedChange::Op::Add, idx, p, AllowedOrigin::Static});
  device_->routes().apply(ch);
  return {};
}

Result<void> Tunnel::apply(const config::TunnelConfig& next) {
  if (!device_) {
    cfg_ = next;
    return {};
  }
  std::string why;
  if (next.interface != cfg_.interface) why = "interface";
  if (next.listen_port != cfg_.listen_port) why = "listen-port";
  if (next.private_key_file != cfg_.private_key_file) why = "private-key-file";
  if (next.mtu != cfg_.mtu) why = "mtu";
  if (next.workers != cfg_.workers) why = "workers";
  if (next.addresses != cfg_.addresses) why = "addresses";
  if (next.timer_scale != cfg_.timer_scale) why = "timer-scale";
  if (next.mss_clamp != cfg_.mss_clamp) why = "mss-clamp";
  if (!why.empty()) return make_error("tunnel: changing " + why + " needs a restart");

  std::map<std::string, const config::TunnelPeerConfig*> old_by_name, new_by_name;
  for (const auto& p : cfg_.peers) old_by_name[p.name] = &p;
  for (const auto& p : next.peers) new_by_name[p.name] = &p;
  for (const auto& [name, op] : old_by_name) {
    auto it = new_by_name.find(name);
    if (it == new_by_name.end() || it->second->public_key != op->public_key) {
      device_->remove_peer(peers_[name]);
      peers_.erase(name);
    }
  }
  for (const auto& [name, np] : new_by_name) {
    if (!peers_.count(name)) {
      if (auto r = add_peer(*np); !r) return r;
      continue;
    }
    const auto& op = *old_by_name[name];
    PeerIndex idx = peers_[name];
    if (np->endpoint != op.endpoint && np->endpoint)
      device_->set_endpoint(idx, to_udp(*np->endpoint));
    if (np->persistent_keepalive != op.persistent_keepalive)
      device_->set_persistent_keepalive(idx, np->persistent_keepalive);
    if (np->preshared_key_file != op.preshared_key_file) {
      Key psk{};
      if (!np->preshared_key_file.empty()) {
        auto r = read_secret_key_file(np->preshared_key_file);
        if (!r) return make_error("tunnel: peer " + name + ": " + r.error());
        psk = *r;
      }
      device_->set_preshared_key(idx, psk);
      secure_zero(psk);
    }
    std::set<Prefix> before(op.allowed_ips.begin(), op.allowed_ips.end());
    std::set<Prefix> after(np->allowed_ips.begin(), np->allowed_ips.end());
    std::vector<AllowedChange> ch;
    for (const auto& p : before)
      if (!after.count(p)) ch.push_back({AllowedChange::Op::Remove, idx, p, AllowedOrigin::Static});
    for (const auto& p : after)
      if (!before.count(p)) ch.push_back({AllowedChange::Op::Add, idx, p, AllowedOrigin::Static});
    device_->routes().apply(ch);
  }
  cfg_ = next;
  publish_view();
  return {};
}

std::optional<PeerIndex> Tunnel::peer_id(const std::string& name) const {
  auto it = peers_.find(name);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

void Tunnel::add_learned(PeerIndex peer, const Prefix& p) {
  pending_.push_back({AllowedChange::Op::Add, peer, p, AllowedOrigin::Learned});
}

void Tunnel::remove_learned(PeerIndex peer, const Prefix& p) {
  pending_.push_back({AllowedChange::Op::Remove, peer, p, AllowedOrigin::Learned});
}

size_t Tunnel::commit_learned() {
  if (!device_ || pending_.empty()) {
    pending_.clear();
    return 0;
  }
  // Static entries win: the table keeps a learned set at a statically owned prefix
  // aside (shadowed) until the static entry goes. Removals and additions of one batch
  // become visible to the data plane in the same publish.
  std::vector<AllowedChange> ch;
  ch.reserve(pending_.size());
  for (const auto& c : pending_)
    if (device_->has_peer(c.peer)) ch.push_back(c);
  pending_.clear();
  const uint64_t overflows = device_->routes().set_overflows();
  size_t n = device_->routes().apply(ch);
  if (device_->routes().set_overflows() != overflows)
    spdlog::warn("tunnel {}: {} learned prefix(es) already had {} ECMP peers; extra peers ignored",
                 cfg_.interface, device_->routes().set_overflows() - overflows, kMaxEcmpPeers);
  return n;
}

size_t Tunnel::apply_learned(std::span<const LearnedChange> changes) {
  for (const auto& c : changes) {
    if (c.add)
      add_learned(c.peer, c.prefix);
    else
      remove_learned(c.peer, c.prefix);
  }
  return commit_learned();
}

void Tunnel::poll() {
  if (device_) publish_view();
}

void Tunnel::publish_view() {
  View v;
  v.ifindex = ifindex_;
  v.max_ecmp_peers = kMaxEcmpPeers;
  std::map<PeerIndex, IpAddress> endpoints;
  if (device_)
    for (const auto& s : device_->stats())
      if (s.endpoint && s.endpoint->valid()) endpoints[s.index] = s.endpoint->addr;
  for (const auto& pc : cfg_.peers) {
    auto id = peers_.find(pc.name);
    if (id == peers_.end()) continue;
    PeerView p;
    p.id = id->second;
    p.name = pc.name;
    p.allowed_ips = pc.allowed_ips;
    if (auto e = endpoints.find(id->second); e != endpoints.end()) p.endpoint = e->second;
    v.peers.push_back(std::move(p));
  }
  if (v == view_) return;
  view_ = std::move(v);
  if (on_view_) on_view_(view_);
}

void Tunnel::clear_learned(PeerIndex peer) {
  if (!device_) return;
  device_->routes().clear_learned(peer);
}

nlohmann::json Tunnel::show() const {
  using nlohmann::json;
  json out;
  out["interface"] = cfg_.interface;
  out["running"] = device_ != nullptr;
  if (!device_) {
    out["peers"] = json::array();
    return out;
  }
  out["public_key"] = key_to_base64(device_->public_key());
  out["listen_port"] = device_->listen_port();
  json dev_drops = json::object();
  for (size_t i = 0; i < static_cast<size_t>(Drop::kCount); ++i)
    dev_drops[drop_name(static_cast<Drop>(i))] = device_->device_drops().v[i].load();
  out["drops"] = dev_drops;
  out["cookie_sent"] = device_->cookie_replies_sent();  // cookie replies (under load)
  const auto stats = device_->stats();
  std::map<PeerIndex, std::string> names;
  for (const auto& s : stats) names[s.index] = s.name;
  std::map<PeerIndex, json> shared;
  size_t n_ecmp = 0;
  device_->routes().for_each_ecmp([&](const Prefix& pfx, const std::vector<PeerIndex>& members) {
    ++n_ecmp;
    json who = json::array();
    for (PeerIndex m : members) who.push_back(names.count(m) ? names[m] : std::to_string(m.value));
    for (PeerIndex m : members) shared[m][pfx.str()] = who;
  });
  out["ecmp_prefixes"] = n_ecmp;  // learned prefixes spread over several peers
  json peers = json::array();
  for (const auto& s : stats) {
    json p;
    p["name"] = s.name;
    p["public_key"] = key_to_base64(s.public_key);
    p["endpoint"] = s.endpoint ? json(s.endpoint->str()) : json(nullptr);
    p["latest_handshake"] = s.last_handshake_unix ? json(*s.last_handshake_unix) : json(nullptr);
    p["handshakes"] = s.handshakes;  // sessions established since the peer was added
    p["rx_bytes"] = s.rx_bytes;
    p["tx_bytes"] = s.tx_bytes;
    p["rx_packets"] = s.rx_packets;
    p["tx_packets"] = s.tx_packets;
    p["persistent_keepalive"] = s.persistent_keepalive;
    json st = json::array(), le = json::array();
    for (const auto& x : device_->routes().prefixes_of(s.index, AllowedOrigin::Static))
      st.push_back(x.str());
    for (const auto& x : device_->routes().prefixes_of(s.index, AllowedOrigin::Learned))
      le.push_back(x.str());
    p["allowed_ips"] = st;
    p["learned_ips"] = le;       // every learned prefix this peer carries, ECMP ones included
    json ecmp = json::object();  // ECMP prefixes -> all peers sharing them
    if (auto it = shared.find(s.index); it != shared.end()) ecmp = it->second;
    p["ecmp_ips"] = ecmp;
    json d = json::object();
    for (size_t i = 0; i < s.drops.size(); ++i) d[drop_name(static_cast<Drop>(i))] = s.drops[i];
    p["drops"] = d;
    peers.push_back(std::move(p));
  }
  out["peers"] = peers;
  return out;
}

void Tunnel::register_commands(ctl::Registry& r) {
  r.add(
      "show tunnels", [this](const ctl::Json&) -> Result<ctl::Json> { return show(); }, false,
      "WireGuard peers: endpoint, latest handshake, transfer, allowed and learned IPs, drops");
}

}  // namespace ferry::tunnel
