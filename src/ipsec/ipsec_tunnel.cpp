#include "ipsec/ipsec_tunnel.hpp"

#include <net/if.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tunnel/tun.hpp"

namespace ferry::ipsec {

namespace {

constexpr auto kTick = std::chrono::milliseconds(100);

tunnel::UdpEndpoint to_udp(const config::Endpoint& e) {
  return {e.addr, e.port};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::string> read_secret_file(const std::string& path, bool strip_newline) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return make_error("key file " + path + ": " + std::strerror(errno));
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error("key file " + path + " is accessible by group/others (mode " + mode +
                      "); run: chmod 600 " + path);
  }
  auto s = read_file(path);
  if (!s) return s;
  if (strip_newline)
    while (!s->empty() && (s->back() == '\n' || s->back() == '\r')) s->pop_back();
  if (s->empty()) return make_error("key file " + path + " is empty");
  return s;
}

IpsecTunnel::IpsecTunnel(config::IpsecConfig cfg, IpsecIo io)
    : cfg_(std::move(cfg)), io_(std::move(io)) {
  if (!io_.iface) io_.iface = tunnel::make_linux_interface_configurator();
  if (!io_.open_tun)
    io_.open_tun = [](const std::string& name, size_t q) {
      return tunnel::open_linux_tun(name, q, true);
    };
  if (!io_.open_udp)
    io_.open_udp = [](uint16_t port, size_t n) {
      return tunnel::open_linux_udp(port, n, /*gro=*/port != 500);
    };
  if (!io_.ifindex)
    io_.ifindex = [](const std::string& name) { return ::if_nametoindex(name.c_str()); };
}

IpsecTunnel::~IpsecTunnel() {
  on_view_ = nullptr;  // nobody to tell: the listener may be gone already
  on_liveness_ = nullptr;
  stop();
}

Result<void> IpsecTunnel::start() {
  if (device_) return {};
  // Secrets first: a bad file fails start-up before anything is opened.
  std::vector<ike::PeerSettings> settings;
  tunnel::PeerIndex next_index{0};
  for (const auto& pc : cfg_.peers) {
    ike::PeerSettings s;
    s.name = pc.name;
    s.peer = next_index;
    next_index = tunnel::PeerIndex(next_index.value + 1);
    if (pc.endpoint) s.remote = to_udp(*pc.endpoint);
    s.local_id = pc.local_id;
    s.remote_id = pc.remote_id;
    if (s.remote_id.empty() && pc.endpoint) s.remote_id = pc.endpoint->addr.str();
    if (!pc.psk_file.empty()) {
      auto psk = read_secret_file(pc.psk_file, /*strip_newline=*/true);
      if (!psk) return make_error("ipsec: peer " + pc.name + ": psk-file: " + psk.error());
      s.psk.assign(psk->begin(), psk->end());
    } else {
      auto cert = read_file(pc.cert_file);
      auto key = read_secret_file(pc.key_file, false);
      auto ca = read_file(pc.ca_file);
      if (!cert) return make_error("ipsec: peer " + pc.name + ": cert-file: " + cert.error());
      if (!key) return make_error("ipsec: peer " + pc.name + ": key-file: " + key.error());
      if (!ca) return make_error("ipsec: peer " + pc.name + ": ca-file: " + ca.error());
      s.cert_pem = *cert;
      s.key_pem = *key;
      s.ca_pem = *ca;
    }
    s.ike_proposals = pc.ike_proposals;
    s.esp_proposals = pc.esp_proposals;
    s.ike_lifetime = std::chrono::seconds(pc.ike_lifetime);
    s.child_lifetime = std::chrono::seconds(pc.child_lifetime);
    s.rekey_margin = std::chrono::seconds(pc.rekey_margin);
    s.dpd_interval = std::chrono::seconds(pc.dpd_interval);
    s.dpd_timeout = std::chrono::seconds(pc.dpd_timeout);
    s.initiate = pc.initiate;
    s.replay_window = pc.replay_window;
    settings.push_back(std::move(s));
  }
  const size_t workers =
      cfg_.workers ? cfg_.workers : std::max(1u, std::thread::hardware_concurrency());
  auto tun = io_.open_tun(cfg_.interface, workers);
  if (!tun) return make_error("ipsec: " + tun.error());
  auto natt = io_.open_udp(io_.natt_port, workers);
  if (!natt)
    return make_error("ipsec: UDP port " + std::to_string(io_.natt_port) + ": " + natt.error());
  auto ike = io_.open_udp(io_.ike_port, 1);
  if (!ike)
    return make_error("ipsec: UDP port " + std::to_string(io_.ike_port) + ": " + ike.error());
  const std::string ifname = (*tun)->name();
  if (auto r = io_.iface->set_mtu(ifname, cfg_.mtu); !r)
    return make_error("ipsec: " + ifname + ": set mtu: " + r.error());
  for (const auto& a : cfg_.addresses)
    if (auto r = io_.iface->add_address(ifname, a); !r)
      return make_error("ipsec: " + ifname + ": address " + a.str() + ": " + r.error());
  if (auto r = io_.iface->set_up(ifname, true); !r)
    return make_error("ipsec: " + ifname + ": up: " + r.error());

  EspDeviceConfig dc;
  dc.mtu = cfg_.mtu;
  device_ =
      std::make_unique<EspDevice>(dc, std::move(*tun), std::move(*natt), std::move(*ike), workers);
  engine_ = std::make_unique<ike::Engine>(device_->sa_sink(), device_->ike_sender());
  engine_->set_liveness_listener(
      [this](const std::string& peer, bool up, const std::string& reason) {
        up_[peer] = up;
        if (on_liveness_)
          on_liveness_(peer, up, reason);
        else
          spdlog::info("ipsec: peer {} {}{}{}", peer, up ? "up" : "down",
                       reason.empty() ? "" : ": ", reason);
      });
  peers_.clear();
  std::vector<tunnel::AllowedChange> routes;
  for (size_t i = 0; i < settings.size(); ++i) {
    const auto& s = settings[i];
    device_->sad().add_peer(s.peer);
    if (s.remote.valid()) device_->sa_sink().set_endpoint(s.peer, s.remote);
    if (auto r = engine_->add_peer(s); !r) {
      engine_.reset();
      device_.reset();
      return make_error("ipsec: peer " + s.name + ": " + r.error());
    }
    peers_[s.name] = s.peer;
    for (const auto& p : cfg_.peers[i].allowed_ips)
      routes.push_back({tunnel::AllowedChange::Op::Add, s.peer, p, tunnel::AllowedOrigin::Static});
    std::fill(settings[i].psk.begin(), settings[i].psk.end(), 0);
  }
  device_->routes().apply(routes);
  // Installed before the workers run, so they never see it change.
  device_->set_ike_notify([this] { wake_from_worker(); });
  if (io_.threads) device_->start();
  ifindex_ = io_.ifindex(ifname);
  publish_view();
  spdlog::info("ipsec {}: IKE on UDP {} and {}, {} peer(s), {} worker(s)", ifname, io_.ike_port,
               io_.natt_port, peers_.size(), device_->workers());
  return {};
}

void IpsecTunnel::stop() {
  if (!device_) return;
  for (const auto& [name, idx] : peers_) engine_->remove_peer(name);  // Delete (RFC 7296 §1.4.1)
  if (timer_) timer_->cancel();
  ike500_.reset();  // closes the dup; a pending wait completes with operation_aborted
  device_->stop();
  engine_.reset();
  device_.reset();
  peers_.clear();
  up_.clear();
  ifindex_ = 0;
  publish_view();
}

void IpsecTunnel::wake_from_worker() {
  asio::io_context* io = loop_.load(std::memory_order_acquire);
  if (io == nullptr) return;  // not driven (tests): the caller polls
  // Run the engine soon, once per burst of datagrams.
  auto pending = wake_pending_;
  if (pending->exchange(true)) return;
  std::weak_ptr<int> alive = alive_;
  asio::post(*io, [this, pending, alive] {
    pending->store(false);
    if (alive.lock() && device_) poll_ike(ike::Clock::now());
  });
}

void IpsecTunnel::drive(asio::io_context& io) {
  loop_.store(&io, std::memory_order_release);
  timer_ = std::make_unique<asio::steady_timer>(io);
  if (device_ && device_->ike500_fd() >= 0) {
    ike500_ = std::make_unique<asio::posix::stream_descriptor>(io, ::dup(device_->ike500_fd()));
    wait_ike500();
  }
  arm_timer();
}

void IpsecTunnel::wait_ike500() {
  ike500_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const std::error_code& ec) {
    if (ec || !device_ || !ike500_) return;
    poll_ike(ike::Clock::now());
    wait_ike500();
  });
}

