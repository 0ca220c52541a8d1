#include "tunnel/udp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace ferry::tunnel {

std::string UdpEndpoint::str() const {
  if (addr.is_v4()) return addr.str() + ":" + std::to_string(port);
  return "[" + addr.str() + "]:" + std::to_string(port);
}

namespace {

constexpr size_t kMaxBatch = 64;

void to_sockaddr(const UdpEndpoint& e, sockaddr_in6& sa) {
  std::memset(&sa, 0, sizeof(sa));
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(e.port);
  if (e.addr.is_v4()) {
    sa.sin6_addr.s6_addr[10] = 0xff;
    sa.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&sa.sin6_addr.s6_addr[12], e.addr.bytes(), 4);
  } else {
    std::memcpy(sa.sin6_addr.s6_addr, e.addr.bytes(), 16);
  }
}

UdpEndpoint from_sockaddr(const sockaddr_in6& sa) {
  UdpEndpoint e;
  e.port = ntohs(sa.sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&sa.sin6_addr))
    e.addr = IpAddress::v4_bytes(&sa.sin6_addr.s6_addr[12]);
  else
    e.addr = IpAddress::v6_bytes(sa.sin6_addr.s6_addr);
  return e;
}

class LinuxUdpSocket final : public UdpSocket {
 public:
  LinuxUdpSocket(int fd, bool gro) : fd_(fd), gro_(gro) {}
  ~LinuxUdpSocket() override { ::close(fd_); }
  int fd() const override { return fd_; }

  int recv_batch(std::span<UdpRecv> msgs) override {
    size_t n = std::min(msgs.size(), kMaxBatch);
    mmsghdr hdr[kMaxBatch];
    iovec iov[kMaxBatch];
    sockaddr_in6 from[kMaxBatch];
    alignas(cmsghdr) char ctrl[kMaxBatch][CMSG_SPACE(sizeof(int))];
    for (size_t i = 0; i < n; ++i) {
      iov[i] = {msgs[i].buf.data(), msgs[i].buf.size()};
      std::memset(&hdr[i], 0, sizeof(hdr[i]));
      hdr[i].msg_hdr.msg_name = &from[i];
      hdr[i].msg_hdr.msg_namelen = sizeof(from[i]);
      hdr[i].msg_hdr.msg_iov = &iov[i];
      hdr[i].msg_hdr.msg_iovlen = 1;
      if (gro_) {
        hdr[i].msg_hdr.msg_control = ctrl[i];
        hdr[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
      }
    }
    int got;
    do {
      got = ::recvmmsg(fd_, hdr, static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    for (int i = 0; i < got; ++i) {
      msgs[i].len = hdr[i].msg_len;
      msgs[i].from = from_sockaddr(from[i]);
      msgs[i].segment = 0;
      if (!gro_) continue;
      for (cmsghdr* c = CMSG_FIRSTHDR(&hdr[i].msg_hdr); c != nullptr;
           c = CMSG_NXTHDR(&hdr[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
          int seg;
          std::memcpy(&seg, CMSG_DATA(c), sizeof(seg));
          if (seg > 0 && static_cast<size_t>(seg) < msgs[i].len)
            msgs[i].segment = static_cast<uint16_t>(seg);
        }
      }
    }
    return got;
  }

  int send_batch(std::span<const UdpSend> msgs) override {
    size_t total = 0;
    while (total < msgs.size()) {
      size_t n = std::min(msgs.size() - total, kMaxBatch);
      mmsghdr hdr[kMaxBatch];
      iovec iov[kMaxBatch];
      sockaddr_in6 to[kMaxBatch];
      alignas(cmsghdr) char ctrl[kMaxBatch][CMSG_SPACE(sizeof(uint16_t))];
      for (size_t i = 0; i < n; ++i) {
        const UdpSend& m = msgs[total + i];
        iov[i] = {const_cast<uint8_t*>(m.data.data()), m.data.size()};
        to_sockaddr(m.to, to[i]);
        std::memset(&hdr[i], 0, sizeof(hdr[i]));
        hdr[i].msg_hdr.msg_name = &to[i];
        hdr[i].msg_hdr.msg_namelen = sizeof(to[i]);
        hdr[i].msg_hdr.msg_iov = &iov[i];
        hdr[i].msg_hdr.msg_iovlen = 1;
        if (m.segment > 0 && m.data.size() > m.segment) {
          hdr[i].msg_hdr.msg_control = ctrl[i];
          hdr[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
          cmsghdr* c = CMSG_FIRSTHDR(&hdr[i].msg_hdr);
          c->cmsg_level = SOL_UDP;
          c->cmsg_type = UDP_SEGMENT;
          c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
          uint16_t seg = m.segment;
          std::memcpy(CMSG_DATA(c), &seg, sizeof(seg));
        }
      }
      int sent;
      do {
        sent = ::sendmmsg(fd_, hdr, static_cast<unsigned>(n), 0);
      } while (sent < 0 && errno == EINTR);
      if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return static_cast<int>(total);
        // A bad destination (unreachable, EINVAL) must not stall the rest: skip it.
        ++total;
        continue;
      }
      total += static_cast<size_t>(sent);
      if (static_cast<size_t>(sent) < n && sent == 0) break;
    }
    return static_cast<int>(total);
  }

 private:
  int fd_;
  bool gro_;
};

class LinuxUdpTransport final : public UdpTransport {
 public:
  LinuxUdpTransport(uint16_t port, std::vector<std::unique_ptr<UdpSocket>> s, bool gso, bool gro)
      : port_(port), sockets_(std::move(s)), gso_(gso), gro_(gro) {}
  uint16_t port() const override { return port_; }
  size_t socket_count() const override { return sockets_.size(); }
  UdpSocket& socket(size_t i) override { return *sockets_[i]; }
  bool gso() const override { return gso_; }
  bool gro() const override { return gro_; }

 private:
  uint16_t port_;
  std::vector<std::unique_ptr<UdpSocket>> sockets_;
  bool gso_;
  bool gro_;
};

}  // namespace

Result<std::unique_ptr<UdpTransport>> open_linux_udp(uint16_t port, size_t sockets, bool gro) {
  if (sockets == 0) sockets = 1;
  std::vector<std::unique_ptr<UdpSocket>> out;
  bool gso = true;
  bool any_gro = false;
  for (size_t i = 0; i < sockets; ++i) {
    int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return make_error(std::string("udp: socket: ") + std::strerror(errno));
    int zero = 0, one = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    int buf = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_addr = in6addr_any;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
      int e = errno;
      ::close(fd);
      return make_error("udp: bind port " + std::to_string(port) + ": " + std::strerror(e));
    }
    if (port == 0) {
      socklen_t len = sizeof(sa);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
      port = ntohs(sa.sin6_port);
    }
    bool gro_on = gro && ::setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
    int seg = 0;
    socklen_t sl = sizeof(seg);
    if (::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, &sl) != 0) gso = false;
    any_gro = any_gro || gro_on;
    out.push_back(std::make_unique<LinuxUdpSocket>(fd, gro_on));
  }
  return std::unique_ptr<UdpTransport>(
      std::make_unique<LinuxUdpTransport>(port, std::move(out), gso, any_gro));
}

}  // namespace ferry::tunnel
