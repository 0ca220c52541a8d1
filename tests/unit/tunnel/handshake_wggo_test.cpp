// Interoperability with the real wireguard-go: both handshake roles plus
// transport data both ways, over loopback inside a private network
// namespace created for this process (unshare(CLONE_NEWNET)), so nothing
// leaves the test. wireguard-go's TUN is addressed 10.99.0.1/24 and we play
// the peer 10.99.0.2: we send an ICMP echo request through the tunnel and
// expect the kernel's echo reply back through wireguard-go. Needs root,
// /dev/net/tun, wireguard-go and wg; skipped otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tunnel/cookie.hpp"
#include "tunnel/peer_state.hpp"

namespace ferry::tunnel {
namespace {

bool have(const char* path) {
  return access(path, X_OK) == 0;
}

int sh(const std::string& cmd) {
  return std::system(cmd.c_str());
}

uint16_t csum(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  if (n & 1) s += p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

// IPv4 ICMP echo request 10.99.0.2 -> 10.99.0.1.
std::vector<uint8_t> echo_request(uint16_t id, uint16_t seq) {
  std::vector<uint8_t> p(20 + 8 + 16, 0);
  p[0] = 0x45;
  p[2] = 0;
  p[3] = static_cast<uint8_t>(p.size());
  p[8] = 64;  // TTL
  p[9] = 1;   // ICMP
  const uint8_t src[4] = {10, 99, 0, 2}, dst[4] = {10, 99, 0, 1};
  std::memcpy(&p[12], src, 4);
  std::memcpy(&p[16], dst, 4);
  uint16_t c = csum(p.data(), 20);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  p[20] = 8;  // echo request
  p[24] = id >> 8;
  p[25] = id & 0xff;
  p[26] = seq >> 8;
  p[27] = seq & 0xff;
  for (int i = 0; i < 16; ++i) p[28 + i] = static_cast<uint8_t>('a' + i);
  c = csum(&p[20], p.size() - 20);
  p[22] = c >> 8;
  p[23] = c & 0xff;
  return p;
}

class WireguardGo : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!have("/usr/bin/wireguard-go") || !have("/usr/bin/wg") || access("/dev/net/tun", R_OK))
      GTEST_SKIP() << "wireguard-go/wg/tun missing";
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare";
    ASSERT_EQ(sh("ip link set lo up"), 0);
    ifname_ = "fwg" + std::to_string(getpid() % 100000);
    dir_ = "/tmp/ferry-wggo-" + std::to_string(getpid());
    mkdir(dir_.c_str(), 0700);

    their_priv_ = generate_private_key();
    our_ = StaticIdentity::from_private(generate_private_key());
    {
      std::ofstream f(dir_ + "/key");
      f << key_to_base64(their_priv_) << "\n";
    }
    chmod((dir_ + "/key").c_str(), 0600);

    pid_ = fork();
    if (pid_ == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      setenv("WG_PROCESS_FOREGROUND", "1", 1);
      execl("/usr/bin/wireguard-go", "wireguard-go", "-f", ifname_.c_str(), nullptr);
      _exit(127);
    }
    ASSERT_GT(pid_, 0);
    const std::string sock = "/var/run/wireguard/" + ifname_ + ".sock";
    for (int i = 0; i < 100 && access(sock.c_str(), F_OK) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(access(sock.c_str(), F_OK), 0) << "wireguard-go did not start";

    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    our_port_ = ntohs(a.sin_port);

    const std::string cmd =
        "wg set " + ifname_ + " private-key " + dir_ + "/key listen-port " +
        std::to_string(their_port_) + " peer " + key_to_base64(our_.public_key) +
        " allowed-ips 10.99.0.2/32 endpoint 127.0.0.1:" + std::to_string(our_port_) +
        " && ip addr add 10.99.0.1/24 dev " + ifname_ + " && ip link set " + ifname_ + " up";
    ASSERT_EQ(sh(cmd), 0) << cmd;
  }

