// The socket prober: ICMP echo (RFC 792; ICMPv6 echo, RFC 4443 §4.1) and TCP
// connect probes on the control-plane event loop.
//
// ICMP uses a "ping" socket (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6: no privilege,
// the kernel sets the identifier and hands back only our replies) when
// net.ipv4.ping_group_range admits ferryd's group, and a raw socket
// otherwise (root or CAP_NET_RAW; then we filter by identifier). One socket
// per family, opened on first use and kept. Replies are matched by sequence
// number and source address; a probe without a reply within its timeout
// fails.
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <random>

#include "common/bytes.hpp"
#include "health/checker.hpp"

namespace ferry::health {

namespace {

using Done = std::function<void(bool, const std::string&)>;

// RFC 1071 Internet checksum.
uint16_t inet_checksum(std::span<const uint8_t> b) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < b.size(); i += 2) sum += uint32_t{b[i]} << 8 | b[i + 1];
  if (b.size() & 1) sum += uint32_t{b.back()} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void to_sockaddr(const IpAddress& a, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  if (a.is_v4()) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    std::memcpy(&s->sin_addr, a.bytes(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    std::memcpy(&s->sin6_addr, a.bytes(), 16);
    len = sizeof(sockaddr_in6);
  }
}

std::optional<IpAddress> from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET)
    return IpAddress::v4_bytes(
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr));
  if (ss.ss_family == AF_INET6)
    return IpAddress::v6_bytes(
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr));
  return std::nullopt;
}

class SocketProber final : public Prober {
 public:
  explicit SocketProber(asio::io_context& io) : io_(io) {
    std::random_device rd;
    id_ = static_cast<uint16_t>(rd());
  }
  ~SocketProber() override {
    for (Icmp* s : {&v4_, &v6_})
      if (s->sd) s->sd->close();
  }

  void probe(const config::HealthCheckConfig& c, Done done) override {
    if (c.probe == config::HealthProbe::Tcp)
      tcp(c, std::move(done));
    else
      icmp(c, std::move(done));
  }

 private:
  struct Pending {
    IpAddress target;
    Done done;
    std::shared_ptr<asio::steady_timer> timer;
  };
  struct Icmp {
    std::unique_ptr<asio::posix::stream_descriptor> sd;
    bool raw = false;
    bool reading = false;
    std::string error;                    // why the socket could not be opened
    std::map<uint16_t, Pending> pending;  // by sequence number
  };

  bool open(Icmp& s, bool v6) {
    if (s.sd) return true;
    const int af = v6 ? AF_INET6 : AF_INET;
    const int proto = v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
    int fd = ::socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    s.raw = false;
    if (fd < 0) {
      const int dgram_err = errno;
      fd = ::socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
      if (fd < 0) {
        s.error = std::string("no ICMP socket: ping socket: ") + std::strerror(dgram_err) +
                  " (net.ipv4.ping_group_range), raw socket: " + std::strerror(errno);
        return false;
      }
      s.raw = true;
    }
    s.sd = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
    return true;
  }

