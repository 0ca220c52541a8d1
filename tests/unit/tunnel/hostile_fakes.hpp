// Test fixtures for the hostile-traffic tests: an in-memory UDP network and
// fake TUN queues (same shape as device_test.cpp's, which keeps its own copy),
// packet builders for inner IPv4/IPv6, and a two-node topology A <-> B that
// is stepped by hand (tun_step / udp_step / handshake_step, no threads).
//
// Data flow: a FakeUdpSocket's send_batch appends each datagram (GSO buffers
// split) to the receiver's inbox, keyed by endpoint string, and to a global
// log, so a test can replay, truncate or corrupt anything that was sent and
// inject it again with `inject`.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tunnel/device.hpp"

namespace ferry::tunnel::hostile {

struct Datagram {
  std::vector<uint8_t> data;
  UdpEndpoint from;
  UdpEndpoint to;
  TimePoint due{};  // FakeNet with a clock: deliverable from then on
};

struct FakeNet {
  std::map<std::string, std::deque<Datagram>> inbox;  // by endpoint string
  std::vector<Datagram> log;                          // everything sent
  // Optional latency: with a clock, each datagram sent is held for delay()
  // (drawn per datagram, so datagrams may overtake each other) and a socket
  // receives only what is due at clock->now().
  const TimeSource* clock = nullptr;
  std::function<Duration()> delay;
  void inject(const UdpEndpoint& to, std::vector<uint8_t> data, const UdpEndpoint& from) {
    inbox[to.str()].push_back({std::move(data), from, to, {}});
  }
  bool due(const Datagram& d) const { return clock == nullptr || d.due <= clock->now(); }
  bool idle() const {
    for (const auto& [k, q] : inbox)
      if (!q.empty()) return false;
    return true;
  }
};

class FakeUdpSocket : public UdpSocket {
 public:
  FakeUdpSocket(FakeNet& net, UdpEndpoint self) : net_(net), self_(self) {}
  int recv_batch(std::span<UdpRecv> msgs) override {
    auto& q = net_.inbox[self_.str()];
    int n = 0;
    for (auto it = q.begin(); it != q.end() && static_cast<size_t>(n) < msgs.size();) {
      if (!net_.due(*it)) {
        ++it;
        continue;
      }
      auto& m = msgs[static_cast<size_t>(n++)];
      size_t len = std::min(it->data.size(), m.buf.size());
      if (len) std::memcpy(m.buf.data(), it->data.data(), len);  // empty: data() may be null
      m.len = len;
      m.segment = 0;
      m.from = it->from;
      it = q.erase(it);
    }
    return n;
  }
  int send_batch(std::span<const UdpSend> msgs) override {
    for (const auto& m : msgs) {
      size_t seg = m.segment ? m.segment : m.data.size();
      for (size_t off = 0; off < m.data.size(); off += seg) {
        Datagram d;
        auto part = m.data.subspan(off, std::min(seg, m.data.size() - off));
        d.data.assign(part.begin(), part.end());
        d.from = from_override ? *from_override : self_;
        d.to = m.to;
        if (net_.clock) d.due = net_.clock->now() + (net_.delay ? net_.delay() : Duration{0});
        net_.log.push_back(d);
        net_.inbox[m.to.str()].push_back(std::move(d));
      }
    }
    return static_cast<int>(msgs.size());
  }
  int fd() const override { return -1; }
  std::optional<UdpEndpoint> from_override;  // simulate NAT rebinding (roaming)

