// KernelRoutes against the real kernel in a private network namespace: a
// third party's `ip route add ... proto ospf` is seen, ferry's own protocol is
// not, connected networks follow interface state and address changes.
#include <gtest/gtest.h>

#include "fib/fib.hpp"
#include "fib/kernel_fib.hpp"
#include "fib/kernel_routes.hpp"
#include "fib/link.hpp"
#include "netns.hpp"

using namespace ferry;
using namespace ferry::fib;
using namespace ferry::fib::testing;

namespace {

struct Listener : RouteSourceListener {
  void on_route_add(const RedistRoute& r) override {
    routes[{r.source, r.prefix}] = r;
    ++events;
  }
  void on_route_remove(const RedistRoute& r) override {
    routes.erase({r.source, r.prefix});
    ++events;
  }
  bool has(RedistRoute::Source s, const char* p) const {
    return routes.count({s, *Prefix::parse(p)}) != 0;
  }
  std::map<std::pair<RedistRoute::Source, Prefix>, RedistRoute> routes;
  int events = 0;
};

constexpr auto C = RedistRoute::Source::Connected;
constexpr auto K = RedistRoute::Source::Kernel;

}  // namespace

TEST(KernelRoutesNetns, LearnsConnectedAndForeignRoutes) {
  if (!enter_private_netns()) GTEST_SKIP() << "needs root (unshare CLONE_NEWNET)";
  sh("ip link set lo up");
  sh("ip link add kra type veth peer name krb && ip link set kra up && ip link set krb up");
  sh("ip addr add 10.3.0.1/24 dev kra && ip -6 addr add 2001:db8:3::1/64 dev kra nodad");
  sh("ip route add 10.5.0.0/24 via 10.3.0.2 proto bird");  // present before we start

  asio::io_context io;
  Listener l;
  RouteSourceFilter f;
  f.connected = true;
  f.kernel = true;
  KernelRoutes kr(io, f, l);
  int started = -1;
  ASSERT_TRUE(kr.start([&](int e) { started = e; }).ok());
  ASSERT_TRUE(run_until(io, [&] { return started == 0; }));
  EXPECT_TRUE(l.has(C, "10.3.0.0/24"));
  EXPECT_TRUE(run_until(io, [&] { return l.has(C, "2001:db8:3::/64"); }));
  EXPECT_TRUE(l.has(K, "10.5.0.0/24"));
  EXPECT_FALSE(l.has(C, "127.0.0.0/8"));

  sh("ip route add 10.6.0.0/24 via 10.3.0.2 proto ospf");
  sh("ip route add 10.7.0.0/24 via 10.3.0.2 proto 200");
  sh("ip -6 route add 2001:db8:6::/48 via 2001:db8:3::2 proto zebra");
  ASSERT_TRUE(
      run_until(io, [&] { return l.has(K, "10.6.0.0/24") && l.has(K, "2001:db8:6::/48"); }));
  const auto& ospf = l.routes.at({K, *Prefix::parse("10.6.0.0/24")});
  EXPECT_EQ(ospf.protocol, 188);
  EXPECT_EQ(*ospf.nexthop, *IpAddress::parse("10.3.0.2"));
  EXPECT_EQ(ospf.ifindex, *LinkControl().ifindex("kra"));
  EXPECT_FALSE(l.has(K, "10.7.0.0/24"));  // our own protocol is never redistributed

  sh("ip route del 10.6.0.0/24 proto ospf");
  ASSERT_TRUE(run_until(io, [&] { return !l.has(K, "10.6.0.0/24"); }));

  // Interface down: connected networks and routes through it go away.
  sh("ip link set kra down");
  ASSERT_TRUE(run_until(io, [&] {
    return !l.has(C, "10.3.0.0/24") && !l.has(K, "10.5.0.0/24") && !l.has(K, "2001:db8:6::/48");
  }));
  sh("ip link set kra up");
  ASSERT_TRUE(run_until(io, [&] { return l.has(C, "10.3.0.0/24"); }));
  sh("ip addr del 10.3.0.1/24 dev kra");
  ASSERT_TRUE(run_until(io, [&] { return !l.has(C, "10.3.0.0/24"); }));
  EXPECT_TRUE(kr.synced());
  EXPECT_EQ(kr.stats()["malformed"], 0);
  sh("ip link del kra");
}

