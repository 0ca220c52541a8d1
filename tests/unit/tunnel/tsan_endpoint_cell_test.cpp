// EndpointCell: a reader never sees a torn endpoint (half of one write, half
// of another) while a writer roams between IPv4 and IPv6 endpoints, and the
// roaming update reports a change only when the endpoint differs. Named
// tsan_*: under `make tsan` the race detector checks the sequence lock too.
#include "tunnel/endpoint_cell.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace ferry;
using namespace ferry::tunnel;

namespace {

UdpEndpoint ep(const char* ip, uint16_t port) {
  return {*IpAddress::parse(ip), port};
}

TEST(EndpointCell, EmptyStoreLoadAndRoamingUpdate) {
  EndpointCell c;
  EXPECT_EQ(c.load(), std::nullopt);
  c.store(ep("192.0.2.1", 51820));
  EXPECT_EQ(c.load(), ep("192.0.2.1", 51820));
  EXPECT_FALSE(c.update(ep("192.0.2.1", 51820)));
  EXPECT_TRUE(c.update(ep("2001:db8::7", 4500)));
  EXPECT_EQ(c.load(), ep("2001:db8::7", 4500));
  EndpointCell d(std::optional(ep("::1", 1)));
  EXPECT_EQ(d.load(), ep("::1", 1));
}

TEST(EndpointCell, ReadersNeverSeeATornEndpoint) {
  const std::vector<UdpEndpoint> values = {ep("192.0.2.1", 1111), ep("2001:db8::1:2:3:4", 2222),
                                           ep("198.51.100.200", 3333),
                                           ep("fe80::aaaa:bbbb:cccc:dddd", 4444)};
  EndpointCell c(values[0]);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto e = c.load();
        bool ok = false;
        for (const auto& v : values) ok = ok || (e && *e == v);
        if (!ok) torn.fetch_add(1);
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  // Keep writing until the readers have read many times while writes went on.
  for (size_t i = 0; reads.load(std::memory_order_relaxed) < 100000 || i < 100000; ++i)
    c.store(values[i % values.size()]);
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GE(reads.load(), 100000u);
}

}  // namespace
