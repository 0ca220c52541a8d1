// libFuzzer target: the ESP receive path on port 4500 as a PacketPath worker
// runs it (udp_step: RFC 3948 demux, SAD lookup, ESN inference, replay
// window, ICV, decryption, trailer, cryptokey source check), with fake
// TUN/UDP, no threads, nothing touches the system.
//
// Each input gets fresh SAs: two inbound SAs of peer 1 (allowed
// 10.0.2.0/24): SPI 0x1001 AES-256-GCM with ESN, SPI 0x2001 AES-128-CBC +
// HMAC-SHA-256-128 without. As ciphertext cannot be found by mutation, the
// input describes what the peer sends and the harness seals it:
//
//   input  := record*
//   record := kind:u8 len:u16le data[len]
//   kind % 4 == 0  raw datagram, as received
//               1  ESP under the GCM SA: data = seq:u32le payload (seq as the
//                  full 64-bit number: kind bit 0x80 sets the high half to 1)
//               2  ESP under the CBC SA: data = seq:u32le payload
//               3  sealed as 1, then the byte at data[0] % size flipped
//
// Properties besides "never crash or read out of bounds": every packet
// written to the TUN has its source in 10.0.2.0/24 (cryptokey routing), and
// only sealed, unflipped records can produce TUN writes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "common/bytes.hpp"
#include "ipsec/esp_protocol.hpp"

using namespace ferry;
using namespace ferry::ipsec;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Udp : tunnel::UdpSocket, tunnel::UdpTransport {
  std::deque<std::vector<uint8_t>> in;
  tunnel::UdpEndpoint from{*IpAddress::parse("192.0.2.2"), 4500};
  int recv_batch(std::span<tunnel::UdpRecv> msgs) override {
    int n = 0;
    while (!in.empty() && static_cast<size_t>(n) < msgs.size()) {
      auto& m = msgs[static_cast<size_t>(n++)];
      m.len = std::min(in.front().size(), m.buf.size());
      if (m.len) std::memcpy(m.buf.data(), in.front().data(), m.len);
      m.segment = 0;
      m.from = from;
      in.pop_front();
    }
    return n;
  }
  int send_batch(std::span<const tunnel::UdpSend> msgs) override {
    return static_cast<int>(msgs.size());
  }
  int fd() const override { return -1; }
  uint16_t port() const override { return 4500; }
  size_t socket_count() const override { return 1; }
  tunnel::UdpSocket& socket(size_t) override { return *this; }
  bool gso() const override { return false; }
  bool gro() const override { return false; }
};

struct Tun : tunnel::TunQueue, tunnel::TunDevice {
  std::vector<std::vector<uint8_t>> out;
  std::string name_ = "fuzz0";
  int read(std::span<uint8_t>) override { return 0; }
  bool write(std::span<const uint8_t> p) override {
    out.emplace_back(p.begin(), p.end());
    return true;
  }
  int fd() const override { return -1; }
  const std::string& name() const override { return name_; }
  size_t queue_count() const override { return 1; }
  tunnel::TunQueue& queue(size_t) override { return *this; }
};

EspSaKeys keys(uint32_t spi, EspCipher c, EspInteg i) {
  EspSaKeys k;
  k.spi = spi;
  k.cipher = c;
  k.integ = i;
  k.enc_key.assign(cipher_keymat_len(c), static_cast<uint8_t>(spi));
  k.integ_key.assign(integ_keymat_len(i), static_cast<uint8_t>(spi >> 8));
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const EspSaKeys gcm = keys(0x1001, EspCipher::kAesGcm16_256, EspInteg::kNone);
  const EspSaKeys cbc = keys(0x2001, EspCipher::kAesCbc128, EspInteg::kHmacSha256_128);
  static auto seal_gcm = EspCrypto::create(gcm, true, 1);
  static auto seal_cbc = EspCrypto::create(cbc, true, 1);

  // Built once; every input re-installs both pairs, which gives it fresh SAs
  // (replay windows, counters) under the same SPIs.
  struct Node {
    Sad sad{1};
    IkeInbox ike{8};
    tunnel::DropCounters drops;
    EspProtocol proto{sad, ike, drops, 1};
    tunnel::CryptokeyTable routes;
    Udp udp;
    Tun tun;
    std::unique_ptr<tunnel::PacketPath> path;
  };
  static Node* node = [] {
    auto* n = new Node;
    n->routes.add_allowed(1, *Prefix::parse("10.0.2.0/24"));
    n->path = std::make_unique<tunnel::PacketPath>(n->proto, n->tun, n->udp, n->routes,
                                                   tunnel::system_time(), n->drops, 1420, 1);
    return n;
  }();
  Sad& sad = node->sad;
  Udp& udp = node->udp;
  Tun& tun = node->tun;
  tunnel::PacketPath& path = *node->path;
  IkeInbox& ike = node->ike;
  tun.out.clear();
  udp.in.clear();
  for (const auto& [in, out, esn] : {std::tuple{gcm, keys(0x1002, gcm.cipher, gcm.integ), true},
                                     std::tuple{cbc, keys(0x2002, cbc.cipher, cbc.integ), false}}) {
    ChildSaPair p;
    p.peer = 1;
    p.in = in;
    p.out = out;
    p.esn = esn;
    p.remote = udp.from;
    sad.install(p);
  }

  ByteReader r(data, size);
  size_t sealed = 0;
  while (!r.empty()) {
    auto kind = r.u8();
    auto len = r.u16();  // big-endian is as good as little here
    if (!kind || !len) break;
    auto body = r.bytes(std::min<size_t>(*len, r.remaining()));
    if (!body) break;
    std::vector<uint8_t> d;
    const int k = *kind % 4;
    if (k == 0 || body->size() < 4) {
      d.assign(body->begin(), body->end());
    } else {
      ByteReader b(*body);
      uint64_t seq = *b.u32_le();
      EspCrypto& c = k == 2 ? *seal_cbc : *seal_gcm;
      const bool esn = k != 2;
      if (esn && (*kind & 0x80)) seq |= uint64_t{1} << 32;
      auto payload = b.rest().first(std::min<size_t>(b.remaining(), 1500));
      d.resize(sealed_len(c.cipher(), c.integ(), payload.size()));
      std::memcpy(d.data() + payload_offset(c.cipher()), payload.data(), payload.size());
      const uint8_t nh = payload.empty() ? kNextHeaderIpv4 : payload[0] >> 4 == 6 ? 41 : 4;
      d.resize(c.seal(0, seq, esn, d, payload.size(), nh));
      if (k == 3 && !d.empty()) {
        d[(*body)[0] % d.size()] ^= 0x01;
      } else if (!d.empty()) {
        ++sealed;
      }
    }
    udp.in.push_back(std::move(d));
  }
  while (!udp.in.empty()) path.udp_step(0);
  check(tun.out.size() <= sealed);
  for (const auto& p : tun.out) {
    check(p.size() >= 20 && (p[0] >> 4) == 4);
    check(p[12] == 10 && p[13] == 0 && p[14] == 2);
  }
  ike.drain();
  return 0;
}
