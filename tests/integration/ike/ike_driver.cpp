// ike_driver: runs one ike::Engine on real UDP sockets (local ports 500 and
// 4500) for the strongSwan interop test. ESP is not ours here: datagrams on
// 4500 without the non-ESP marker (RFC 3948 §2.2) are ignored, IKE on 4500
// has the marker stripped on receipt and prepended on send.
//
// Output: one JSON object per line on stdout for every ChildSaSink call and
// liveness change ({"event":"install","spi_in":"c1234567",...}), and the
// engine's show() JSON rewritten to --status every 500 ms. SIGUSR1 asks for a
// CHILD rekey (Engine::clear(name, false)); SIGTERM/SIGINT remove the peer
// (Delete) and exit.
//
// usage: ike_driver --local ADDR --remote ADDR --psk SECRET --local-id ID --remote-id ID
//          --ike P[,P...] --esp P[,P...] [--responder] [--status FILE]
//          [--ike-lifetime S] [--child-lifetime S] [--rekey-margin S]
//          [--dpd-interval S] [--dpd-timeout S]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "ike/engine.hpp"

using namespace ferry;

namespace {

volatile std::sig_atomic_t g_stop = 0, g_rekey = 0;

std::string hex(const std::vector<uint8_t>& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}
std::string hex32(uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

const char* cipher_name(ipsec::EspCipher c) {
  switch (c) {
    case ipsec::EspCipher::kAesGcm16_128:
      return "AES_GCM_16_128";
    case ipsec::EspCipher::kAesGcm16_256:
      return "AES_GCM_16_256";
    case ipsec::EspCipher::kAesCbc128:
      return "AES_CBC_128";
    case ipsec::EspCipher::kAesCbc256:
      return "AES_CBC_256";
  }
  return "?";
}
const char* integ_name(ipsec::EspInteg i) {
  switch (i) {
    case ipsec::EspInteg::kNone:
      return "";
    case ipsec::EspInteg::kHmacSha256_128:
      return "HMAC_SHA2_256_128";
    case ipsec::EspInteg::kHmacSha384_192:
      return "HMAC_SHA2_384_192";
    case ipsec::EspInteg::kHmacSha512_256:
      return "HMAC_SHA2_512_256";
  }
  return "?";
}

void emit(const nlohmann::json& j) {
  std::cout << j.dump() << std::endl;
}

class LogSink final : public ipsec::ChildSaSink {
 public:
  void install(const ipsec::ChildSaPair& sa) override {
    emit({{"event", "install"},
          {"spi_in", hex32(sa.in.spi)},
          {"spi_out", hex32(sa.out.spi)},
          {"cipher", cipher_name(sa.in.cipher)},
          {"integ", integ_name(sa.in.integ)},
          {"enc_in", hex(sa.in.enc_key)},
          {"enc_out", hex(sa.out.enc_key)},
          {"integ_in", hex(sa.in.integ_key)},
          {"integ_out", hex(sa.out.integ_key)},
          {"remote", sa.remote.str()}});
  }
  void remove(tunnel::PeerIndex, uint32_t spi) override {
    emit({{"event", "remove"}, {"spi_in", hex32(spi)}});
  }
  void set_endpoint(tunnel::PeerIndex, const tunnel::UdpEndpoint& e) override {
    emit({{"event", "endpoint"}, {"remote", e.str()}});
  }
  ipsec::EspSaStats stats(uint32_t, bool) const override { return {}; }
};

int open_udp(const IpAddress& a, uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  std::memcpy(&sin.sin_addr, a.bytes(), 4);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    std::perror("bind");
    std::exit(2);
  }
  return fd;
}

class UdpSender final : public ipsec::IkeSender {
 public:
  UdpSender(int fd500, int fd4500) : fd500_(fd500), fd4500_(fd4500) {}
  void send_ike(std::span<const uint8_t> msg, const tunnel::UdpEndpoint& to, bool natt) override {
    std::vector<uint8_t> buf;
    if (natt) buf.assign(4, 0);  // RFC 3948 §2.2 non-ESP marker
    buf.insert(buf.end(), msg.begin(), msg.end());
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(to.port);
    std::memcpy(&sin.sin_addr, to.addr.bytes(), 4);
    sendto(natt ? fd4500_ : fd500_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&sin),
           sizeof sin);
  }

