// Desired-state Fib against a fake kernel: diff programming, coalescing,
// retry with backoff, start-up reconcile (adopt / delete stale / graceful
// restart hold), resync after lost replies, shutdown.
#include "fib/fib.hpp"
#include "fib/fake_kernel.hpp"

#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <cerrno>
#include <map>

using namespace ferry;
using namespace ferry::fib;
using namespace std::chrono_literals;

namespace {

Prefix pfx(const char* s) {
  return *Prefix::parse(s);
}
NextHop gw(const char* a, uint32_t ifindex = 3) {
  NextHop n;
  n.gateway = *IpAddress::parse(a);
  n.ifindex = ifindex;
  return n;
}

class FibTest : public ::testing::Test {
 protected:
  FibTest() : kernel(io) {
    opts.backoff_initial = 1ms;
    opts.backoff_max = 8ms;
  }
  template <typename Pred>
  bool run_until(Pred pred) {
    for (int i = 0; i < 20000 && !pred(); ++i) {
      if (io.stopped()) io.restart();
      io.run_one_for(20ms);
    }
    return pred();
  }
  void run_idle() {
    if (io.stopped()) io.restart();
    io.poll();
    if (io.stopped()) io.restart();
    io.poll();
  }

  asio::io_context io;
  FakeKernel kernel;
  FibOptions opts;
};

}  // namespace

TEST(FibBackoff, DoublesUpToTheCap) {
  FibOptions o;
  o.backoff_initial = 100ms;
  o.backoff_max = 1000ms;
  EXPECT_EQ(backoff_delay(o, 0), 0ms);
  EXPECT_EQ(backoff_delay(o, 1), 100ms);
  EXPECT_EQ(backoff_delay(o, 2), 200ms);
  EXPECT_EQ(backoff_delay(o, 3), 400ms);
  EXPECT_EQ(backoff_delay(o, 4), 800ms);
  EXPECT_EQ(backoff_delay(o, 5), 1000ms);
  EXPECT_EQ(backoff_delay(o, 60), 1000ms);
}

TEST_F(FibTest, InstallsDesiredRoutesAndCoalescesChanges) {
  Fib fib(io, kernel, opts);
  fib.start();
  for (int i = 0; i < 10; ++i) fib.set(pfx("10.0.0.0/24"), {gw(i % 2 ? "10.1.0.2" : "10.1.0.3")});
  fib.set_blackhole(pfx("10.8.0.0/16"));
  fib.set(pfx("2001:db8::/48"), {gw("2001:db8:ff::1"), gw("2001:db8:ff::2")});
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  // One replace per prefix, the last value wins.
  EXPECT_EQ(kernel.ops_log.size(), 3u);
  EXPECT_EQ(kernel.routes.at(pfx("10.0.0.0/24")), RouteTarget::via({gw("10.1.0.2")}));
  EXPECT_EQ(kernel.routes.at(pfx("10.8.0.0/16")).type, RouteType::Blackhole);
  EXPECT_EQ(kernel.routes.at(pfx("2001:db8::/48")).nexthops.size(), 2u);
  EXPECT_EQ(fib.installed_count(), 3u);
  EXPECT_EQ(fib.pending_count(), 0u);

  // Setting the same target again programs nothing; a removal programs one delete.
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  fib.remove(pfx("10.8.0.0/16"));
  fib.remove(pfx("192.0.2.0/24"));  // never existed
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_EQ(kernel.ops_log.size(), 4u);
  EXPECT_EQ(kernel.ops_log.back(), "delete 10.8.0.0/16");
  EXPECT_FALSE(kernel.routes.count(pfx("10.8.0.0/16")));
  EXPECT_EQ(fib.size(), 2u);
}

TEST_F(FibTest, SetThenRemoveBeforeFlushProgramsNothing) {
  Fib fib(io, kernel, opts);
  fib.start();
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  fib.remove(pfx("10.0.0.0/24"));
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_TRUE(kernel.ops_log.empty());
  EXPECT_EQ(fib.size(), 0u);
}

TEST_F(FibTest, SplitsLargeDiffsIntoSeveralProgramCalls) {
  opts.max_ops_per_program = 100;
  Fib fib(io, kernel, opts);
  fib.start();
  for (uint32_t i = 0; i < 1000; ++i) {
    fib.set(Prefix(IpAddress::v4(0x0a000000 + (i << 8)), 24), {gw("10.255.0.1")});
  }
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_EQ(kernel.routes.size(), 1000u);
  EXPECT_EQ(kernel.program_calls, 10);
  // All routes share one interned target.
  EXPECT_EQ(fib.stats()["next_hop_groups"], 1);
}

