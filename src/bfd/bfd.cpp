#include "bfd/bfd.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "common/log.hpp"

namespace ferry::bfd {

struct Bfd::Listen {
  explicit Listen(asio::io_context& io) : sock(io) {}
  asio::ip::udp::socket sock;
  std::array<uint8_t, 512> buf{};
};

struct Bfd::Peer {
  Peer(asio::io_context& io, IpAddress a, Session s)
      : addr(a), session(std::move(s)), sock(io), timer(io) {}
  IpAddress addr;
  std::optional<IpAddress> local;
  Session session;
  asio::ip::udp::socket sock;
  asio::steady_timer timer;
  uint64_t rx = 0, tx = 0;
  std::optional<std::chrono::system_clock::time_point> last_change;
};

static asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) return asio::ip::address_v4(a.v4_host_order());
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), a.bytes(), 16);
  return asio::ip::address_v6(b);
}

Bfd::Bfd(asio::io_context& io, uint16_t listen_port, uint16_t peer_port)
    : io_(io), port_(listen_port), peer_port_(peer_port) {}

// Destruction is not an administrative stop: no AdminDown goes out, exactly as
// when the process dies. The daemon calls stop() for a graceful shutdown.
Bfd::~Bfd() {
  for (auto& [a, p] : peers_) p->timer.cancel();
}

Result<void> Bfd::start() {
  std::error_code ec;
  listen4_ = std::make_unique<Listen>(io_);
  auto& s4 = listen4_->sock;
  s4.open(asio::ip::udp::v4(), ec);
  int on = 1;
  if (!ec) ::setsockopt(s4.native_handle(), IPPROTO_IP, IP_RECVTTL, &on, sizeof on);
  if (!ec) s4.bind({asio::ip::udp::v4(), port_}, ec);
  if (ec)
    return make_error("bfd: cannot listen on udp/" + std::to_string(port_) + ": " + ec.message());
  listen6_ = std::make_unique<Listen>(io_);
  auto& s6 = listen6_->sock;
  s6.open(asio::ip::udp::v6(), ec);
  if (!ec) {
    s6.set_option(asio::ip::v6_only(true), ec);
    ::setsockopt(s6.native_handle(), IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on);
    s6.bind({asio::ip::udp::v6(), port_}, ec);
  }
  if (ec) {
    spdlog::warn("bfd: no IPv6 listener: {}", ec.message());
    listen6_.reset();
  }
  read_loop(*listen4_);
  if (listen6_) read_loop(*listen6_);
  return {};
}

void Bfd::stop() {
  for (auto& [a, p] : peers_) {
    p->session.set_admin_down(true, Clock::now());
    send(*p, p->session.make_packet());
    p->timer.cancel();
    std::error_code ec;
    p->sock.close(ec);
  }
  std::error_code ec;
  if (listen4_) listen4_->sock.close(ec);
  if (listen6_) listen6_->sock.close(ec);
}

uint32_t Bfd::new_discriminator() {
  for (;;) {
    uint32_t d = rng_();
    if (d != 0 && !by_discr_.count(d)) return d;
  }
}

