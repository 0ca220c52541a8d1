#include "tunnel/packet_path.hpp"

#include <poll.h>

#include <algorithm>
#include <cstring>

#include "tunnel/mss.hpp"

namespace ferry::tunnel {

namespace {
constexpr size_t kBatch = 64;      // packets per TUN batch
constexpr size_t kRecvBatch = 32;  // datagrams (or GRO buffers) per UDP batch
constexpr size_t kMaxGsoBytes = 65000;
constexpr size_t kMaxGsoSegments = 64;
constexpr size_t kGroBuffer = 65536;  // a UDP GRO receive or a TUN GSO read
}  // namespace

// Buffers of one worker; touched only by its own thread.
struct PacketPath::Worker {
  struct TxItem {
    size_t off, len;
    PeerCounters* peer;
    UdpEndpoint to;
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
  std::optional<CryptokeyReader> routes;
};

PacketPath::PacketPath(PacketProtocol& proto, TunDevice& tun, UdpTransport& udp,
                       const CryptokeyTable& routes, const TimeSource& time, DropCounters& drops,
                       size_t mtu, size_t workers)
    : proto_(proto),
      udp_(udp),
      time_(time),
      drops_(drops),
      headroom_(proto.headroom()),
      mtu_(mtu),
      read_cap_((mtu + 15) / 16 * 16 + 64),
      slot_(read_cap_ + proto.headroom() + proto.max_overhead()) {
  workers = std::max<size_t>(1, std::min({workers, tun.queue_count(), udp.socket_count()}));
  for (size_t i = 0; i < workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->tun = &tun.queue(i);
    w->udp = &udp.socket(i);
    w->vnet = w->tun->vnet_hdr();
    w->max_segs = 65535 / std::max<size_t>(1, mtu > 100 ? mtu - 80 : 20) + 2;
    w->txbuf.resize((kBatch + (w->vnet ? w->max_segs : 0)) * slot_);
    if (w->vnet) w->gso_in.resize(VnetHdr::kSize + kGroBuffer);
    w->rx_slot = udp.gro() ? kGroBuffer : slot_;
    w->rxbuf.resize(kRecvBatch * w->rx_slot);
    w->recvs.resize(kRecvBatch);
    w->routes.emplace(routes);
    workers_.push_back(std::move(w));
  }
}

PacketPath::~PacketPath() = default;

void PacketPath::wait(size_t wi, int stop_fd) const {
  const Worker& w = *workers_[wi];
  pollfd fds[3] = {{w.tun->fd(), POLLIN, 0}, {w.udp->fd(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
  ::poll(fds, 3, 1000);
}

// ---------------------------------------------------------------- outbound

size_t PacketPath::tun_step(size_t wi) {
  Worker& w = *workers_[wi];
  const TimePoint now = time_.now();
  w.routes->refresh();
  const CryptokeySnapshot& routes = w.routes->get();
  w.items.clear();
  proto_.tx_begin(wi, now);
  size_t used = 0, nread = 0;
  // Seals the plaintext at at[headroom : headroom+n] in place; consumes the slot on success.
  auto process = [&](uint8_t* at, size_t n) {
    std::span<const uint8_t> pkt(at + headroom_, n);
    InnerPacket ip;
    if (!parse_inner(pkt, ip)) {
      drops_.add(Drop::BadPacket);
      return;
    }
    PeerIndex pi = routes.route_out(ip, pkt);  // ECMP prefixes: by flow hash
    if (pi == kNoPeer) {
      drops_.add(Drop::NoPeer);
      return;
    }
    if (mss_clamp_) clamp_mss(at + headroom_, ip, mtu_);
    auto s = proto_.seal(wi, pi, {at, slot_}, n, now);
    if (s.len == 0) return;
    w.items.push_back({used, s.len, s.counters, s.to});
    used += s.len;  // back to back, so equal-size runs can leave as one UDP GSO buffer
  };
  // With offloads one read may expand into up to max_segs packets: keep room for them.
  const size_t reserve = w.vnet ? slot_ * (w.max_segs + 1) : slot_;
  while (nread < kBatch && w.txbuf.size() - used >= reserve) {
    if (!w.vnet) {
      uint8_t* at = w.txbuf.data() + used;
      int n = w.tun->read({at + headroom_, read_cap_});
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
      if (in.size() > read_cap_ || !complete_checksum(in, h)) {
        drops_.add(Drop::BadPacket);
        continue;
      }
      uint8_t* at = w.txbuf.data() + used;
      std::memcpy(at + headroom_, in.data(), in.size());
      process(at, in.size());
      continue;
    }
    uint8_t* cur = nullptr;
    int segs = gso_split(
        in, h,
        [&](size_t len) -> uint8_t* {
          if (len > read_cap_ || w.txbuf.size() - used < slot_) return nullptr;
          cur = w.txbuf.data() + used;
          return cur + headroom_;
        },
        [&](size_t len) { process(cur, len); });
    if (segs < 0) drops_.add(Drop::BadPacket);
  }
  if (!w.items.empty()) send(w);
  proto_.tx_end(wi, now);
  return nread;
}

void PacketPath::send(Worker& w) {
  // A UDP GSO run needs messages contiguous, equal-sized (the last may be shorter)
  // and to one endpoint.
  w.sends.clear();
  const bool gso = udp_.gso();
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

size_t PacketPath::udp_step(size_t wi) {
  Worker& w = *workers_[wi];
  const TimePoint now = time_.now();
  w.routes->refresh();
  for (size_t i = 0; i < w.recvs.size(); ++i)
    w.recvs[i].buf = {w.rxbuf.data() + i * w.rx_slot, w.rx_slot};
  int n = w.udp->recv_batch(w.recvs);
  if (n <= 0) return 0;
  const CryptokeySnapshot& routes = w.routes->get();
  auto write_tun = [this, &w](uint8_t* p, size_t len) {
    if (!w.tun->write({p, len})) drops_.add(Drop::SendFailed);
  };
  proto_.rx_begin(wi, now);
  size_t count = 0;
  auto deliver = [&](std::span<uint8_t> d, const UdpEndpoint& from) {
    auto o = proto_.open(wi, d, from, now);
    if (o.len == 0) return;
    std::span<const uint8_t> plain(d.data() + headroom_, o.len);
    InnerPacket ip;
    if (!parse_inner(plain, ip)) {
      o.counters->drops.add(Drop::BadPacket);
      return;
    }
    if (!routes.allows(ip, o.peer)) {  // the source's match must be (or include) this peer
      o.counters->drops.add(Drop::NotAllowedSource);
      return;
    }
    if (mss_clamp_) clamp_mss(d.data() + headroom_, ip, mtu_);
    if (!w.vnet) {
      if (!w.tun->write(plain.first(ip.length))) o.counters->drops.add(Drop::SendFailed);
      return;
    }
    // The protocol's header room precedes the plaintext: room for the virtio_net_hdr.
    w.gro.add(d.data() + headroom_, ip.length, write_tun);
  };
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
      deliver(all.subspan(off, std::min(seg, all.size() - off)), r.from);
      ++count;
    }
  }
  proto_.rx_end(wi, now);
  if (w.vnet) w.gro.flush(write_tun);
  return count;
}

}  // namespace ferry::tunnel