  void TearDown() override {
    if (fd_ >= 0) close(fd_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
    if (!dir_.empty()) sh("rm -rf " + dir_);
    if (!ifname_.empty()) unlink(("/var/run/wireguard/" + ifname_ + ".sock").c_str());
  }

  void send_to_them(std::span<const uint8_t> b) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(their_port_);
    ASSERT_EQ(sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)),
              static_cast<ssize_t>(b.size()));
  }

  // Next datagram (or empty after timeout).
  std::vector<uint8_t> receive(int timeout_ms = 5000) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return {};
    std::vector<uint8_t> b(2048);
    ssize_t n = recv(fd_, b.data(), b.size(), 0);
    b.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return b;
  }

  // Decrypts transport messages until an ICMP echo reply shows up.
  bool await_echo_reply(Keypair& kp, PeerState& peer) {
    for (int i = 0; i < 10; ++i) {
      auto d = receive();
      if (d.empty()) return false;
      auto v = parse_transport(d);
      if (!v) continue;
      std::vector<uint8_t> out(d.size());
      auto n = kp.decrypt(*v, out);
      if (!n) continue;
      peer.on_transport_received(&kp, *n, std::chrono::steady_clock::now());
      if (*n >= 28 && (out[0] >> 4) == 4 && out[9] == 1 && out[20] == 0) return true;
    }
    return false;
  }

  std::string ifname_, dir_;
  Key their_priv_{};
  Key psk_{};
  StaticIdentity our_;
  pid_t pid_ = -1;
  int fd_ = -1;
  uint16_t our_port_ = 0;
  uint16_t their_port_ = static_cast<uint16_t>(40000 + getpid() % 20000);
};

TEST_F(WireguardGo, WeInitiate) {
  PeerState peer(our_, public_key(their_priv_), psk_);
  CookieChecker checker(our_.public_key);
  auto now = std::chrono::steady_clock::now();
  std::vector<uint8_t> buf(kMessageInitiationSize);
  ASSERT_TRUE(peer.write_initiation(0x1234, buf, now, Tai64n::now(), false));
  send_to_them(buf);

  auto d = receive();
  ASSERT_EQ(d.size(), kMessageResponseSize) << "no response from wireguard-go";
  EXPECT_TRUE(checker.check_mac1(d));
  auto resp = parse_response(d);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->receiver_index, 0x1234u);
  SessionOutcome s;
  ASSERT_EQ(peer.complete_as_initiator(*resp, now, &s), HandshakeError::None);
  ASSERT_TRUE(s.keypair);
  EXPECT_EQ(peer.keypairs().current(), s.keypair);

  auto ping = echo_request(0x77, 1);
  std::vector<uint8_t> out(transport_message_size(ping.size(), 1420));
  auto n = s.keypair->encrypt(ping, out, 1420);
  ASSERT_TRUE(n);
  send_to_them(std::span<const uint8_t>(out.data(), *n));
  EXPECT_TRUE(await_echo_reply(*s.keypair, peer)) << "no echo reply through the tunnel";
}

TEST_F(WireguardGo, TheyInitiate) {
  PeerState peer(our_, public_key(their_priv_), psk_);
  CookieChecker checker(our_.public_key);
  // Traffic to 10.99.0.2 makes wireguard-go start a handshake towards us.
  sh("(ping -c 3 -i 0.3 -W 1 10.99.0.2 >/dev/null 2>&1 &)");
  std::vector<uint8_t> d;
  for (int i = 0; i < 5 && d.size() != kMessageInitiationSize; ++i) d = receive();
  ASSERT_EQ(d.size(), kMessageInitiationSize) << "no initiation from wireguard-go";
  EXPECT_TRUE(checker.check_mac1(d));
  auto init = parse_initiation(d);
  ASSERT_TRUE(init);
  auto now = std::chrono::steady_clock::now();
  auto r = consume_initiation(our_, *init, now, [&](const Key& k) {
    return k == peer.remote_public() ? &peer.handshake() : nullptr;
  });
  ASSERT_EQ(r.error, HandshakeError::None) << to_string(r.error);
  std::vector<uint8_t> resp(kMessageResponseSize);
  auto s = peer.write_response(0x4321, resp, now);
  ASSERT_TRUE(s);
  EXPECT_EQ(peer.keypairs().next(), s->keypair);
  EXPECT_EQ(peer.keypairs().current(), nullptr);
  send_to_them(resp);

  // wireguard-go now sends the queued ICMP echo request on the new keys,
  // which confirms our `next` keypair.
  bool got_request = false;
  for (int i = 0; i < 10 && !got_request; ++i) {
    auto p = receive();
    if (p.empty()) break;
    auto v = parse_transport(p);
    if (!v) continue;
    ASSERT_EQ(v->header.receiver_index, 0x4321u);
    std::vector<uint8_t> out(p.size());
    auto n = s->keypair->decrypt(*v, out);
    ASSERT_TRUE(n);
    peer.on_transport_received(s->keypair.get(), *n, now);
    got_request = *n >= 28 && out[9] == 1 && out[20] == 8;
  }
  EXPECT_TRUE(got_request);
  EXPECT_EQ(peer.keypairs().current(), s->keypair);
  EXPECT_EQ(peer.keypairs().next(), nullptr);

  // And we can send back to them on the confirmed keypair.
  auto ping = echo_request(0x99, 2);
  std::vector<uint8_t> out(transport_message_size(ping.size(), 1420));
  auto n = s->keypair->encrypt(ping, out, 1420);
  ASSERT_TRUE(n);
  send_to_them(std::span<const uint8_t>(out.data(), *n));
  EXPECT_TRUE(await_echo_reply(*s->keypair, peer));
}

