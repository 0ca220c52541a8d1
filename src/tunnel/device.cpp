#include "tunnel/device.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "tunnel/device_peer.hpp"

namespace ferry::tunnel {

Device::Device(DeviceConfig cfg, std::unique_ptr<TunDevice> tun, std::unique_ptr<UdpTransport> udp,
               size_t workers)
    : cfg_(cfg),
      identity_(StaticIdentity::from_private(cfg.private_key)),
      tun_(std::move(tun)),
      udp_(std::move(udp)),
      time_(cfg.time ? cfg.time : &system_time()),
      cookie_checker_(identity_.public_key, cfg.timers) {
  peers_.store(std::make_shared<const PeerList>());
  path_ = std::make_unique<PacketPath>(static_cast<PacketProtocol&>(*this), *tun_, *udp_, routes_,
                                       *time_, drops_, cfg_.mtu, workers);
  path_->set_mss_clamp(cfg_.mss_clamp);
  for (size_t i = 0; i < path_->workers(); ++i) {
    tx_.push_back(std::make_unique<TxState>());
    rx_.push_back(std::make_unique<RxState>(index_));
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

Device::~Device() {
  stop();
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

// ---------------------------------------------------------------- control plane

void Device::publish_peers(PeerList l) {
  peers_.store(std::make_shared<const PeerList>(std::move(l)), std::memory_order_release);
  peers_gen_.fetch_add(1, std::memory_order_acq_rel);
}

PeerIndex Device::add_peer(const DevicePeerConfig& pc) {
  std::lock_guard l(peers_mu_);
  auto cur = peers_.load();
  PeerList next = *cur;
  PeerIndex idx(static_cast<uint32_t>(next.size()));  // never reused: stale snapshots stay safe
  next.push_back(std::make_shared<Peer>(idx, pc, identity_, cfg_.timers));
  peer_by_key_[peer_key_str(pc.public_key)] = idx;
  publish_peers(std::move(next));
  return idx;
}

void Device::remove_peer(PeerIndex p) {
  std::shared_ptr<Peer> victim;
  {
    std::lock_guard l(peers_mu_);
    auto cur = peers_.load();
    victim = peer_at(*cur, p);
    if (!victim) return;
    PeerList next = *cur;
    next[p.slot()] = nullptr;
    peer_by_key_.erase(peer_key_str(victim->public_key));
    publish_peers(std::move(next));
  }
  routes_.remove_peer(p);
  index_.remove_if([&](const IndexEntry& e) { return e.peer == victim; });
  victim->state.keypairs().clear();  // their index entries went with the peer above
  victim->state.handshake().clear();
}

std::shared_ptr<Keypair> Device::current_keypair_for_testing(PeerIndex p) const {
  auto peer = peer_at(*peers_.load(), p);
  return peer ? peer->state.keypairs().current() : nullptr;
}

bool Device::has_peer(PeerIndex p) const {
  return peer_at(*peers_.load(), p) != nullptr;
}

void Device::set_endpoint(PeerIndex p, const UdpEndpoint& e) {
  if (auto peer = peer_at(*peers_.load(), p)) peer->endpoint.store(e);
}

void Device::set_persistent_keepalive(PeerIndex p, uint16_t seconds) {
  if (auto peer = peer_at(*peers_.load(), p)) {
    peer->keepalive = seconds;
    std::lock_guard l(peer->state.timers_mutex());
    peer->state.timers().set_persistent_keepalive(std::chrono::seconds(seconds));
  }
}

void Device::set_preshared_key(PeerIndex p, const Key& psk) {
  if (auto peer = peer_at(*peers_.load(), p)) peer->state.handshake().set_preshared_key(psk);
}

std::vector<PeerStats> Device::stats() const {
  std::vector<PeerStats> out;
  auto peers = peers_.load();
  auto steady_now = time_->now();
  auto wall_now = time_->wall();
  for (const auto& p : *peers) {
    if (!p) continue;
    PeerStats s;
    s.index = p->index;
    s.name = p->name;
    s.public_key = p->public_key;
    s.endpoint = p->endpoint.load();
    {
      std::lock_guard l(p->state.timers_mutex());
      const auto& timers = p->state.timers();
      s.handshake_in_flight = timers.retransmit_armed();
      s.handshake_retries = timers.handshake_attempts();
      if (auto t = timers.last_handshake()) {
        s.since_handshake = steady_now - *t;
        auto wall = wall_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   steady_now - *t);
        s.last_handshake_unix =
            std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count();
      }
    }
    s.rx_bytes = p->counters.rx_bytes.load();
    s.tx_bytes = p->counters.tx_bytes.load();
    s.rx_packets = p->counters.rx_packets.load();
    s.tx_packets = p->counters.tx_packets.load();
    s.handshakes = p->handshakes.load();
    s.persistent_keepalive = p->keepalive.load();
    for (size_t i = 0; i < s.drops.size(); ++i) s.drops[i] = p->counters.drops.v[i].load();
    out.push_back(std::move(s));
  }
  return out;
}

void Device::start() {
  if (running_.exchange(true)) return;
  for (size_t i = 0; i < path_->workers(); ++i)
    threads_.emplace_back([this, i] { worker_loop(i); });
  threads_.emplace_back([this] { handshake_loop(); });
}

void Device::stop() {
  if (!running_.exchange(false)) return;
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(stop_fd_, &one, sizeof(one));
  {
    std::lock_guard l(hs_mu_);
    hs_wakeup_ = true;
  }
  hs_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Device::worker_loop(size_t i) {
  while (running_.load(std::memory_order_relaxed)) {
    size_t a = path_->tun_step(i);
    size_t b = path_->udp_step(i);
    if (a == 0 && b == 0) {
      worker_idle(i);
      path_->wait(i, stop_fd_);
    }
  }
}

}  // namespace ferry::tunnel