 private:
  int fd500_, fd4500_;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string t;
  while (std::getline(in, t, ',')) out.push_back(t);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  ike::PeerSettings p;
  p.name = "swan";
  p.peer = tunnel::PeerIndex(0);
  std::string status, local;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << a << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--local")
      local = next();
    else if (a == "--remote")
      p.remote = {*IpAddress::parse(next()), 500};
    else if (a == "--psk") {
      auto s = next();
      p.psk.assign(s.begin(), s.end());
    } else if (a == "--local-id")
      p.local_id = next();
    else if (a == "--remote-id")
      p.remote_id = next();
    else if (a == "--ike")
      p.ike_proposals = split(next());
    else if (a == "--esp")
      p.esp_proposals = split(next());
    else if (a == "--responder")
      p.initiate = false;
    else if (a == "--status")
      status = next();
    else if (a == "--ike-lifetime")
      p.ike_lifetime = std::chrono::seconds(std::stoi(next()));
    else if (a == "--child-lifetime")
      p.child_lifetime = std::chrono::seconds(std::stoi(next()));
    else if (a == "--rekey-margin")
      p.rekey_margin = std::chrono::seconds(std::stoi(next()));
    else if (a == "--dpd-interval")
      p.dpd_interval = std::chrono::seconds(std::stoi(next()));
    else if (a == "--dpd-timeout")
      p.dpd_timeout = std::chrono::seconds(std::stoi(next()));
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  auto laddr = IpAddress::parse(local);
  if (!laddr || !laddr->is_v4()) {
    std::cerr << "--local needs an IPv4 address\n";
    return 2;
  }
  int fd500 = open_udp(*laddr, 500), fd4500 = open_udp(*laddr, 4500);
  LogSink sink;
  UdpSender sender(fd500, fd4500);
  ike::Engine engine(sink, sender);
  engine.set_liveness_listener([](const std::string& peer, bool up, const std::string& why) {
    emit({{"event", up ? "up" : "down"}, {"peer", peer}, {"reason", why}});
  });
  if (auto r = engine.add_peer(p); !r) {
    std::cerr << r.error() << "\n";
    return 2;
  }
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGUSR1, [](int) { g_rekey = 1; });

  auto last_status = ike::Clock::now();
  std::vector<uint8_t> buf(65536);
  while (!g_stop) {
    pollfd fds[2] = {{fd500, POLLIN, 0}, {fd4500, POLLIN, 0}};
    poll(fds, 2, 100);
    auto now = ike::Clock::now();
    for (int k = 0; k < 2; ++k) {
      for (;;) {
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        ssize_t n =
            recvfrom(fds[k].fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n <= 0) break;
        tunnel::UdpEndpoint ep{IpAddress::v4_bytes(reinterpret_cast<uint8_t*>(&from.sin_addr)),
                               ntohs(from.sin_port)};
        std::span<const uint8_t> msg(buf.data(), static_cast<size_t>(n));
        if (k == 1) {
          // RFC 3948 §2.2: IKE behind the non-ESP marker; keepalives and ESP ignored.
          if (n < 4 || std::memcmp(buf.data(), "\0\0\0\0", 4) != 0) continue;
          msg = msg.subspan(4);
        }
        engine.on_datagram(msg, ep, k == 1, now);
      }
    }
    if (g_rekey) {
      g_rekey = 0;
      auto r = engine.clear(p.name, false);
      emit({{"event", "clear"}, {"ok", r.ok()}, {"error", r.ok() ? "" : r.error()}});
    }
    engine.tick(now);
    if (!status.empty() && now - last_status >= std::chrono::milliseconds(500)) {
      last_status = now;
      std::ofstream(status + ".tmp") << engine.show(now).dump(1) << "\n";
      std::rename((status + ".tmp").c_str(), status.c_str());
    }
  }
  engine.remove_peer(p.name);
  close(fd500);
  close(fd4500);
  return 0;
}
