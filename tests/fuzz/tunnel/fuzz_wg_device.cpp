// libFuzzer target: the receive path of a whole tunnel::Device, as the UDP
// worker and the handshake thread run it (udp_step + handshake_step, stepped
// by hand with fake TUN/UDP, no threads, nothing touches the system).
//
// Fixture (built once): device R (our side, key fixed_key(1)) with peer I
// (allowed 10.0.2.0/24, fd00:2::/64) and peer O (allowed 10.0.3.0/24), in two
// variants: plain TUN/UDP, and TUN with virtio_net_hdr offloads (inbound TCP
// coalescing) plus UDP GRO. The harness plays peer I: it runs a real
// handshake with R through the fake network, so it holds a transport keypair
// R accepts. Because R's receiver indices and ephemeral keys are random, the
// input does not carry ciphertext for that session; instead it describes what
// to send and the harness builds it:
//
//   input  := variant:u8 record*
//   record := kind:u8 len:u16le data[len]
//   kind & 3 == 0  raw datagram, data as received from the network
//              1  transport message sealed with the live session:
//                 data = counter_delta:u16le plaintext; the counter is a
//                 per-input base (advances by 2^16 per input, so inputs stay
//                 independent of each other's replay state) + delta
//              2  handshake message whose header and mac1 the harness fixes:
//                 type = 1 + data[0] % 3, reserved zero, the rest of the
//                 fixed-size message from data[1:] (zero-filled)
//              3  a genuine new initiation from I (at most one per input); the
//                 harness completes it with R's response and continues on the
//                 new keypair (key rotation: next -> current on first use)
//   kind & 0x80    (GRO variant) coalesce into the previous datagram's buffer,
//                  whose first datagram's size is the GRO segment size
//
// Properties besides "never crash, leak or read out of bounds": every packet
// R writes to TUN has a source address in I's allowed IPs (cryptokey routing,
// whitepaper §2), and only sealed records can produce TUN writes (an
// unauthenticated datagram never reaches the LAN).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "common/bytes.hpp"
#include "fuzz_fixture.hpp"
#include "tunnel/datapath.hpp"
#include "tunnel/device.hpp"
#include "tunnel/messages.hpp"
#include "tunnel/tun_offload.hpp"

using namespace ferry;
using namespace ferry::tunnel;
using namespace ferry::tunnel::fuzz;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

UdpEndpoint ep(const char* ip, uint16_t port) {
  return {*IpAddress::parse(ip), port};
}

struct Datagram {
  std::vector<uint8_t> data;
  uint16_t segment = 0;
  UdpEndpoint from;
};

// UDP: an inbox the harness fills, and an outbox of what R sent.
class FakeSocket final : public UdpSocket {
 public:
  int recv_batch(std::span<UdpRecv> msgs) override {
    int n = 0;
    while (!inbox.empty() && static_cast<size_t>(n) < msgs.size()) {
      Datagram& d = inbox.front();
      UdpRecv& m = msgs[static_cast<size_t>(n++)];
      m.len = std::min(d.data.size(), m.buf.size());  // the kernel truncates too
      if (m.len) std::memcpy(m.buf.data(), d.data.data(), m.len);
      m.segment = d.segment;
      m.from = d.from;
      inbox.pop_front();
    }
    return n;
  }
  int send_batch(std::span<const UdpSend> msgs) override {
    for (const auto& m : msgs) {
      size_t seg = m.segment ? m.segment : m.data.size();
      for (size_t off = 0; off < m.data.size(); off += seg) {
        auto part = m.data.subspan(off, std::min(seg, m.data.size() - off));
        outbox.push_back({{part.begin(), part.end()}, 0, m.to});
      }
    }
    return static_cast<int>(msgs.size());
  }
  int fd() const override { return -1; }
  std::deque<Datagram> inbox, outbox;
};

class FakeUdp final : public UdpTransport {
 public:
  explicit FakeUdp(bool gro) : gro_(gro) {}
  uint16_t port() const override { return 51820; }
  size_t socket_count() const override { return 1; }
  UdpSocket& socket(size_t) override { return sock; }
  bool gso() const override { return true; }
  bool gro() const override { return gro_; }
  FakeSocket sock;

