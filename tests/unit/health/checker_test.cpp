// Health checks: the rise/fall hysteresis, the checker driving a scripted
// prober (state changes reported once, reload keeping unchanged checks), and
// the socket prober's TCP and ICMP probes against loopback.
#include "health/checker.hpp"

#include <gtest/gtest.h>

#include <deque>

namespace ferry::health {
namespace {

using namespace std::chrono_literals;

TEST(CheckState, StartsDownRisesAndFallsWithHysteresis) {
  CheckState s(2, 3);
  EXPECT_FALSE(s.up());
  EXPECT_FALSE(s.record(true));
  EXPECT_TRUE(s.record(true));  // second success in a row: up
  EXPECT_TRUE(s.up());
  EXPECT_FALSE(s.record(false));
  EXPECT_FALSE(s.record(false));
  EXPECT_FALSE(s.record(true));  // a success resets the failure run
  EXPECT_FALSE(s.record(false));
  EXPECT_FALSE(s.record(false));
  EXPECT_TRUE(s.record(false));  // three failures in a row: down
  EXPECT_FALSE(s.up());
  EXPECT_FALSE(s.record(true));
  EXPECT_FALSE(s.record(false));  // a failure resets the success run
  EXPECT_FALSE(s.record(true));
  EXPECT_TRUE(s.record(true));
}

// Answers each probe with the next scripted result (true once the script ends).
struct ScriptProber : Prober {
  asio::io_context& io;
  std::deque<bool> script;
  int probes = 0;
  explicit ScriptProber(asio::io_context& i) : io(i) {}
  void probe(const config::HealthCheckConfig&,
             std::function<void(bool, const std::string&)> done) override {
    ++probes;
    bool ok = true;
    if (!script.empty()) {
      ok = script.front();
      script.pop_front();
    }
    asio::post(io, [done = std::move(done), ok] { done(ok, ok ? "ok" : "fail"); });
  }
};

config::HealthCheckConfig check(const std::string& name, uint32_t rise = 2, uint32_t fall = 2) {
  config::HealthCheckConfig c;
  c.name = name;
  c.target = *IpAddress::parse("192.0.2.10");
  c.interval_ms = 1;
  c.timeout_ms = 1;
  c.rise = rise;
  c.fall = fall;
  c.networks = {*Prefix::parse("10.1.0.0/16")};
  return c;
}

template <class Pred>
bool run_until(asio::io_context& io, Pred p) {
  for (int i = 0; i < 20000 && !p(); ++i) io.run_one_for(10ms);
  return p();
}

TEST(Checker, ReportsEachTransitionOnce) {
  asio::io_context io;
  ScriptProber prober(io);
  prober.script = {false, true, true, true, false, false, false, true, true};
  Checker c(io, prober);
  std::vector<bool> changes;
  c.set_listener([&](const std::string& n, bool up, const std::string&) {
    EXPECT_EQ(n, "lan");
    changes.push_back(up);
  });
  c.apply({check("lan")});
  ASSERT_TRUE(run_until(io, [&] { return prober.probes >= 12; }));
  EXPECT_EQ(changes, (std::vector<bool>{true, false, true}));
  EXPECT_TRUE(c.up("lan"));
  EXPECT_FALSE(c.up("other"));
  auto j = c.show()["health_checks"][0];
  EXPECT_EQ(j["transitions"], 3);
  EXPECT_GE(j["failures"], 4);
}

TEST(Checker, ReloadKeepsAnUnchangedProbeAndRestartsAChangedOne) {
  asio::io_context io;
  ScriptProber prober(io);
  Checker c(io, prober);
  int changes = 0;
  c.set_listener([&](const std::string&, bool, const std::string&) { ++changes; });
  c.apply({check("a"), check("b")});
  ASSERT_TRUE(run_until(io, [&] { return c.up("a") && c.up("b"); }));
  EXPECT_EQ(changes, 2);
  auto a = check("a");
  a.networks = {*Prefix::parse("10.2.0.0/16")};  // what depends on it: the probe stays
  auto b = check("b", 5);                        // the probe changed: starts down again
  c.apply({a, b});
  EXPECT_TRUE(c.up("a"));
  EXPECT_FALSE(c.up("b"));
  ASSERT_TRUE(run_until(io, [&] { return c.up("b"); }));
  c.apply({a});  // b removed
  EXPECT_FALSE(c.up("b"));
  EXPECT_EQ(c.show()["health_checks"].size(), 1u);
}

TEST(SocketProber, TcpConnectSucceedsOnlyWithAListener) {
  asio::io_context io;
  auto prober = make_socket_prober(io);
  asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto c = check("tcp");
  c.probe = config::HealthProbe::Tcp;
  c.target = *IpAddress::parse("127.0.0.1");
  c.port = acc.local_endpoint().port();
  c.timeout_ms = 2000;
  std::optional<bool> r;
  prober->probe(c, [&](bool ok, const std::string&) { r = ok; });
  ASSERT_TRUE(run_until(io, [&] { return r.has_value(); }));
  EXPECT_TRUE(*r);
  acc.close();  // now refused
  r.reset();
  prober->probe(c, [&](bool ok, const std::string&) { r = ok; });
  ASSERT_TRUE(run_until(io, [&] { return r.has_value(); }));
  EXPECT_FALSE(*r);
}

TEST(SocketProber, IcmpEchoToLoopback) {
  asio::io_context io;
  auto prober = make_socket_prober(io);
  auto c = check("icmp");
  c.target = *IpAddress::parse("127.0.0.1");
  c.timeout_ms = 2000;
  std::optional<bool> r;
  std::string detail;
  prober->probe(c, [&](bool ok, const std::string& d) {
    r = ok;
    detail = d;
  });
  ASSERT_TRUE(run_until(io, [&] { return r.has_value(); }));
  if (!*r && detail.rfind("no ICMP socket", 0) == 0)
    GTEST_SKIP() << "neither ping nor raw ICMP sockets here: " << detail;
  EXPECT_TRUE(*r) << detail;
  // IPv6 loopback too.
  c.target = *IpAddress::parse("::1");
  r.reset();
  prober->probe(c, [&](bool ok, const std::string& d) {
    r = ok;
    detail = d;
  });
  ASSERT_TRUE(run_until(io, [&] { return r.has_value(); }));
  EXPECT_TRUE(*r) << detail;
}

}  // namespace
}  // namespace ferry::health
