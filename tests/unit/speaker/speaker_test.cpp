// Two speakers in one io_context talking BGP over loopback TCP (127.0.0.1 and
// 127.0.0.2, ephemeral ports, no root): session set-up incl. collision, route
// exchange end to end through two RIBs, withdrawals, route refresh, Cease with
// shutdown communication, max-prefix, clear, BFD down, graceful restart, reload.
#include "speaker/speaker.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "bgp/session.hpp"
#include "bgp/transport.hpp"
#include "speaker/peer.hpp"
#include "speaker_fixture.hpp"

namespace ferry::speaker {
namespace {

using namespace testing_fixture;
using namespace std::chrono_literals;

TEST_F(SpeakerTest, EstablishesOneSessionDespiteCollision) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  // Let any collided second connection finish; exactly one session must stay up.
  run_for(io, 500ms);
  EXPECT_TRUE(both_up());
  EXPECT_EQ(a.session("b").counters().established_count, 1u);
  EXPECT_EQ(b.session("a").counters().established_count, 1u);
  auto j = a.neighbor_json("b");
  EXPECT_EQ(j["state"], "Established");
  EXPECT_EQ(j["remote_asn"], 65002);
  EXPECT_EQ(j["router_id"], "2.2.2.2");
  EXPECT_EQ(j["hold_time"], 30);
  EXPECT_EQ(j["families"], ctl::Json({"ipv4", "ipv6"}));
  EXPECT_TRUE(j["four_octet_as"].get<bool>());
  EXPECT_TRUE(j["enhanced_route_refresh"].get<bool>());
  EXPECT_TRUE(j["extended_message"].get<bool>());
  // The RIB was told (what the daemon's routing and BFD follow).
  ASSERT_EQ(a.rib.peers().size(), 1u);
  EXPECT_TRUE(a.rib.peers()[0].up);
  EXPECT_EQ(a.rib.peers()[0].address, A("127.0.0.2"));
}

TEST_F(SpeakerTest, RoutesFlowBothWaysAndWithdraw) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  bgp::PathAttributes attrs;
  attrs.origin = bgp::Origin::Igp;
  attrs.communities = {(65001u << 16) | 100};
  a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
  b.rib.originate(rib::RouteSource::Static, P("10.2.0.0/16"), attrs);
  ASSERT_TRUE(run_until(
      io, [&] { return b.has_route(P("10.1.0.0/16")) && a.has_route(P("10.2.0.0/16")); }));

  auto routes = b.sp.show_routes({{"prefix", "10.1.0.0/16"}});
  ASSERT_TRUE(routes.ok());
  ASSERT_EQ((*routes)["routes"].size(), 1u);
  const auto& r = (*routes)["routes"][0];
  EXPECT_EQ(r["peer"], "a");
  EXPECT_EQ(r["as_path"], ctl::Json({65001}));
  EXPECT_EQ(r["next_hop"], "127.0.0.1");
  EXPECT_EQ(r["communities"], ctl::Json({"65001:100"}));
  EXPECT_EQ(r["origin"], "igp");
  EXPECT_TRUE(r["best"].get<bool>());

  auto one = b.sp.show_route({{"prefix", "10.1.0.0/16"}});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)["paths"].size(), 1u);
  EXPECT_EQ(b.neighbor_json("a")["prefixes_received"], 1);
  EXPECT_EQ(a.neighbor_json("b")["prefixes_advertised"], 1);

  a.rib.unoriginate(rib::RouteSource::Static, P("10.1.0.0/16"));
  ASSERT_TRUE(run_until(io, [&] { return !b.has_route(P("10.1.0.0/16")); }));
  EXPECT_TRUE(a.has_route(P("10.2.0.0/16")));
  EXPECT_TRUE(both_up());
}

