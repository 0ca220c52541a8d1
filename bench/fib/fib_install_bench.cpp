// Time to install (and remove) N IPv4 routes through Fib + KernelFib into a
// table of a private network namespace. Prints routes/s and the Fib's memory
// per route. Usage: bench_fib_install [routes=1000000] [batch_bytes=65536]

// A C++ standard header first: Asio's config must see libstdc++'s macros
// (_GLIBCXX_HAVE_ALIGNED_ALLOC) in every translation unit, or its allocator
// differs between TUs (ASan: alloc-dealloc-mismatch).
#include <cstddef>

#include <sched.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "fib/fib.hpp"
#include "fib/kernel_fib.hpp"
#include "fib/link.hpp"

using namespace ferry;
using namespace ferry::fib;
using Clock = std::chrono::steady_clock;

namespace {
long rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}
double secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
template <typename Pred>
void run_until(asio::io_context& io, Pred pred) {
  while (!pred()) {
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(50));
  }
}
}  // namespace

int main(int argc, char** argv) {
  const uint32_t n = argc > 1 ? static_cast<uint32_t>(std::atol(argv[1])) : 1000000;
  const size_t batch = argc > 2 ? static_cast<size_t>(std::atol(argv[2])) : 64 * 1024;
  if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
    std::printf("{\"skipped\": \"needs root (unshare CLONE_NEWNET)\"}\n");
    return 0;
  }
  if (std::system("ip link add bva type veth peer name bvb && ip link set bva up && "
                  "ip link set bvb up && ip addr add 10.1.0.1/24 dev bva") != 0) {
    std::fprintf(stderr, "netns setup failed\n");
    return 1;
  }
  auto ifindex = LinkControl().ifindex("bva");
  if (!ifindex) return 1;

  asio::io_context io;
  NetlinkClient client(io);
  if (auto r = client.open(); !r) {
    std::fprintf(stderr, "%s\n", r.error().c_str());
    return 1;
  }
  KernelFib kfib(client, KernelFibOptions{RouteKeys{100, 200, 20}, batch});
  FibOptions fo;
  fo.keys = RouteKeys{100, 200, 20};
  Fib fib(io, kfib, fo);
  fib.start();
  run_until(io, [&] { return fib.started(); });

  NextHop nh;
  nh.gateway = *IpAddress::parse("10.1.0.2");
  nh.ifindex = *ifindex;
  const long rss0 = rss_kb();
  const auto t0 = Clock::now();
  for (uint32_t i = 0; i < n; ++i) fib.set(Prefix(IpAddress::v4(0x01000000u + (i << 8)), 24), {nh});
  const auto t1 = Clock::now();
  const long rss1 = rss_kb();
  run_until(io, [&] { return fib.converged(); });
  const auto t2 = Clock::now();
  bool done = false;
  fib.shutdown([&] { done = true; });
  run_until(io, [&] { return done; });
  const auto t3 = Clock::now();

  std::printf(
      "{\"routes\": %u, \"batch_bytes\": %zu, \"set_s\": %.3f, \"install_s\": %.3f, "
      "\"install_routes_per_s\": %.0f, \"remove_s\": %.3f, \"remove_routes_per_s\": %.0f, "
      "\"fib_bytes_per_route\": %.0f, \"failures\": %llu, \"netlink_batches\": %llu}\n",
      n, batch, secs(t0, t1), secs(t1, t2), n / secs(t0, t2), secs(t2, t3), n / secs(t2, t3),
      (rss1 - rss0) * 1024.0 / n, static_cast<unsigned long long>(fib.counters().failures),
      static_cast<unsigned long long>(client.counters().batches));
  return fib.counters().failures == 0 ? 0 : 1;
}
