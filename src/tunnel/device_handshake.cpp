// The handshake thread: everything of the WireGuard protocol that is not
// per packet (wireguard-go: noise-protocol.go, timers.go, send.go's
// handshake half).
//
// Workers hand it handshake messages (types 1-3, copied into a bounded queue)
// and requests (a peer wants a handshake; a responder's session was confirmed
// and its staged packets may go). Each step it drains the queue: mac1 is
// checked, and when the queue is longer than 1/8 of its capacity ("under
// load", whitepaper §5.3) a message without a valid mac2 gets a cookie reply
// instead and each source is rate limited. Initiations and responses go
// through PeerState; every receiver index it hands out is published in the
// index table before the message that names it leaves. Then it runs each
// peer's timers (retransmits, keepalives, key expiry, retired keypairs) and
// the requests.
#include <algorithm>

#include "common/log.hpp"
#include "tunnel/device_peer.hpp"

namespace ferry::tunnel {

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
      index_.free(p->pending_index);
      p->pending_index = 0;
    }
    if (a.give_up) {
      std::lock_guard l(p->staged_mu);
      p->counters.drops.add(Drop::QueueFull, p->staged.size());
      p->staged.clear();
    }
    if (p->want_flush.exchange(false)) flush_staged(*p, now, /*keepalive_if_empty=*/false);
    if (a.send_initiation)
      send_initiation(*p, now, a.is_retry);
    else if (p->want_handshake.exchange(false) && handshake_still_wanted(*p, now) &&
             send_initiation(*p, now, false) == Initiation::Deferred)
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
    auto it = peer_by_key_.find(peer_key_str(k));
    if (it == peer_by_key_.end()) return nullptr;
    peer = peer_at(*peers, it->second);
    return peer ? &peer->state.handshake() : nullptr;
  });
  if (res.error != HandshakeError::None || !peer) {
    (peer ? peer->counters.drops : drops_).add(Drop::HandshakeFailed);
    static RateLimitedLog rl;
    if (rl.allow())
      spdlog::debug("tunnel: initiation from {} refused: {}", m.from.str(), to_string(res.error));
    return;
  }
  uint32_t idx = index_.allocate({peer, nullptr});
  std::array<uint8_t, kMessageResponseSize> out;
  auto o = peer->state.write_response(idx, out, now);
  if (!o) {
    index_.free(idx);
    peer->counters.drops.add(Drop::HandshakeFailed);
    return;
  }
  // Published before the response leaves: the initiator's first message under
  // the new keypair may follow at once.
  index_.set(idx, {peer, o->keypair});
  peer->endpoint.store(m.from);
  if (!send_raw({out.data(), o->message_len}, m.from)) peer->counters.drops.add(Drop::SendFailed);
  free_dropped(o->dropped);
}

void Device::handle_response(HsMsg& m, TimePoint now) {
  auto resp = parse_response({m.data.data(), m.len});
  if (!resp) {
    drops_.add(Drop::TooShort);
    return;
  }
  auto peer = index_.find(resp->receiver_index).peer;
  if (!peer || peer->pending_index != resp->receiver_index) {
    drops_.add(Drop::HandshakeFailed);
    return;
  }
  SessionOutcome o;
  HandshakeError err = peer->state.complete_as_initiator(*resp, now, &o);
  if (err != HandshakeError::None) {
    peer->counters.drops.add(Drop::HandshakeFailed);
    return;
  }
  index_.set(resp->receiver_index, {peer, o.keypair});
  peer->pending_index = 0;  // now the keypair's index
  peer->handshakes.fetch_add(1, std::memory_order_relaxed);
  peer->endpoint.store(m.from);
  free_dropped(o.dropped);
  flush_staged(*peer, now, /*keepalive_if_empty=*/true);
}

void Device::handle_cookie_reply(HsMsg& m, TimePoint now) {
  auto reply = parse_cookie_reply({m.data.data(), m.len});
  if (!reply) {
    drops_.add(Drop::TooShort);
    return;
  }
  auto peer = index_.find(reply->receiver_index).peer;
  if (!peer || !peer->state.cookies().consume_reply(*reply, now)) drops_.add(Drop::BadMac);
}

Device::Initiation Device::send_initiation(Peer& p, TimePoint now, bool is_retry) {
  auto ep = p.endpoint.load();
  if (!ep) {
    p.counters.drops.add(Drop::NoEndpoint);
    return Initiation::Sent;  // nothing to retry until an endpoint is known
  }
  if (!is_retry) {
    std::lock_guard l(p.state.timers_mutex());
    if (!p.state.timers().may_send_initiation(now))
      return p.state.timers().retransmit_armed() ? Initiation::Sent : Initiation::Deferred;
  }
  auto self = peer_at(*peers_.load(), p.index);
  if (!self) return Initiation::Sent;  // removed meanwhile
  if (p.pending_index) index_.free(p.pending_index);
  p.pending_index = 0;
  uint32_t idx = index_.allocate({self, nullptr});
  std::array<uint8_t, kMessageInitiationSize> out;
  auto len = p.state.write_initiation(idx, out, now, Tai64n::from_time(time_->wall()), is_retry);
  if (!len) {
    index_.free(idx);
    p.counters.drops.add(Drop::HandshakeFailed);
    return Initiation::Sent;
  }
  p.pending_index = idx;
  if (!send_raw({out.data(), *len}, *ep)) p.counters.drops.add(Drop::SendFailed);
  return Initiation::Sent;
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
  auto ep = p.endpoint.load();
  if (!kp || !ep) return;
  std::array<uint8_t, kMessageTransportMinSize> out;
  auto len = kp->encrypt({}, out, cfg_.mtu, now, cfg_.timers.reject_after_time());
  if (!len) return;
  if (send_raw({out.data(), *len}, *ep)) {
    p.counters.tx_bytes.fetch_add(*len, std::memory_order_relaxed);
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
  auto ep = p.endpoint.load();
  if (q.empty() || !kp || !ep) {
    if (!q.empty()) {  // no session after all: keep the packets for the next one
      std::lock_guard l(p.staged_mu);
      while (!q.empty() && p.staged.size() < cfg_.staged_per_peer) {
        p.staged.push_front(std::move(q.back()));
        q.pop_back();
      }
      if (!q.empty()) p.counters.drops.add(Drop::QueueFull, q.size());
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
      p.counters.tx_bytes.fetch_add(*len, std::memory_order_relaxed);
      p.counters.tx_packets.fetch_add(1, std::memory_order_relaxed);
      ++sent;
    }
  }
  if (sent) p.state.on_transport_sent(1, now);
}

void Device::free_dropped(const KeypairSet::Dropped& d) {
  for (const auto& kp : d.kps)
    if (kp) index_.free(kp->local_index());
}

}  // namespace ferry::tunnel
