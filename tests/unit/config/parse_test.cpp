// What parse() puts into the typed config: every section, defaults, and the
// optional-vs-default distinctions other modules rely on.
#include <gtest/gtest.h>

#include "config/config.hpp"

using namespace ferry;
using namespace ferry::config;

namespace {

Config must_parse(const std::string& text) {
  auto r = parse(text, "ferry.toml");
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? std::move(r).value() : Config{};
}

const char* kRouter = "[router]\nasn = 65001\nrouter-id = \"10.255.0.1\"\n";

}  // namespace

TEST(Parse, MinimalRouterGetsDefaults) {
  Config c = must_parse(kRouter);
  EXPECT_EQ(c.path, "ferry.toml");
  EXPECT_EQ(c.router.asn, Asn(65001));
  EXPECT_EQ(c.router.router_id.str(), "10.255.0.1");
  EXPECT_EQ(c.router.control_socket, "/run/ferry/ferry.sock");
  EXPECT_FALSE(c.tunnel);
  EXPECT_FALSE(c.bgp);
  EXPECT_TRUE(c.static_routes.empty());
  EXPECT_EQ(c.fib.table, 254u);
  EXPECT_EQ(c.fib.protocol, 200);
  EXPECT_TRUE(c.fib.install);
}

TEST(Parse, TunnelAndPeers) {
  Config c = must_parse(std::string(kRouter) + R"(
[tunnel]
private-key-file = "/etc/ferry/a.key"
listen-port = 51821
addresses = ["169.254.10.1/30", "fd00::1/64"]
timer-scale = 0.01
[[tunnel.peers]]
name = "b"
public-key = "wUnVId6j4Cl3aT2+ZxIO50E+UkMTCfOgdfRS3fIkBTw="
endpoint = "[2001:db8::2]:51820"
allowed-ips = ["169.254.10.2/32", "10.2.0.0/16"]
persistent-keepalive = 25
)");
  ASSERT_TRUE(c.tunnel);
  const auto& t = *c.tunnel;
  EXPECT_EQ(t.interface, "ferry0");
  EXPECT_EQ(t.listen_port, 51821);
  ASSERT_EQ(t.addresses.size(), 2u);
  EXPECT_EQ(t.addresses[0].str(), "169.254.10.1/30");
  EXPECT_EQ(t.addresses[1].str(), "fd00::1/64");
  EXPECT_DOUBLE_EQ(t.timer_scale, 0.01);
  ASSERT_EQ(t.peers.size(), 1u);
  EXPECT_EQ(t.peers[0].endpoint->str(), "[2001:db8::2]:51820");
  EXPECT_EQ(t.peers[0].allowed_ips[1].str(), "10.2.0.0/16");
  EXPECT_EQ(t.peers[0].persistent_keepalive, 25);
}

TEST(Parse, NeighborOptionalsStayUnsetUnlessGiven) {
  Config c = must_parse(std::string(kRouter) + R"(
[bgp]
[[bgp.neighbors]]
name = "plain"
address = "10.0.0.2"
remote-asn = 65002
[[bgp.neighbors]]
name = "full"
address = "2001:db8::2"
remote-asn = 65001
local-address = "2001:db8::1"
import = []
export = ["accept-all"]
next-hop-self = false
route-reflector-client = true
max-prefixes = 1000
max-prefix-action = "warn"
hold-time = 0
)");
  ASSERT_TRUE(c.bgp);
  const auto& plain = c.bgp->neighbors[0];
  EXPECT_FALSE(plain.import_set);
  EXPECT_FALSE(plain.export_set);
  EXPECT_FALSE(plain.next_hop_self);
  EXPECT_FALSE(plain.max_prefixes);
  EXPECT_FALSE(plain.local_address);
  EXPECT_EQ(plain.hold_time, 90);
  EXPECT_EQ(plain.max_prefix_action, MaxPrefixAction::Restart);
  const auto& full = c.bgp->neighbors[1];
  EXPECT_TRUE(full.import_set);
  EXPECT_TRUE(full.import_policies.empty());
  EXPECT_TRUE(full.export_set);
  EXPECT_EQ(full.export_policies, std::vector<std::string>{"accept-all"});
  ASSERT_TRUE(full.next_hop_self);
  EXPECT_FALSE(*full.next_hop_self);
  EXPECT_TRUE(full.route_reflector_client);
  EXPECT_EQ(full.max_prefixes, 1000u);
  EXPECT_EQ(full.max_prefix_action, MaxPrefixAction::Warn);
  EXPECT_EQ(full.hold_time, 0);
  EXPECT_EQ(full.local_address->str(), "2001:db8::1");
}

TEST(Parse, RedistributeForms) {
  Config c = must_parse(std::string(kRouter) + R"(
[bgp]
redistribute = ["static", { source = "kernel", protocols = ["ospf", 186], table = 100 },
                { source = "connected", interfaces = ["eth1"] }]
)");
  const auto& r = c.bgp->redistribute;
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].source, RedistributeConfig::Source::Static);
  EXPECT_EQ(r[1].source, RedistributeConfig::Source::Kernel);
  EXPECT_EQ(r[1].protocols, (std::vector<std::string>{"ospf", "186"}));
  EXPECT_EQ(r[1].table, 100u);
  EXPECT_EQ(r[2].interfaces, std::vector<std::string>{"eth1"});
  EXPECT_FALSE(r[2].table);
}

