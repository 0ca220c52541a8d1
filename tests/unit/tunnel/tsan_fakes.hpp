// Pollable in-process fakes for running Devices with their real threads
// (Device::start) in unit tests, so ThreadSanitizer sees the data plane:
//
// SocketTun: each TUN queue is an AF_UNIX SOCK_SEQPACKET socketpair. The
//   device owns one end (read = next plaintext packet, write = deliver); the
//   test writes outbound packets into and reads delivered packets from the
//   other end. The fd is pollable, so workers sleep in poll() as with /dev/net/tun.
//
// LoopNet / LoopUdp: a UDP "network" of AF_UNIX SOCK_DGRAM socketpairs, one
//   per (device, worker socket). send_batch frames each datagram as
//   [u32 sender id][payload] and writes it to a socket of the destination
//   device chosen round-robin, so one peer's packets are spread over all of
//   the receiver's workers (concurrent decryption with one keypair, reordering
//   across workers) -- unlike SO_REUSEPORT, which pins a 4-tuple to one socket.
//   The net counts messages by WireGuard type (e.g. initiations = rekeys).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tunnel/device.hpp"

namespace ferry::tunnel::tsan {

inline void grow_buffers(int fd) {
  int sz = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

class SocketTunQueue : public TunQueue {
 public:
  SocketTunQueue() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    dev_fd_ = sv[0];
    test_fd_ = sv[1];
    grow_buffers(dev_fd_);
    grow_buffers(test_fd_);
  }
  ~SocketTunQueue() override {
    ::close(dev_fd_);
    ::close(test_fd_);
  }
  int read(std::span<uint8_t> buf) override {
    ssize_t n = ::recv(dev_fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    return static_cast<int>(n);
  }
  bool write(std::span<const uint8_t> pkt) override {
    return ::send(dev_fd_, pkt.data(), pkt.size(), MSG_DONTWAIT | MSG_NOSIGNAL) ==
           static_cast<ssize_t>(pkt.size());
  }
  int fd() const override { return dev_fd_; }
  int test_fd() const { return test_fd_; }

 private:
  int dev_fd_ = -1, test_fd_ = -1;
};

class SocketTun : public TunDevice {
 public:
  explicit SocketTun(size_t queues) {
    for (size_t i = 0; i < queues; ++i) q_.push_back(std::make_unique<SocketTunQueue>());
  }
  const std::string& name() const override { return name_; }
  size_t queue_count() const override { return q_.size(); }
  TunQueue& queue(size_t i) override { return *q_[i]; }
  SocketTunQueue& q(size_t i) { return *q_[i]; }

 private:
  std::vector<std::unique_ptr<SocketTunQueue>> q_;
  std::string name_ = "tsan0";
};

class LoopNet;

// One device's sockets: rx[i] is read by worker i; tx[i] is where others write.
struct LoopHost {
  uint32_t id = 0;
  UdpEndpoint addr;
  std::vector<int> rx, tx;
  std::atomic<uint32_t> rr{0};  // round-robin over the receiving sockets
};

class LoopNet {
 public:
  ~LoopNet() {
    for (auto& h : hosts_) {
      for (int fd : h->rx) ::close(fd);
      for (int fd : h->tx) ::close(fd);
    }
  }
  // Call before any thread runs; the host table is read-only afterwards.
  LoopHost& add_host(const UdpEndpoint& addr, size_t sockets) {
    auto h = std::make_unique<LoopHost>();
    h->id = static_cast<uint32_t>(hosts_.size());
    h->addr = addr;
    for (size_t i = 0; i < sockets; ++i) {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
      grow_buffers(sv[0]);
      grow_buffers(sv[1]);
      h->rx.push_back(sv[0]);
      h->tx.push_back(sv[1]);
    }
    hosts_.push_back(std::move(h));
    return *hosts_.back();
  }
  LoopHost* find(const UdpEndpoint& e) {
    for (auto& h : hosts_)
      if (h->addr == e) return h.get();
    return nullptr;
  }
  const UdpEndpoint& addr_of(uint32_t id) const { return hosts_[id]->addr; }
  uint64_t sent_of_type(uint8_t t) const { return by_type_[t & 7].load(); }
  uint64_t lost() const { return lost_.load(); }

  int send(LoopHost& from, std::span<const UdpSend> msgs) {
    std::array<uint8_t, 4 + 65536> frame;
    int done = 0;
    for (const auto& m : msgs) {
      LoopHost* to = find(m.to);
      size_t seg = m.segment ? m.segment : m.data.size();
      for (size_t off = 0; off < m.data.size(); off += seg) {
        auto part = m.data.subspan(off, std::min(seg, m.data.size() - off));
        if (!part.empty()) by_type_[part[0] & 7].fetch_add(1, std::memory_order_relaxed);
        if (!to) {
          lost_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        std::memcpy(frame.data(), &from.id, 4);
        if (!part.empty()) std::memcpy(frame.data() + 4, part.data(), part.size());
        int fd = to->tx[to->rr.fetch_add(1, std::memory_order_relaxed) % to->tx.size()];
        if (::send(fd, frame.data(), part.size() + 4, MSG_DONTWAIT) < 0)
          lost_.fetch_add(1, std::memory_order_relaxed);
      }
      ++done;
    }
    return done;
  }

 private:
  std::vector<std::unique_ptr<LoopHost>> hosts_;
  std::array<std::atomic<uint64_t>, 8> by_type_{};
  std::atomic<uint64_t> lost_{0};
};

class LoopSocket : public UdpSocket {
 public:
  LoopSocket(LoopNet& net, LoopHost& host, size_t i) : net_(net), host_(host), i_(i) {}
  int recv_batch(std::span<UdpRecv> msgs) override {
    int n = 0;
    std::array<uint8_t, 4 + 65536> frame;
    while (static_cast<size_t>(n) < msgs.size()) {
      ssize_t r = ::recv(host_.rx[i_], frame.data(), frame.size(), MSG_DONTWAIT);
      if (r < 4) break;
      uint32_t from;
      std::memcpy(&from, frame.data(), 4);
      auto& m = msgs[static_cast<size_t>(n++)];
      size_t len = std::min(static_cast<size_t>(r) - 4, m.buf.size());
      std::memcpy(m.buf.data(), frame.data() + 4, len);
      m.len = len;
      m.segment = 0;
      m.from = net_.addr_of(from);
    }
    return n;
  }
  int send_batch(std::span<const UdpSend> msgs) override { return net_.send(host_, msgs); }
  int fd() const override { return host_.rx[i_]; }

 private:
  LoopNet& net_;
  LoopHost& host_;
  size_t i_;
};

class LoopUdp : public UdpTransport {
 public:
  LoopUdp(LoopNet& net, LoopHost& host) : host_(host) {
    for (size_t i = 0; i < host.rx.size(); ++i)
      socks_.push_back(std::make_unique<LoopSocket>(net, host, i));
  }
  uint16_t port() const override { return host_.addr.port; }
  size_t socket_count() const override { return socks_.size(); }
  UdpSocket& socket(size_t i) override { return *socks_[i]; }
  bool gso() const override { return true; }  // LoopNet splits GSO buffers itself
  bool gro() const override { return false; }

 private:
  LoopHost& host_;
  std::vector<std::unique_ptr<LoopSocket>> socks_;
};

}  // namespace ferry::tunnel::tsan
