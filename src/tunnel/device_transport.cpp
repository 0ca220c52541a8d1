// WireGuard's part of the per-packet data path: the PacketProtocol that the
// shared PacketPath calls from the workers.
//
// Outbound (seal): the routed peer's current keypair encrypts the packet in
// place into a type-4 transport message (wireguard.com/protocol, "Subsequent
// Messages: Exchange of Data Packets"). A peer without a usable keypair gets
// the packet copied into its bounded staging queue and a handshake request.
// tx_end runs keepKeyFresh once per peer per batch (whitepaper §6.2).
//
// Inbound (open): a transport message is looked up by receiver index in the
// worker's snapshot of the index table (peer and keypair, no lock), checked
// against the keypair's lock-free replay window, decrypted in place, and the
// peer's endpoint follows it (roaming, whitepaper §2.1). Handshake messages
// are copied into the handshake thread's queue. rx_end confirms a responder's
// new session on its first message (whitepaper §5.4.6) and runs keepKeyFresh
// on receive.
#include <cstring>

#include "tunnel/device_peer.hpp"

namespace ferry::tunnel {

// ---------------------------------------------------------------- outbound

void Device::tx_begin(size_t wi, TimePoint) {
  TxState& t = *tx_[wi];
  const uint64_t gen = peers_gen_.load(std::memory_order_acquire);
  if (gen != t.peers_gen || !t.peers) {
    t.peers_gen = gen;
    t.peers = peers_.load(std::memory_order_acquire);
  }
  t.touched.clear();
  t.last_peer = nullptr;
  t.kp.reset();
}

PacketProtocol::Sealed Device::seal(size_t wi, PeerIndex pi, std::span<uint8_t> msg,
                                    size_t plain_len, TimePoint now) {
  TxState& t = *tx_[wi];
  // t.peers (this batch's snapshot) keeps p alive until tx_end.
  Peer* p = pi.slot() < t.peers->size() ? (*t.peers)[pi.slot()].get() : nullptr;
  if (p == nullptr) {
    drops_.add(Drop::NoPeer);
    return {};
  }
  if (p != t.last_peer) {
    t.last_peer = p;
    t.kp = p->state.keypairs().current();
    t.ep = p->endpoint.load();
    bool seen = false;
    for (auto& x : t.touched) seen = seen || x.peer.get() == p;
    if (!seen) t.touched.push_back({(*t.peers)[pi.slot()], t.kp, true});
  }
  if (!t.ep) {
    p->counters.drops.add(Drop::NoEndpoint);
    return {};
  }
  std::span<const uint8_t> pkt(msg.data() + kTransportHeaderSize, plain_len);
  std::optional<size_t> len;
  if (t.kp) len = t.kp->encrypt(pkt, msg, cfg_.mtu, now, cfg_.timers.reject_after_time());
  if (!len) {
    stage(*p, pkt);
    request_handshake(*p);
    t.kp = nullptr;
    return {};
  }
  return {*len, &p->counters, *t.ep};
}

void Device::tx_end(size_t wi, TimePoint now) {
  TxState& t = *tx_[wi];
  // keepKeyFresh on send and the timers, once per peer per batch.
  for (auto& x : t.touched) {
    if (!x.kp) continue;
    x.peer->state.on_transport_sent(1, now);
    bool rekey;
    {
      std::lock_guard l(x.peer->state.timers_mutex());
      rekey = x.peer->state.timers().should_rekey_on_send(x.kp->is_initiator(), x.kp->created(),
                                                          x.kp->send_counter(), now);
    }
    if (rekey) request_handshake(*x.peer);
  }
  t.touched.clear();  // do not pin keypairs between batches
  t.last_peer = nullptr;
  t.kp.reset();
}

void Device::stage(Peer& p, std::span<const uint8_t> pkt) {
  std::lock_guard l(p.staged_mu);
  if (p.staged.size() >= cfg_.staged_per_peer) {
    p.counters.drops.add(Drop::QueueFull);
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

// ---------------------------------------------------------------- inbound

void Device::rx_begin(size_t wi, TimePoint) {
  RxState& r = *rx_[wi];
  r.index.refresh();
  r.touched.clear();
}

PacketProtocol::Opened Device::open(size_t wi, std::span<uint8_t> d, const UdpEndpoint& from,
                                    TimePoint now) {
  RxState& r = *rx_[wi];
  auto type = peek_message_type(d);
  if (!type) {
    drops_.add(Drop::TooShort);
    return {};
  }
  if (*type != MessageType::Transport) {
    queue_handshake_message(d, from);
    return {};
  }
  auto view = parse_transport(d);
  if (!view) {
    drops_.add(Drop::TooShort);
    return {};
  }
  const IndexEntry* e = r.index.find(view->header.receiver_index);
  if (e == nullptr || !e->kp) {  // unknown, or a handshake still in flight
    (e ? e->peer->counters.drops : drops_).add(Drop::NoKeypair);
    return {};
  }
  Peer& p = *e->peer;
  Keypair& kp = *e->kp;
  if (!kp.replay_check(view->header.counter)) {
    p.counters.drops.add(Drop::Replay);
    return {};
  }
  auto len = kp.decrypt(*view, d.subspan(kTransportHeaderSize, view->ciphertext.size()), now,
                        cfg_.timers.reject_after_time());
  if (!len) {
    // Either authentication failed or another worker took the counter in between.
    p.counters.drops.add(kp.replay_check(view->header.counter) ? Drop::DecryptFailed
                                                               : Drop::Replay);
    return {};
  }
  p.counters.rx_bytes.fetch_add(d.size(), std::memory_order_relaxed);
  p.counters.rx_packets.fetch_add(1, std::memory_order_relaxed);
  bool seen = false;
  for (auto& t : r.touched) {
    if (t.kp.get() == &kp) {
      t.data = t.data || *len > 0;
      seen = true;
    }
  }
  if (!seen) r.touched.push_back({e->peer, e->kp, *len > 0});
  // Roaming (whitepaper §2.1): the endpoint follows the latest authenticated packet.
  p.endpoint.update(from);
  return {*len, p.index, &p.counters};  // len 0: keepalive
}

void Device::rx_end(size_t wi, TimePoint now) {
  RxState& r = *rx_[wi];
  for (auto& t : r.touched) {
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
  r.touched.clear();
}

void Device::queue_handshake_message(std::span<const uint8_t> d, const UdpEndpoint& from) {
  const auto type = static_cast<MessageType>(d[0]);
  size_t want = type == MessageType::Initiation ? kMessageInitiationSize
                : type == MessageType::Response ? kMessageResponseSize
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
}

void Device::worker_idle(size_t wi) {
  // Idle workers hold no peer or keypair (a removed peer's keys are wiped
  // when the last reference goes); the next batch reloads the snapshots.
  rx_[wi]->index.release();
  tx_[wi]->peers.reset();
}

}  // namespace ferry::tunnel
