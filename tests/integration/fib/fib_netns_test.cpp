// KernelFib + Fib against the real kernel, in a private network namespace:
// install 1000 routes (IPv4 + IPv6, multipath, blackhole), read them back with
// `ip -j route show proto 200`, replace, remove, reconcile routes left by a
// "previous run", graceful restart, kernel errors surfaced and retried.
#include <gtest/gtest.h>

#include <set>

#include "fib/fib.hpp"
#include "fib/kernel_fib.hpp"
#include "fib/link.hpp"
#include "netns.hpp"

using namespace ferry;
using namespace ferry::fib;
using namespace ferry::fib::testing;
using namespace std::chrono_literals;

namespace {

Prefix pfx(const char* s) {
  return *Prefix::parse(s);
}

class FibNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!enter_private_netns()) GTEST_SKIP() << "needs root (unshare CLONE_NEWNET)";
    // Fresh veth pair per test; the namespace itself is private to this process.
    sh("ip link del fva 2>/dev/null || true");
    sh("ip link add fva type veth peer name fvb && ip link set fva up && ip link set fvb up");
    sh("ip addr add 10.1.0.1/24 dev fva && ip -6 addr add 2001:db8::1/64 dev fva nodad");
    sh("ip route flush table 100 2>/dev/null || true");
    LinkControl links;
    auto idx = links.ifindex("fva");
    ASSERT_TRUE(idx.ok()) << idx.error();
    ifindex = *idx;
    ASSERT_TRUE(client.open().ok());
  }

  NextHop gw(const char* a) {
    NextHop n;
    n.gateway = *IpAddress::parse(a);
    n.ifindex = ifindex;
    return n;
  }

  // Our routes in table 100 as iproute2 sees them, keyed by "dst".
  std::map<std::string, nlohmann::json> kernel_routes() {
    std::map<std::string, nlohmann::json> m;
    for (const char* fam : {"-4", "-6"}) {
      for (auto& r : sh_json(std::string("ip ") + fam + " -j route show proto 200 table 100")) {
        m[r["dst"].get<std::string>()] = r;
      }
    }
    return m;
  }

  asio::io_context io;
  NetlinkClient client{io};
  uint32_t ifindex = 0;
  KernelFibOptions kopts{RouteKeys{100, 200, 20}, 64 * 1024};
};

}  // namespace