TEST_F(SpeakerTest, LargeTableArrivesComplete) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  bgp::PathAttributes attrs;
  attrs.origin = bgp::Origin::Igp;
  constexpr uint32_t kN = 50000;
  for (uint32_t i = 0; i < kN; ++i) {
    attrs.med = i % 7;  // several attribute sets, so packing by attributes matters
    a.rib.originate(rib::RouteSource::Static, Prefix(IpAddress::v4(0x0b000000 + (i << 8)), 24),
                    attrs);
  }
  ASSERT_TRUE(run_until(
      io, [&] { return b.rib.prefix_count() == kN; }, 60s));
  EXPECT_EQ(b.neighbor_json("a")["prefixes_received"], kN);
  // Many prefixes per UPDATE, not one message per prefix.
  EXPECT_LT(a.session("b").counters().updates_out, kN / 20);
  for (uint32_t i = 0; i < kN; i += 4999) {
    auto routes = b.rib.show_route(Prefix(IpAddress::v4(0x0b000000 + (i << 8)), 24));
    ASSERT_EQ(routes.size(), 1u);
    EXPECT_EQ(routes[0].attrs->med, i % 7);
  }
}

TEST_F(SpeakerTest, RouteRefreshResendsTable) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  bgp::PathAttributes attrs;
  a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
  ASSERT_TRUE(run_until(io, [&] { return b.has_route(P("10.1.0.0/16")); }));
  uint64_t before = a.session("b").counters().updates_out;
  // b asks a (ROUTE-REFRESH, RFC 2918); a answers with BoRR, the table, EoRR (RFC 7313).
  auto res = b.sp.clear_neighbor({{"name", "a"}, {"soft", "in"}});
  ASSERT_TRUE(res.ok());
  ASSERT_TRUE(run_until(io, [&] { return a.session("b").counters().updates_out > before; }));
  run_for(io, 200ms);
  // EoRR swept nothing that was re-sent: the route is still there, session still up.
  EXPECT_TRUE(b.has_route(P("10.1.0.0/16")));
  EXPECT_TRUE(both_up());
  // Soft out: a re-sends on its own.
  before = a.session("b").counters().updates_out;
  ASSERT_TRUE(a.sp.clear_neighbor({{"name", "b"}, {"soft", "out"}}).ok());
  ASSERT_TRUE(run_until(io, [&] { return a.session("b").counters().updates_out > before; }));
  EXPECT_TRUE(both_up());
}

TEST_F(SpeakerTest, StopSendsShutdownCommunication) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  bgp::PathAttributes attrs;
  a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
  ASSERT_TRUE(run_until(io, [&] { return b.has_route(P("10.1.0.0/16")); }));
  bool done = false;
  a.sp.stop("maintenance window", [&] { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done && b.state("a") != "Established"; }));
  std::string err = b.neighbor_json("a")["last_error"];
  EXPECT_NE(err.find("maintenance window"), std::string::npos) << err;
  EXPECT_NE(err.find("received"), std::string::npos) << err;
  EXPECT_FALSE(b.has_route(P("10.1.0.0/16")));
  EXPECT_EQ(a.state("b"), "Idle");
  // a stays down: it was stopped administratively.
  run_for(io, 1500ms);
  EXPECT_EQ(a.state("b"), "Idle");
}

TEST_F(SpeakerTest, MaxPrefixTearsDownWithCease) {
  connect([](auto&, config::BgpNeighborConfig& nb) {
    nb.max_prefixes = 2;
    nb.max_prefix_restart = 60;
  });
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  bgp::PathAttributes attrs;
  for (const char* p : {"10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"})
    a.rib.originate(rib::RouteSource::Static, P(p), attrs);
  ASSERT_TRUE(run_until(io, [&] { return b.state("a") == "Idle"; }));
  ASSERT_TRUE(run_until(io, [&] { return a.session("b").counters().notifications_in > 0; }));
  std::string err = a.neighbor_json("b")["last_error"];
  EXPECT_NE(err.find("received"), std::string::npos) << err;
  EXPECT_NE(err.find("Maximum"), std::string::npos) << err;
  EXPECT_FALSE(b.has_route(P("10.1.0.0/16")));
  // b waits max_prefix_restart before trying again (and refuses a's attempts meanwhile).
  run_for(io, 2500ms);
  EXPECT_EQ(b.state("a"), "Idle");
}

