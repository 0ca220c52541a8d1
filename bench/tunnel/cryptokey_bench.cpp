// Cryptokey table at full-table scale: 1M IPv4 prefixes (lengths /8../32 weighted
// like a DFZ table: mostly /24) plus 230k IPv6, spread over 64 peers.
// Reports lookup latency (random addresses, so mostly cache misses), node-arena
// memory per prefix, and the cost of publishing one batched change.
#include <benchmark/benchmark.h>

#include <random>

#include "tunnel/cryptokey.hpp"

using namespace ferry;
using namespace ferry::tunnel;

namespace {

CryptokeyTable& table() {
  static CryptokeyTable* t = [] {
    auto* t = new CryptokeyTable;
    std::mt19937_64 rng(42);
    std::vector<AllowedChange> ch;
    ch.reserve(1230000);
    for (int i = 0; i < 1000000; ++i) {
      int r = static_cast<int>(rng() % 100);
      int len = r < 60   ? 24
                : r < 75 ? 22
                : r < 85 ? 23
                : r < 95 ? 20
                         : 8 + static_cast<int>(rng() % 25);
      ch.push_back({AllowedChange::Op::Add, static_cast<PeerIndex>(rng() % 64),
                    Prefix(IpAddress::v4(static_cast<uint32_t>(rng())), len),
                    AllowedOrigin::Learned});
    }
    for (int i = 0; i < 230000; ++i) {
      uint8_t b[16] = {0x20, 0x01};
      uint64_t x = rng();
      std::memcpy(b + 2, &x, 8);
      int len = rng() % 2 ? 48 : 32 + static_cast<int>(rng() % 33);
      ch.push_back({AllowedChange::Op::Add, static_cast<PeerIndex>(rng() % 64),
                    Prefix(IpAddress::v6_bytes(b), len), AllowedOrigin::Learned});
    }
    t->apply(ch);
    return t;
  }();
  return *t;
}

void BM_LookupV4(benchmark::State& s) {
  auto snap = table().snapshot();
  std::mt19937 rng(1);
  std::vector<uint32_t> addrs(1 << 16);
  for (auto& a : addrs) a = __builtin_bswap32(static_cast<uint32_t>(rng()));
  size_t i = 0;
  for (auto _ : s) {
    benchmark::DoNotOptimize(
        snap->lookup_v4(reinterpret_cast<const uint8_t*>(&addrs[i++ & 0xffff])));
  }
  s.counters["prefixes"] = static_cast<double>(snap->size());
  s.counters["bytes_per_prefix"] =
      static_cast<double>(snap->memory_bytes()) / static_cast<double>(snap->size());
}
BENCHMARK(BM_LookupV4);

void BM_LookupV6(benchmark::State& s) {
  auto snap = table().snapshot();
  std::mt19937_64 rng(2);
  std::vector<std::array<uint8_t, 16>> addrs(1 << 14);
  for (auto& a : addrs) {
    a = {0x20, 0x01};
    uint64_t x = rng();
    std::memcpy(a.data() + 2, &x, 8);
  }
  size_t i = 0;
  for (auto _ : s) benchmark::DoNotOptimize(snap->lookup_v6(addrs[i++ & 0x3fff].data()));
}
BENCHMARK(BM_LookupV6);

// One learned-route batch of 100 changes on the full table, published once.
void BM_ApplyBatch100(benchmark::State& s) {
  auto& t = table();
  std::mt19937 rng(3);
  for (auto _ : s) {
    std::vector<AllowedChange> ch;
    for (int i = 0; i < 100; ++i)
      ch.push_back({AllowedChange::Op::Add, 1,
                    Prefix(IpAddress::v4(static_cast<uint32_t>(rng())), 24),
                    AllowedOrigin::Learned});
    t.apply(ch);
  }
}
BENCHMARK(BM_ApplyBatch100)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
