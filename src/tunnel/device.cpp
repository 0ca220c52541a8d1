#include "tunnel/device.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/log.hpp"
#include "tunnel/tun_offload.hpp"

namespace ferry::tunnel {

namespace {
constexpr size_t kBatch = 64;      // packets per TUN batch
constexpr size_t kRecvBatch = 32;  // datagrams (or GRO buffers) per UDP batch
constexpr size_t kMaxGsoBytes = 65000;
constexpr size_t kMaxGsoSegments = 64;

std::string key_str(const Key& k) {
  return std::string(k.begin(), k.end());
}
}  // namespace

// One configured peer. Owned by shared_ptr: the peer list snapshot, the index
// table and in-flight batches keep it alive after removal.
struct Device::Peer {
  Peer(PeerIndex i, const DevicePeerConfig& pc, const StaticIdentity& id, TimerConfig tc)
      : index(i),
        name(pc.name),
        public_key(pc.public_key),
        state(id, pc.public_key, pc.preshared_key, tc),
        endpoint(pc.endpoint),
        keepalive(pc.persistent_keepalive) {
    std::lock_guard l(state.timers_mutex());
    state.timers().set_persistent_keepalive(std::chrono::seconds(pc.persistent_keepalive));
  }
  std::optional<UdpEndpoint> get_endpoint() const {
    std::lock_guard l(ep_mu);
    return endpoint;
  }
  void set_endpoint(const UdpEndpoint& e) {
    std::lock_guard l(ep_mu);
    endpoint = e;
  }

