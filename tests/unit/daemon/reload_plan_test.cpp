// The reload plan: which sessions a reload resets (and why), which get a soft
// refresh, what is refused; and that the reset keys are exactly the ones
// bgp::SessionConfig::needs_reset acts on, so the dry run never lies.
#include "daemon/reload_plan.hpp"

#include <gtest/gtest.h>

#include "daemon/from_config.hpp"
#include "speaker/peer.hpp"

using namespace ferry;
using namespace ferry::daemon;

namespace {

config::Config must_parse(const std::string& text) {
  auto r = config::parse(text, "ferry.toml");
  EXPECT_TRUE(r.ok()) << r.error() << "\n" << text;
  return r.ok() ? std::move(r).value() : config::Config{};
}

const char* kBase = R"([router]
asn = 65001
router-id = "10.255.0.1"

[tunnel]
private-key-file = "/etc/ferry/a.key"
addresses = ["169.254.10.1/30"]
[[tunnel.peers]]
name = "t"
public-key = "wUnVId6j4Cl3aT2+ZxIO50E+UkMTCfOgdfRS3fIkBTw="
allowed-ips = ["169.254.10.2/32"]

[bgp]
networks = ["10.1.0.0/16"]
[[bgp.neighbors]]
name = "b"
address = "169.254.10.2"
remote-asn = 65002
import = ["in"]
export = ["out"]
[[bgp.neighbors]]
name = "c"
address = "169.254.10.6"
remote-asn = 65003
import = ["accept-all"]
export = ["out"]
[[bgp.neighbors]]
name = "d"
address = "169.254.10.10"
remote-asn = 65004
import = ["accept-all"]
export = ["accept-all"]

[[static-routes]]
prefix = "10.1.255.0/24"
blackhole = true

[[policies]]
name = "in"
default-action = "accept"
[[policies]]
name = "out"
default-action = "accept"
)";

std::string edit(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

const SessionEffect* effect(const ReloadPlan& p, const std::string& n) {
  for (const auto& e : p.sessions)
    if (e.neighbor == n) return &e;
  return nullptr;
}

// Neighbour b's keys, each with another valid value.
struct KeyEdit {
  const char* key;
  const char* line;  // inserted after b's remote-asn
};
const KeyEdit kNeighborKeys[] = {
    {"remote-asn", "remote-asn = 65012"},
    {"local-address", "local-address = \"169.254.10.1\""},
    {"port", "port = 1179"},
    {"passive", "passive = true"},
    {"multihop", "multihop = 3"},
    {"ttl-security", "ttl-security = true"},
    {"password", "password = \"k\""},
    {"hold-time", "hold-time = 30"},
    {"ipv4", "ipv4 = false"},
    {"ipv6", "ipv6 = false"},
    {"graceful-restart", "graceful-restart = true"},
    {"connect-retry", "connect-retry = 9"},
    {"next-hop-self", "next-hop-self = false"},
    {"max-prefixes", "max-prefixes = 100"},
    {"max-prefix-action", "max-prefix-action = \"warn\""},
    {"max-prefix-restart", "max-prefix-restart = 30"},
    {"bfd", "bfd = true"},
    {"description", "description = \"uplink\""},
};

bool is_reset_key(const std::string& k) {
  for (const auto& r : session_reset_keys())
    if (k == r.key) return true;
  return false;
}

}  // namespace

TEST(ReloadPlan, ResetKeysAreExactlyWhatTheSessionResetsOn) {
  const config::Config before = must_parse(kBase);
  const std::string anchor = "remote-asn = 65002\n";
  for (const KeyEdit& k : kNeighborKeys) {
    SCOPED_TRACE(k.key);
    std::string text = edit(kBase, anchor, anchor + k.line + "\n");
    if (std::string(k.key) == "remote-asn") text = edit(kBase, anchor, std::string(k.line) + "\n");
    const config::Config after = must_parse(text);
    // What the speaker does: compare the two session configurations.
    const auto& nb = before.bgp->neighbors[0];
    const auto& na = after.bgp->neighbors[0];
    const bool resets = speaker::Peer::session_config(speaker_options(before), nb)
                            .needs_reset(speaker::Peer::session_config(speaker_options(after), na));
    EXPECT_EQ(resets, is_reset_key(k.key));
    // What the plan says.
    const ReloadPlan p = plan_reload(before, after);
    ASSERT_EQ(p.changes.size(), 1u);
    EXPECT_TRUE(p.changes[0].changed(k.key));
    const SessionEffect* e = effect(p, "b");
    if (resets) {
      ASSERT_NE(e, nullptr);
      EXPECT_EQ(e->action, SessionEffect::Action::Reset);
      EXPECT_NE(e->reason.find(k.key), std::string::npos) << e->reason;
      EXPECT_EQ(p.resets(), 1u);
    } else {
      EXPECT_EQ(p.resets(), 0u);
    }
    // Never another neighbour.
    EXPECT_EQ(effect(p, "c"), nullptr);
    EXPECT_EQ(effect(p, "d"), nullptr);
  }
}

TEST(ReloadPlan, AddingANeighborStartsOnlyIt) {
  std::string text = kBase;
  text += "[[bgp.neighbors]]\nname = \"e\"\naddress = \"169.254.10.14\"\nremote-asn = 65005\n";
  const ReloadPlan p = plan_reload(must_parse(kBase), must_parse(text));
  ASSERT_EQ(p.sessions.size(), 1u);
  EXPECT_EQ(p.sessions[0], (SessionEffect{"e", SessionEffect::Action::Start, "new neighbor"}));
  EXPECT_TRUE(p.restart_required.empty());
}