TEST_F(SpeakerTest, HardClearReestablishes) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  ASSERT_TRUE(b.sp.clear_neighbor({{"name", "a"}}).ok());
  EXPECT_NE(b.state("a"), "Established");
  ASSERT_TRUE(
      run_until(io, [&] { return both_up() && b.session("a").counters().established_count == 2; }));
  std::string err = a.session("b").last_error();
  EXPECT_TRUE(a.session("b").established());
  EXPECT_FALSE(b.sp.clear_neighbor({{"name", "nobody"}}).ok());
}

TEST_F(SpeakerTest, BfdDownDropsAndRecovers) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  b.sp.bfd_down(A("127.0.0.1"));
  EXPECT_EQ(b.state("a"), "Idle");
  ASSERT_EQ(b.rib.peers().size(), 1u);
  EXPECT_FALSE(b.rib.peers()[0].up);
  ASSERT_TRUE(
      run_until(io, [&] { return both_up() && b.session("a").counters().established_count == 2; }));
}

// Fate sharing: a closed gate tears the session down with Cease / BFD Down
// (RFC 9384 §2), withdraws its routes, keeps it Idle and refuses the peer's
// reconnects; opening the gate starts it again.
TEST_F(SpeakerTest, ClosedGateHoldsTheSessionDownUntilOpened) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  bgp::PathAttributes attrs;
  a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
  ASSERT_TRUE(run_until(io, [&] { return b.has_route(P("10.1.0.0/16")); }));
  b.sp.set_gate("a", false, "tunnel peer a down (bfd 127.0.0.1 down)", true);
  EXPECT_EQ(b.state("a"), "Idle");
  EXPECT_FALSE(b.has_route(P("10.1.0.0/16")));
  EXPECT_EQ(b.neighbor_json("a")["last_error"],
            "held down: tunnel peer a down (bfd 127.0.0.1 down)");
  EXPECT_TRUE(b.neighbor_json("a")["held_down"].get<bool>());
  ASSERT_TRUE(run_until(io, [&] { return a.session("b").counters().notifications_in > 0; }));
  std::string err = a.neighbor_json("b")["last_error"];
  EXPECT_NE(err.find("BFD"), std::string::npos) << err;
  // a keeps trying; b refuses while held.
  run_for(io, 2500ms);
  EXPECT_EQ(b.state("a"), "Idle");
  b.sp.set_gate("a", true, "tunnel peer a up", false);
  EXPECT_FALSE(b.neighbor_json("a")["held_down"].get<bool>());
  ASSERT_TRUE(run_until(
      io, [&] { return both_up() && b.has_route(P("10.1.0.0/16")); }, 60s));
}

// With graceful restart negotiated, the hold drops the connection without a
// NOTIFICATION: the peer's routes stay, stale (RFC 4724 §4.2, RFC 5882 §4.3.1).
TEST_F(SpeakerTest, ClosedGateOnAGracefulRestartSessionKeepsRoutesStale) {
  a.sp.set_restart_state(true, false);
  connect([](config::BgpNeighborConfig& na, config::BgpNeighborConfig& nb) {
    na.graceful_restart = nb.graceful_restart = true;
  });
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  bgp::PathAttributes attrs;
  a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
  ASSERT_TRUE(run_until(io, [&] { return b.has_route(P("10.1.0.0/16")); }));
  const uint64_t sent = b.session("a").counters().notifications_out;  // e.g. a collision's Cease
  b.sp.set_gate("a", false, "tunnel peer a down", true);
  EXPECT_EQ(b.state("a"), "Idle");
  auto paths = b.rib.show_route(P("10.1.0.0/16"));
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_TRUE(paths[0].stale);
  EXPECT_EQ(b.session("a").counters().notifications_out, sent);
  EXPECT_EQ(b.neighbor_json("a")["last_error"],
            "held down: tunnel peer a down (graceful restart: routes kept stale)");
}