TEST_F(WireguardGo, WrongPresharedKeyFails) {
  Key wrong = psk_;
  wrong[0] ^= 1;
  PeerState peer(our_, public_key(their_priv_), wrong);
  auto now = std::chrono::steady_clock::now();
  std::vector<uint8_t> buf(kMessageInitiationSize);
  ASSERT_TRUE(peer.write_initiation(0x55, buf, now, Tai64n::now(), false));
  send_to_them(buf);
  auto d = receive();
  ASSERT_EQ(d.size(), kMessageResponseSize);
  SessionOutcome s;
  EXPECT_EQ(peer.complete_as_initiator(*parse_response(d), now, &s), HandshakeError::Decrypt);
}

// We are "under load": wireguard-go's first initiation gets our cookie
// reply; its retransmission must carry a mac2 made from that cookie. This
// checks our XChaCha20-Poly1305 cookie encryption and mac2 against theirs.
TEST_F(WireguardGo, CookieReplyHonoured) {
  PeerState peer(our_, public_key(their_priv_), psk_);
  CookieChecker checker(our_.public_key);
  sh("(ping -c 12 -i 1 -W 1 10.99.0.2 >/dev/null 2>&1 &)");
  sockaddr_in from{};
  auto recv_from = [&](int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    std::vector<uint8_t> b;
    if (poll(&p, 1, timeout_ms) != 1) return b;
    b.resize(2048);
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(fd_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
    b.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return b;
  };
  auto d = recv_from(5000);
  ASSERT_EQ(d.size(), kMessageInitiationSize);
  const auto src =
      CookieSource::from(IpAddress::v4(ntohl(from.sin_addr.s_addr)), ntohs(from.sin_port));
  auto now = std::chrono::steady_clock::now();
  ASSERT_TRUE(checker.check_mac1(d));
  EXPECT_FALSE(checker.check_mac2(d, src, now));
  auto init = parse_initiation(d);
  auto reply = checker.create_reply(d, init->sender_index, src, now);
  ASSERT_TRUE(reply);
  std::vector<uint8_t> wire(kMessageCookieReplySize);
  ASSERT_TRUE(encode(*reply, wire));
  send_to_them(wire);
  // wireguard-go retransmits after REKEY_TIMEOUT (5 s + jitter).
  std::vector<uint8_t> retry;
  for (int i = 0; i < 5 && retry.size() != kMessageInitiationSize; ++i) retry = recv_from(8000);
  ASSERT_EQ(retry.size(), kMessageInitiationSize) << "no retransmission";
  now = std::chrono::steady_clock::now();
  EXPECT_TRUE(checker.check_mac1(retry));
  EXPECT_TRUE(checker.check_mac2(retry, src, now)) << "wireguard-go did not use our cookie";
  // And the handshake completes from there.
  auto r = consume_initiation(our_, *parse_initiation(retry), now, [&](const Key& k) {
    return k == peer.remote_public() ? &peer.handshake() : nullptr;
  });
  EXPECT_EQ(r.error, HandshakeError::None);
}

}  // namespace
}  // namespace ferry::tunnel
