// RIB benchmarks.
//
// BM_Propagate: peer A announces N IPv4 prefixes (4 prefixes per attribute
// set, like UPDATEs from a real full table); every prefix goes through
// import policy, the decision process and export, and peer B pulls the
// resulting updates until nothing is pending. Reports prefixes/s end to end.
//
// BM_MemoryTwoPeers: two peers each announce the same N prefixes with their
// own attributes (so every prefix has two paths), one more peer receives the
// full table (Adj-RIB-Out). Reports heap bytes per prefix (mallinfo2 delta),
// the RIB's own estimate, and the RSS growth (also after malloc_trim, since
// the load bursts leave freed pages behind). BIRD's reference point: about
// 170 MB RSS for 1M prefixes with two peers.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "rib/rib.hpp"

namespace {

using namespace ferry;
using namespace ferry::rib;

struct Table {
  std::vector<Prefix> prefixes;
  std::vector<bgp::PathAttributes> attrs;  // one per group of 4 prefixes
};

Table make_table(size_t n, uint32_t first_as, uint32_t seed, const char* nh) {
  Table t;
  t.prefixes.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    // Mostly /24s with some shorter prefixes, spread over 1.0.0.0-...
    uint32_t base = 0x01000000u + static_cast<uint32_t>(i) * 256u;
    int len = (i % 10 == 0) ? 22 : (i % 10 == 1 ? 23 : 24);
    t.prefixes.emplace_back(IpAddress::v4(base), len);
  }
  std::mt19937 rng(seed);
  for (size_t g = 0; g < (n + 3) / 4; ++g) {
    bgp::PathAttributes a;
    a.origin = bgp::Origin::Igp;
    std::vector<uint32_t> path = {first_as};
    int hops = 2 + static_cast<int>(rng() % 4);
    for (int h = 0; h < hops; ++h) path.push_back(1000 + rng() % 60000);
    a.as_path.push_back({bgp::SegmentType::Sequence, std::move(path)});
    a.next_hop = *IpAddress::parse(nh);
    if (rng() % 3 == 0) a.communities = {first_as << 16 | static_cast<uint32_t>(rng() % 1000)};
    if (rng() % 4 == 0) a.med = rng() % 100;
    t.attrs.push_back(std::move(a));
  }
  return t;
}

PeerConfig peer(const char* name, const char* addr, uint32_t asn) {
  PeerConfig c;
  c.name = name;
  c.address = *IpAddress::parse(addr);
  c.remote_asn = Asn(asn);
  c.import_policies = {"accept-all"};
  c.export_policies = {"accept-all"};
  c.import_set = c.export_set = true;
  return c;
}

PeerSession session(uint32_t rid, const char* local) {
  PeerSession s;
  s.router_id = RouterId(rid);
  s.families = {Family::V4};
  s.local_v4 = *IpAddress::parse(local);
  return s;
}

void feed(Rib& rib, PeerId p, const Table& t) {
  for (size_t g = 0; g < t.attrs.size(); ++g) {
    size_t lo = g * 4, hi = std::min(lo + 4, t.prefixes.size());
    rib.announce(p, t.attrs[g], std::span(t.prefixes.data() + lo, hi - lo));
  }
}

size_t drain(Rib& rib, PeerId p) {
  size_t n = 0;
  for (;;) {
    PullResult r = rib.pull_updates(p, 4096);
    for (auto& b : r.announce) n += b.prefixes.size();
    n += r.withdraw.size();
    if (!r.more) break;
  }
  return n;
}

RibOptions opts() {
  RibOptions o;
  o.local_asn = Asn(65000);
  o.router_id = RouterId(0x0a000001);
  o.heap_trim = [] { malloc_trim(0); };  // as ferryd does
  return o;
}

void BM_Propagate(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Table t = make_table(n, 65001, 1, "192.0.2.2");
  size_t sent = 0;
  for (auto _ : state) {
    auto rib = std::make_unique<Rib>(opts());
    PeerId a = rib->add_peer(peer("a", "192.0.2.2", 65001));
    PeerId b = rib->add_peer(peer("b", "198.51.100.2", 65002));
    rib->peer_up(a, session(2, "192.0.2.1"));
    rib->peer_up(b, session(3, "198.51.100.1"));
    drain(*rib, a);
    drain(*rib, b);
    feed(*rib, a, t);
    sent = drain(*rib, b);
    state.PauseTiming();
    rib.reset();  // destruction is not part of propagation
    state.ResumeTiming();
  }
  if (sent != n) state.SkipWithError("not every prefix was propagated");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["prefixes_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Propagate)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_ImportOnly(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Table t = make_table(n, 65001, 1, "192.0.2.2");
  for (auto _ : state) {
    auto rib = std::make_unique<Rib>(opts());
    PeerId a = rib->add_peer(peer("a", "192.0.2.2", 65001));
    rib->peer_up(a, session(2, "192.0.2.1"));
    drain(*rib, a);
    feed(*rib, a, t);
    benchmark::DoNotOptimize(rib->prefix_count());
    state.PauseTiming();
    rib.reset();
    state.ResumeTiming();
  }
  state.counters["prefixes_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ImportOnly)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(1);

long rss_kb() {
  long kb = 0;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    std::fclose(f);
  }
  return kb;
}

void BM_MemoryTwoPeers(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  Table ta = make_table(n, 65001, 1, "192.0.2.2");
  Table tc = make_table(n, 65003, 2, "203.0.113.2");
  for (auto _ : state) {
    malloc_trim(0);
    size_t heap0 = mallinfo2().uordblks;
    long rss0 = rss_kb();
    Rib rib(opts());
    PeerId a = rib.add_peer(peer("a", "192.0.2.2", 65001));
    PeerId b = rib.add_peer(peer("b", "198.51.100.2", 65002));
    PeerId c = rib.add_peer(peer("c", "203.0.113.2", 65003));
    rib.peer_up(a, session(2, "192.0.2.1"));
    rib.peer_up(b, session(3, "198.51.100.1"));
    rib.peer_up(c, session(4, "203.0.113.1"));
    feed(rib, a, ta);
    feed(rib, c, tc);
    drain(rib, a);
    drain(rib, b);
    drain(rib, c);
    size_t heap1 = mallinfo2().uordblks;
    long rss1 = rss_kb();
    MemoryStats m = rib.memory_stats();
    state.counters["heap_bytes_per_prefix"] =
        static_cast<double>(heap1 - heap0) / static_cast<double>(n);
    state.counters["rib_estimate_bytes_per_prefix"] =
        static_cast<double>(m.total_bytes()) / static_cast<double>(n);
    state.counters["rss_delta_MB"] = static_cast<double>(rss1 - rss0) / 1024.0;
    state.counters["rss_MB"] = static_cast<double>(rss1) / 1024.0;
    malloc_trim(0);  // what a daemon settles at once the bursts are over
    state.counters["rss_delta_after_trim_MB"] = static_cast<double>(rss_kb() - rss0) / 1024.0;
    state.counters["attr_sets"] = static_cast<double>(m.attr_sets);
    state.counters["paths"] = static_cast<double>(m.paths);
    state.counters["adj_out"] = static_cast<double>(m.adj_out);
  }
}
BENCHMARK(BM_MemoryTwoPeers)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