 private:
  bool gro_;
};

// TUN: checks every packet R delivers instead of storing it.
class FakeQueue final : public TunQueue {
 public:
  explicit FakeQueue(bool vnet) : vnet_(vnet) {}
  int read(std::span<uint8_t>) override { return 0; }
  bool write(std::span<const uint8_t> pkt) override {
    ++writes;
    std::span<const uint8_t> ip = pkt;
    if (vnet_) {
      check(pkt.size() > VnetHdr::kSize);
      ip = pkt.subspan(VnetHdr::kSize);
    }
    InnerPacket in;
    check(parse_inner(ip, in));
    if (in.version == 4)
      check(in.src[0] == 10 && in.src[1] == 0 && in.src[2] == 2);  // 10.0.2.0/24
    else
      check(in.src[0] == 0xfd && in.src[1] == 0 && in.src[2] == 0 && in.src[3] == 2 &&
            std::memcmp(in.src + 4, "\0\0\0\0", 4) == 0);  // fd00:2::/64
    return true;
  }
  int fd() const override { return -1; }
  bool vnet_hdr() const override { return vnet_; }
  size_t writes = 0;

 private:
  bool vnet_;
};

class FakeTun final : public TunDevice {
 public:
  explicit FakeTun(bool vnet) : q(vnet) {}
  const std::string& name() const override { return name_; }
  size_t queue_count() const override { return 1; }
  TunQueue& queue(size_t) override { return q; }
  FakeQueue q;

 private:
  std::string name_ = "fuzz0";
};

const UdpEndpoint kPeerEp = ep("192.0.2.2", 51820);

// One device under test plus the harness's side of the session with it.
struct Rig {
  FakeTun* tun;
  FakeUdp* udp;
  std::unique_ptr<Device> dev;
  std::shared_ptr<Keypair> kp;  // I's keypair for the live session
  uint64_t next_ts = 1700000000;

  explicit Rig(bool offload) {
    DeviceConfig cfg;
    cfg.private_key = fixed_key(1);
    cfg.timers.scale = 1e6;    // keys never expire and no timer fires while fuzzing
    cfg.handshake_queue = 64;  // "under load" (cookie replies) from 8 queued messages
    auto t = std::make_unique<FakeTun>(offload);
    auto u = std::make_unique<FakeUdp>(offload);
    tun = t.get();
    udp = u.get();
    dev = std::make_unique<Device>(cfg, std::move(t), std::move(u), 1);
    const Fixture& f = fixture();
    PeerIndex pi = dev->add_peer({"I", f.initiator.public_key, f.psk, kPeerEp, 0});
    PeerIndex po = dev->add_peer({"O", public_key(fixed_key(6)), {}, std::nullopt, 0});
    dev->routes().add_allowed(pi, *Prefix::parse("10.0.2.0/24"));
    dev->routes().add_allowed(pi, *Prefix::parse("fd00:2::/64"));
    dev->routes().add_allowed(po, *Prefix::parse("10.0.3.0/24"));
    check(handshake(fuzz_now()));
  }

  // I initiates, R responds; on success kp is the new session. The initiation
  // goes through the same queue as fuzzed datagrams (callers flush first).
  bool handshake(TimePoint now) {
    const Fixture& f = fixture();
    FixedRng rng(static_cast<uint8_t>(next_ts));
    Handshake hs(f.initiator, f.responder.public_key, f.psk);
    auto init = hs.create_initiation(kInitIndex, Tai64n::from_unix(next_ts++, 0), rng);
    if (!init) return false;
    std::vector<uint8_t> b(kMessageInitiationSize);
    encode(*init, b);
    CookieGenerator gen(f.responder.public_key);
    gen.add_macs(b, now);
    udp->sock.inbox.push_back({std::move(b), 0, kPeerEp});
    dev->udp_step(0);
    dev->handshake_step(now);
    bool ok = false;
    for (auto& d : udp->sock.outbox) {
      if (d.data.size() != kMessageResponseSize || d.data[0] != 2) continue;
      auto resp = parse_response(d.data);
      if (resp && resp->receiver_index == kInitIndex &&
          hs.consume_response(*resp) == HandshakeError::None) {
        kp = hs.derive_keypair(now);
        ok = kp != nullptr;
      }
    }
    udp->sock.outbox.clear();
    return ok;
  }