  const PeerIndex index;
  const std::string name;
  const Key public_key;
  PeerState state;
  mutable std::mutex ep_mu;
  std::optional<UdpEndpoint> endpoint;  // guarded by ep_mu; updated by roaming
  std::mutex staged_mu;
  std::deque<std::vector<uint8_t>> staged;  // guarded by staged_mu
  std::atomic<bool> want_handshake{false};  // set by workers, cleared by the handshake thread
  std::atomic<bool> want_flush{false};      // responder session confirmed: send staged packets
  uint32_t pending_index = 0;               // handshake thread: index of our in-flight initiation
  std::atomic<uint16_t> keepalive;
  std::atomic<uint64_t> rx_bytes{0}, tx_bytes{0}, rx_packets{0}, tx_packets{0};
  std::atomic<uint64_t> handshakes{0};
  DropCounters drops;
};

// Per-worker buffers and caches; touched only by its own thread.
struct Device::Worker {
  struct TxItem {
    size_t off, len;
    Peer* peer;
    UdpEndpoint to;
  };
  // A peer/keypair used in the current batch, accounted once at its end. Owning
  // references (one per distinct keypair per batch, not per packet): the receive
  // cache moving to another index, a rekey or a peer removal may otherwise drop
  // the last reference before the accounting runs.
  struct Touched {
    std::shared_ptr<Peer> peer;
    std::shared_ptr<Keypair> kp;
    bool data;
  };
  TunQueue* tun = nullptr;
  UdpSocket* udp = nullptr;
  bool vnet = false;            // TUN offloads on: reads/writes carry a virtio_net_hdr
  size_t max_segs = 0;          // most packets one GSO read can expand into
  std::vector<uint8_t> gso_in;  // one TUN read (header + up to 64 KiB)
  TcpCoalescer gro;             // inbound TCP segments -> one TUN write
  std::vector<uint8_t> txbuf;
  std::vector<TxItem> items;
  std::vector<UdpSend> sends;
  std::vector<uint8_t> rxbuf;
  size_t rx_slot = 0;
  std::vector<UdpRecv> recvs;
  std::vector<Touched> touched;
  std::shared_ptr<const PeerList> peers;
  uint64_t peers_gen = ~uint64_t{0};
  std::optional<CryptokeyReader> routes;
  // Receive cache: last receiver index -> peer/keypair, valid while index_gen is unchanged.
  uint32_t cached_idx = 0;
  uint64_t cached_gen = ~uint64_t{0};
  std::shared_ptr<Peer> cached_peer;
  std::shared_ptr<Keypair> cached_kp;
};

Device::Device(DeviceConfig cfg, std::unique_ptr<TunDevice> tun, std::unique_ptr<UdpTransport> udp,
               size_t workers)
    : cfg_(cfg),
      identity_(StaticIdentity::from_private(cfg.private_key)),
      tun_(std::move(tun)),
      udp_(std::move(udp)),
      time_(cfg.time ? cfg.time : &system_time()),
      cookie_checker_(identity_.public_key, cfg.timers) {
  peers_.store(std::make_shared<const PeerList>());
  workers = std::max<size_t>(1, std::min({workers, tun_->queue_count(), udp_->socket_count()}));
  size_t read_cap = (cfg_.mtu + 15) / 16 * 16 + 64;
  for (size_t i = 0; i < workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->tun = &tun_->queue(i);
    w->udp = &udp_->socket(i);
    w->vnet = w->tun->vnet_hdr();
    size_t slot = read_cap + 2 * kTransportHeaderSize + kAeadTagSize;
    w->max_segs = 65535 / std::max<size_t>(1, cfg_.mtu > 100 ? cfg_.mtu - 80 : 20) + 2;
    w->txbuf.resize((kBatch + (w->vnet ? w->max_segs : 0)) * slot);
    if (w->vnet) w->gso_in.resize(VnetHdr::kSize + 65536);
    w->rx_slot = udp_->gro() ? 65536 : read_cap + 2 * kTransportHeaderSize + kAeadTagSize;
    w->rxbuf.resize(kRecvBatch * w->rx_slot);
    w->recvs.resize(kRecvBatch);
    w->routes.emplace(routes_);
    workers_.push_back(std::move(w));
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
  PeerIndex idx = static_cast<PeerIndex>(next.size());  // never reused: stale snapshots stay safe
  next.push_back(std::make_shared<Peer>(idx, pc, identity_, cfg_.timers));
  peer_by_key_[key_str(pc.public_key)] = idx;
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
    next[p] = nullptr;
    peer_by_key_.erase(key_str(victim->public_key));
    publish_peers(std::move(next));
  }
  routes_.remove_peer(p);
  {
    std::unique_lock l(index_mu_);
    std::erase_if(index_, [&](const auto& kv) { return kv.second == victim; });
    index_gen_.fetch_add(1);
  }
  victim->state.keypairs().clear();  // the index entries went with the peer above
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
  if (auto peer = peer_at(*peers_.load(), p)) peer->set_endpoint(e);
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
    s.endpoint = p->get_endpoint();
    {
      std::lock_guard l(p->state.timers_mutex());
      if (auto t = p->state.timers().last_handshake()) {
        auto wall = wall_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   steady_now - *t);
        s.last_handshake_unix =
            std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count();
      }
    }
    s.rx_bytes = p->rx_bytes.load();
    s.tx_bytes = p->tx_bytes.load();
    s.rx_packets = p->rx_packets.load();
    s.tx_packets = p->tx_packets.load();
    s.handshakes = p->handshakes.load();
    s.persistent_keepalive = p->keepalive.load();
    for (size_t i = 0; i < s.drops.size(); ++i) s.drops[i] = p->drops.v[i].load();
    out.push_back(std::move(s));
  }
  return out;
}