TEST_F(FibTest, FailedOpsAreRetriedWithBackoffAndCounted) {
  Fib fib(io, kernel, opts);
  fib.start();
  kernel.fail[pfx("10.0.0.0/24")] = 3;
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  fib.set(pfx("10.0.1.0/24"), {gw("10.1.0.2")});
  ASSERT_TRUE(run_until([&] { return fib.counters().failures == 1 && fib.idle(); }));
  EXPECT_FALSE(fib.converged());
  EXPECT_EQ(fib.stats()["retrying"], 1);
  EXPECT_NE(fib.last_error().find("10.0.0.0/24"), std::string::npos);
  EXPECT_NE(fib.last_error().find("invalid gateway"), std::string::npos);
  auto routes = fib.routes();
  EXPECT_EQ(routes[0]["state"], "failed");
  EXPECT_EQ(routes[1]["state"], "installed");

  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_EQ(fib.counters().failures, 3u);
  EXPECT_EQ(fib.counters().retries, 3u);
  EXPECT_TRUE(kernel.routes.count(pfx("10.0.0.0/24")));
  EXPECT_EQ(fib.stats()["state"], "synced");
}

TEST_F(FibTest, ChangeWhileInFlightIsProgrammedAfterwards) {
  Fib fib(io, kernel, opts);
  fib.start();
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  kernel.hold = true;
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  ASSERT_TRUE(run_until([&] { return kernel.held.size() == 1; }));
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.3")});
  run_idle();
  EXPECT_EQ(kernel.program_calls, 1);  // one call in flight at a time
  kernel.hold = false;
  kernel.release_held();
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_EQ(kernel.routes.at(pfx("10.0.0.0/24")), RouteTarget::via({gw("10.1.0.3")}));
  EXPECT_EQ(kernel.program_calls, 2);
}

TEST_F(FibTest, StartupReconcileAdoptsMatchingAndRemovesStale) {
  // Left by a previous run: A matches what we want, B is not wanted, C is outdated.
  kernel.routes[pfx("10.0.0.0/24")] = RouteTarget::via({gw("10.1.0.2")});
  kernel.routes[pfx("10.0.1.0/24")] = RouteTarget::via({gw("10.1.0.2")});
  kernel.routes[pfx("10.0.2.0/24")] = RouteTarget::via({gw("10.1.0.9")});
  Fib fib(io, kernel, opts);
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  fib.set(pfx("10.0.2.0/24"), {gw("10.1.0.2")});
  int started = -1;
  fib.start(0ms, [&](int e) { started = e; });
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_EQ(started, 0);
  std::vector<std::string> expected = {"delete 10.0.1.0/24", "replace 10.0.2.0/24"};
  std::sort(kernel.ops_log.begin(), kernel.ops_log.end());
  EXPECT_EQ(kernel.ops_log, expected);
  EXPECT_EQ(fib.counters().adopted, 1u);
  EXPECT_EQ(kernel.routes.size(), 2u);
}

TEST_F(FibTest, DesiredIfindexZeroMatchesKernelResolvedIfindex) {
  NextHop k = gw("10.1.0.2", 7);
  kernel.routes[pfx("10.0.0.0/24")] = RouteTarget::via({k});
  Fib fib(io, kernel, opts);
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2", 0)});
  fib.start();
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_TRUE(kernel.ops_log.empty());
}

TEST_F(FibTest, GracefulRestartKeepsStaleRoutesUntilPurge) {
  kernel.routes[pfx("10.0.0.0/24")] = RouteTarget::via({gw("10.1.0.2")});
  kernel.routes[pfx("10.0.1.0/24")] = RouteTarget::via({gw("10.1.0.2")});
  Fib fib(io, kernel, opts);
  fib.start(std::chrono::hours(1));
  ASSERT_TRUE(run_until([&] { return fib.started() && fib.idle(); }));
  EXPECT_TRUE(kernel.ops_log.empty());
  EXPECT_EQ(fib.stats()["stale"], 2);
  EXPECT_FALSE(fib.converged());
  // BGP re-learns one of them: it stops being stale, nothing to program.
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  run_idle();
  EXPECT_TRUE(kernel.ops_log.empty());
  fib.purge_stale();
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_EQ(kernel.ops_log, std::vector<std::string>{"delete 10.0.1.0/24"});
  EXPECT_EQ(fib.counters().stale_removed, 1u);
}

