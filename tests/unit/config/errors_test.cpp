// One test per class of configuration error, checking the exact message:
// "file:line: key.path: what was expected".
#include <gtest/gtest.h>

#include "config/config.hpp"

using namespace ferry::config;

namespace {

const std::string kRouter = "[router]\nasn = 65001\nrouter-id = \"10.255.0.1\"\n";  // lines 1-3
const std::string kKey = "wUnVId6j4Cl3aT2+ZxIO50E+UkMTCfOgdfRS3fIkBTw=";

std::string error_of(const std::string& text) {
  auto r = parse(text, "ferry.toml");
  if (r.ok()) return "(parsed fine)";
  return r.error();
}

// A [bgp] with one neighbor whose lines 5.. are `extra`.
std::string neighbor(const std::string& extra) {
  return kRouter + "[[bgp.neighbors]]\n" + extra;  // header on line 4
}

}  // namespace

TEST(ConfigErrors, TomlSyntaxWithLineAndColumn) {
  EXPECT_EQ(error_of("[router]\nasn = \n"),
            "ferry.toml:2:7: invalid TOML: Error while parsing key-value pair: "
            "expected value, saw '\\n'");
  EXPECT_EQ(error_of(kRouter + "asn = 1\n"),
            "ferry.toml:4:7: invalid TOML: Error while parsing key-value pair: "
            "cannot redefine existing integer 'asn'");
}

TEST(ConfigErrors, RouterMissing) {
  EXPECT_EQ(error_of("[fib]\ntable = 1\n"),
            "ferry.toml:1: router: missing; expected a [router] table with asn and router-id");
  EXPECT_EQ(error_of("router = 1\n"), "ferry.toml:1: router: expected a table, got an integer");
}

TEST(ConfigErrors, MissingKeyNamesTheTableLine) {
  EXPECT_EQ(error_of("\n[router]\nrouter-id = \"1.2.3.4\"\n"),
            "ferry.toml:2: router.asn: missing; expected an integer 1..4294967295");
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\n")),
            "ferry.toml:4: bgp.neighbors[0].remote-asn: missing; expected an integer "
            "1..4294967295");
}

TEST(ConfigErrors, UnknownKeysEverywhere) {
  EXPECT_EQ(error_of("[router]\nasn = 65001\nrouterid = \"1.2.3.4\"\n"),
            "ferry.toml:3: router.routerid: unknown key (did you mean \"router-id\"?)");
  EXPECT_EQ(error_of(kRouter + "[bogus]\n"), "ferry.toml:4: bogus: unknown key");
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-as = 65002\n")),
            "ferry.toml:7: bgp.neighbors[0].remote-as: unknown key (did you mean \"remote-asn\"?)");
  EXPECT_EQ(error_of(kRouter + "[[policies]]\nname = \"p\"\n[[policies.terms]]\n"
                               "match = { prefix = [] }\n"),
            "ferry.toml:7: policies[0].terms[0].match.prefix: unknown key (did you mean "
            "\"prefixes\"?)");
  EXPECT_EQ(error_of(kRouter + "[bgp]\nredistribute = [{ source = \"kernel\", tables = 5 }]\n"),
            "ferry.toml:5: bgp.redistribute[0].tables: unknown key (did you mean \"table\"?)");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(error_of("[router]\nasn = \"65001\"\nrouter-id = \"1.2.3.4\"\n"),
            "ferry.toml:2: router.asn: expected an integer 1..4294967295, got a string");
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 1\n"
                              "passive = \"yes\"\n")),
            "ferry.toml:8: bgp.neighbors[0].passive: expected a boolean (true or false), got a "
            "string");
  EXPECT_EQ(error_of(kRouter + "[bgp]\nnetworks = \"10.0.0.0/8\"\n"),
            "ferry.toml:5: bgp.networks: expected an array of prefixes, got a string");
  EXPECT_EQ(error_of(kRouter + "[bgp.neighbors]\nname = \"b\"\n"),
            "ferry.toml:4: bgp.neighbors: expected an array of tables ([[bgp.neighbors]]), got a "
            "table");
}

