// config::diff: per object (sections, neighbours, tunnel peers, static routes,
// networks, policies) added/removed/changed with the changed keys, compared in
// canonical form.
#include "config/diff.hpp"

#include <gtest/gtest.h>

using namespace ferry;
using namespace ferry::config;

namespace {

Config must_parse(const std::string& text) {
  auto r = parse(text, "ferry.toml");
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? std::move(r).value() : Config{};
}

const char* kBase = R"([router]
asn = 65001
router-id = "10.255.0.1"

[tunnel]
private-key-file = "/etc/ferry/a.key"
addresses = ["169.254.10.1/30"]
[[tunnel.peers]]
name = "b"
public-key = "wUnVId6j4Cl3aT2+ZxIO50E+UkMTCfOgdfRS3fIkBTw="
allowed-ips = ["169.254.10.2/32"]
persistent-keepalive = 25

[bgp]
networks = ["10.1.0.0/16"]
[[bgp.neighbors]]
name = "b"
address = "169.254.10.2"
remote-asn = 65002
password = "s3cret"
import = ["in"]
export = ["out"]

[[static-routes]]
prefix = "10.1.255.0/24"
blackhole = true

[[policies]]
name = "in"
default-action = "accept"
[[policies]]
name = "out"
default-action = "reject"
[[policies.terms]]
name = "lan"
action = "accept"
[policies.terms.match]
prefixes = ["10.1.0.0/16 le 24"]
)";

std::string edit(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

const ObjectChange* find(const std::vector<ObjectChange>& d, const std::string& type,
                         const std::string& id) {
  for (const auto& c : d)
    if (c.type == type && c.id == id) return &c;
  return nullptr;
}

}  // namespace

TEST(ConfigDiff, SameConfigurationInAnotherFormIsNoChange) {
  // Reordered keys, a default written out, a different file name: nothing changed.
  std::string other = edit(kBase, "remote-asn = 65002\n", "hold-time = 90\nremote-asn = 65002\n");
  auto b = parse(other, "other.toml");
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_TRUE(diff(must_parse(kBase), *b).empty());
}

TEST(ConfigDiff, ChangedNeighborNamesOnlyItsChangedKeys) {
  auto d =
      diff(must_parse(kBase),
           must_parse(edit(kBase, "remote-asn = 65002\n", "remote-asn = 65002\nhold-time = 30\n")));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, ObjectChange::Kind::Changed);
  EXPECT_EQ(d[0].type, "neighbor");
  EXPECT_EQ(d[0].id, "b");
  ASSERT_EQ(d[0].keys.size(), 1u);
  EXPECT_EQ(d[0].keys[0], (KeyChange{"hold-time", "90", "30"}));
}

TEST(ConfigDiff, AddedAndRemovedObjectsOfEveryKind) {
  std::string next = edit(kBase, "networks = [\"10.1.0.0/16\"]", "networks = [\"10.3.0.0/16\"]");
  next = edit(next, "[[static-routes]]\nprefix = \"10.1.255.0/24\"\nblackhole = true\n", "");
  next += R"(
[[bgp.neighbors]]
name = "c"
address = "169.254.10.6"
remote-asn = 65003
)";
  auto d = diff(must_parse(kBase), must_parse(next));
  const ObjectChange* c = find(d, "neighbor", "c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, ObjectChange::Kind::Added);
  ASSERT_NE(find(d, "network", "10.3.0.0/16"), nullptr);
  EXPECT_EQ(find(d, "network", "10.3.0.0/16")->kind, ObjectChange::Kind::Added);
  ASSERT_NE(find(d, "network", "10.1.0.0/16"), nullptr);
  EXPECT_EQ(find(d, "network", "10.1.0.0/16")->kind, ObjectChange::Kind::Removed);
  ASSERT_NE(find(d, "static-route", "10.1.255.0/24"), nullptr);
  EXPECT_EQ(find(d, "static-route", "10.1.255.0/24")->kind, ObjectChange::Kind::Removed);
  // Nothing else: the bgp section itself (networks are objects of their own), the
  // neighbour b and the policies are unchanged.
  EXPECT_EQ(d.size(), 4u);
  EXPECT_EQ(find(d, "bgp", ""), nullptr);
  EXPECT_EQ(find(d, "neighbor", "b"), nullptr);
}

TEST(ConfigDiff, PolicyTermKeysAreNamedByTerm) {
  auto d = diff(must_parse(kBase),
                must_parse(edit(kBase, "prefixes = [\"10.1.0.0/16 le 24\"]\n",
                                "prefixes = [\"10.1.0.0/16 le 24\"]\n[policies.terms.set]\n"
                                "med = 10\n")));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].type, "policy");
  EXPECT_EQ(d[0].id, "out");
  ASSERT_EQ(d[0].keys.size(), 1u);
  EXPECT_EQ(d[0].keys[0], (KeyChange{"terms.lan.set.med", "", "10"}));
}

TEST(ConfigDiff, TunnelPeerAndSectionKeys) {
  std::string next = edit(kBase, "persistent-keepalive = 25", "persistent-keepalive = 5");
  next = edit(next, "[tunnel]\n", "[tunnel]\nmtu = 1380\n");
  auto d = diff(must_parse(kBase), must_parse(next));
  ASSERT_EQ(d.size(), 2u);
  const ObjectChange* t = find(d, "tunnel", "");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->keys, (std::vector<KeyChange>{{"mtu", "1420", "1380"}}));
  const ObjectChange* p = find(d, "tunnel-peer", "b");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->keys, (std::vector<KeyChange>{{"persistent-keepalive", "25", "5"}}));
}

TEST(ConfigDiff, PasswordsAreNeverShown) {
  auto d = diff(must_parse(kBase), must_parse(edit(kBase, "s3cret", "n3w")));
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(d[0].keys.size(), 1u);
  EXPECT_EQ(d[0].keys[0].key, "password");
  EXPECT_EQ(d[0].keys[0].before, "(hidden)");
  EXPECT_EQ(d[0].keys[0].after, "(hidden)");
}

TEST(ConfigDiff, SectionAddedOrRemoved) {
  auto with = must_parse(kBase);
  auto without = must_parse(edit(kBase, "[[static-routes]]",
                                 "[metrics]\nlisten = \"127.0.0.1:9342\"\n[[static-routes]]"));
  auto d = diff(with, without);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].type, "metrics");
  EXPECT_EQ(d[0].kind, ObjectChange::Kind::Added);
  d = diff(without, with);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, ObjectChange::Kind::Removed);
}