// The restarting speaker's reconcile (RFC 4724 §4.1 with a preserved FIB): a
// previous run's routes stay while BGP re-converges, whatever happens meanwhile.
TEST_F(FibTest, GracefulRestartReconcileDuringTheHold) {
  kernel.routes[pfx("10.0.0.0/24")] = RouteTarget::via({gw("10.1.0.2")});  // re-learned as is
  kernel.routes[pfx("10.0.1.0/24")] = RouteTarget::via({gw("10.1.0.2")});  // moves to .3
  kernel.routes[pfx("10.0.2.0/24")] = RouteTarget::via({gw("10.1.0.2")});  // learned, then lost
  kernel.routes[pfx("10.0.3.0/24")] = RouteTarget::via({gw("10.1.0.2")});  // withdrawn meanwhile
  Fib fib(io, kernel, opts);
  EXPECT_EQ(fib.routes_at_start(), 0u);
  fib.start(std::chrono::hours(1));
  ASSERT_TRUE(run_until([&] { return fib.started() && fib.idle(); }));
  EXPECT_EQ(fib.routes_at_start(), 4u);
  EXPECT_EQ(fib.stale_count(), 4u);
  EXPECT_EQ(fib.routes()[0]["state"], "stale");
  // A resync during the hold (e.g. the TUN re-attached, link events) deletes nothing.
  fib.request_resync();
  ASSERT_TRUE(run_until([&] { return fib.idle() && kernel.dumps == 2; }));
  EXPECT_TRUE(kernel.ops_log.empty());
  // remove() of a route nobody re-claimed yet does not delete it either.
  fib.remove(pfx("10.0.3.0/24"));
  run_idle();
  EXPECT_TRUE(kernel.ops_log.empty());
  // BGP re-converges.
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  fib.set(pfx("10.0.1.0/24"), {gw("10.1.0.3")});
  fib.set(pfx("10.0.2.0/24"), {gw("10.1.0.2")});
  ASSERT_TRUE(run_until([&] { return fib.idle(); }));
  fib.remove(pfx("10.0.2.0/24"));
  ASSERT_TRUE(run_until([&] { return fib.idle(); }));
  EXPECT_EQ(kernel.ops_log,
            (std::vector<std::string>{"replace 10.0.1.0/24", "delete 10.0.2.0/24"}));
  EXPECT_EQ(fib.stale_count(), 1u);
  EXPECT_FALSE(fib.converged());
  // All End-of-RIBs in: only the route nobody re-learned goes.
  fib.purge_stale();
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_EQ(kernel.ops_log.back(), "delete 10.0.3.0/24");
  EXPECT_EQ(kernel.routes.size(), 2u);
  EXPECT_EQ(kernel.routes.at(pfx("10.0.1.0/24")), RouteTarget::via({gw("10.1.0.3")}));
  EXPECT_EQ(fib.stale_count(), 0u);
  fib.purge_stale();  // idempotent
  run_idle();
  EXPECT_EQ(kernel.ops_log.size(), 3u);
}

TEST_F(FibTest, GracefulRestartHoldExpiresWithoutEndOfRib) {
  kernel.routes[pfx("10.0.0.0/24")] = RouteTarget::via({gw("10.1.0.2")});
  kernel.routes[pfx("10.0.1.0/24")] = RouteTarget::via({gw("10.1.0.2")});
  Fib fib(io, kernel, opts);
  fib.start(5ms);
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  // The hold runs out (BGP never re-converged): the unclaimed route goes by itself.
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_EQ(kernel.ops_log, std::vector<std::string>{"delete 10.0.1.0/24"});
  EXPECT_EQ(fib.counters().adopted, 1u);
  EXPECT_EQ(fib.counters().stale_removed, 1u);
}

TEST_F(FibTest, WithoutHoldAFreshStartDeletesLeftoversAndCountsThem) {
  kernel.routes[pfx("10.0.1.0/24")] = RouteTarget::via({gw("10.1.0.2")});
  Fib fib(io, kernel, opts);
  fib.start();
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_EQ(fib.routes_at_start(), 1u);
  EXPECT_EQ(kernel.ops_log, std::vector<std::string>{"delete 10.0.1.0/24"});
  EXPECT_EQ(fib.stale_count(), 0u);
}

TEST_F(FibTest, LostRepliesTriggerResync) {
  Fib fib(io, kernel, opts);
  fib.start();
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  const int dumps_before = kernel.dumps;
  kernel.lose_replies = 1;
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_GT(kernel.dumps, dumps_before);
  EXPECT_EQ(fib.counters().resyncs, 1u);
  EXPECT_EQ(fib.counters().failures, 1u);
  // The resync found the route installed: adopted, not programmed twice.
  EXPECT_EQ(kernel.ops_log.size(), 1u);
}