TEST(Parse, PolicyTermsMatchAndSet) {
  Config c = must_parse(std::string(kRouter) + R"(
[bgp]
[[bgp.neighbors]]
name = "b"
address = "10.0.0.2"
remote-asn = 65002
import = ["p"]
[[policies]]
name = "p"
default-action = "accept"
[[policies.terms]]
name = "one"
action = "reject"
match = { prefixes = ["10.0.0.0/8 le 24"], communities = ["65001:100", "no-export"], neighbors = ["b"], origin = "egp", family = "ipv4", source = "bgp", as-path-length-min = 2, as-path-length-max = 5, large-communities = ["65001:1:2"] }
set = { local-pref = 200, med = 0, prepend = { asn = 65009, count = 2 }, community-replace = [], next-hop = "self" }
[[policies.terms]]
set = { prepend = 3, next-hop = "192.0.2.1" }
)");
  const PolicyConfig* p = c.find_policy("p");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(c.find_policy("q"), nullptr);
  EXPECT_EQ(p->default_action, PolicyAction::Accept);
  ASSERT_EQ(p->terms.size(), 2u);
  const auto& t = p->terms[0];
  EXPECT_EQ(t.action, PolicyAction::Reject);
  EXPECT_FALSE(t.match.empty());
  EXPECT_EQ(t.match.prefixes[0].le, 24);
  EXPECT_EQ(t.match.communities, (std::vector<uint32_t>{0xFDE90064u, 0xFFFFFF01u}));
  EXPECT_EQ(t.match.large_communities[0], (std::vector<uint32_t>{65001, 1, 2}));
  EXPECT_EQ(t.match.origin, 1);
  EXPECT_EQ(t.match.family, Family::V4);
  EXPECT_EQ(t.match.source, "bgp");
  EXPECT_EQ(t.set.local_pref, 200u);
  EXPECT_EQ(t.set.med, 0u);
  EXPECT_EQ(t.set.prepend_asn, 65009u);
  EXPECT_EQ(t.set.prepend_count, 2u);
  ASSERT_TRUE(t.set.community_replace);
  EXPECT_TRUE(t.set.community_replace->empty());
  EXPECT_TRUE(t.set.next_hop_self);
  EXPECT_FALSE(t.set.next_hop);
  // Unnamed term: named by position; bare prepend count means the local AS.
  const auto& u = p->terms[1];
  EXPECT_EQ(u.name, "term-2");
  EXPECT_EQ(u.action, PolicyAction::NextTerm);
  EXPECT_TRUE(u.match.empty());
  EXPECT_FALSE(u.set.prepend_asn);
  EXPECT_EQ(u.set.prepend_count, 3u);
  EXPECT_EQ(u.set.next_hop->str(), "192.0.2.1");
  EXPECT_FALSE(u.set.next_hop_self);
}

TEST(Parse, PolicyNeighborByAddressIsCanonicalised) {
  Config c = must_parse(std::string(kRouter) + R"(
[[bgp.neighbors]]
name = "b"
address = "2001:db8::2"
remote-asn = 65002
[[policies]]
name = "p"
[[policies.terms]]
match = { neighbors = ["b", "2001:DB8:0::2"] }
)");
  EXPECT_EQ(c.policies[0].terms[0].match.neighbors, (std::vector<std::string>{"b", "2001:db8::2"}));
}

TEST(Parse, StaticRoutesAndFib) {
  Config c = must_parse(std::string(kRouter) + R"(
[[static-routes]]
prefix = "10.9.0.0/16"
next-hop = "10.0.0.254"
interface = "eth1"
[[static-routes]]
prefix = "2001:db8:dead::/48"
blackhole = true
[fib]
table = 100
protocol = 201
metric = 5
install = false
keep-on-shutdown = true
)");
  ASSERT_EQ(c.static_routes.size(), 2u);
  EXPECT_EQ(c.static_routes[0].next_hop->str(), "10.0.0.254");
  EXPECT_EQ(c.static_routes[0].interface, "eth1");
  EXPECT_TRUE(c.static_routes[1].blackhole);
  EXPECT_EQ(c.fib.table, 100u);
  EXPECT_EQ(c.fib.protocol, 201);
  EXPECT_EQ(c.fib.metric, 5u);
  EXPECT_FALSE(c.fib.install);
  EXPECT_TRUE(c.fib.keep_on_shutdown);
}

TEST(Parse, LoadReadsFilesAndReportsMissingOnes) {
  auto r = load("/nonexistent/ferry-config-test.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(),
            "/nonexistent/ferry-config-test.toml: cannot read: No such file or directory");
}

TEST(PolicyMatch, EmptyOnlyWithoutConditions) {
  PolicyMatch m;
  EXPECT_TRUE(m.empty());
  m.family = Family::V6;
  EXPECT_FALSE(m.empty());
  PolicyMatch n;
  n.as_path_length_max = 0;
  EXPECT_FALSE(n.empty());
}