  std::vector<uint8_t> seal(uint64_t counter, std::span<const uint8_t> plain) const {
    std::vector<uint8_t> b(kTransportHeaderSize + plain.size() + kAeadTagSize);
    encode(TransportHeader{kp->remote_index(), counter}, b);
    check(kp->seal(counter, plain, std::span<uint8_t>(b).subspan(kTransportHeaderSize)));
    b[0] = 4;
    return b;
  }
};

Rig& rig(bool offload) {
  static Rig* plain = new Rig(false);  // never destroyed: no exit-time teardown
  static Rig* gro = new Rig(true);
  return offload ? *gro : *plain;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t base = 0;  // transport counter base, fresh per input
  static uint64_t clock_s = 0;
  if (size < 1) return 0;
  const bool offload = data[0] & 1;
  Rig& r = rig(offload);
  base += 1u << 16;
  const TimePoint now = fuzz_now() + std::chrono::seconds(++clock_s);
  const Fixture& f = fixture();
  ByteReader in(std::span<const uint8_t>(data + 1, size - 1));
  auto& inbox = r.udp->sock.inbox;
  size_t sealed = 0;
  bool rehandshook = false;
  const size_t writes_before = r.tun->q.writes;
  while (in.remaining() >= 3) {
    uint8_t kind = *in.u8();
    const uint8_t lo = *in.u8();
    const size_t len = lo | (size_t{*in.u8()} << 8);  // u16 little-endian
    auto body = in.bytes(std::min<size_t>(len, in.remaining()));
    if (!body) break;
    std::span<const uint8_t> d = *body;
    std::vector<uint8_t> dg;
    switch (kind & 3) {
      case 0:
        dg.assign(d.begin(), d.end());
        break;
      case 1: {
        if (d.size() < 2) continue;
        uint64_t delta = d[0] | (uint64_t{d[1]} << 8);
        dg = r.seal(base + delta, d.subspan(2));
        ++sealed;
        break;
      }
      case 2: {
        if (d.empty()) continue;
        const uint8_t type = static_cast<uint8_t>(1 + d[0] % 3);
        const size_t n = type == 1   ? kMessageInitiationSize
                         : type == 2 ? kMessageResponseSize
                                     : kMessageCookieReplySize;
        dg.assign(n, 0);  // type, reserved zero (else dropped before the MACs are looked at)
        if (d.size() > 1) std::memcpy(dg.data() + 4, d.data() + 1, std::min(d.size() - 1, n - 4));
        dg[0] = type;
        if (type != 3) {
          CookieGenerator gen(f.responder.public_key);
          gen.add_macs(dg, now);
        }
        break;
      }
      case 3:
        if (rehandshook) continue;
        rehandshook = true;
        while (!inbox.empty()) r.dev->udp_step(0);  // what is queued goes first, as on the wire
        r.dev->handshake_step(now);
        if (!r.handshake(now)) return 0;  // refused (e.g. flood check): keep the old session
        continue;
    }
    if ((kind & 0x80) && offload && !inbox.empty() && !dg.empty()) {
      Datagram& prev = inbox.back();
      if (prev.segment == 0) prev.segment = static_cast<uint16_t>(prev.data.size());
      prev.data.insert(prev.data.end(), dg.begin(), dg.end());
      if (prev.data.size() > 65535) prev.data.resize(65535);
      continue;
    }
    inbox.push_back({std::move(dg), 0, kPeerEp});
  }
  while (!inbox.empty()) r.dev->udp_step(0);
  r.dev->handshake_step(now);
  r.udp->sock.outbox.clear();
  check(r.tun->q.writes - writes_before <= sealed);
  return 0;
}