 private:
  FakeNet& net_;
  UdpEndpoint self_;
};

class FakeUdp : public UdpTransport {
 public:
  FakeUdp(FakeNet& net, UdpEndpoint self, bool gso = false)
      : sock_(net, self), port_(self.port), gso_(gso) {}
  uint16_t port() const override { return port_; }
  size_t socket_count() const override { return 1; }
  UdpSocket& socket(size_t) override { return sock_; }
  bool gso() const override { return gso_; }
  bool gro() const override { return false; }
  FakeUdpSocket sock_;
  uint16_t port_;
  bool gso_;
};

class FakeTunQueue : public TunQueue {
 public:
  int read(std::span<uint8_t> buf) override {
    if (in.empty()) return 0;
    auto p = std::move(in.front());
    in.pop_front();
    if (!p.empty()) std::memcpy(buf.data(), p.data(), p.size());
    return static_cast<int>(p.size());
  }
  bool write(std::span<const uint8_t> pkt) override {
    out.emplace_back(pkt.begin(), pkt.end());
    return true;
  }
  int fd() const override { return -1; }
  std::deque<std::vector<uint8_t>> in, out;
};

class FakeTun : public TunDevice {
 public:
  const std::string& name() const override { return name_; }
  size_t queue_count() const override { return 1; }
  TunQueue& queue(size_t) override { return q; }
  FakeTunQueue q;
  std::string name_ = "fake0";
};

inline UdpEndpoint ep(const char* ip, uint16_t port) {
  return {*IpAddress::parse(ip), port};
}

inline Prefix pfx(const char* s) {
  return *Prefix::parse(s);
}

// A minimal IPv4/UDP packet (RFC 791 header, protocol 17) with `payload` bytes.
inline std::vector<uint8_t> ipv4(const char* src, const char* dst, size_t payload = 20) {
  std::vector<uint8_t> p(20 + 8 + payload, 0xab);
  size_t total = p.size();
  p[0] = 0x45;  // version 4, IHL 5
  p[1] = 0;
  p[2] = static_cast<uint8_t>(total >> 8);  // total length
  p[3] = static_cast<uint8_t>(total);
  p[8] = 64;  // TTL
  p[9] = 17;  // UDP
  std::memcpy(&p[12], IpAddress::parse(src)->bytes(), 4);
  std::memcpy(&p[16], IpAddress::parse(dst)->bytes(), 4);
  return p;
}

// A minimal IPv6/UDP packet (RFC 8200 §3 fixed header, next header 17).
inline std::vector<uint8_t> ipv6(const char* src, const char* dst, size_t payload = 20) {
  std::vector<uint8_t> p(40 + 8 + payload, 0xcd);
  size_t plen = p.size() - 40;
  p[0] = 0x60;  // version 6
  p[1] = p[2] = p[3] = 0;
  p[4] = static_cast<uint8_t>(plen >> 8);  // payload length
  p[5] = static_cast<uint8_t>(plen);
  p[6] = 17;  // next header: UDP
  p[7] = 64;  // hop limit
  std::memcpy(&p[8], IpAddress::parse(src)->bytes(), 16);
  std::memcpy(&p[24], IpAddress::parse(dst)->bytes(), 16);
  return p;
}

// What varies between the tests' devices; the defaults are the common case.
struct NodeOptions {
  size_t hs_queue = 1024;
  double timer_scale = 1.0;
  bool gso = false;                  // send with UDP GSO (the fake splits the segments)
  const TimeSource* time = nullptr;  // null: the system clocks
};

// One Device on the fake network and a fake TUN, stepped by hand.
struct Node {
  Node(FakeNet& net, UdpEndpoint self, Key priv, NodeOptions o = {}) : addr(self) {
    DeviceConfig cfg;
    cfg.private_key = priv;
    cfg.handshake_queue = o.hs_queue;
    cfg.timers.scale = o.timer_scale;
    cfg.time = o.time;
    auto t = std::make_unique<FakeTun>();
    auto u = std::make_unique<FakeUdp>(net, self, o.gso);
    tun = t.get();
    udp = u.get();
    dev = std::make_unique<Device>(cfg, std::move(t), std::move(u), 1);
  }
  UdpEndpoint addr;
  FakeTun* tun;
  FakeUdp* udp;
  std::unique_ptr<Device> dev;
  void step(TimePoint now) {
    dev->tun_step(0);
    dev->udp_step(0);
    dev->handshake_step(now);
  }
  uint64_t peer_drop(PeerIndex p, Drop d) const {
    return dev->stats()[p].drops[static_cast<size_t>(d)];
  }
  uint64_t dev_drop(Drop d) const { return dev->device_drops().get(d); }
  // Sum of every drop counter, device-wide and per peer.
  uint64_t all_drops() const {
    uint64_t n = 0;
    for (size_t i = 0; i < static_cast<size_t>(Drop::kCount); ++i) {
      n += dev->device_drops().v[i].load();
      for (const auto& s : dev->stats()) n += s.drops[i];
    }
    return n;
  }
};

// A (192.0.2.1, inner 10.0.1.0/24 + fd00:1::/64) <-> B (192.0.2.2, inner
// 10.0.2.0/24 + fd00:2::/64). A knows B's endpoint; B learns A's.
class PairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ka = generate_private_key();
    kb = generate_private_key();
    a = std::make_unique<Node>(net, ep("192.0.2.1", 51820), ka);
    b = std::make_unique<Node>(net, ep("192.0.2.2", 51820), kb);
    pa = a->dev->add_peer({"b", public_key(kb), {}, b->addr, 0});
    pb = b->dev->add_peer({"a", public_key(ka), {}, std::nullopt, 0});
    a->dev->routes().add_allowed(pa, pfx("10.0.2.0/24"));
    a->dev->routes().add_allowed(pa, pfx("fd00:2::/64"));
    b->dev->routes().add_allowed(pb, pfx("10.0.1.0/24"));
    b->dev->routes().add_allowed(pb, pfx("fd00:1::/64"));
  }
  void run(int rounds = 4) {
    for (int i = 0; i < rounds; ++i) {
      auto now = Clock::now();
      a->step(now);
      b->step(now);
    }
  }
  // Establishes the session with one packet A -> B and returns after B got it.
  void establish() {
    a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
    run();
    ASSERT_EQ(b->tun->q.out.size(), 1u);
    b->tun->q.out.clear();
  }
  // Encrypts `pkt` on A (one tun_step) and returns the transport datagram it
  // sent to B, taken out of B's inbox (so B has not seen it yet).
  std::vector<uint8_t> capture_from_a(const std::vector<uint8_t>& pkt) {
    a->tun->q.in.push_back(pkt);
    a->dev->tun_step(0);
    auto& q = net.inbox[b->addr.str()];
    EXPECT_EQ(q.size(), 1u);
    if (q.empty()) return {};
    auto d = std::move(q.back().data);
    q.pop_back();
    EXPECT_EQ(d[0], 4);
    return d;
  }
  // Delivers one datagram "from A" to B and runs B's receive step.
  void deliver_to_b(std::vector<uint8_t> d) {
    net.inject(b->addr, std::move(d), a->addr);
    b->dev->udp_step(0);
  }

  FakeNet net;
  Key ka, kb;
  std::unique_ptr<Node> a, b;
  PeerIndex pa = 0, pb = 0;
};

}  // namespace ferry::tunnel::hostile