// Ferry's own routes (a large table in the same kernel table) are never
// redistributed and do not disturb learning a third party's route.
TEST(KernelRoutesNetns, IgnoresOwnRoutesInTheSameTable) {
  if (!enter_private_netns()) GTEST_SKIP() << "needs root (unshare CLONE_NEWNET)";
  sh("ip link add kta type veth peer name ktb && ip link set kta up && ip link set ktb up");
  sh("ip addr add 10.4.0.1/24 dev kta");
  asio::io_context io;
  Listener l;
  RouteSourceFilter f;
  f.kernel = true;
  KernelRoutes kr(io, f, l);
  ASSERT_TRUE(kr.start().ok());
  ASSERT_TRUE(run_until(io, [&] { return kr.synced(); }));

  NetlinkClient client(io);
  ASSERT_TRUE(client.open().ok());
  KernelFib kfib(client, KernelFibOptions{RouteKeys{254, 200, 20}, 64 * 1024});
  Fib fib(io, kfib, FibOptions{});
  fib.start();
  NextHop nh;
  nh.gateway = *IpAddress::parse("10.4.0.2");
  for (uint32_t i = 0; i < 20000; ++i)
    fib.set(Prefix(IpAddress::v4(0x0b000000u + (i << 8)), 24), {nh});
  ASSERT_TRUE(run_until(io, [&] { return fib.converged(); }));
  sh("ip route add 10.66.0.0/24 via 10.4.0.2 proto ospf");
  ASSERT_TRUE(run_until(io, [&] { return l.has(K, "10.66.0.0/24") && kr.synced(); }));
  EXPECT_EQ(l.routes.size(), 1u);
  bool done = false;
  fib.shutdown([&] { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  sh("ip link del kta");
}

// `ip route replace` to a protocol that is not redistributed: the kernel sends
// only the new route (NLM_F_REPLACE), which must withdraw the old one. Two
// kernel selectors (ospf in main, bird in table 100) both apply.
TEST(KernelRoutesNetns, ReplaceByExcludedProtocolWithdraws) {
  if (!enter_private_netns()) GTEST_SKIP() << "needs root (unshare CLONE_NEWNET)";
  sh("ip link add kxa type veth peer name kxb && ip link set kxa up && ip link set kxb up");
  sh("ip addr add 10.8.0.1/24 dev kxa");
  asio::io_context io;
  Listener l;
  RouteSourceFilter f;
  f.kernel = true;
  f.kernel_selectors = {{*RouteSourceFilter::parse_protocols({"ospf"}), 254},
                        {*RouteSourceFilter::parse_protocols({"bird"}), 100}};
  KernelRoutes kr(io, f, l);
  ASSERT_TRUE(kr.start().ok());
  ASSERT_TRUE(run_until(io, [&] { return kr.synced(); }));

  sh("ip route add 10.77.0.0/24 via 10.8.0.2 proto ospf");
  sh("ip route add 10.78.0.0/24 via 10.8.0.2 proto bird table 100");
  sh("ip route add 10.79.0.0/24 via 10.8.0.2 proto bird");  // bird in main: not selected
  ASSERT_TRUE(run_until(io, [&] { return l.has(K, "10.77.0.0/24") && l.has(K, "10.78.0.0/24"); }));
  EXPECT_FALSE(l.has(K, "10.79.0.0/24"));
  sh("ip route replace 10.77.0.0/24 via 10.8.0.2 proto static");
  ASSERT_TRUE(run_until(io, [&] { return !l.has(K, "10.77.0.0/24"); }));
  sh("ip route replace 10.77.0.0/24 via 10.8.0.3 proto ospf");
  ASSERT_TRUE(run_until(io, [&] { return l.has(K, "10.77.0.0/24"); }));
  EXPECT_EQ(*l.routes.at({K, *Prefix::parse("10.77.0.0/24")}).nexthop,
            *IpAddress::parse("10.8.0.3"));
  sh("ip route replace 10.78.0.0/24 via 10.8.0.2 proto static table 100");
  ASSERT_TRUE(run_until(io, [&] { return !l.has(K, "10.78.0.0/24"); }));
  EXPECT_TRUE(l.has(K, "10.77.0.0/24"));
  EXPECT_EQ(kr.stats()["malformed"], 0);
  sh("ip link del kxa");
}