TEST_F(FibTest, ResyncRestoresRoutesRemovedBehindOurBack) {
  Fib fib(io, kernel, opts);
  fib.start();
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  kernel.routes.clear();   // e.g. the interface went down and the kernel flushed it
  kernel.dump_errors = 1;  // and the first dump is interrupted
  fib.request_resync();
  ASSERT_TRUE(run_until([&] { return fib.converged() && kernel.routes.size() == 1; }));
  EXPECT_EQ(kernel.ops_log.size(), 2u);
}

TEST_F(FibTest, ShutdownRemovesInstalledRoutes) {
  Fib fib(io, kernel, opts);
  fib.start();
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  fib.set_blackhole(pfx("10.8.0.0/16"));
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  bool done = false;
  fib.shutdown([&] { done = true; });
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_TRUE(kernel.routes.empty());
}

TEST_F(FibTest, ShutdownKeepsRoutesWhenAsked) {
  opts.keep_on_shutdown = true;
  Fib fib(io, kernel, opts);
  fib.start();
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  bool done = false;
  fib.shutdown([&] { done = true; });
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_EQ(kernel.routes.size(), 1u);
}

TEST_F(FibTest, StatsAndRoutesJson) {
  opts.keys = RouteKeys{100, 200, 20};
  Fib fib(io, kernel, opts);
  fib.set_ifname_lookup([](uint32_t i) { return "if" + std::to_string(i); });
  fib.start();
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2", 5)});
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  auto s = fib.stats();
  EXPECT_EQ(s["table"], 100);
  EXPECT_EQ(s["installed"], 1);
  EXPECT_EQ(s["pending"], 0);
  EXPECT_EQ(s["failures"], 0);
  EXPECT_EQ(s["state"], "synced");
  auto r = fib.routes();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["prefix"], "10.0.0.0/24");
  EXPECT_EQ(r[0]["type"], "unicast");
  EXPECT_EQ(r[0]["nexthops"][0]["gateway"], "10.1.0.2");
  EXPECT_EQ(r[0]["nexthops"][0]["dev"], "if5");
  EXPECT_EQ(r[0]["state"], "installed");
}

TEST_F(FibTest, RoutesWithAnotherMetricFromAPreviousRunAreDeleted) {
  kernel.routes[pfx("10.0.0.0/24")] = RouteTarget::via({gw("10.1.0.2")});
  kernel.foreign[pfx("10.0.0.0/24")] = 10;
  kernel.foreign[pfx("10.9.0.0/24")] = 10;
  opts.keys.metric = 20;
  Fib fib(io, kernel, opts);
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  fib.start(std::chrono::hours(1));
  ASSERT_TRUE(run_until([&] { return fib.started() && fib.idle(); }));
  EXPECT_TRUE(kernel.ops_log.empty());  // held during a graceful restart
  fib.purge_stale();
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  std::sort(kernel.ops_log.begin(), kernel.ops_log.end());
  EXPECT_EQ(kernel.ops_log, (std::vector<std::string>{"delete 10.0.0.0/24 metric 10",
                                                      "delete 10.9.0.0/24 metric 10"}));
  EXPECT_TRUE(kernel.foreign.empty());
  EXPECT_EQ(kernel.routes.size(), 1u);  // the metric-20 route was adopted
  EXPECT_EQ(fib.counters().adopted, 1u);
}

TEST_F(FibTest, NoopKernelTracksDesiredStateOnly) {
  NoopRouteKernel noop(io);
  Fib fib(io, noop, opts);
  fib.start();
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  EXPECT_EQ(fib.stats()["installed"], 1);
  EXPECT_EQ(fib.routes()[0]["prefix"], "10.0.0.0/24");
}

TEST_F(FibTest, ShutdownWhileInFlightRemovesWhatJustGotInstalled) {
  Fib fib(io, kernel, opts);
  fib.start();
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  kernel.hold = true;
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  ASSERT_TRUE(run_until([&] { return kernel.held.size() == 1; }));
  bool done = false;
  fib.shutdown([&] { done = true; });
  run_idle();
  EXPECT_FALSE(done);
  kernel.hold = false;
  kernel.release_held();
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_TRUE(kernel.routes.empty());
}

TEST_F(FibTest, FailuresDuringShutdownAreNotRetried) {
  Fib fib(io, kernel, opts);
  fib.start();
  fib.set(pfx("10.0.0.0/24"), {gw("10.1.0.2")});
  ASSERT_TRUE(run_until([&] { return fib.converged(); }));
  kernel.fail[pfx("10.0.0.0/24")] = 100;
  bool done = false;
  fib.shutdown([&] { done = true; });
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_EQ(fib.counters().failures, 1u);
  EXPECT_EQ(kernel.program_calls, 2);
}