TEST(ConfigErrors, OutOfRangeIntegers) {
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 4294967296\n")),
            "ferry.toml:7: bgp.neighbors[0].remote-asn: expected an integer 1..4294967295, got "
            "4294967296");
  EXPECT_EQ(error_of("[router]\nasn = 0\nrouter-id = \"1.2.3.4\"\n"),
            "ferry.toml:2: router.asn: expected an integer 1..4294967295, got 0");
  EXPECT_EQ(error_of(kRouter + "[bgp]\nmax-paths = -1\n"),
            "ferry.toml:5: bgp.max-paths: expected an integer 1..64, got -1");
}

TEST(ConfigErrors, PortZero) {
  EXPECT_EQ(error_of(kRouter + "[tunnel]\nprivate-key-file = \"k\"\nlisten-port = 0\n"),
            "ferry.toml:6: tunnel.listen-port: expected an integer 1..65535, got 0");
  EXPECT_EQ(error_of(kRouter + "[bgp]\nlisten-port = 0\n"),
            "ferry.toml:5: bgp.listen-port: expected an integer 1..65535, got 0");
  EXPECT_EQ(error_of(kRouter +
                     "[tunnel]\nprivate-key-file = \"k\"\n[[tunnel.peers]]\n"
                     "name = \"b\"\npublic-key = \"" +
                     kKey +
                     "\"\n"
                     "endpoint = \"192.0.2.1:0\"\n"),
            "ferry.toml:9: tunnel.peers[0].endpoint: expected an endpoint \"1.2.3.4:51820\" or "
            "\"[2001:db8::1]:51820\", got \"192.0.2.1:0\"");
}

TEST(ConfigErrors, MalformedAddressesPrefixesCommunities) {
  EXPECT_EQ(error_of("[router]\nasn = 1\nrouter-id = \"1.2.3\"\n"),
            "ferry.toml:3: router.router-id: expected a non-zero dotted-quad router ID (RFC 6286), "
            "got \"1.2.3\"");
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.300\"\n")),
            "ferry.toml:6: bgp.neighbors[0].address: expected an IP address, got \"10.0.0.300\"");
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"::\"\n")),
            "ferry.toml:6: bgp.neighbors[0].address: expected a unicast address, got \"::\"");
  EXPECT_EQ(error_of(kRouter + "[bgp]\nnetworks = [\"10.1.0.0/16\",\n  \"10.1.0.1/16\"]\n"),
            "ferry.toml:6: bgp.networks[1]: expected a prefix without host bits (\"10.0.0.0/8\"), "
            "got \"10.1.0.1/16\"");
  EXPECT_EQ(error_of(kRouter + "[tunnel]\nprivate-key-file = \"k\"\naddresses = [\"10.0.0.1\"]\n"),
            "ferry.toml:6: tunnel.addresses[0]: expected an interface address "
            "\"169.254.10.1/30\", got \"10.0.0.1\"");
  EXPECT_EQ(error_of(kRouter + "[[policies]]\nname = \"p\"\n[[policies.terms]]\n"
                               "[policies.terms.set]\ncommunity-add = [\"65001:70000\"]\n"),
            "ferry.toml:8: policies[0].terms[0].set.community-add[0]: expected a community "
            "\"ASN:VALUE\" (each 0..65535) or a well-known name, got \"65001:70000\"");
  EXPECT_EQ(error_of(kRouter + "[[policies]]\nname = \"p\"\n[[policies.terms]]\n"
                               "[policies.terms.match]\nlarge-communities = [\"1:2\"]\n"),
            "ferry.toml:8: policies[0].terms[0].match.large-communities[0]: expected a large "
            "community \"GLOBAL:LOCAL1:LOCAL2\" (each 0..4294967295), got \"1:2\"");
  EXPECT_EQ(error_of(kRouter + "[[policies]]\nname = \"p\"\n[[policies.terms]]\n"
                               "[policies.terms.match]\nprefixes = [\"10.0.0.0/8 le 4\"]\n"),
            "ferry.toml:8: policies[0].terms[0].match.prefixes[0]: expected a prefix match "
            "\"PREFIX [ge N] [le M]\" with prefix length <= N <= M <= address bits, got "
            "\"10.0.0.0/8 le 4\"");
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 2\n"
                              "local-address = \"2001:db8::1\"\n")),
            "ferry.toml:8: bgp.neighbors[0].local-address: expected an IPv4 address (the family "
            "of address \"10.0.0.2\")");
}