void IpsecTunnel::arm_timer() {
  if (!timer_) return;
  timer_->expires_after(kTick);
  timer_->async_wait([this](const std::error_code& ec) {
    if (ec || !device_) return;
    const auto now = ike::Clock::now();
    poll_ike(now);
    tick(now);
    arm_timer();
  });
}

void IpsecTunnel::poll_ike(ike::TimePoint now) {
  if (!device_) return;
  device_->drain_ike([&](std::span<const uint8_t> msg, const tunnel::UdpEndpoint& from, bool natt) {
    engine_->on_datagram(msg, from, natt, now);
  });
}

void IpsecTunnel::tick(ike::TimePoint now) {
  if (engine_) engine_->tick(now);
  publish_view();
}

std::optional<tunnel::PeerIndex> IpsecTunnel::peer_id(const std::string& name) const {
  auto it = peers_.find(name);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

bool IpsecTunnel::peer_up(const std::string& name) const {
  auto it = up_.find(name);
  return it != up_.end() && it->second;
}

size_t IpsecTunnel::apply_learned(std::span<const tunnel::LearnedChange> changes) {
  if (!device_) return 0;
  std::vector<tunnel::AllowedChange> ch;
  for (const auto& c : changes)
    ch.push_back({c.add ? tunnel::AllowedChange::Op::Add : tunnel::AllowedChange::Op::Remove,
                  c.peer, c.prefix, tunnel::AllowedOrigin::Learned});
  return device_->routes().apply(ch);
}

void IpsecTunnel::publish_view() {
  tunnel::View v;
  v.ifindex = ifindex_;
  v.max_ecmp_peers = tunnel::kMaxEcmpPeers;
  for (const auto& pc : cfg_.peers) {
    auto id = peers_.find(pc.name);
    if (id == peers_.end()) continue;
    tunnel::PeerView p;
    p.id = id->second;
    p.name = pc.name;
    p.allowed_ips = pc.allowed_ips;
    if (pc.endpoint) p.endpoint = pc.endpoint->addr;
    v.peers.push_back(std::move(p));
  }
  if (v == view_) return;
  view_ = std::move(v);
  if (on_view_) on_view_(view_);
}

nlohmann::json IpsecTunnel::show(ike::TimePoint now) const {
  using nlohmann::json;
  json out;
  out["kind"] = "ipsec";
  out["interface"] = cfg_.interface;
  out["running"] = device_ != nullptr;
  json peers = json::array();
  if (device_) {
    out["drops"] = device_->sad().drops().json();
    out["keepalives"] = device_->keepalives();
    out["ike_queue_drops"] = device_->ike_queue_drops();
    out["install_failures"] = device_->sad().install_failures();  // pairs with bad keys
    Sad::Reader r(device_->sad());
    for (const auto& [name, idx] : peers_) {
      json p = device_->sad().show_peer(idx);
      p["name"] = name;
      p["kind"] = "ipsec";
      p["up"] = peer_up(name);
      p["ike"] = engine_->show_peer(name, now);
      if (const PeerSad* ps = r.peer(idx)) {
        p["rx_bytes"] = ps->counters.rx_bytes.load();
        p["tx_bytes"] = ps->counters.tx_bytes.load();
        p["rx_packets"] = ps->counters.rx_packets.load();
        p["tx_packets"] = ps->counters.tx_packets.load();
      }
      json st = json::array(), le = json::array();
      for (const auto& x : device_->routes().prefixes_of(idx, tunnel::AllowedOrigin::Static))
        st.push_back(x.str());
      for (const auto& x : device_->routes().prefixes_of(idx, tunnel::AllowedOrigin::Learned))
        le.push_back(x.str());
      p["allowed_ips"] = st;
      p["learned_ips"] = le;
      peers.push_back(std::move(p));
    }
  }
  out["peers"] = peers;
  return out;
}

Result<void> IpsecTunnel::clear(const std::string& name, bool hard) {
  if (!engine_) return make_error("ipsec: not running");
  if (!peers_.count(name)) return make_error("ipsec: no peer " + name);
  return engine_->clear(name, hard);
}

}  // namespace ferry::ipsec
