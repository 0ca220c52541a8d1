// Writes the seed corpus for fuzz_wg_message (valid messages of every type
// for the fixed fuzz state) and fuzz_wg_replay. Usage: make_corpus DIR
// (DIR = tests/fuzz/tunnel/corpus). Deterministic: rerunning rewrites the
// same files.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_fixture.hpp"
#include "tunnel/messages.hpp"

using namespace ferry::tunnel;
using namespace ferry::tunnel::fuzz;

static void write(const std::string& path, std::span<const uint8_t> b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = std::string(argv[1]) + "/fuzz_wg_message/";
  const Fixture& f = fixture();
  const TimePoint now = fuzz_now();

  // Initiation I -> R with mac1.
  {
    FixedRng rng(50);
    Handshake hs(f.initiator, f.responder.public_key, f.psk);
    auto m = hs.create_initiation(0x01020304, fuzz_timestamp(), rng);
    std::vector<uint8_t> b(kMessageInitiationSize);
    encode(*m, b);
    CookieGenerator gen(f.responder.public_key);
    gen.add_macs(b, now);
    write(dir + "initiation", b);
  }
  // Response R -> I to the initiation the target creates (FixedRng(9)).
  {
    FixedRng target_rng(9);
    Handshake hi(f.initiator, f.responder.public_key, f.psk);
    auto init = hi.create_initiation(kInitIndex, fuzz_timestamp(), target_rng);
    Handshake hr(f.responder, f.initiator.public_key, f.psk);
    auto r = consume_initiation(f.responder, *init, now, [&](const Key&) { return &hr; });
    if (r.error != HandshakeError::None) return 1;
    FixedRng rng(70);
    auto resp = hr.create_response(kRespIndex, rng);
    std::vector<uint8_t> b(kMessageResponseSize);
    encode(*resp, b);
    CookieGenerator gen(f.initiator.public_key);
    gen.add_macs(b, now);
    write(dir + "response", b);
    if (hi.consume_response(*resp) != HandshakeError::None) return 1;  // self-check
  }
  // Cookie reply to the message the target's CookieGenerator sends.
  {
    CookieGenerator gen(f.responder.public_key);
    std::array<uint8_t, kMessageInitiationSize> sent{};
    sent[0] = 1;
    gen.add_macs(sent, now);
    FixedRng rng(90);
    CookieChecker checker(f.responder.public_key, {}, rng);
    auto reply = checker.create_reply(sent, 7, CookieSource::from(ferry::IpAddress::v4(1), 1), now);
    std::vector<uint8_t> b(kMessageCookieReplySize);
    encode(*reply, b);
    write(dir + "cookie_reply", b);
  }
  // Transport messages on the target's fixed keypair.
  {
    Keypair kp(f.recv_key(), f.send_key(), 1, kTransportIndex, true, now);
    for (size_t len : {size_t{0}, size_t{20}, size_t{100}, size_t{1420}}) {
      std::vector<uint8_t> plain(len, 0x45), b(transport_message_size(len, 1420));
      auto n = kp.encrypt(plain, b, 1420);
      b.resize(*n);
      write(dir + "transport_" + std::to_string(len), b);
    }
  }
  // Replay sequences: in order, reordered, big jumps.
  {
    const std::string rdir = std::string(argv[1]) + "/fuzz_wg_replay/";
    auto rec = [](std::vector<uint8_t>& b, uint8_t mode, uint64_t v) {
      b.push_back(mode);
      for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    std::vector<uint8_t> a, r, j;
    for (uint64_t i = 0; i < 200; ++i) rec(a, 3, 1);
    for (uint64_t i = 0; i < 200; ++i) rec(r, i % 2 ? 2 : 1, i * 37);
    rec(j, 0, 100000);
    rec(j, 2, 8128);
    rec(j, 2, 8129);
    rec(j, 0, 0xffffffffffffdffeULL);
    rec(j, 0, 0xffffffffffffdfffULL);
    write(rdir + "in_order", a);
    write(rdir + "reordered", r);
    write(rdir + "jumps", j);
  }
  return 0;
}
