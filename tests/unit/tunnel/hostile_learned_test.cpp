// The "allowed by BGP" half of cryptokey routing, end to end through
// tunnel::Tunnel with its real threads: a peer may send from prefixes the
// routing layer learned via it (add_learned + commit_learned), and is dropped
// (not_allowed_source, as `show tunnels` reports it) as soon as those are
// withdrawn (remove_learned), its BGP session goes down (clear_learned), or a
// static allowed-ip of another peer covers the same prefix (static wins).
//
// B is a Tunnel built from a TunnelConfig with pollable in-process fakes
// (tsan_fakes.hpp) for TUN and UDP; A is a bare Device on the same LoopNet.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "tsan_fakes.hpp"
#include "tunnel/tunnel.hpp"

using namespace ferry;
using namespace ferry::tunnel;
using namespace ferry::tunnel::tsan;
using namespace std::chrono_literals;

namespace {

constexpr size_t kWorkers = 2;

struct NullIface : InterfaceConfigurator {
  Result<void> set_mtu(const std::string&, uint32_t) override { return {}; }
  Result<void> set_up(const std::string&, bool) override { return {}; }
  Result<void> add_address(const std::string&, const config::InterfaceAddress&) override {
    return {};
  }
  Result<void> remove_address(const std::string&, const config::InterfaceAddress&) override {
    return {};
  }
};

UdpEndpoint ep(const char* ip, uint16_t port) {
  return {*IpAddress::parse(ip), port};
}
Prefix pfx(const char* s) {
  return *Prefix::parse(s);
}

std::vector<uint8_t> ipv4(const char* src, const char* dst, uint8_t tag) {
  std::vector<uint8_t> p(48, tag);
  p[0] = 0x45;
  p[2] = 0;
  p[3] = static_cast<uint8_t>(p.size());
  p[8] = 64;
  p[9] = 17;
  std::memcpy(&p[12], IpAddress::parse(src)->bytes(), 4);
  std::memcpy(&p[16], IpAddress::parse(dst)->bytes(), 4);
  return p;
}

class LearnedPrefixes : public ::testing::Test {
 protected:
  void SetUp() override {
    ka = generate_private_key();
    kb = generate_private_key();
    key_path = ::testing::TempDir() + "/hostile-learned-" + std::to_string(::getpid());
    std::ofstream(key_path) << key_to_base64(kb) << "\n";
    ::chmod(key_path.c_str(), 0600);

    auto& host_a = net.add_host(ep("192.0.2.1", 51820), kWorkers);
    auto& host_b = net.add_host(ep("192.0.2.2", 51820), kWorkers);

    config::TunnelConfig cfg;
    cfg.interface = "hl0";
    cfg.private_key_file = key_path;
    cfg.workers = kWorkers;
    config::TunnelPeerConfig pa;
    pa.name = "a";
    pa.public_key = key_to_base64(public_key(ka));
    pa.endpoint = config::Endpoint{*IpAddress::parse("192.0.2.1"), 51820};
    pa.allowed_ips = {pfx("10.0.1.0/24")};
    config::TunnelPeerConfig pc;
    pc.name = "c";
    pc.public_key = key_to_base64(public_key(generate_private_key()));
    pc.allowed_ips = {pfx("10.3.0.0/16")};
    cfg.peers = {pa, pc};
    TunnelIo io;
    io.open_tun = [this](const std::string&, size_t q) -> Result<std::unique_ptr<TunDevice>> {
      auto t = std::make_unique<SocketTun>(q);
      tun_b = t.get();
      return std::unique_ptr<TunDevice>(std::move(t));
    };
    io.open_udp = [this, &host_b](uint16_t, size_t) -> Result<std::unique_ptr<UdpTransport>> {
      return std::unique_ptr<UdpTransport>(std::make_unique<LoopUdp>(net, host_b));
    };
    io.iface = std::make_unique<NullIface>();
    b = std::make_unique<Tunnel>(cfg, std::move(io));
    ASSERT_TRUE(b->start().ok());

    DeviceConfig dc;
    dc.private_key = ka;
    auto t = std::make_unique<SocketTun>(kWorkers);
    tun_a = t.get();
    a = std::make_unique<Device>(dc, std::move(t), std::make_unique<LoopUdp>(net, host_a),
                                 kWorkers);
    auto peer_b = a->add_peer({"b", public_key(kb), {}, ep("192.0.2.2", 51820), 0});
    a->routes().add_allowed(peer_b, pfx("0.0.0.0/0"));
    a->start();
    peer_a = *b->peer_id("a");
  }
  void TearDown() override {
    if (a) a->stop();
    if (b) b->stop();
    ::unlink(key_path.c_str());
  }