TEST(ConfigErrors, HoldTimeOneOrTwo) {
  for (int h : {1, 2}) {
    EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 2\n"
                                "hold-time = " +
                                std::to_string(h) + "\n")),
              "ferry.toml:8: bgp.neighbors[0].hold-time: expected 0 or an integer 3..65535 "
              "(RFC 4271 §4.2), got " +
                  std::to_string(h));
  }
}

TEST(ConfigErrors, DuplicateNeighbors) {
  const std::string a = "name = \"a\"\naddress = \"10.0.0.2\"\nremote-asn = 2\n";  // lines 5-7
  EXPECT_EQ(error_of(neighbor(a + "[[bgp.neighbors]]\nname = \"a\"\naddress = \"10.0.0.3\"\n"
                                  "remote-asn = 3\n")),
            "ferry.toml:9: bgp.neighbors[1].name: duplicate neighbor name \"a\" (also "
            "bgp.neighbors[0])");
  EXPECT_EQ(error_of(neighbor(a + "[[bgp.neighbors]]\nname = \"b\"\naddress = \"10.0.0.2\"\n"
                                  "remote-asn = 3\n")),
            "ferry.toml:10: bgp.neighbors[1].address: duplicate neighbor address \"10.0.0.2\" "
            "(also bgp.neighbors[0])");
}

TEST(ConfigErrors, DuplicateTunnelPeers) {
  const std::string t = kRouter + "[tunnel]\nprivate-key-file = \"k\"\n";  // lines 4-5
  const std::string other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  EXPECT_EQ(error_of(t + "[[tunnel.peers]]\nname = \"b\"\npublic-key = \"" + kKey +
                     "\"\n[[tunnel.peers]]\nname = \"b\"\npublic-key = \"" + other + "\"\n"),
            "ferry.toml:10: tunnel.peers[1].name: duplicate peer name \"b\" (also "
            "tunnel.peers[0])");
  EXPECT_EQ(error_of(t + "[[tunnel.peers]]\nname = \"b\"\npublic-key = \"" + kKey +
                     "\"\n[[tunnel.peers]]\nname = \"c\"\npublic-key = \"" + kKey + "\"\n"),
            "ferry.toml:11: tunnel.peers[1].public-key: duplicate public key (also "
            "tunnel.peers[0])");
}

TEST(ConfigErrors, BadPublicKey) {
  EXPECT_EQ(error_of(kRouter + "[tunnel]\nprivate-key-file = \"k\"\n[[tunnel.peers]]\n"
                               "name = \"b\"\npublic-key = \"c2hvcnQ=\"\n"),
            "ferry.toml:8: tunnel.peers[0].public-key: expected a base64 WireGuard public key "
            "(32 bytes), got \"c2hvcnQ=\"");
}

TEST(ConfigErrors, UndefinedPolicyReferences) {
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 2\n"
                              "import = [\"accept-all\", \"prefer-c\"]\n")),
            "ferry.toml:8: bgp.neighbors[0].import[1]: expected the name of a [[policies]] entry, "
            "\"accept-all\" or \"reject-all\", got undefined policy \"prefer-c\"");
  EXPECT_EQ(error_of(kRouter + "[[policies]]\nname = \"p\"\n[[policies.terms]]\n"
                               "match = { neighbors = [\"ghost\"] }\n"),
            "ferry.toml:7: policies[0].terms[0].match.neighbors[0]: expected the name or "
            "address of a [[bgp.neighbors]] entry, got undefined neighbor \"ghost\"");
  EXPECT_EQ(error_of(kRouter + "[[policies]]\nname = \"accept-all\"\n"),
            "ferry.toml:5: policies[0].name: expected a name other than the built-in "
            "\"accept-all\"");
  EXPECT_EQ(error_of(kRouter + "[[policies]]\nname = \"p\"\n[[policies]]\nname = \"p\"\n"),
            "ferry.toml:7: policies[1].name: duplicate policy name \"p\"");
}

