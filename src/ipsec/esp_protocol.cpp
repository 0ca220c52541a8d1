#include "ipsec/esp_protocol.hpp"

#include <cstring>

namespace ferry::ipsec {

namespace {
uint64_t to_ns(tunnel::TimePoint t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}
}  // namespace

bool IkeInbox::push(std::span<const uint8_t> msg, const tunnel::UdpEndpoint& from) {
  {
    std::lock_guard l(mu_);
    if (q_.size() >= capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    q_.push_back({std::vector<uint8_t>(msg.begin(), msg.end()), from});
  }
  if (notify_) notify_();
  return true;
}

std::deque<IkeInbox::Datagram> IkeInbox::drain() {
  std::lock_guard l(mu_);
  return std::exchange(q_, {});
}

EspProtocol::EspProtocol(Sad& sad, IkeInbox& ike, tunnel::DropCounters& drops, size_t workers)
    : sad_(sad), ike_(ike), drops_(drops) {
  for (size_t i = 0; i < std::max<size_t>(1, workers); ++i)
    workers_.push_back(std::make_unique<Worker>(sad));
}

EspProtocol::~EspProtocol() = default;

tunnel::PacketProtocol::Opened EspProtocol::drop(PeerSad* p, EspDrop why, tunnel::Drop generic) {
  if (p) {
    p->drops.add(why);
    p->counters.drops.add(generic);
  } else {
    sad_.drops().add(why);
    drops_.add(generic);
  }
  return {};
}

// ---------------------------------------------------------------- outbound

void EspProtocol::tx_begin(size_t wi, tunnel::TimePoint) {
  workers_[wi]->tx.refresh();
}

tunnel::PacketProtocol::Sealed EspProtocol::seal(size_t wi, tunnel::PeerIndex pi,
                                                 std::span<uint8_t> msg, size_t n,
                                                 tunnel::TimePoint now) {
  const Sad::Reader& r = workers_[wi]->tx;
  PeerSad* p = r.peer(pi);
  if (!p) {
    drops_.add(tunnel::Drop::NoPeer);
    return {};
  }
  OutboundSa* sa = r.outbound(pi);
  if (!sa) {  // not established yet, or the IKE SA died: IKE (re)initiates on its own
    drop(p, EspDrop::NoSa, tunnel::Drop::NoKeypair);
    return {};
  }
  auto to = p->remote.load();
  if (!to) {
    p->counters.drops.add(tunnel::Drop::NoEndpoint);
    return {};
  }
  const uint64_t seq = sa->last_seq.fetch_add(1, std::memory_order_relaxed) + 1;
  // RFC 4303 §3.3.3: without ESN the counter must not cycle; the SA needs a rekey.
  if (seq == 0 || (!sa->esn && seq > 0xffffffffu)) {
    drop(p, EspDrop::SeqExhausted, tunnel::Drop::NoKeypair);
    return {};
  }
  const EspCipher c = sa->crypto->cipher();
  // RFC 4303 §2.6 Next Header: the inner packet's version (the path parsed it already).
  const uint8_t nh = (msg[kHeadroom] >> 4) == 6 ? kNextHeaderIpv6 : kNextHeaderIpv4;
  if (payload_offset(c) != kHeadroom)
    std::memmove(msg.data() + payload_offset(c), msg.data() + kHeadroom, n);
  const size_t len = sa->crypto->seal(wi, seq, sa->esn, msg, n, nh);
  if (len == 0) {
    drop(p, EspDrop::Malformed, tunnel::Drop::SendFailed);
    return {};
  }
  sa->counters.used(n, to_ns(now));
  return {len, &p->counters, *to};
}

void EspProtocol::tx_end(size_t, tunnel::TimePoint) {}

// ---------------------------------------------------------------- inbound

void EspProtocol::rx_begin(size_t wi, tunnel::TimePoint) {
  workers_[wi]->rx.refresh();
}

tunnel::PacketProtocol::Opened EspProtocol::open(size_t wi, std::span<uint8_t> d,
                                                 const tunnel::UdpEndpoint& from,
                                                 tunnel::TimePoint now) {
  switch (classify_natt(d)) {
    case NattKind::kIke:
      if (!ike_.push(d.subspan(4), from)) drops_.add(tunnel::Drop::QueueFull);
      return {};
    case NattKind::kKeepalive:
      keepalives_.fetch_add(1, std::memory_order_relaxed);
      return {};
    case NattKind::kMalformed:
      return drop(nullptr, EspDrop::Malformed, tunnel::Drop::TooShort);
    case NattKind::kEsp:
      break;
  }
  auto h = parse_esp_header(d);
  if (!h) return drop(nullptr, EspDrop::Malformed, tunnel::Drop::TooShort);
  InboundSa* sa = workers_[wi]->rx.inbound(h->spi);
  if (!sa) return drop(nullptr, EspDrop::UnknownSpi, tunnel::Drop::NoKeypair);  // §3.4.2
  PeerSad* p = sa->peer.get();
  // RFC 4303 §3.4.3: the cheap check before the ICV, the window update after it.
  auto seq = sa->replay.infer(h->seq);
  if (!seq || !sa->replay.check(*seq)) {
    sa->counters.replayed.fetch_add(1, std::memory_order_relaxed);
    return drop(p, EspDrop::Replay, tunnel::Drop::Replay);
  }
  OpenError why{};
  auto o = sa->crypto->open(wi, *seq, sa->esn, d, &why);
  if (!o) {
    if (why == OpenError::kAuthFailed) {
      sa->counters.auth_failed.fetch_add(1, std::memory_order_relaxed);
      return drop(p, EspDrop::AuthFailed, tunnel::Drop::DecryptFailed);
    }
    return drop(p, EspDrop::Malformed, tunnel::Drop::TooShort);
  }
  if (!sa->replay.update(*seq)) {  // another worker took it meanwhile
    sa->counters.replayed.fetch_add(1, std::memory_order_relaxed);
    return drop(p, EspDrop::Replay, tunnel::Drop::Replay);
  }
  sa->counters.used(o->len, to_ns(now));
  p->counters.rx_bytes.fetch_add(d.size(), std::memory_order_relaxed);
  p->counters.rx_packets.fetch_add(1, std::memory_order_relaxed);
  if (o->next_header == kNextHeaderNone) return {};  // RFC 4303 §2.6 dummy packet
  if (o->next_header != kNextHeaderIpv4 && o->next_header != kNextHeaderIpv6)
    return drop(p, EspDrop::Malformed, tunnel::Drop::BadPacket);  // not tunnel mode
  const size_t off = payload_offset(sa->crypto->cipher());
  if (off != kHeadroom) std::memmove(d.data() + kHeadroom, d.data() + off, o->len);
  return {o->len, p->peer, &p->counters};
}

void EspProtocol::rx_end(size_t, tunnel::TimePoint) {}

}  // namespace ferry::ipsec