  // Sends one packet from A's TUN; true if B's TUN delivers it within `limit`.
  bool delivered(const char* src, std::chrono::milliseconds limit = 5000ms) {
    uint8_t tag = ++next_tag;
    auto p = ipv4(src, "10.0.2.1", tag);
    EXPECT_EQ(::send(tun_a->q(0).test_fd(), p.data(), p.size(), 0), static_cast<ssize_t>(p.size()));
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::vector<pollfd> fds;
    for (size_t q = 0; q < kWorkers; ++q) fds.push_back({tun_b->q(q).test_fd(), POLLIN, 0});
    uint8_t buf[2048];
    while (std::chrono::steady_clock::now() < deadline) {
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (auto& f : fds) {
        ssize_t n = ::recv(f.fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == static_cast<ssize_t>(p.size()) && buf[40] == tag) return true;
      }
    }
    return false;
  }
  uint64_t not_allowed() const {
    const auto shown = b->show();  // named: a temporary would die before the loop
    for (const auto& p : shown["peers"])
      if (p["name"] == "a") return p["drops"]["not_allowed_source"].get<uint64_t>();
    return ~uint64_t{0};
  }
  // A refused packet is counted by B's worker shortly after it arrives.
  bool refused(const char* src) {
    uint64_t before = not_allowed();
    if (delivered(src, 300ms)) return false;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (not_allowed() != before + 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    return not_allowed() == before + 1;
  }

  LoopNet net;
  Key ka, kb;
  std::string key_path;
  SocketTun* tun_a = nullptr;
  SocketTun* tun_b = nullptr;
  std::unique_ptr<Tunnel> b;
  std::unique_ptr<Device> a;
  PeerIndex peer_a = 0;
  uint8_t next_tag = 0;
};

}  // namespace

TEST_F(LearnedPrefixes, SourceIsAllowedOnlyWhileLearnedViaThatPeer) {
  ASSERT_TRUE(delivered("10.0.1.1", 10000ms));  // static; also brings the session up
  EXPECT_TRUE(refused("172.16.5.5"));           // not learned yet

  b->add_learned(peer_a, pfx("172.16.0.0/16"));
  EXPECT_TRUE(refused("172.16.5.5"));  // queued, not committed: not in effect yet
  b->commit_learned();
  EXPECT_TRUE(delivered("172.16.5.5"));

  b->remove_learned(peer_a, pfx("172.16.0.0/16"));  // withdrawn
  b->commit_learned();
  EXPECT_TRUE(refused("172.16.5.5"));

  b->add_learned(peer_a, pfx("172.16.0.0/16"));
  b->add_learned(peer_a, pfx("192.168.40.0/22"));
  b->commit_learned();
  EXPECT_TRUE(delivered("192.168.41.1"));
  b->clear_learned(peer_a);  // A's BGP session went down: everything learned via A goes
  EXPECT_TRUE(refused("172.16.5.5"));
  EXPECT_TRUE(refused("192.168.41.1"));
  EXPECT_TRUE(delivered("10.0.1.1"));  // the static allowed-ips stay
}

TEST_F(LearnedPrefixes, LearnedPrefixNeverOverridesAnotherPeersStatic) {
  ASSERT_TRUE(delivered("10.0.1.1", 10000ms));
  b->add_learned(peer_a, pfx("10.3.0.0/16"));  // C's static allowed-ip
  b->commit_learned();
  EXPECT_TRUE(refused("10.3.1.1"));
  EXPECT_TRUE(delivered("10.0.1.1"));
}
