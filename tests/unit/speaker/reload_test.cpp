// Reload is hitless (Speaker::apply): policy edits become a soft refresh
// (import: the stored Adj-RIB-In is re-evaluated, nothing is asked of the
// peer; export: only the differences are sent), and adding or removing a
// neighbour or a network leaves every other session alone.
#include <gtest/gtest.h>

#include "speaker_fixture.hpp"

namespace ferry::speaker {
namespace {

using namespace testing_fixture;
using namespace std::chrono_literals;

// A policy accepting everything but one prefix.
config::PolicyConfig all_but(const char* name, const char* prefix) {
  config::PolicyConfig p;
  p.name = name;
  p.default_action = config::PolicyAction::Accept;
  config::PolicyTerm t;
  t.name = "drop";
  t.action = config::PolicyAction::Reject;
  t.match.prefixes.push_back(config::PrefixMatch{P(prefix)});
  p.terms.push_back(t);
  return p;
}

class SpeakerReloadTest : public SpeakerTest {
 protected:
  // a originates two prefixes; b has both.
  void SetUp() override {
    SpeakerTest::SetUp();
    // Keepalives every 80 s: within a test every message counted is the reload's doing.
    connect([](config::BgpNeighborConfig& na, config::BgpNeighborConfig& nb) {
      na.hold_time = nb.hold_time = 240;
    });
    ASSERT_TRUE(run_until(io, [&] { return both_up(); }));
    bgp::PathAttributes attrs;
    attrs.origin = bgp::Origin::Igp;
    a.rib.originate(rib::RouteSource::Static, P("10.1.0.0/16"), attrs);
    a.rib.originate(rib::RouteSource::Static, P("10.2.0.0/16"), attrs);
    ASSERT_TRUE(run_until(
        io, [&] { return b.has_route(P("10.1.0.0/16")) && b.has_route(P("10.2.0.0/16")); }));
  }
  // Neither side saw the session go down or a NOTIFICATION.
  void expect_no_flap() {
    EXPECT_EQ(a.state("b"), "Established");
    EXPECT_EQ(b.state("a"), "Established");
    EXPECT_EQ(a.session("b").counters().established_count, 1u);
    EXPECT_EQ(b.session("a").counters().established_count, 1u);
    EXPECT_EQ(a.session("b").counters().notifications_in, 0u);
    EXPECT_EQ(b.session("a").counters().notifications_in, 0u);
  }
};

TEST_F(SpeakerReloadTest, ExportPolicyEditIsASoftRefreshOut) {
  a.cfg.policies[0] = all_but("all", "10.2.0.0/16");  // a's export policy to b
  a.sp.apply(a.cfg);
  ASSERT_TRUE(run_until(io, [&] { return !b.has_route(P("10.2.0.0/16")); }));
  EXPECT_TRUE(b.has_route(P("10.1.0.0/16")));
  expect_no_flap();
  // And back: re-announced, still the same session.
  a.cfg.policies[0] = all_but("all", "192.0.2.0/24");
  a.sp.apply(a.cfg);
  ASSERT_TRUE(run_until(io, [&] { return b.has_route(P("10.2.0.0/16")); }));
  expect_no_flap();
}

TEST_F(SpeakerReloadTest, ImportPolicyEditReevaluatesTheStoredAdjRibIn) {
  // b imports with its own policy, so a's export is untouched.
  b.cfg.policies.push_back(all_but("in", "192.0.2.0/24"));
  b.cfg.neighbors[0].import_policies = {"in"};
  b.sp.apply(b.cfg);
  run_for(io, 200ms);
  const uint64_t sent = a.session("b").counters().messages_out;
  const uint64_t asked = a.session("b").counters().messages_in;
  b.cfg.policies.back() = all_but("in", "10.2.0.0/16");
  b.sp.apply(b.cfg);
  // Immediately: the stored paths went through the new policy, no round trip needed.
  EXPECT_FALSE(b.has_route(P("10.2.0.0/16")));
  EXPECT_TRUE(b.has_route(P("10.1.0.0/16")));
  // Rejected paths are kept before policy: relaxing the policy brings them back.
  b.cfg.policies.back() = all_but("in", "192.0.2.0/24");
  b.sp.apply(b.cfg);
  EXPECT_TRUE(b.has_route(P("10.2.0.0/16")));
  run_for(io, 300ms);
  // a was asked for nothing (no ROUTE-REFRESH) and sent nothing for it.
  EXPECT_EQ(a.session("b").counters().messages_in, asked);
  EXPECT_EQ(a.session("b").counters().messages_out, sent);
  expect_no_flap();
}

TEST_F(SpeakerReloadTest, AddingAndRemovingANeighborLeavesTheOthersAlone) {
  Node c{io, 65003, 0x03030303, "127.0.0.3"};
  ASSERT_TRUE(c.sp.start().ok());
  a.cfg.neighbors.push_back(neighbor("c", "127.0.0.3", c.sp.listen_port(), 65003, "127.0.0.1"));
  c.cfg.neighbors = {neighbor("a", "127.0.0.1", a.sp.listen_port(), 65001, "127.0.0.3")};
  a.sp.apply(a.cfg);
  c.sp.apply(c.cfg);
  ASSERT_TRUE(run_until(io, [&] { return c.has_route(P("10.1.0.0/16")); }));
  EXPECT_EQ(a.sp.established_count(), 2u);
  expect_no_flap();
  a.cfg.neighbors.pop_back();
  a.sp.apply(a.cfg);
  ASSERT_TRUE(run_until(io, [&] { return !c.has_route(P("10.1.0.0/16")); }));
  EXPECT_EQ(a.sp.find("c"), nullptr);
  expect_no_flap();
  EXPECT_TRUE(b.has_route(P("10.2.0.0/16")));
}

TEST_F(SpeakerReloadTest, NetworksComeAndGoWithoutTouchingTheSession) {
  a.cfg.networks = {P("10.7.0.0/16")};
  a.sp.apply(a.cfg);
  ASSERT_TRUE(run_until(io, [&] { return b.has_route(P("10.7.0.0/16")); }));
  a.cfg.networks.clear();
  a.sp.apply(a.cfg);
  ASSERT_TRUE(run_until(io, [&] { return !b.has_route(P("10.7.0.0/16")); }));
  EXPECT_TRUE(b.has_route(P("10.1.0.0/16")));
  expect_no_flap();
}

}  // namespace
}  // namespace ferry::speaker