TEST_F(SpeakerTest, GracefulRestartKeepsStaleRoutesUntilEndOfRib) {
  // a can preserve forwarding state: its capability lists its families, with the
  // F bit once its initial convergence is over (RFC 4724 §3).
  a.sp.set_restart_state(true, false);
  connect([](config::BgpNeighborConfig& na, config::BgpNeighborConfig& nb) {
    na.graceful_restart = nb.graceful_restart = true;
  });
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  EXPECT_TRUE(b.neighbor_json("a")["graceful_restart"].get<bool>());
  EXPECT_FALSE(b.neighbor_json("a")["gr_peer_restart_state"].get<bool>());
  bgp::PathAttributes attrs;
  a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
  ASSERT_TRUE(run_until(io, [&] { return b.has_route(P("10.1.0.0/16")); }));
  // a loses its connection without a NOTIFICATION (as when its control plane restarts).
  a.sp.bfd_down(A("127.0.0.2"));
  ASSERT_TRUE(run_until(io, [&] { return b.state("a") != "Established"; }));
  auto paths = b.rib.show_route(P("10.1.0.0/16"));
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_TRUE(paths[0].stale);
  EXPECT_TRUE(b.neighbor_json("a")["stale_routes_kept"].get<bool>());
  // a comes back and sends its table and End-of-RIB: no longer stale. The
  // reconnect waits out the idle-hold backoff (~17 s), so the bound is generous
  // (slow under sanitizers); it is a liveness bound, not a speed assertion.
  ASSERT_TRUE(run_until(
      io, [&] { return both_up() && !b.sp.find("a")->stale_pending(); }, 90s));
  paths = b.rib.show_route(P("10.1.0.0/16"));
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_FALSE(paths[0].stale);
}

TEST_F(SpeakerTest, HelperKeepsNothingForPeerThatListsNoFamily) {
  // a is helper-only: its capability lists no family, i.e. it does not preserve
  // forwarding state for any. RFC 4724 §4.2: the receiving speaker retains routes
  // only for the families previously received in the capability, so b removes a's
  // routes as soon as the session goes, as without graceful restart.
  connect([](config::BgpNeighborConfig& na, config::BgpNeighborConfig& nb) {
    na.graceful_restart = nb.graceful_restart = true;
  });
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  EXPECT_EQ(b.neighbor_json("a")["gr_peer_forwarding_preserved"], ctl::Json::array());
  bgp::PathAttributes attrs;
  a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
  ASSERT_TRUE(run_until(io, [&] { return b.has_route(P("10.1.0.0/16")); }));
  a.sp.bfd_down(A("127.0.0.2"));
  ASSERT_TRUE(run_until(io, [&] { return b.state("a") != "Established"; }));
  EXPECT_TRUE(b.rib.show_route(P("10.1.0.0/16")).empty());
  EXPECT_FALSE(b.sp.find("a")->stale_pending());
  ASSERT_TRUE(run_until(
      io, [&] { return b.state("a") == "Established" && b.has_route(P("10.1.0.0/16")); }, 90s));
  for (const auto& p : b.rib.show_route(P("10.1.0.0/16"))) EXPECT_FALSE(p.stale);
}

TEST_F(SpeakerTest, WithoutGracefulRestartRoutesGoAtOnce) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  bgp::PathAttributes attrs;
  a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
  ASSERT_TRUE(run_until(io, [&] { return b.has_route(P("10.1.0.0/16")); }));
  a.sp.bfd_down(A("127.0.0.2"));
  ASSERT_TRUE(run_until(io, [&] { return b.state("a") != "Established"; }));
  EXPECT_TRUE(b.rib.show_route(P("10.1.0.0/16")).empty());
}

TEST_F(SpeakerTest, ReloadRemovesNeighborWithDeconfiguredCease) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  b.cfg.neighbors.clear();
  b.sp.apply(b.cfg);
  EXPECT_EQ(b.sp.find("a"), nullptr);
  ASSERT_TRUE(run_until(io, [&] { return a.session("b").counters().notifications_in > 0; }));
  std::string err = a.session("b").last_error();
  EXPECT_NE(err.find("De-configured"), std::string::npos) << err;
}

TEST_F(SpeakerTest, ReloadKeepsUnchangedSessions) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  // Only the description and the policy lists change: no reset.
  b.cfg.neighbors[0].description = "uplink";
  b.sp.apply(b.cfg);
  run_for(io, 300ms);
  EXPECT_TRUE(both_up());
  EXPECT_EQ(b.session("a").counters().established_count, 1u);
  EXPECT_EQ(b.neighbor_json("a")["description"], "uplink");
  // A session parameter change resets it.
  b.cfg.neighbors[0].hold_time = 60;
  b.sp.apply(b.cfg);
  ASSERT_TRUE(
      run_until(io, [&] { return a.session("b").counters().established_count == 2 && both_up(); }));
  EXPECT_EQ(b.neighbor_json("a")["hold_time"], 30);  // min(60, a's 30)
}

