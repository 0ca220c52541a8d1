// Single-core benchmarks of the protocol core:
//  - transport encrypt / decrypt of 1420-byte packets through Keypair
//    (header + padding + ChaCha20-Poly1305 + replay window), bytes/s;
//  - full handshakes (both sides, 4+4 X25519 incl. ephemeral generation),
//    the responder's half alone, and the mac1 check every handshake pays.
#include <benchmark/benchmark.h>

#include <sodium.h>

#include <cstring>
#include <vector>

#include "tunnel/cookie.hpp"
#include "tunnel/handshake.hpp"
#include "tunnel/keypair.hpp"

namespace ferry::tunnel {
namespace {

Key key_of(uint8_t v) {
  Key k;
  k.fill(v);
  return k;
}

const TimePoint kT0 = TimePoint(std::chrono::hours(1));

void BM_Encrypt(benchmark::State& state) {
  const size_t len = static_cast<size_t>(state.range(0));
  Keypair kp(key_of(1), key_of(2), 1, 2, true, kT0);
  std::vector<uint8_t> plain(len, 0xab), out(transport_message_size(len, 1420));
  for (auto _ : state) {
    auto n = kp.encrypt(plain, out, 1420);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_Encrypt)->Arg(1420)->Arg(64);

void BM_EncryptInPlace(benchmark::State& state) {
  const size_t len = static_cast<size_t>(state.range(0));
  Keypair kp(key_of(1), key_of(2), 1, 2, true, kT0);
  std::vector<uint8_t> buf(transport_message_size(len, 1420), 0xab);
  for (auto _ : state) {
    auto n =
        kp.encrypt(std::span<const uint8_t>(buf.data() + kTransportHeaderSize, len), buf, 1420);
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_EncryptInPlace)->Arg(1420);

void BM_Decrypt(benchmark::State& state) {
  const size_t len = static_cast<size_t>(state.range(0));
  constexpr size_t kBatch = 4096;
  Keypair tx(key_of(1), key_of(2), 1, 2, true, kT0);
  std::vector<std::vector<uint8_t>> msgs(kBatch);
  std::vector<uint8_t> plain(len, 0xcd);
  for (auto& m : msgs) {
    m.resize(transport_message_size(len, 1420));
    m.resize(*tx.encrypt(plain, m, 1420));
  }
  std::vector<TransportView> views;
  for (auto& m : msgs) views.push_back(*parse_transport(m));
  std::vector<uint8_t> out(len + 16);
  auto rx = std::make_unique<Keypair>(key_of(2), key_of(1), 2, 1, false, kT0);
  size_t i = 0;
  for (auto _ : state) {
    if (i == kBatch) {
      // Fresh replay window for the next pass over the same messages.
      state.PauseTiming();
      rx = std::make_unique<Keypair>(key_of(2), key_of(1), 2, 1, false, kT0);
      i = 0;
      state.ResumeTiming();
    }
    auto n = rx->decrypt(views[i++], out);
    if (!n) state.SkipWithError("decrypt failed");
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_Decrypt)->Arg(1420)->Arg(64);

// Reference point, not our path: libsodium's one-shot ChaCha20-Poly1305 on
// the same buffer (no header, no padding, no counter bookkeeping).
void BM_Baseline_LibsodiumSeal(benchmark::State& state) {
  const size_t len = static_cast<size_t>(state.range(0));
  if (sodium_init() < 0) state.SkipWithError("sodium_init");
  Key key = key_of(1);
  std::vector<uint8_t> plain(len, 0xab), out(len + 16);
  uint8_t nonce[12] = {};
  uint64_t counter = 0;
  for (auto _ : state) {
    ++counter;
    std::memcpy(nonce + 4, &counter, 8);
    unsigned long long clen = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &clen, plain.data(), len, nullptr, 0,
                                              nullptr, nonce, key.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_Baseline_LibsodiumSeal)->Arg(1420)->Arg(64);

struct Peers {
  StaticIdentity a = StaticIdentity::from_private(generate_private_key());
  StaticIdentity b = StaticIdentity::from_private(generate_private_key());
  Handshake ha{a, b.public_key};
  Handshake hb{b, a.public_key};
};

void BM_FullHandshake(benchmark::State& state) {
  Peers p;
  int64_t n = 0;
  for (auto _ : state) {
    ++n;
    const TimePoint now = kT0 + std::chrono::seconds(n);
    auto init = p.ha.create_initiation(1, Tai64n::from_unix(1700000000 + n, 0));
    auto r = consume_initiation(p.b, *init, now, [&](const Key&) { return &p.hb; });
    if (r.error != HandshakeError::None) state.SkipWithError("initiation refused");
    auto resp = p.hb.create_response(2);
    if (p.ha.consume_response(*resp) != HandshakeError::None) state.SkipWithError("response");
    auto ka = p.ha.derive_keypair(now);
    auto kb = p.hb.derive_keypair(now);
    benchmark::DoNotOptimize(ka);
    benchmark::DoNotOptimize(kb);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FullHandshake);

void BM_ResponderHalf(benchmark::State& state) {
  // What a responder spends per valid initiation: open it, accept it,
  // answer, derive keys. Initiations are made outside the timed region.
  Peers p;
  int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    ++n;
    auto init = p.ha.create_initiation(1, Tai64n::from_unix(1700000000 + n, 0));
    const TimePoint now = kT0 + std::chrono::seconds(n);
    state.ResumeTiming();
    auto r = consume_initiation(p.b, *init, now, [&](const Key&) { return &p.hb; });
    auto resp = p.hb.create_response(2);
    auto kb = p.hb.derive_keypair(now);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(resp);
    benchmark::DoNotOptimize(kb);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResponderHalf);

void BM_Mac1Check(benchmark::State& state) {
  Peers p;
  CookieGenerator gen(p.b.public_key);
  CookieChecker checker(p.b.public_key);
  std::vector<uint8_t> msg(kMessageInitiationSize, 1);
  msg[1] = msg[2] = msg[3] = 0;
  gen.add_macs(msg, kT0);
  for (auto _ : state) benchmark::DoNotOptimize(checker.check_mac1(msg));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Mac1Check);

}  // namespace
}  // namespace ferry::tunnel

BENCHMARK_MAIN();