void Device::start() {
  if (running_.exchange(true)) return;
  for (size_t i = 0; i < workers_.size(); ++i) threads_.emplace_back([this, i] { worker_loop(i); });
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
  Worker& w = *workers_[i];
  pollfd fds[3] = {{w.tun->fd(), POLLIN, 0}, {w.udp->fd(), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  while (running_.load(std::memory_order_relaxed)) {
    size_t a = tun_step(i);
    size_t b = udp_step(i);
    if (a == 0 && b == 0) ::poll(fds, 3, 1000);
  }
}

void Device::handshake_loop() {
  while (running_.load()) {
    auto now = time_->now();
    handshake_step(now);
    // Sleep until the earliest timer deadline or until woken by a message/request.
    auto deadline = now + std::chrono::milliseconds(250);
    // Hold the snapshot: a range-for over *peers_.load() would destroy the
    // temporary shared_ptr (and maybe the list) before the loop body runs.
    const auto peers = peers_.load();
    for (const auto& p : *peers) {
      if (!p) continue;
      if (auto d = p->state.next_deadline()) deadline = std::min(deadline, *d);
    }
    std::unique_lock l(hs_mu_);
    hs_cv_.wait_until(l, std::max(deadline, now + std::chrono::milliseconds(1)),
                      [&] { return hs_wakeup_ || !hs_queue_.empty(); });
  }
}

// ---------------------------------------------------------------- index table

uint32_t Device::allocate_index(const std::shared_ptr<Peer>& p) {
  std::unique_lock l(index_mu_);
  for (;;) {
    uint32_t idx = system_rng().u32();
    if (idx == 0 || index_.count(idx)) continue;
    index_.emplace(idx, p);
    return idx;
  }
}

void Device::free_index(uint32_t idx) {
  if (idx == 0) return;
  std::unique_lock l(index_mu_);
  index_.erase(idx);
  index_gen_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<Device::Peer> Device::find_index(uint32_t idx) const {
  std::shared_lock l(index_mu_);
  auto it = index_.find(idx);
  return it == index_.end() ? nullptr : it->second;
}

void Device::free_dropped(const KeypairSet::Dropped& d) {
  for (const auto& kp : d.kps)
    if (kp) free_index(kp->local_index());
}

// ---------------------------------------------------------------- outbound

void Device::stage(Peer& p, std::span<const uint8_t> pkt) {
  std::lock_guard l(p.staged_mu);
  if (p.staged.size() >= cfg_.staged_per_peer) {
    p.drops.add(Drop::QueueFull);
    return;
  }
  p.staged.emplace_back(pkt.begin(), pkt.end());
}

void Device::request_handshake(Peer& p) {
  if (p.want_handshake.exchange(true)) return;
  wake_handshake_thread();
}

void Device::request_flush(Peer& p) {
  if (p.want_flush.exchange(true)) return;
  wake_handshake_thread();
}

void Device::wake_handshake_thread() {
  {
    std::lock_guard l(hs_mu_);
    hs_wakeup_ = true;
  }
  hs_cv_.notify_one();
}

size_t Device::tun_step(size_t wi) {
  Worker& w = *workers_[wi];
  auto now = time_->now();
  if (peers_gen_.load(std::memory_order_acquire) != w.peers_gen) {
    w.peers_gen = peers_gen_.load(std::memory_order_acquire);
    w.peers = peers_.load(std::memory_order_acquire);
  }
  w.routes->refresh();
  const CryptokeySnapshot& routes = w.routes->get();
  const size_t read_cap = (cfg_.mtu + 15) / 16 * 16 + 64;
  const size_t slot = read_cap + 2 * kTransportHeaderSize + kAeadTagSize;
  const Duration reject = cfg_.timers.reject_after_time();
  w.items.clear();
  w.touched.clear();
  size_t used = 0, nread = 0;
  Peer* last_peer = nullptr;
  std::shared_ptr<Keypair> kp;
  std::optional<UdpEndpoint> ep;
  // Encrypts the plaintext packet at at[16 : 16+n] in place; consumes the slot on success.
  auto process = [&](uint8_t* at, size_t n) {
    std::span<const uint8_t> pkt(at + kTransportHeaderSize, n);
    InnerPacket ip;
    if (!parse_inner(pkt, ip)) {
      drops_.add(Drop::BadPacket);
      return;
    }
    PeerIndex pi = routes.route_out(ip, pkt);  // ECMP prefixes: by flow hash
    // w.peers (this batch's snapshot) keeps p alive until tun_step returns.
    Peer* p = pi == kNoPeer || pi >= w.peers->size() ? nullptr : (*w.peers)[pi].get();
    if (p == nullptr) {
      drops_.add(Drop::NoPeer);
      return;
    }
    if (p != last_peer) {
      last_peer = p;
      kp = p->state.keypairs().current();
      ep = p->get_endpoint();
      bool seen = false;
      for (auto& t : w.touched) seen = seen || t.peer.get() == p;
      if (!seen) w.touched.push_back({(*w.peers)[pi], kp, true});
    }
    if (!ep) {
      p->drops.add(Drop::NoEndpoint);
      return;
    }
    std::optional<size_t> len;
    if (kp) len = kp->encrypt(pkt, {at, slot}, cfg_.mtu, now, reject);
    if (!len) {
      stage(*p, pkt);
      request_handshake(*p);
      kp = nullptr;
      return;
    }
    w.items.push_back({used, *len, p, *ep});
    used += *len;  // back to back, so equal-size runs can leave as one UDP GSO buffer
  };
  // With offloads one read may expand into up to max_segs packets: keep room for them.
  const size_t reserve = w.vnet ? slot * (w.max_segs + 1) : slot;
  while (nread < kBatch && w.txbuf.size() - used >= reserve) {
    if (!w.vnet) {
      uint8_t* at = w.txbuf.data() + used;
      int n = w.tun->read({at + kTransportHeaderSize, read_cap});
      if (n <= 0) break;
      ++nread;
      process(at, static_cast<size_t>(n));
      continue;
    }
    int n = w.tun->read(w.gso_in);
    if (n <= 0) break;
    ++nread;
    if (static_cast<size_t>(n) <= VnetHdr::kSize) {
      drops_.add(Drop::BadPacket);
      continue;
    }
    VnetHdr h = VnetHdr::read(w.gso_in.data());
    std::span<uint8_t> in(w.gso_in.data() + VnetHdr::kSize,
                          static_cast<size_t>(n) - VnetHdr::kSize);
    if (h.gso_type == VnetHdr::kGsoNone) {
      if (in.size() > read_cap || !complete_checksum(in, h)) {
        drops_.add(Drop::BadPacket);
        continue;
      }
      uint8_t* at = w.txbuf.data() + used;
      std::memcpy(at + kTransportHeaderSize, in.data(), in.size());
      process(at, in.size());
      continue;
    }
    uint8_t* cur = nullptr;
    int segs = gso_split(
        in, h,
        [&](size_t len) -> uint8_t* {
          if (len > read_cap || w.txbuf.size() - used < slot) return nullptr;
          cur = w.txbuf.data() + used;
          return cur + kTransportHeaderSize;
        },
        [&](size_t len) { process(cur, len); });
    if (segs < 0) drops_.add(Drop::BadPacket);
  }
  if (!w.items.empty()) send_transport_batch(w, now);
  // keepKeyFresh on send and the timers, once per peer per batch.
  for (auto& t : w.touched) {
    if (!t.kp) continue;
    t.peer->state.on_transport_sent(1, now);
    bool rekey;
    {
      std::lock_guard l(t.peer->state.timers_mutex());
      rekey = t.peer->state.timers().should_rekey_on_send(t.kp->is_initiator(), t.kp->created(),
                                                          t.kp->send_counter(), now);
    }
    if (rekey) request_handshake(*t.peer);
  }
  w.touched.clear();  // do not pin keypairs between batches
  return nread;
}

void Device::send_transport_batch(Worker& w, TimePoint) {
  // A UDP GSO run needs messages contiguous, equal-sized (the last may be shorter)
  // and to one endpoint.
  w.sends.clear();
  const bool gso = udp_->gso();
  for (size_t i = 0; i < w.items.size();) {
    const auto& first = w.items[i];
    size_t j = i + 1, bytes = first.len;
    if (gso) {
      while (j < w.items.size() && j - i < kMaxGsoSegments && bytes + first.len <= kMaxGsoBytes &&
             w.items[j].peer == first.peer && w.items[j].to == first.to &&
             w.items[j].off == first.off + bytes && w.items[j].len <= first.len) {
        bytes += w.items[j].len;
        bool shorter = w.items[j].len < first.len;
        ++j;
        if (shorter) break;
      }
    }
    w.sends.push_back(UdpSend{{w.txbuf.data() + first.off, bytes},
                              static_cast<uint16_t>(j - i > 1 ? first.len : 0),
                              first.to});
    i = j;
  }
  int sent = w.udp->send_batch(w.sends);
  // Account per item (sends map onto consecutive item runs).
  size_t item = 0;
  for (size_t s = 0; s < w.sends.size(); ++s) {
    size_t bytes = w.sends[s].data.size();
    size_t consumed = 0;
    while (consumed < bytes && item < w.items.size()) {
      auto& it = w.items[item++];
      consumed += it.len;
      if (static_cast<int>(s) < sent) {
        it.peer->tx_bytes.fetch_add(it.len, std::memory_order_relaxed);
        it.peer->tx_packets.fetch_add(1, std::memory_order_relaxed);
      } else {
        it.peer->drops.add(Drop::SendFailed);
      }
    }
  }
}

// ---------------------------------------------------------------- inbound

std::function<void(uint8_t*, size_t)> Device::tun_writer(Worker& w) {
  return [this, &w](uint8_t* p, size_t n) {
    if (!w.tun->write({p, n})) drops_.add(Drop::SendFailed);
  };
}

size_t Device::udp_step(size_t wi) {
  Worker& w = *workers_[wi];
  auto now = time_->now();
  w.routes->refresh();
  for (size_t i = 0; i < w.recvs.size(); ++i)
    w.recvs[i].buf = {w.rxbuf.data() + i * w.rx_slot, w.rx_slot};
  int n = w.udp->recv_batch(w.recvs);
  if (n <= 0) return 0;
  w.touched.clear();
  size_t count = 0;
  for (int i = 0; i < n; ++i) {
    UdpRecv& r = w.recvs[static_cast<size_t>(i)];
    std::span<uint8_t> all = r.buf.first(std::min(r.len, r.buf.size()));
    if (all.empty()) {  // a zero-length datagram: the segment loop below would skip it
      drops_.add(Drop::TooShort);
      ++count;
      continue;
    }
    size_t seg = r.segment ? r.segment : all.size();
    for (size_t off = 0; off < all.size(); off += seg) {
      receive_datagram(w, all.subspan(off, std::min(seg, all.size() - off)), r.from, now);
      ++count;
    }
  }
  for (auto& t : w.touched) {
    KeypairSet::Dropped dropped;
    // Responder: the first message under `next` confirms the session; what we
    // staged meanwhile goes out now (wireguard-go: SendStagedPackets).
    if (t.peer->state.on_transport_received(t.kp.get(), t.data ? 1 : 0, now, &dropped)) {
      t.peer->handshakes.fetch_add(1, std::memory_order_relaxed);
      request_flush(*t.peer);
    }
    free_dropped(dropped);
    bool rekey;
    {
      std::lock_guard l(t.peer->state.timers_mutex());
      rekey = t.peer->state.timers().should_rekey_on_receive(t.kp->is_initiator(), t.kp->created(),
                                                             now);
    }
    if (rekey) request_handshake(*t.peer);
  }
  if (w.vnet) w.gro.flush(tun_writer(w));
  w.touched.clear();
  w.cached_peer.reset();  // do not pin a removed peer between batches
  w.cached_kp.reset();
  w.cached_idx = 0;
  return count;
}

void Device::receive_datagram(Worker& w, std::span<uint8_t> d, const UdpEndpoint& from,
                              TimePoint now) {
  auto type = peek_message_type(d);
  if (!type) {
    drops_.add(Drop::TooShort);
    return;
  }
  if (*type != MessageType::Transport) {
    size_t want = *type == MessageType::Initiation ? kMessageInitiationSize
                  : *type == MessageType::Response ? kMessageResponseSize
                                                   : kMessageCookieReplySize;
    if (d.size() != want) {
      drops_.add(Drop::TooShort);
      return;
    }
    std::lock_guard l(hs_mu_);
    if (hs_queue_.size() >= cfg_.handshake_queue) {
      drops_.add(Drop::QueueFull);
      return;
    }
    HsMsg& m = hs_queue_.emplace_back();
    std::memcpy(m.data.data(), d.data(), d.size());
    m.len = d.size();
    m.from = from;
    hs_cv_.notify_one();
    return;
  }
  auto view = parse_transport(d);
  if (!view) {
    drops_.add(Drop::TooShort);
    return;
  }
  uint32_t idx = view->header.receiver_index;
  uint64_t gen = index_gen_.load(std::memory_order_acquire);
  if (idx != w.cached_idx || gen != w.cached_gen || !w.cached_kp) {
    w.cached_peer = find_index(idx);
    w.cached_kp = w.cached_peer ? w.cached_peer->state.keypairs().find(idx) : nullptr;
    w.cached_idx = idx;
    w.cached_gen = gen;
    if (!w.cached_kp) {
      if (w.cached_peer)
        w.cached_peer->drops.add(Drop::NoKeypair);
      else
        drops_.add(Drop::NoKeypair);
      w.cached_idx = 0;
      return;
    }
  }
  Peer& p = *w.cached_peer;
  Keypair& kp = *w.cached_kp;
  if (!kp.replay_check(view->header.counter)) {
    p.drops.add(Drop::Replay);
    return;
  }
  auto len = kp.decrypt(*view, d.subspan(kTransportHeaderSize, view->ciphertext.size()), now,
                        cfg_.timers.reject_after_time());
  if (!len) {
    // Either authentication failed or another thread consumed the counter in between.
    p.drops.add(kp.replay_check(view->header.counter) ? Drop::DecryptFailed : Drop::Replay);
    return;
  }
  p.rx_bytes.fetch_add(d.size(), std::memory_order_relaxed);
  p.rx_packets.fetch_add(1, std::memory_order_relaxed);
  bool seen = false;
  for (auto& t : w.touched) {
    if (t.kp.get() == &kp) {
      t.data = t.data || *len > 0;
      seen = true;
    }
  }
  if (!seen) w.touched.push_back({w.cached_peer, w.cached_kp, *len > 0});
  // Roaming (whitepaper §2.1): the endpoint follows the latest authenticated packet.
  {
    std::lock_guard l(p.ep_mu);
    if (!p.endpoint || !(*p.endpoint == from)) p.endpoint = from;
  }
  if (*len == 0) return;  // keepalive
  std::span<const uint8_t> plain(d.data() + kTransportHeaderSize, *len);
  InnerPacket ip;
  if (!parse_inner(plain, ip)) {
    p.drops.add(Drop::BadPacket);
    return;
  }
  const CryptokeySnapshot& routes = w.routes->get();
  if (!routes.allows(ip, p.index)) {  // the source's match must be (or include) this peer
    p.drops.add(Drop::NotAllowedSource);
    return;
  }
  if (!w.vnet) {
    if (!w.tun->write(plain.first(ip.length))) p.drops.add(Drop::SendFailed);
    return;
  }
  // 16 bytes of transport header precede the plaintext: room for the virtio_net_hdr.
  w.gro.add(d.data() + kTransportHeaderSize, ip.length, tun_writer(w));
}

// ---------------------------------------------------------------- handshake thread

bool Device::send_raw(std::span<const uint8_t> msg, const UdpEndpoint& to) {
  UdpSend s{msg, 0, to};
  return udp_->socket(0).send_batch({&s, 1}) == 1;
}

void Device::handshake_step(TimePoint now) {
  std::deque<HsMsg> batch;
  {
    std::lock_guard l(hs_mu_);
    batch.swap(hs_queue_);
    hs_wakeup_ = false;
  }
  bool under_load = batch.size() >= std::max<size_t>(1, cfg_.handshake_queue / 8);
  for (auto& m : batch) {
    auto type = static_cast<MessageType>(m.data[0]);
    std::span<const uint8_t> msg(m.data.data(), m.len);
    if (type != MessageType::CookieReply) {
      if (!cookie_checker_.check_mac1(msg)) {
        drops_.add(Drop::BadMac);
        continue;
      }
      if (under_load) {
        auto src = CookieSource::from(m.from.addr, m.from.port);
        if (!cookie_checker_.check_mac2(msg, src, now)) {
          ByteReader r(msg);
          r.skip(4);
          uint32_t sender = r.u32_le().value_or(0);  // wireguard.com/protocol: sender_index at 4
          if (auto reply = cookie_checker_.create_reply(msg, sender, src, now)) {
            std::array<uint8_t, kMessageCookieReplySize> out;
            if (encode(*reply, out) && send_raw(out, m.from))
              cookie_sent_.fetch_add(1, std::memory_order_relaxed);
          }
          continue;
        }
        if (!rate_limiter_.allow(m.from.addr, now)) {
          drops_.add(Drop::RateLimited);
          continue;
        }
      }
    }
    handle_handshake_message(m, now);
  }
  auto peers = peers_.load();
  for (const auto& p : *peers) {
    if (!p) continue;
    KeypairSet::Dropped dropped;
    TimerActions a = p->state.poll_timers(now, &dropped);
    free_dropped(dropped);
    if (a.zero_keys && p->pending_index) {
      free_index(p->pending_index);
      p->pending_index = 0;
    }
    if (a.give_up) {
      std::lock_guard l(p->staged_mu);
      p->drops.add(Drop::QueueFull, p->staged.size());
      p->staged.clear();
    }
    if (p->want_flush.exchange(false)) flush_staged(*p, now, /*keepalive_if_empty=*/false);
    if (a.send_initiation)
      send_initiation(*p, now, a.is_retry);
    else if (p->want_handshake.exchange(false) && handshake_still_wanted(*p, now) &&
             !send_initiation(*p, now, false))
      p->want_handshake.store(true);  // deferred; handshake_loop polls at least every 250 ms
    if (a.send_keepalive) send_keepalive(*p, now);
  }
}

void Device::handle_handshake_message(HsMsg& m, TimePoint now) {
  switch (static_cast<MessageType>(m.data[0])) {
    case MessageType::Initiation:
      return handle_initiation(m, now);
    case MessageType::Response:
      return handle_response(m, now);
    case MessageType::CookieReply:
      return handle_cookie_reply(m, now);
    default:
      return;
  }
}

void Device::handle_initiation(HsMsg& m, TimePoint now) {
  auto init = parse_initiation({m.data.data(), m.len});
  if (!init) {
    drops_.add(Drop::TooShort);
    return;
  }
  std::shared_ptr<Peer> peer;
  auto peers = peers_.load();
  auto res = consume_initiation(identity_, *init, now, [&](const Key& k) -> Handshake* {
    std::lock_guard l(peers_mu_);
    auto it = peer_by_key_.find(key_str(k));
    if (it == peer_by_key_.end()) return nullptr;
    peer = peer_at(*peers, it->second);
    return peer ? &peer->state.handshake() : nullptr;
  });
  if (res.error != HandshakeError::None || !peer) {
    (peer ? peer->drops : drops_).add(Drop::HandshakeFailed);
    static RateLimitedLog rl;
    if (rl.allow())
      spdlog::debug("tunnel: initiation from {} refused: {}", m.from.str(), to_string(res.error));
    return;
  }
  uint32_t idx = allocate_index(peer);
  std::array<uint8_t, kMessageResponseSize> out;
  auto o = peer->state.write_response(idx, out, now);
  if (!o) {
    free_index(idx);
    peer->drops.add(Drop::HandshakeFailed);
    return;
  }
  peer->set_endpoint(m.from);
  if (!send_raw({out.data(), o->message_len}, m.from)) peer->drops.add(Drop::SendFailed);
  free_dropped(o->dropped);
}

void Device::handle_response(HsMsg& m, TimePoint now) {
  auto resp = parse_response({m.data.data(), m.len});
  if (!resp) {
    drops_.add(Drop::TooShort);
    return;
  }
  auto peer = find_index(resp->receiver_index);
  if (!peer || peer->pending_index != resp->receiver_index) {
    drops_.add(Drop::HandshakeFailed);
    return;
  }
  SessionOutcome o;
  HandshakeError err = peer->state.complete_as_initiator(*resp, now, &o);
  if (err != HandshakeError::None) {
    peer->drops.add(Drop::HandshakeFailed);
    return;
  }
  peer->pending_index = 0;  // now the keypair's index
  peer->handshakes.fetch_add(1, std::memory_order_relaxed);
  peer->set_endpoint(m.from);
  free_dropped(o.dropped);
  flush_staged(*peer, now, /*keepalive_if_empty=*/true);
}

void Device::handle_cookie_reply(HsMsg& m, TimePoint now) {
  auto reply = parse_cookie_reply({m.data.data(), m.len});
  if (!reply) {
    drops_.add(Drop::TooShort);
    return;
  }
  auto peer = find_index(reply->receiver_index);
  if (!peer || !peer->state.cookies().consume_reply(*reply, now)) drops_.add(Drop::BadMac);
}

bool Device::send_initiation(Peer& p, TimePoint now, bool is_retry) {
  auto ep = p.get_endpoint();
  if (!ep) {
    p.drops.add(Drop::NoEndpoint);
    return true;
  }
  if (!is_retry) {
    std::lock_guard l(p.state.timers_mutex());
    if (!p.state.timers().may_send_initiation(now)) return p.state.timers().retransmit_armed();
  }
  auto self = peer_at(*peers_.load(), p.index);
  if (!self) return true;
  if (p.pending_index) free_index(p.pending_index);
  p.pending_index = 0;
  uint32_t idx = allocate_index(self);
  std::array<uint8_t, kMessageInitiationSize> out;
  auto len = p.state.write_initiation(idx, out, now, Tai64n::from_time(time_->wall()), is_retry);
  if (!len) {
    free_index(idx);
    return true;
  }
  p.pending_index = idx;
  if (!send_raw({out.data(), *len}, *ep)) p.drops.add(Drop::SendFailed);
  return true;
}

bool Device::handshake_still_wanted(Peer& p, TimePoint now) {
  auto kp = p.state.keypairs().current();
  if (!kp) return true;
  const Duration reject = cfg_.timers.reject_after_time();
  if (now - kp->created() >= reject || kp->send_counter() >= kRejectAfterMessages) return true;
  bool staged;
  {
    std::lock_guard l(p.staged_mu);
    staged = !p.staged.empty();
  }
  if (staged) flush_staged(p, now, /*keepalive_if_empty=*/false);
  std::lock_guard l(p.state.timers_mutex());
  return p.state.timers().should_rekey_on_send(kp->is_initiator(), kp->created(),
                                               kp->send_counter(), now);
}

void Device::send_keepalive(Peer& p, TimePoint now) {
  auto kp = p.state.keypairs().current();
  auto ep = p.get_endpoint();
  if (!kp || !ep) return;
  std::array<uint8_t, kMessageTransportMinSize> out;
  auto len = kp->encrypt({}, out, cfg_.mtu, now, cfg_.timers.reject_after_time());
  if (!len) return;
  if (send_raw({out.data(), *len}, *ep)) {
    p.tx_bytes.fetch_add(*len, std::memory_order_relaxed);
    p.state.on_transport_sent(0, now);
  }
}

void Device::flush_staged(Peer& p, TimePoint now, bool keepalive_if_empty) {
  std::deque<std::vector<uint8_t>> q;
  {
    std::lock_guard l(p.staged_mu);
    q.swap(p.staged);
  }
  auto kp = p.state.keypairs().current();
  auto ep = p.get_endpoint();
  if (q.empty() || !kp || !ep) {
    if (!q.empty()) {  // no session after all: keep the packets for the next one
      std::lock_guard l(p.staged_mu);
      while (!q.empty() && p.staged.size() < cfg_.staged_per_peer) {
        p.staged.push_front(std::move(q.back()));
        q.pop_back();
      }
      if (!q.empty()) p.drops.add(Drop::QueueFull, q.size());
    }
    if (keepalive_if_empty) send_keepalive(p, now);
    return;
  }
  std::vector<uint8_t> buf(cfg_.mtu + 64 + kMessageTransportMinSize);
  size_t sent = 0;
  for (auto& pkt : q) {
    if (pkt.size() + kMessageTransportMinSize + 16 > buf.size()) buf.resize(pkt.size() + 64);
    auto len = kp->encrypt(pkt, buf, cfg_.mtu, now, cfg_.timers.reject_after_time());
    if (!len) break;
    if (send_raw({buf.data(), *len}, *ep)) {
      p.tx_bytes.fetch_add(*len, std::memory_order_relaxed);
      p.tx_packets.fetch_add(1, std::memory_order_relaxed);
      ++sent;
    }
  }
  if (sent) p.state.on_transport_sent(1, now);
}

}  // namespace ferry::tunnel