TEST_F(SpeakerTest, UnknownSourceIsRefused) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  asio::ip::tcp::socket s(io);
  s.open(asio::ip::tcp::v4());
  s.bind(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.3"), 0));
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), a.sp.listen_port()));
  bool closed = false;
  std::array<uint8_t, 64> buf;
  s.async_read_some(asio::buffer(buf), [&](asio::error_code ec, size_t) { closed = bool(ec); });
  ASSERT_TRUE(run_until(io, [&] { return closed; }));
  EXPECT_TRUE(both_up());
}

TEST_F(SpeakerTest, CommandsAreRegistered) {
  ctl::Registry reg;
  a.sp.register_commands(reg);
  for (const char* c : {"show neighbors", "show routes", "show route", "clear neighbor"})
    ASSERT_NE(reg.find(c), nullptr) << c;
  EXPECT_TRUE(reg.find("clear neighbor")->mutating);
  EXPECT_FALSE(reg.find("show routes")->mutating);
  auto r = reg.find("show route")->handler(ctl::Json::object());
  EXPECT_FALSE(r.ok());
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  auto n = reg.find("show neighbors")->handler(ctl::Json::object());
  ASSERT_TRUE(n.ok());
  const auto& j = (*n)["neighbors"][0];
  for (const char* k :
       {"name", "address", "remote_asn", "state", "uptime", "prefixes_received",
        "prefixes_accepted", "prefixes_advertised", "last_error", "rfc8212_blocked"})
    EXPECT_TRUE(j.contains(k)) << k;
}

TEST_F(SpeakerTest, Md5ProtectedSessionEstablishes) {
  // RFC 2385: keys on both listeners and both active sockets. The kernel drops segments
  // with a wrong or missing signature, so establishing proves the keys are in place.
  asio::ip::tcp::socket probe(io);
  probe.open(asio::ip::tcp::v4());
  auto r = bgp::set_tcp_md5(probe.native_handle(), A("127.0.0.2"), "s3cret");
  if (!r) GTEST_SKIP() << "kernel without TCP-MD5: " << r.error();
  connect([](config::BgpNeighborConfig& na, config::BgpNeighborConfig& nb) {
    na.password = nb.password = "s3cret";
  });
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
}

TEST_F(SpeakerTest, Md5MismatchNeverEstablishes) {
  asio::ip::tcp::socket probe(io);
  probe.open(asio::ip::tcp::v4());
  if (!bgp::set_tcp_md5(probe.native_handle(), A("127.0.0.2"), "x")) GTEST_SKIP();
  connect([](config::BgpNeighborConfig& na, config::BgpNeighborConfig& nb) {
    na.password = "one";
    nb.password = "two";
  });
  run_for(io, 2500ms);
  EXPECT_EQ(a.sp.established_count(), 0u);
  EXPECT_EQ(b.sp.established_count(), 0u);
}