TEST_F(FibNetns, InstallReplaceRemoveThousandRoutes) {
  KernelFib kfib(client, kopts);
  FibOptions fo;
  fo.keys = kopts.keys;
  fo.max_ops_per_program = 300;  // several program() calls, several netlink batches each
  Fib fib(io, kfib, fo);
  fib.start();
  // 700 IPv4 /24 via gateway, 100 IPv4 multipath, 100 IPv4 blackhole, 100 IPv6 /48.
  for (uint32_t i = 0; i < 700; ++i)
    fib.set(Prefix(IpAddress::v4(0x0a100000 + (i << 8)), 24), {gw("10.1.0.2")});
  for (uint32_t i = 0; i < 100; ++i) {
    fib.set(Prefix(IpAddress::v4(0x0a200000 + (i << 8)), 24), {gw("10.1.0.2"), gw("10.1.0.3")});
  }
  for (uint32_t i = 0; i < 100; ++i)
    fib.set_blackhole(Prefix(IpAddress::v4(0x0a300000 + (i << 8)), 24));
  for (uint32_t i = 0; i < 100; ++i) {
    auto a = *IpAddress::parse("2001:db8:100::");
    a.mutable_bytes()[5] = static_cast<uint8_t>(i);
    fib.set(Prefix(a, 48), {gw("2001:db8::2")});
  }
  ASSERT_TRUE(run_until(io, [&] { return fib.converged(); })) << fib.stats().dump();
  EXPECT_EQ(fib.counters().failures, 0u) << fib.last_error();

  auto routes = kernel_routes();
  ASSERT_EQ(routes.size(), 1000u);
  const auto& uni = routes.at("10.16.5.0/24");
  EXPECT_EQ(uni["gateway"], "10.1.0.2");
  EXPECT_EQ(uni["dev"], "fva");
  EXPECT_EQ(uni["metric"], 20);
  const auto& mp = routes.at("10.32.7.0/24");
  ASSERT_EQ(mp["nexthops"].size(), 2u);
  EXPECT_EQ(mp["nexthops"][0]["gateway"], "10.1.0.2");
  EXPECT_EQ(mp["nexthops"][1]["gateway"], "10.1.0.3");
  EXPECT_EQ(routes.at("10.48.99.0/24")["type"], "blackhole");
  EXPECT_EQ(routes.at("2001:db8:163::/48")["gateway"], "2001:db8::2");

  // Replace 100 of them (v4 gateway change, v6 to multipath) and remove 500.
  for (uint32_t i = 0; i < 50; ++i)
    fib.set(Prefix(IpAddress::v4(0x0a100000 + (i << 8)), 24), {gw("10.1.0.9")});
  for (uint32_t i = 0; i < 50; ++i) {
    auto a = *IpAddress::parse("2001:db8:100::");
    a.mutable_bytes()[5] = static_cast<uint8_t>(i);
    fib.set(Prefix(a, 48), {gw("2001:db8::2"), gw("2001:db8::3")});
  }
  for (uint32_t i = 200; i < 700; ++i) fib.remove(Prefix(IpAddress::v4(0x0a100000 + (i << 8)), 24));
  ASSERT_TRUE(run_until(io, [&] { return fib.converged(); })) << fib.stats().dump();
  routes = kernel_routes();
  EXPECT_EQ(routes.size(), 500u);
  EXPECT_EQ(routes.at("10.16.0.0/24")["gateway"], "10.1.0.9");
  EXPECT_EQ(routes.at("10.16.60.0/24")["gateway"], "10.1.0.2");
  EXPECT_FALSE(routes.count("10.16.200.0/24"));
  EXPECT_EQ(routes.at("2001:db8:100::/48")["nexthops"].size(), 2u);
  EXPECT_EQ(fib.counters().failures, 0u) << fib.last_error();

  // Shutdown removes everything we installed.
  bool done = false;
  fib.shutdown([&] { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_TRUE(kernel_routes().empty());
}

TEST_F(FibNetns, ReconcileRemovesStaleAndAdoptsMatching) {
  // A "previous run" left three routes; a third party's route must not be touched.
  sh("ip route add 10.50.0.0/24 via 10.1.0.2 dev fva proto 200 metric 20 table 100");
  sh("ip route add 10.50.1.0/24 via 10.1.0.2 dev fva proto 200 metric 20 table 100");
  sh("ip route add 10.50.2.0/24 via 10.1.0.3 dev fva proto 200 metric 20 table 100");
  sh("ip route add 10.50.3.0/24 via 10.1.0.3 dev fva proto ospf table 100");
  // Left with another metric (configuration changed since): deleted too.
  sh("ip route add 10.50.4.0/24 via 10.1.0.3 dev fva proto 200 metric 10 table 100");
  KernelFib kfib(client, kopts);
  FibOptions fo;
  fo.keys = kopts.keys;
  Fib fib(io, kfib, fo);
  fib.set(pfx("10.50.0.0/24"), {gw("10.1.0.2")});  // same: adopt
  fib.set(pfx("10.50.2.0/24"), {gw("10.1.0.2")});  // differs: replace
  fib.start();
  ASSERT_TRUE(run_until(io, [&] { return fib.converged(); })) << fib.stats().dump();
  EXPECT_EQ(fib.counters().adopted, 1u);
  // delete 10.50.1.0/24, replace 10.50.2.0/24, delete 10.50.4.0/24 metric 10
  EXPECT_EQ(fib.counters().programmed, 3u);
  auto routes = kernel_routes();
  EXPECT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes.at("10.50.2.0/24")["gateway"], "10.1.0.2");
  EXPECT_FALSE(routes.count("10.50.1.0/24"));
  EXPECT_EQ(sh_json("ip -j route show proto ospf table 100").size(), 1u);
}

TEST_F(FibNetns, GracefulRestartKeepsRoutesAcrossRestart) {
  {
    KernelFib kfib(client, kopts);
    FibOptions fo;
    fo.keep_on_shutdown = true;
    Fib fib(io, kfib, fo);
    fib.start();
    fib.set(pfx("10.60.0.0/24"), {gw("10.1.0.2")});
    fib.set(pfx("10.60.1.0/24"), {gw("10.1.0.2")});
    ASSERT_TRUE(run_until(io, [&] { return fib.converged(); }));
    bool done = false;
    fib.shutdown([&] { done = true; });
    ASSERT_TRUE(run_until(io, [&] { return done; }));
  }
  EXPECT_EQ(kernel_routes().size(), 2u);
  KernelFib kfib(client, kopts);
  Fib fib(io, kfib, FibOptions{});
  fib.start(std::chrono::hours(1));
  ASSERT_TRUE(run_until(io, [&] { return fib.started() && fib.idle(); }));
  EXPECT_EQ(kernel_routes().size(), 2u);  // still forwarding while BGP re-converges
  fib.set(pfx("10.60.0.0/24"), {gw("10.1.0.2")});
  fib.purge_stale();  // end of RIB: 10.60.1.0/24 was not re-learned
  ASSERT_TRUE(run_until(io, [&] { return fib.converged(); }));
  auto routes = kernel_routes();
  EXPECT_EQ(routes.size(), 1u);
  EXPECT_TRUE(routes.count("10.60.0.0/24"));
  EXPECT_EQ(fib.counters().programmed, 1u);
}

TEST_F(FibNetns, KernelErrorIsCountedAndRetried) {
  KernelFib kfib(client, kopts);
  FibOptions fo;
  fo.backoff_initial = 10ms;
  fo.backoff_max = 50ms;
  Fib fib(io, kfib, fo);
  fib.start();
  // 10.2.0.2 is not on any connected network (yet).
  fib.set(pfx("10.70.0.0/24"), {gw("10.2.0.2")});
  fib.set(pfx("10.70.1.0/24"), {gw("10.1.0.2")});
  ASSERT_TRUE(run_until(io, [&] { return fib.counters().failures >= 2; }));
  EXPECT_NE(fib.last_error().find("10.70.0.0/24"), std::string::npos) << fib.last_error();
  EXPECT_EQ(kernel_routes().size(), 1u);  // the good route in the same batch went in
  sh("ip addr add 10.2.0.1/24 dev fva");
  ASSERT_TRUE(run_until(io, [&] { return fib.converged(); })) << fib.stats().dump();
  EXPECT_EQ(kernel_routes().at("10.70.0.0/24")["gateway"], "10.2.0.2");
}

TEST_F(FibNetns, LinkControlSetsMtuStateAndAddresses) {
  LinkControl links;
  ASSERT_TRUE(links.set_mtu("fvb", 1400).ok());
  ASSERT_TRUE(links.add_address("fvb", *IpAddress::parse("169.254.10.2"), 30).ok());
  ASSERT_TRUE(links.add_address("fvb", *IpAddress::parse("fd00::2"), 64).ok());
  auto j = sh_json("ip -j addr show dev fvb");
  EXPECT_EQ(j[0]["mtu"], 1400);
  std::set<std::string> addrs;
  for (auto& a : j[0]["addr_info"]) addrs.insert(a["local"].get<std::string>());
  EXPECT_TRUE(addrs.count("169.254.10.2"));
  EXPECT_TRUE(addrs.count("fd00::2"));
  ASSERT_TRUE(links.del_address("fvb", *IpAddress::parse("169.254.10.2"), 30).ok());
  ASSERT_TRUE(links.set_up("fvb", false).ok());
  j = sh_json("ip -j addr show dev fvb");
  EXPECT_EQ(j[0]["flags"].dump().find("\"UP\""), std::string::npos);
  EXPECT_EQ(j[0]["addr_info"].dump().find("169.254.10.2"), std::string::npos);
  auto missing = links.ifindex("nosuchif0");
  EXPECT_FALSE(missing.ok());
  EXPECT_FALSE(links.set_mtu("nosuchif0", 1400).ok());
}

TEST_F(FibNetns, ReplaceAcrossTypesAndIpv6NextHopForIpv4) {
  KernelFib kfib(client, kopts);
  FibOptions fo;
  fo.keys = kopts.keys;
  Fib fib(io, kfib, fo);
  fib.start();
  fib.set_blackhole(pfx("10.80.0.0/24"));
  fib.set_blackhole(pfx("2001:db8:80::/48"));
  ASSERT_TRUE(run_until(io, [&] { return fib.converged(); })) << fib.last_error();
  EXPECT_EQ(kernel_routes().at("2001:db8:80::/48")["type"], "blackhole");
  // Blackhole -> unicast, and an IPv4 route via an IPv6 link-local next hop (RFC 8950).
  fib.set(pfx("10.80.0.0/24"), {gw("fe80::2")});
  fib.set(pfx("2001:db8:80::/48"), {gw("2001:db8::2")});
  ASSERT_TRUE(run_until(io, [&] { return fib.converged(); })) << fib.last_error();
  auto routes = kernel_routes();
  EXPECT_EQ(routes.at("10.80.0.0/24")["via"]["host"], "fe80::2")
      << routes.at("10.80.0.0/24").dump();
  EXPECT_EQ(routes.at("2001:db8:80::/48")["gateway"], "2001:db8::2");
  EXPECT_EQ(fib.counters().failures, 0u) << fib.last_error();
  // Unicast -> blackhole again.
  fib.set_blackhole(pfx("10.80.0.0/24"));
  ASSERT_TRUE(run_until(io, [&] { return fib.converged(); })) << fib.last_error();
  EXPECT_EQ(kernel_routes().at("10.80.0.0/24")["type"], "blackhole");
  bool done = false;
  fib.shutdown([&] { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
}