TEST(ConfigErrors, StaticRouteNextHopXorBlackhole) {
  EXPECT_EQ(error_of(kRouter + "[[static-routes]]\nprefix = \"10.9.0.0/16\"\n"
                               "next-hop = \"10.0.0.1\"\nblackhole = true\n"),
            "ferry.toml:7: static-routes[0].blackhole: expected either next-hop or "
            "blackhole = true, not both");
  EXPECT_EQ(error_of(kRouter + "[[static-routes]]\nprefix = \"10.9.0.0/16\"\n"),
            "ferry.toml:4: static-routes[0].next-hop: missing; expected a next-hop address or "
            "blackhole = true");
  EXPECT_EQ(error_of(kRouter + "[[static-routes]]\nprefix = \"10.9.0.0/16\"\n"
                               "next-hop = \"2001:db8::1\"\n"),
            "ferry.toml:6: static-routes[0].next-hop: expected an IPv4 address (the family of "
            "the prefix)");
}

TEST(ConfigErrors, EnumsAndCrossFieldChecks) {
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 2\n"
                              "max-prefix-action = \"drop\"\n")),
            "ferry.toml:8: bgp.neighbors[0].max-prefix-action: expected \"warn\" or \"restart\", "
            "got \"drop\"");
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 2\n"
                              "route-reflector-client = true\n")),
            "ferry.toml:8: bgp.neighbors[0].route-reflector-client: expected false for an eBGP "
            "neighbor (RFC 4456 clients are iBGP peers)");
  EXPECT_EQ(error_of(kRouter + "[bgp]\nredistribute = [\"ospf\"]\n"),
            "ferry.toml:5: bgp.redistribute[0]: expected \"connected\" or \"static\" or "
            "\"kernel\", got \"ospf\"");
  EXPECT_EQ(error_of(kRouter + "[bgp]\nredistribute = [{ source = \"static\", table = 5 }]\n"),
            "ferry.toml:5: bgp.redistribute[0].table: expected only with source = \"kernel\"");
  EXPECT_EQ(error_of(kRouter + "[tunnel]\nprivate-key-file = \"k\"\ntimer-scale = 0\n"),
            "ferry.toml:6: tunnel.timer-scale: expected a number in (0, 1]");
  EXPECT_EQ(error_of(kRouter + "[[policies]]\nname = \"p\"\ndefault-action = \"next\"\n"),
            "ferry.toml:6: policies[0].default-action: expected \"accept\" or \"reject\", got "
            "\"next\"");
}

TEST(ConfigErrors, NeighborPathPreferenceAndExportBudget) {
  // router AS 65001: remote-asn 65001 is iBGP.
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 65001\n"
                              "prepend = 2\n")),
            "ferry.toml:8: bgp.neighbors[0].prepend: expected 0 for an iBGP neighbor (AS_PATH is "
            "only prepended towards other ASes)");
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 2\n"
                              "prepend = 33\n")),
            "ferry.toml:8: bgp.neighbors[0].prepend: expected an integer 0..32, got 33");
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 2\n"
                              "aggregate-candidates = [\"10.0.0.0/8\"]\n")),
            "ferry.toml:8: bgp.neighbors[0].aggregate-candidates: expected max-prefixes-out to be "
            "set too (aggregates are used over the budget)");
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 2\n"
                              "max-prefixes-out = 0\n")),
            "ferry.toml:8: bgp.neighbors[0].max-prefixes-out: expected an integer 1..4294967295, "
            "got 0");
}