// The restarting speaker (RFC 4724 §4.1): R and F bits in its OPEN, output held
// back until every GR peer sent End-of-RIB or the selection deferral timer ran
// out, then the R bit is cleared. a waits for b (up) and c (never comes up), so
// its deferral ends by the timer; b must not get a's routes before that.
TEST(SpeakerRestart, RestartingSpeakerSetsRAndFBitsAndDefersItsRoutes) {
  asio::io_context io;
  Node b(io, 65002, 0x02020202, "127.0.0.2");
  ASSERT_TRUE(b.sp.start().ok());
  auto nb = neighbor("a", "127.0.0.1", 1, 65001, "127.0.0.2");
  nb.passive = true;
  nb.graceful_restart = true;
  b.cfg.neighbors = {nb};
  b.sp.apply(b.cfg);
  bgp::PathAttributes attrs;
  b.rib.originate(rib::RouteSource::Static, P("10.2.0.0/16"), attrs);

  Node a(io, 65001, 0x01010101, "127.0.0.1");
  auto na = neighbor("b", "127.0.0.2", b.sp.listen_port(), 65002, "127.0.0.1");
  na.graceful_restart = true;
  auto nc = neighbor("c", "127.0.0.9", 9, 65003, "127.0.0.1");  // never answers
  nc.graceful_restart = true;
  a.cfg.neighbors = {na, nc};
  a.cfg.graceful_restart_time = 2;
  a.sp.apply(a.cfg);
  a.sp.set_restart_state(true, true);
  std::string why;
  bool b_had_route_before = true;
  a.sp.set_restart_complete_callback([&](const std::string& w) {
    why = w;
    b_had_route_before = b.has_route(P("10.1.0.0/16"));
  });
  a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
  ASSERT_TRUE(a.sp.start().ok());
  EXPECT_TRUE(a.sp.deferring());

  ASSERT_TRUE(run_until(io, [&] { return b.state("a") == "Established"; }));
  auto j = b.neighbor_json("a");
  EXPECT_TRUE(j["gr_peer_restart_state"].get<bool>());
  EXPECT_EQ(j["gr_peer_restart_time"], 2);
  EXPECT_EQ(j["gr_peer_forwarding_preserved"], ctl::Json({"ipv4", "ipv6"}));
  // b (helper) sends its table and End-of-RIB at once; a stores it while deferring
  // but selects nothing yet (RFC 4724 §4.1: selection waits for the deferral to end).
  ASSERT_TRUE(run_until(io, [&] { return a.sp.find("b")->initial_eor_complete(); }));
  EXPECT_EQ(a.rib.show_route(P("10.2.0.0/16")).size(), 1u);
  EXPECT_FALSE(a.has_route(P("10.2.0.0/16")));
  EXPECT_TRUE(a.rib.selection_deferred());
  ASSERT_TRUE(run_until(io, [&] { return a.sp.restart_complete(); }));
  EXPECT_FALSE(a.rib.selection_deferred());
  EXPECT_TRUE(a.has_route(P("10.2.0.0/16")));
  EXPECT_EQ(why, "timer");  // c never came up
  EXPECT_FALSE(b_had_route_before);
  ASSERT_TRUE(run_until(io, [&] { return b.has_route(P("10.1.0.0/16")); }));
  // Later OPENs: no R bit, F bits still set.
  auto open = a.sp.find("b")->session().local_open();
  ASSERT_TRUE(open.caps.graceful_restart.has_value());
  EXPECT_FALSE(open.caps.graceful_restart->restart_state);
  ASSERT_EQ(open.caps.graceful_restart->families.size(), 2u);
  for (const auto& f : open.caps.graceful_restart->families) EXPECT_TRUE(f.forwarding_preserved);
}

// A fresh start (nothing preserved) does not defer; F is clear until the
// initial convergence is over, and the completion follows End-of-RIB.
TEST(SpeakerRestart, FreshStartCompletesOnEndOfRibWithoutDeferring) {
  asio::io_context io;
  Node b(io, 65002, 0x02020202, "127.0.0.2");
  ASSERT_TRUE(b.sp.start().ok());
  auto nb = neighbor("a", "127.0.0.1", 1, 65001, "127.0.0.2");
  nb.passive = true;
  nb.graceful_restart = true;
  b.cfg.neighbors = {nb};
  b.sp.apply(b.cfg);

  Node a(io, 65001, 0x01010101, "127.0.0.1");
  auto na = neighbor("b", "127.0.0.2", b.sp.listen_port(), 65002, "127.0.0.1");
  na.graceful_restart = true;
  a.cfg.neighbors = {na};
  a.sp.apply(a.cfg);
  a.sp.set_restart_state(true, false);
  std::string why;
  a.sp.set_restart_complete_callback([&](const std::string& w) { why = w; });
  auto open = a.sp.find("b")->session().local_open();
  ASSERT_TRUE(open.caps.graceful_restart.has_value());
  EXPECT_FALSE(open.caps.graceful_restart->restart_state);
  for (const auto& f : open.caps.graceful_restart->families) EXPECT_FALSE(f.forwarding_preserved);
  ASSERT_TRUE(a.sp.start().ok());
  EXPECT_FALSE(a.sp.deferring());
  ASSERT_TRUE(run_until(io, [&] { return a.sp.restart_complete(); }));
  EXPECT_EQ(why, "end-of-rib");
  open = a.sp.find("b")->session().local_open();
  for (const auto& f : open.caps.graceful_restart->families) EXPECT_TRUE(f.forwarding_preserved);
}

}  // namespace
}  // namespace ferry::speaker

