// The [ipsec] section: presets and explicit overrides, the authentication
// and lifetime rules, errors naming file:line and key, and the printer's
// round trip.
#include <gtest/gtest.h>

#include "config/config.hpp"

using namespace ferry::config;

namespace {

const std::string kRouter = "[router]\nasn = 65001\nrouter-id = \"10.255.0.1\"\n";  // lines 1-3

std::string error_of(const std::string& text) {
  auto r = parse(text, "ferry.toml");
  return r.ok() ? "(parsed fine)" : r.error();
}

// [ipsec] on line 4, one peer whose header is line 5 and whose keys start on line 6.
std::string peer(const std::string& keys) {
  return kRouter + "[ipsec]\n[[ipsec.peers]]\n" + keys +
         "local-id = \"gw.example.net\"\nremote-id = \"peer.example.net\"\n";
}

TEST(ConfigIpsec, PresetFillsProposalsLifetimesAndDpdAndExplicitKeysOverride) {
  auto r = parse(peer("name = \"aws-1\"\npreset = \"aws\"\nendpoint = \"203.0.113.1:500\"\n"
                      "psk-file = \"/etc/ferry/aws-1.psk\"\nchild-lifetime = 1800\n"
                      "allowed-ips = [\"10.20.0.0/16\"]\n"),
                 "ferry.toml");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_TRUE(r->ipsec);
  EXPECT_EQ(r->ipsec->interface, "ferry-ipsec0");
  EXPECT_EQ(r->ipsec->mtu, 1400u);
  const auto& p = r->ipsec->peers.at(0);
  EXPECT_EQ(p.ike_lifetime, 28800u);
  EXPECT_EQ(p.child_lifetime, 1800u);  // explicit beats the preset's 3600
  EXPECT_EQ(p.rekey_margin, 540u);
  EXPECT_EQ(p.dpd_timeout, 30u);
  EXPECT_EQ(p.ike_proposals.front(), "aes256gcm16-prfsha384-ecp384");
  EXPECT_EQ(p.replay_window, 1024u);
  EXPECT_TRUE(p.initiate);

  auto az = parse(peer("name = \"az\"\npreset = \"azure\"\nendpoint = \"203.0.113.2:500\"\n"
                       "psk-file = \"/k\"\n"),
                  "ferry.toml");
  ASSERT_TRUE(az.ok()) << az.error();
  EXPECT_EQ(az->ipsec->peers[0].child_lifetime, 27000u);
  EXPECT_EQ(az->ipsec->peers[0].dpd_timeout, 45u);
  auto gcp = parse(peer("name = \"g\"\npreset = \"gcp\"\nendpoint = \"203.0.113.3:500\"\n"
                        "psk-file = \"/k\"\n"),
                   "ferry.toml");
  ASSERT_TRUE(gcp.ok()) << gcp.error();
  EXPECT_EQ(gcp->ipsec->peers[0].ike_lifetime, 36000u);
  EXPECT_EQ(gcp->ipsec->peers[0].child_lifetime, 10800u);
}

TEST(ConfigIpsec, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(error_of(peer("name = \"x\"\npreset = \"oracle\"\n")),
            "ferry.toml:7: ipsec.peers[0].preset: expected \"aws\", \"azure\" or \"gcp\", got "
            "\"oracle\"");
  EXPECT_EQ(error_of(peer("name = \"x\"\nendpoint = \"203.0.113.1:500\"\n")),
            "ferry.toml:5: ipsec.peers[0].psk-file: missing; expected psk-file or cert-file, "
            "key-file and ca-file");
  EXPECT_EQ(error_of(peer("name = \"x\"\nendpoint = \"203.0.113.1:500\"\npsk-file = \"/k\"\n"
                          "cert-file = \"/c\"\n")),
            "ferry.toml:8: ipsec.peers[0].psk-file: expected either psk-file or "
            "cert-file/key-file/ca-file, not both");
  EXPECT_EQ(error_of(peer("name = \"x\"\nendpoint = \"203.0.113.1:500\"\ncert-file = \"/c\"\n"
                          "key-file = \"/k\"\n")),
            "ferry.toml:5: ipsec.peers[0].ca-file: missing; certificate authentication needs "
            "cert-file, key-file and ca-file");
  EXPECT_EQ(error_of(peer("name = \"x\"\npsk-file = \"/k\"\n")),
            "ferry.toml:5: ipsec.peers[0].endpoint: missing; expected the peer's address to "
            "initiate (or initiate = false)");
  EXPECT_EQ(error_of(peer("name = \"x\"\npsk-file = \"/k\"\ninitiate = false\n"
                          "esp-proposals = [\"aes256gcm16\", \"aes256-md5\"]\n")),
            "ferry.toml:9: ipsec.peers[0].esp-proposals[1]: unknown algorithm \"md5\" in "
            "proposal \"aes256-md5\"");
  EXPECT_EQ(error_of(peer("name = \"x\"\npsk-file = \"/k\"\ninitiate = false\n"
                          "ike-proposals = [\"aes256gcm16-prfsha256\"]\n")),
            "ferry.toml:9: ipsec.peers[0].ike-proposals[0]: expected a DH group in IKE proposal "
            "\"aes256gcm16-prfsha256\"");
  EXPECT_EQ(error_of(peer("name = \"x\"\npsk-file = \"/k\"\ninitiate = false\n"
                          "child-lifetime = 600\nrekey-margin = 600\n")),
            "ferry.toml:10: ipsec.peers[0].rekey-margin: expected rekey-margin below "
            "child-lifetime and ike-lifetime");
  EXPECT_EQ(error_of(peer("name = \"x\"\npsk-file = \"/k\"\ninitiate = false\n"
                          "replay-window = 64\n")),
            "ferry.toml:9: ipsec.peers[0].replay-window: expected an integer 1024..8128, got 64");
  EXPECT_EQ(error_of(peer("name = \"x\"\npsk-file = \"/k\"\ninitiate = false\n"
                          "dpd-interval = 20\ndpd-timeout = 10\n")),
            "ferry.toml:10: ipsec.peers[0].dpd-timeout: expected at least dpd-interval");
}

TEST(ConfigIpsec, IdentitiesAreRequiredUnlessTheEndpointGivesThePeers) {
  const std::string base = kRouter + "[ipsec]\n[[ipsec.peers]]\nname = \"x\"\npsk-file = \"/k\"\n";
  EXPECT_EQ(error_of(base + "endpoint = \"203.0.113.1:500\"\n"),
            "ferry.toml:5: ipsec.peers[0].local-id: missing; expected our IKE identity (an IP "
            "address or FQDN)");
  EXPECT_EQ(error_of(base + "local-id = \"me\"\ninitiate = false\n"),
            "ferry.toml:5: ipsec.peers[0].remote-id: missing; expected the peer's IKE identity "
            "(default: its endpoint address)");
}

TEST(ConfigIpsec, NamesAndInterfacesMayNotCollideWithTheWireGuardTunnel) {
  const std::string wg =
      "[tunnel]\nprivate-key-file = \"/k\"\n[[tunnel.peers]]\nname = \"b\"\n"
      "public-key = \"wUnVId6j4Cl3aT2+ZxIO50E+UkMTCfOgdfRS3fIkBTw=\"\n";
  EXPECT_EQ(error_of(kRouter + wg +
                     "[ipsec]\n[[ipsec.peers]]\nname = \"b\"\npsk-file = \"/k\"\n"
                     "initiate = false\nlocal-id = \"a\"\nremote-id = \"b\"\n"),
            "ferry.toml:9: ipsec.peers: duplicate peer name \"b\" (also a [[tunnel.peers]] name)");
  EXPECT_EQ(error_of(kRouter + wg + "[ipsec]\ninterface = \"ferry0\"\n"),
            "ferry.toml:9: ipsec.interface: expected an interface other than the [tunnel]'s "
            "\"ferry0\"");
}

TEST(ConfigIpsec, PrintsAFormThatParsesBackToTheSameConfig) {
  auto r = parse(kRouter +
                     "[ipsec]\ninterface = \"ipsec7\"\naddresses = [\"169.254.20.1/30\"]\n"
                     "[[ipsec.peers]]\nname = \"a\"\npreset = \"gcp\"\n"
                     "endpoint = \"[2001:db8::1]:500\"\nlocal-id = \"gw.example.net\"\n"
                     "cert-file = \"/c\"\nkey-file = \"/k\"\nca-file = \"/ca\"\n"
                     "esp-proposals = [\"aes128-sha256-esn\"]\nallowed-ips = [\"10.9.0.0/16\"]\n"
                     "[[ipsec.peers]]\nname = \"b\"\npsk-file = \"/p\"\ninitiate = false\n"
                     "dpd-interval = 0\nlocal-id = \"10.0.0.1\"\nremote-id = \"peer.example\"\n",
                 "ferry.toml");
  ASSERT_TRUE(r.ok()) << r.error();
  const std::string text = print(*r);
  EXPECT_NE(text.find("[[ipsec.peers]]\nname = \"a\"\npreset = \"gcp\"\n"), std::string::npos);
  auto again = parse(text, "printed.toml");
  ASSERT_TRUE(again.ok()) << again.error() << "\n" << text;
  EXPECT_EQ(again->ipsec, r->ipsec);
  EXPECT_EQ(print(*again), text);
}

}  // namespace