TEST(ConfigErrors, HealthChecks) {
  const std::string base = kRouter + "[bgp]\nnetworks = [\"10.1.0.0/16\"]\n";  // lines 4-5
  EXPECT_EQ(error_of(base + "[[health-checks]]\nname = \"h\"\ntarget = \"10.1.0.1\"\n"
                            "networks = [\"10.2.0.0/16\"]\n"),
            "ferry.toml:9: health-checks[0].networks[0]: expected an entry of [bgp] networks, got "
            "\"10.2.0.0/16\"");
  EXPECT_EQ(error_of(base + "[[health-checks]]\nname = \"h\"\ntarget = \"10.1.0.1\"\n"
                            "type = \"tcp\"\nnetworks = [\"10.1.0.0/16\"]\n"),
            "ferry.toml:6: health-checks[0].port: missing; expected the TCP port to connect to "
            "(type = \"tcp\")");
  EXPECT_EQ(error_of(base + "[[health-checks]]\nname = \"h\"\ntarget = \"10.1.0.1\"\n"
                            "neighbors = [\"nobody\"]\n"),
            "ferry.toml:9: health-checks[0].neighbors[0]: expected the name of a "
            "[[bgp.neighbors]] entry, got undefined neighbor \"nobody\"");
  EXPECT_EQ(error_of(base + "[[health-checks]]\nname = \"h\"\ntarget = \"10.1.0.1\"\n"
                            "interval-ms = 500\ntimeout-ms = 900\nnetworks = [\"10.1.0.0/16\"]\n"),
            "ferry.toml:10: health-checks[0].timeout-ms: expected at most interval-ms (500)");
  EXPECT_EQ(error_of(base + "[[health-checks]]\nname = \"h\"\ntarget = \"10.1.0.1\"\n"),
            "ferry.toml:6: health-checks[0].networks: expected networks or neighbors that depend "
            "on the check");
}

TEST(ConfigErrors, NeverThrowsOnOddDocuments) {
  for (const char* text : {"", "\x01", "[[router]]\n", "router = []\n", "a = 1979-05-27\n",
                           "[router]\nasn = 1e3\n", "[router]\nasn = 9223372036854775807\n"}) {
    auto r = parse(text, "f.toml");
    EXPECT_FALSE(r.ok()) << text;
  }
}

TEST(ConfigErrors, LivenessKeys) {
  EXPECT_EQ(error_of(kRouter + "[liveness]\nhold-down-ms = 5000\nhold-down-max-ms = 1000\n"),
            "ferry.toml:6: liveness.hold-down-max-ms: expected at least hold-down-ms (5000)");
  EXPECT_EQ(error_of(kRouter + "[liveness]\nhandshake-timeouts = 0\n"),
            "ferry.toml:5: liveness.handshake-timeouts: expected an integer 1..18, got 0");
  // Strict mode waits for BFD on a session across a tunnel peer.
  EXPECT_EQ(error_of(neighbor("name = \"b\"\naddress = \"10.0.0.2\"\nremote-asn = 2\n"
                              "bfd-strict = true\n")),
            "ferry.toml:8: bgp.neighbors[0].bfd-strict: expected false for a neighbor whose "
            "address is not in a tunnel peer's allowed-ips");
  const std::string tunnel =
      "[tunnel]\nprivate-key-file = \"k\"\n[[tunnel.peers]]\nname = "
      "\"b\"\npublic-key = \"" +
      kKey + "\"\nallowed-ips = [\"169.254.12.2/32\"]\n";  // lines 4-9
  EXPECT_EQ(error_of(kRouter + tunnel +
                     "[[bgp.neighbors]]\nname = \"b\"\naddress = \"169.254.12.2\"\n"
                     "remote-asn = 2\nbfd = false\nbfd-strict = true\n"),
            "ferry.toml:15: bgp.neighbors[0].bfd-strict: expected false when bfd = false "
            "(strict mode waits for BFD)");
  auto ok = parse(kRouter + tunnel +
                      "[[bgp.neighbors]]\nname = \"b\"\naddress = \"169.254.12.2\"\n"
                      "remote-asn = 2\nbfd-strict = true\n[liveness]\nhold-down-ms = 0\n",
                  "ferry.toml");
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_TRUE(ok->bgp->neighbors[0].bfd_strict);
  EXPECT_FALSE(ok->bgp->neighbors[0].bfd.has_value());  // unset: decided by the daemon
  EXPECT_EQ(ok->liveness.hold_down_ms, 0u);
  EXPECT_EQ(ok->liveness.hold_down_max_ms, 30000u);
}