namespace ferry::speaker {
namespace {

// Control-client arguments of the wrong JSON type are refused with an error; they
// never reach a conversion that throws or, for a huge float into size_t, is
// undefined behaviour (found by fuzz_ctl).
TEST_F(SpeakerTest, ShowAndClearRefuseMistypedArguments) {
  connect();
  EXPECT_FALSE(b.sp.show_routes({{"limit", 1e300}}).ok());
  EXPECT_FALSE(b.sp.show_routes({{"limit", -1}}).ok());
  EXPECT_FALSE(b.sp.show_routes({{"received", "yes"}}).ok());
  EXPECT_FALSE(b.sp.show_routes({{"advertised", 1}}).ok());
  EXPECT_TRUE(b.sp.show_routes({{"limit", 5}}).ok());
  EXPECT_FALSE(b.sp.clear_neighbor({{"name", 7}}).ok());
  EXPECT_FALSE(b.sp.clear_neighbor({{"neighbor", ctl::Json::array()}}).ok());
  EXPECT_EQ(b.sp.show_neighbors({{"name", 3}})["neighbors"].size(), 0u);
  EXPECT_EQ(b.sp.show_neighbors(ctl::Json::object())["neighbors"].size(), 1u);
}

}  // namespace
}  // namespace ferry::speaker

namespace ferry::speaker {
namespace {

// show routes --advertised: the neighbour's Adj-RIB-Out, with the attributes as sent
// (our AS prepended towards eBGP, next hop self), never a route back to its source.
TEST_F(SpeakerTest, AdvertisedViewShowsWhatTheNeighborWasSent) {
  connect();
  ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
  bgp::PathAttributes attrs;
  attrs.origin = bgp::Origin::Igp;
  attrs.communities = {(65001u << 16) | 7};
  a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
  b.rib.originate(rib::RouteSource::Static, P("10.2.0.0/16"), attrs);
  ASSERT_TRUE(run_until(
      io, [&] { return b.has_route(P("10.1.0.0/16")) && a.has_route(P("10.2.0.0/16")); }));

  auto adv = a.sp.show_routes({{"neighbor", "b"}, {"advertised", true}});
  ASSERT_TRUE(adv.ok()) << adv.error();
  ASSERT_EQ((*adv)["routes"].size(), 1u) << (*adv).dump();  // not b's own 10.2/16 back
  const auto& r = (*adv)["routes"][0];
  EXPECT_EQ(r["prefix"], "10.1.0.0/16");
  EXPECT_EQ(r["as_path"], ctl::Json({65001}));
  EXPECT_EQ(r["next_hop"], "127.0.0.1");
  EXPECT_EQ(r["communities"], ctl::Json({"65001:7"}));
  EXPECT_FALSE(r["pending"].get<bool>());
  EXPECT_EQ((*adv)["count"], 1);

  // Withdrawn and sent: gone from the view.
  a.rib.unoriginate(rib::RouteSource::Static, P("10.1.0.0/16"));
  ASSERT_TRUE(run_until(io, [&] { return !b.has_route(P("10.1.0.0/16")); }));
  adv = a.sp.show_routes({{"neighbor", "b"}, {"advertised", true}});
  ASSERT_TRUE(adv.ok());
  EXPECT_EQ((*adv)["routes"].size(), 0u);

  EXPECT_FALSE(a.sp.show_routes({{"advertised", true}}).ok());  // needs a neighbor
  EXPECT_FALSE(
      a.sp.show_routes({{"neighbor", "b"}, {"advertised", true}, {"received", true}}).ok());
}

}  // namespace
}  // namespace ferry::speaker