Result<void> Bfd::add_peer(const IpAddress& peer, std::optional<IpAddress> local, Timers timers) {
  if (peers_.count(peer)) return {};
  const uint32_t discr = new_discriminator();
  auto p = std::make_unique<Peer>(io_, peer, Session(discr, timers, [this](uint32_t n) {
                                    return static_cast<uint32_t>(rng_() % n);
                                  }));
  p->local = local;
  std::error_code ec;
  p->sock.open(peer.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), ec);
  if (ec) return make_error("bfd: socket: " + ec.message());
  // RFC 5881 §5: TTL / hop limit 255 on every packet we send.
  int ttl = 255;
  if (peer.is_v4())
    ::setsockopt(p->sock.native_handle(), IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
  else
    ::setsockopt(p->sock.native_handle(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
  // RFC 5881 §4: source port in 49152..65535.
  const auto bind_addr = local ? to_asio(*local)
                               : (peer.is_v4() ? asio::ip::address(asio::ip::address_v4::any())
                                               : asio::ip::address(asio::ip::address_v6::any()));
  bool bound = false;
  for (int i = 0; i < 64 && !bound; ++i) {
    const uint16_t sport = static_cast<uint16_t>(49152 + rng_() % 16384);
    p->sock.bind({bind_addr, sport}, ec);
    bound = !ec;
  }
  if (!bound) return make_error("bfd: cannot bind a source port: " + ec.message());
  Peer* raw = p.get();
  raw->session.on_state_change = [this, raw](State from, State to, Diag why) {
    raw->last_change = std::chrono::system_clock::now();
    log_event(spdlog::level::info, "bfd_session_state",
              {{"peer", raw->addr.str()},
               {"from", state_name(from)},
               {"to", state_name(to)},
               {"diag", diag_name(why)}},
              fmt::format("bfd: peer {} {} -> {} ({})", raw->addr.str(), state_name(from),
                          state_name(to), diag_name(why)));
    if (listener_) listener_(raw->addr, from, to, why);
  };
  by_discr_[discr] = raw;
  peers_[peer] = std::move(p);
  arm(*raw);
  return {};
}

void Bfd::remove_peer(const IpAddress& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer& p = *it->second;
  p.session.set_admin_down(true, Clock::now());
  send(p, p.session.make_packet());
  p.timer.cancel();
  by_discr_.erase(p.session.local_discriminator());
  peers_.erase(it);
}

std::optional<State> Bfd::state(const IpAddress& peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return std::nullopt;
  return it->second->session.state();
}

std::optional<State> Bfd::remote_state(const IpAddress& peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return std::nullopt;
  return it->second->session.remote_state();
}

void Bfd::arm(Peer& p) {
  p.timer.expires_at(p.session.next_event());
  Peer* raw = &p;
  p.timer.async_wait([this, raw](std::error_code ec) {
    if (ec) return;
    // The control-plane loop may have been busy (a burst of routes) while the
    // peer's packets sat unread in the socket: read them before the detection
    // time is judged, so a late timer is not mistaken for a dead path.
    if (listen4_) drain(*listen4_);
    if (listen6_) drain(*listen6_);
    if (auto pkt = raw->session.tick(Clock::now())) send(*raw, *pkt);
    arm(*raw);
  });
}

void Bfd::send(Peer& p, const ControlPacket& pkt) {
  std::vector<uint8_t> out;
  encode(pkt, out);
  std::error_code ec;
  p.sock.send_to(asio::buffer(out), {to_asio(p.addr), peer_port_}, 0, ec);
  if (!ec) {
    ++p.tx;
    ++counters_.tx;
  }
}

void Bfd::read_loop(Listen& l) {
  l.sock.async_wait(asio::socket_base::wait_read, [this, &l](std::error_code ec) {
    if (ec) return;
    drain(l);
    read_loop(l);
  });
}

void Bfd::drain(Listen& l) {
  for (;;) {
    sockaddr_storage from{};
    iovec iov{l.buf.data(), l.buf.size()};
    alignas(cmsghdr) char control[128];
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(l.sock.native_handle(), &msg, MSG_DONTWAIT);
    if (n < 0) break;
    int ttl = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT))
        std::memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
    }
    IpAddress src;
    if (from.ss_family == AF_INET) {
      const auto* s = reinterpret_cast<const sockaddr_in*>(&from);
      src = IpAddress::v4_bytes(reinterpret_cast<const uint8_t*>(&s->sin_addr));
    } else {
      const auto* s = reinterpret_cast<const sockaddr_in6*>(&from);
      src = IpAddress::v6_bytes(reinterpret_cast<const uint8_t*>(&s->sin6_addr));
    }
    handle(src, {l.buf.data(), static_cast<size_t>(n)}, ttl);
  }
}

void Bfd::handle(const IpAddress& from, std::span<const uint8_t> data, int ttl) {
  if (ttl != 255) {  // RFC 5881 §5
    ++counters_.drop_ttl;
    return;
  }
  std::string why;
  auto pkt = decode(data, &why);
  if (!pkt) {
    ++counters_.drop_malformed;
    return;
  }
  Peer* p = nullptr;
  if (pkt->your_discriminator != 0) {
    auto it = by_discr_.find(pkt->your_discriminator);
    if (it != by_discr_.end() && it->second->addr == from) p = it->second;
  } else {
    auto it = peers_.find(from);
    if (it != peers_.end()) p = it->second.get();
  }
  if (!p) {
    ++counters_.drop_no_session;
    return;
  }
  ++counters_.rx;
  ++p->rx;
  const bool reply_final = p->session.receive(*pkt, Clock::now());
  if (reply_final) send(*p, p->session.make_packet(/*final=*/true));
  arm(*p);
}

nlohmann::json Bfd::show() const {
  auto sessions = nlohmann::json::array();
  for (const auto& [a, p] : peers_) {
    const auto& s = p->session;
    sessions.push_back({
        {"peer", a.str()},
        {"local", p->local ? nlohmann::json(p->local->str()) : nlohmann::json(nullptr)},
        {"state", state_name(s.state())},
        {"remote_state", state_name(s.remote_state())},
        {"diag", diag_name(s.local_diag())},
        {"local_discriminator", s.local_discriminator()},
        {"remote_discriminator", s.remote_discriminator()},
        {"tx_interval_ms", s.tx_interval().count() / 1000.0},
        {"detection_time_ms", s.detection_time().count() / 1000.0},
        {"up_transitions", s.up_transitions()},
        {"down_transitions", s.down_transitions()},
        {"rx_packets", p->rx},
        {"tx_packets", p->tx},
    });
  }
  return {{"sessions", sessions},
          {"drops",
           {{"bad_ttl", counters_.drop_ttl},
            {"malformed", counters_.drop_malformed},
            {"no_session", counters_.drop_no_session}}}};
}

}  // namespace ferry::bfd
