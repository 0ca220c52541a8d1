// Policy engine: match conditions, set actions, term/policy/chain control flow.
#include <gtest/gtest.h>

#include "rib/policy.hpp"
#include "test_util.hpp"

namespace ferry::rib {
namespace {

using test::attrs;
using test::ip;
using test::pfx;

config::PrefixMatch pm(const char* p, int ge = -1, int le = -1) {
  config::PrefixMatch m;
  m.prefix = pfx(p);
  m.ge = ge;
  m.le = le;
  return m;
}

TEST(PrefixMatch, ExactGeLe) {
  EXPECT_TRUE(prefix_match(pm("10.0.0.0/8"), pfx("10.0.0.0/8")));
  EXPECT_FALSE(prefix_match(pm("10.0.0.0/8"), pfx("10.1.0.0/16")));
  EXPECT_TRUE(prefix_match(pm("10.0.0.0/8", 16, 24), pfx("10.1.0.0/16")));
  EXPECT_TRUE(prefix_match(pm("10.0.0.0/8", 16, 24), pfx("10.1.2.0/24")));
  EXPECT_FALSE(prefix_match(pm("10.0.0.0/8", 16, 24), pfx("10.1.2.0/25")));
  EXPECT_FALSE(prefix_match(pm("10.0.0.0/8", 16, 24), pfx("10.0.0.0/8")));
  EXPECT_TRUE(prefix_match(pm("10.0.0.0/8", -1, 24), pfx("10.0.0.0/8")));  // le only: from /8
  EXPECT_TRUE(prefix_match(pm("10.0.0.0/8", 25), pfx("10.9.9.9/32")));     // ge only: up to /32
  EXPECT_FALSE(prefix_match(pm("10.0.0.0/8", 8, 32), pfx("11.0.0.0/8")));
  EXPECT_FALSE(prefix_match(pm("0.0.0.0/0", 0, 128), pfx("2001:db8::/32")));  // family differs
}

struct PolicyFixture : ::testing::Test {
  PolicyEngine eng;
  std::string nbr_name = "peer1";
  IpAddress nbr_addr = ip("192.0.2.2");
  Prefix prefix = pfx("10.1.0.0/16");
  PolicyInput in() {
    PolicyInput i;
    i.prefix = &prefix;
    i.source = RouteSource::Bgp;
    i.neighbor_name = &nbr_name;
    i.neighbor_address = &nbr_addr;
    i.local_asn = 65000;
    i.self_next_hop = ip("192.0.2.1");
    return i;
  }
  // Runs the chain; returns accept and the resulting attributes.
  std::pair<bool, bgp::PathAttributes> run(const std::vector<std::string>& chain,
                                           const bgp::PathAttributes& a) {
    std::optional<bgp::PathAttributes> out;
    PolicyOutcome r = eng.run(chain, in(), a, out);
    return {r.accept, out ? *out : a};
  }
};

config::PolicyTerm term(config::PolicyAction act) {
  config::PolicyTerm t;
  t.action = act;
  return t;
}

TEST_F(PolicyFixture, BuiltinsAndEmptyChain) {
  auto a = attrs({65001}, "192.0.2.2");
  EXPECT_TRUE(run({"accept-all"}, a).first);
  EXPECT_FALSE(run({"reject-all"}, a).first);
  EXPECT_FALSE(run({}, a).first);                  // falling off the chain rejects
  EXPECT_FALSE(run({"no-such-policy"}, a).first);  // fails closed
}

TEST_F(PolicyFixture, MatchConditions) {
  bgp::PathAttributes a = attrs({65001, 65002, 65003}, "192.0.2.2", bgp::Origin::Egp);
  a.communities = {0xFDE80064};  // 65000:100
  a.large_communities = {{65000, 1, 2}};
  auto check = [&](config::PolicyMatch m) {
    config::PolicyConfig p;
    p.name = "t";
    auto t = term(config::PolicyAction::Accept);
    t.match = std::move(m);
    p.terms = {t};
    eng.set({p});
    return run({"t"}, a).first;
  };
  config::PolicyMatch m;
  m.prefixes = {pm("10.0.0.0/8", 16, 16)};
  EXPECT_TRUE(check(m));
  m.prefixes = {pm("10.0.0.0/8"), pm("172.16.0.0/12", 12, 32)};
  EXPECT_FALSE(check(m));
  m = {};
  m.as_path_contains = 65002;
  EXPECT_TRUE(check(m));
  m.as_path_contains = 65009;
  EXPECT_FALSE(check(m));
  m = {};
  m.as_path_originates = 65003;
  EXPECT_TRUE(check(m));
  m.as_path_originates = 65001;
  EXPECT_FALSE(check(m));
  m = {};
  m.as_path_length_min = 3;
  m.as_path_length_max = 3;
  EXPECT_TRUE(check(m));
  m.as_path_length_max = 2;
  EXPECT_FALSE(check(m));
  m = {};
  m.communities = {0xFDE80064};
  EXPECT_TRUE(check(m));
  m.communities = {0xFDE80064, 0xFDE80065};  // all of
  EXPECT_FALSE(check(m));
  m = {};
  m.large_communities = {{65000, 1, 2}};
  EXPECT_TRUE(check(m));
  m.large_communities = {{65000, 1, 3}};
  EXPECT_FALSE(check(m));
  m = {};
  m.neighbors = {"other", "peer1"};
  EXPECT_TRUE(check(m));
  m.neighbors = {"192.0.2.2"};
  EXPECT_TRUE(check(m));
  m.neighbors = {"192.0.2.3"};
  EXPECT_FALSE(check(m));
  m = {};
  m.origin = 1;
  EXPECT_TRUE(check(m));
  m.origin = 0;
  EXPECT_FALSE(check(m));
  m = {};
  m.family = Family::V4;
  EXPECT_TRUE(check(m));
  m.family = Family::V6;
  EXPECT_FALSE(check(m));
  m = {};
  m.source = "bgp";
  EXPECT_TRUE(check(m));
  m.source = "static";
  EXPECT_FALSE(check(m));
}

TEST_F(PolicyFixture, SetActions) {
  bgp::PathAttributes a = attrs({65001}, "192.0.2.2");
  a.communities = {1, 2};
  a.large_communities = {{1, 2, 3}};
  config::PolicyConfig p;
  p.name = "s";
  auto t = term(config::PolicyAction::Accept);
  t.set.local_pref = 300;
  t.set.med = 7;
  t.set.prepend_count = 2;  // no ASN: the local AS
  t.set.community_remove = {1};
  t.set.community_add = {3, 2};
  t.set.large_community_add = {{4, 5, 6}};
  t.set.large_community_remove = {{1, 2, 3}};
  t.set.next_hop = ip("198.51.100.1");
  p.terms = {t};
  eng.set({p});
  auto [ok, r] = run({"s"}, a);
  ASSERT_TRUE(ok);
  EXPECT_EQ(r.local_pref, 300u);
  EXPECT_EQ(r.med, 7u);
  ASSERT_EQ(r.as_path.size(), 1u);
  EXPECT_EQ(r.as_path[0].asns, (std::vector<uint32_t>{65000, 65000, 65001}));
  EXPECT_EQ(r.communities, (std::vector<uint32_t>{2, 3}));
  ASSERT_EQ(r.large_communities.size(), 1u);
  EXPECT_EQ(r.large_communities[0], (bgp::LargeCommunity{4, 5, 6}));
  EXPECT_EQ(r.next_hop, ip("198.51.100.1"));

  p.terms[0].set = {};
  p.terms[0].set.community_replace = std::vector<uint32_t>{9};
  p.terms[0].set.prepend_asn = 64999;
  p.terms[0].set.prepend_count = 1;
  p.terms[0].set.next_hop_self = true;
  eng.set({p});
  auto [ok2, r2] = run({"s"}, a);
  ASSERT_TRUE(ok2);
  EXPECT_EQ(r2.communities, (std::vector<uint32_t>{9}));
  EXPECT_EQ(r2.as_path[0].asns, (std::vector<uint32_t>{64999, 65001}));
  EXPECT_EQ(r2.next_hop, ip("192.0.2.1"));
}

TEST_F(PolicyFixture, TermsPoliciesAndChainControlFlow) {
  bgp::PathAttributes a = attrs({65001}, "192.0.2.2");
  // p1: term "tag" (no match condition) adds a community and goes on; term
  // "drop" rejects routes carrying community 5 — it sees the tag added by the
  // earlier term; default next-term hands over to p2.
  config::PolicyConfig p1;
  p1.name = "p1";
  auto tag = term(config::PolicyAction::NextTerm);
  tag.set.community_add = {4};
  auto drop = term(config::PolicyAction::Reject);
  drop.match.communities = {5};
  p1.terms = {tag, drop};
  p1.default_action = config::PolicyAction::NextTerm;
  config::PolicyConfig p2;
  p2.name = "p2";
  auto lp = term(config::PolicyAction::Accept);
  lp.match.communities = {4};
  lp.set.local_pref = 50;
  p2.terms = {lp};
  eng.set({p1, p2});
  auto [ok, r] = run({"p1", "p2"}, a);
  ASSERT_TRUE(ok);
  EXPECT_EQ(r.communities, (std::vector<uint32_t>{4}));
  EXPECT_EQ(r.local_pref, 50u);
  // The tag makes p1's "drop" term fire when it tags 5 instead.
  p1.terms[0].set.community_add = {5};
  eng.set({p1, p2});
  EXPECT_FALSE(run({"p1", "p2"}, a).first);
  // A policy whose default is reject stops the chain.
  p1.terms = {};
  p1.default_action = config::PolicyAction::Reject;
  eng.set({p1, p2});
  EXPECT_FALSE(run({"p1", "accept-all"}, a).first);
  p1.default_action = config::PolicyAction::Accept;
  eng.set({p1, p2});
  EXPECT_TRUE(run({"p1", "reject-all"}, a).first);
}

TEST_F(PolicyFixture, NoCopyWithoutSetActions) {
  config::PolicyConfig p;
  p.name = "plain";
  p.terms = {term(config::PolicyAction::Accept)};
  eng.set({p});
  std::optional<bgp::PathAttributes> out;
  auto a = attrs({65001}, "192.0.2.2");
  EXPECT_TRUE(eng.run({"plain"}, in(), a, out).accept);
  EXPECT_FALSE(out.has_value());
  EXPECT_FALSE(eng.depends_on_prefix({"plain"}));
  p.terms[0].match.prefixes = {pm("10.0.0.0/8")};
  eng.set({p});
  EXPECT_TRUE(eng.depends_on_prefix({"plain"}));
}

}  // namespace
}  // namespace ferry::rib