  void icmp(const config::HealthCheckConfig& c, Done done) {
    const bool v6 = !c.target.is_v4();
    Icmp& s = v6 ? v6_ : v4_;
    if (!open(s, v6)) {
      asio::post(io_, [done = std::move(done), e = s.error] { done(false, e); });
      return;
    }
    const uint16_t seq = ++seq_;
    // RFC 792 / RFC 4443 §4.1: type, code, checksum, identifier, sequence, data.
    std::vector<uint8_t> pkt;
    ByteWriter w(pkt);
    w.u8(v6 ? 128 : 8);
    w.u8(0);
    w.u16(0);
    w.u16(id_);
    w.u16(seq);
    for (char ch : std::string_view("ferry-hc")) w.u8(static_cast<uint8_t>(ch));
    if (!v6) {  // the kernel fills the ICMPv6 checksum (RFC 3542 §3.1)
      const uint16_t sum = inet_checksum(pkt);
      pkt[2] = static_cast<uint8_t>(sum >> 8);
      pkt[3] = static_cast<uint8_t>(sum);
    }
    sockaddr_storage ss;
    socklen_t len = 0;
    to_sockaddr(c.target, ss, len);
    if (::sendto(s.sd->native_handle(), pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&ss),
                 len) < 0) {
      asio::post(io_, [done = std::move(done), e = std::string("send: ") + std::strerror(errno)] {
        done(false, e);
      });
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(c.timeout_ms));
    s.pending[seq] = Pending{c.target, std::move(done), timer};
    timer->async_wait([this, &s, seq](asio::error_code ec) {
      if (ec) return;
      auto it = s.pending.find(seq);
      if (it == s.pending.end()) return;
      Done d = std::move(it->second.done);
      s.pending.erase(it);
      d(false, "no echo reply");
    });
    read(s, v6);
  }

  void read(Icmp& s, bool v6) {
    if (s.reading) return;
    s.reading = true;
    s.sd->async_wait(asio::posix::descriptor_base::wait_read, [this, &s, v6](asio::error_code ec) {
      s.reading = false;
      if (ec) return;
      drain(s, v6);
      if (!s.pending.empty()) read(s, v6);
    });
  }

  void drain(Icmp& s, bool v6) {
    std::array<uint8_t, 1500> buf;
    for (;;) {
      sockaddr_storage from;
      socklen_t flen = sizeof from;
      ssize_t n = ::recvfrom(s.sd->native_handle(), buf.data(), buf.size(), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 0) return;  // EAGAIN: drained
      std::span<const uint8_t> b(buf.data(), static_cast<size_t>(n));
      if (s.raw && !v6) {
        // A raw IPv4 socket delivers the IP header (RFC 791 §3.1: IHL in words).
        if (b.empty()) continue;
        const size_t ihl = size_t{b[0] & 0x0fu} * 4;
        if (ihl < 20 || b.size() < ihl) continue;
        b = b.subspan(ihl);
      }
      ByteReader r(b);
      auto type = r.u8();
      r.skip(3);  // code, checksum
      auto id = r.u16();
      auto seq = r.u16();
      if (!type || !id || !seq) continue;
      if (*type != (v6 ? 129 : 0)) continue;  // echo reply only
      if (s.raw && *id != id_) continue;      // a ping socket gets only its own
      auto it = s.pending.find(*seq);
      auto src = from_sockaddr(from);
      if (it == s.pending.end() || !src || *src != it->second.target) continue;
      Pending p = std::move(it->second);
      s.pending.erase(it);
      p.timer->cancel();
      p.done(true, "echo reply");
    }
  }

  void tcp(const config::HealthCheckConfig& c, Done done) {
    auto sock = std::make_shared<asio::ip::tcp::socket>(io_);
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(c.timeout_ms));
    auto fired = std::make_shared<bool>(false);
    auto cb = std::make_shared<Done>(std::move(done));
    asio::ip::tcp::endpoint ep(asio::ip::make_address(c.target.str()), c.port);
    sock->async_connect(ep, [sock, timer, fired, cb](asio::error_code ec) {
      if (*fired) return;
      *fired = true;
      timer->cancel();
      asio::error_code ignored;
      sock->close(ignored);
      (*cb)(!ec, ec ? "connect: " + ec.message() : "connected");
    });
    timer->async_wait([sock, fired, cb](asio::error_code ec) {
      if (ec || *fired) return;
      *fired = true;
      asio::error_code ignored;
      sock->close(ignored);
      (*cb)(false, "connect: timed out");
    });
  }

  asio::io_context& io_;
  uint16_t id_ = 0;
  uint16_t seq_ = 0;
  Icmp v4_, v6_;
};

}  // namespace

std::unique_ptr<Prober> make_socket_prober(asio::io_context& io) {
  return std::make_unique<SocketProber>(io);
}

}  // namespace ferry::health