TEST(ReloadPlan, RemovingANeighborStopsOnlyIt) {
  std::string text = edit(kBase,
                          "[[bgp.neighbors]]\nname = \"d\"\naddress = \"169.254.10.10\"\n"
                          "remote-asn = 65004\nimport = [\"accept-all\"]\nexport = "
                          "[\"accept-all\"]\n",
                          "");
  const ReloadPlan p = plan_reload(must_parse(kBase), must_parse(text));
  ASSERT_EQ(p.sessions.size(), 1u);
  EXPECT_EQ(p.sessions[0].neighbor, "d");
  EXPECT_EQ(p.sessions[0].action, SessionEffect::Action::Stop);
}

TEST(ReloadPlan, PolicyChangeSoftRefreshesItsUsersOnly) {
  // "out" is b's and c's export policy; "in" is b's import policy; d uses neither.
  std::string text = edit(kBase, "name = \"out\"\ndefault-action = \"accept\"",
                          "name = \"out\"\ndefault-action = \"reject\"");
  ReloadPlan p = plan_reload(must_parse(kBase), must_parse(text));
  EXPECT_EQ(p.resets(), 0u);
  ASSERT_EQ(p.sessions.size(), 2u);
  for (const char* n : {"b", "c"}) {
    const SessionEffect* e = effect(p, n);
    ASSERT_NE(e, nullptr) << n;
    EXPECT_EQ(e->action, SessionEffect::Action::SoftOut);
    EXPECT_NE(e->reason.find("export policy out"), std::string::npos);
  }
  text = edit(kBase, "name = \"in\"\ndefault-action = \"accept\"",
              "name = \"in\"\ndefault-action = \"reject\"");
  p = plan_reload(must_parse(kBase), must_parse(text));
  ASSERT_EQ(p.sessions.size(), 1u);
  EXPECT_EQ(p.sessions[0].neighbor, "b");
  EXPECT_EQ(p.sessions[0].action, SessionEffect::Action::SoftIn);
  // A neighbour's own export list: that neighbour only.
  text = edit(kBase, "export = [\"accept-all\"]", "export = [\"out\"]");
  p = plan_reload(must_parse(kBase), must_parse(text));
  ASSERT_EQ(p.sessions.size(), 1u);
  EXPECT_EQ(p.sessions[0].neighbor, "d");
  EXPECT_EQ(p.sessions[0].action, SessionEffect::Action::SoftOut);
}

TEST(ReloadPlan, StaticRoutesNetworksAndTunnelPeersTouchNoSession) {
  std::string text =
      edit(kBase, "[[static-routes]]\nprefix = \"10.1.255.0/24\"\nblackhole = true\n", "");
  text =
      edit(text, "networks = [\"10.1.0.0/16\"]", "networks = [\"10.1.0.0/16\", \"10.9.0.0/16\"]");
  text = edit(text, "allowed-ips = [\"169.254.10.2/32\"]",
              "allowed-ips = [\"169.254.10.2/32\"]\npersistent-keepalive = 5");
  const ReloadPlan p = plan_reload(must_parse(kBase), must_parse(text));
  EXPECT_EQ(p.changes.size(), 3u);
  EXPECT_TRUE(p.sessions.empty());
  EXPECT_TRUE(p.tunnel_peers_recreated.empty());
  EXPECT_TRUE(p.restart_required.empty());
}

TEST(ReloadPlan, WhatModulesRefuseIsReportedAsNeedingARestart) {
  std::string text = edit(kBase, "asn = 65001", "asn = 65009");
  text = edit(text, "[tunnel]\n", "[tunnel]\nmtu = 1300\n");
  const ReloadPlan p = plan_reload(must_parse(kBase), must_parse(text));
  EXPECT_EQ(p.restart_required, (std::vector<std::string>{"router.asn", "tunnel.mtu"}));
  const auto j = to_json(p);
  EXPECT_EQ(j["restart_required"].size(), 2u);
  EXPECT_NE(to_text(p).find("needs a restart"), std::string::npos);
}

TEST(ReloadPlan, JsonAndTextNameTheChangedKeysAndTheReason) {
  std::string text = edit(kBase, "remote-asn = 65003\n", "remote-asn = 65003\nhold-time = 30\n");
  const ReloadPlan p = plan_reload(must_parse(kBase), must_parse(text));
  const ctl::Json j = to_json(p);
  ASSERT_EQ(j["changes"].size(), 1u);
  EXPECT_EQ(j["changes"][0]["type"], "neighbor");
  EXPECT_EQ(j["changes"][0]["id"], "c");
  EXPECT_EQ(j["changes"][0]["change"], "changed");
  EXPECT_EQ(j["changes"][0]["keys"][0]["key"], "hold-time");
  EXPECT_EQ(j["changes"][0]["keys"][0]["before"], "90");
  EXPECT_EQ(j["changes"][0]["keys"][0]["after"], "30");
  EXPECT_EQ(j["session_resets"], 1);
  EXPECT_EQ(j["sessions"][0]["neighbor"], "c");
  EXPECT_EQ(j["sessions"][0]["action"], "reset");
  const std::string t = to_text(p);
  EXPECT_NE(t.find("changed neighbor c"), std::string::npos) << t;
  EXPECT_NE(t.find("hold-time: 90 -> 30"), std::string::npos) << t;
  EXPECT_NE(t.find("c: reset (hold-time"), std::string::npos) << t;
}

TEST(ReloadPlan, NewTunnelPublicKeyIsANewPeer) {
  std::string text = edit(kBase, "wUnVId6j4Cl3aT2+ZxIO50E+UkMTCfOgdfRS3fIkBTw=",
                          "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=");
  const ReloadPlan p = plan_reload(must_parse(kBase), must_parse(text));
  EXPECT_EQ(p.tunnel_peers_recreated, (std::vector<std::string>{"t"}));
  EXPECT_TRUE(p.sessions.empty());
}
