// ExportRules through its own interface: never back to the source, the eBGP
// rewrites of RFC 4271 §5.1, RFC 1997 NO_EXPORT, RFC 8212 without export
// policy, and iBGP split horizon (RFC 4271 §9.2).
#include "rib/export.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace ferry::rib {
namespace {

using test::attrs;
using test::ip;
using test::peer_cfg;
using test::pfx;
using test::session;

struct ExportFixture : ::testing::Test {
  RibOptions opts = test::options();
  AttrTable table;
  PolicyEngine policy;
  PeerTable peers;
  ExportRules rules{table, policy, opts, peers};
  Prefix p1 = pfx("203.0.113.0/24");

  PeerId up(const PeerConfig& c, uint32_t rid) {
    PeerId p = peers.add(c, opts.local_asn);
    peers.session_up(p, session(rid));
    return p;
  }
  Path path(PeerId from, const bgp::PathAttributes& a) {
    Path x;
    x.pre = x.post = table.intern(a);
    x.peer = to_int(from);
    return x;
  }
};

TEST_F(ExportFixture, NeverBackToTheSourcePeer) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  EXPECT_FALSE(rules.apply(to_int(a), p1, path(a, attrs({65001}, "192.0.2.2")), nullptr, true));
}

TEST_F(ExportFixture, EbgpPrependsOurAsSetsNextHopSelfAndDropsLocalPref) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3);
  auto in = attrs({65001}, "192.0.2.2");
  in.local_pref = 200;
  AttrRef out = rules.apply(to_int(b), p1, path(a, in), nullptr, true);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->as_path[0].asns, (std::vector<uint32_t>{65000, 65001}));
  EXPECT_EQ(out->next_hop, ip("192.0.2.1"));
  EXPECT_FALSE(out->local_pref);
}

TEST_F(ExportFixture, NoExportStaysInsideTheAs) {
  PeerId a = up(peer_cfg("a", "10.0.0.2", 65000), 2);  // iBGP
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3);
  PeerId c = up(peer_cfg("c", "10.0.0.3", 65000), 4);  // iBGP
  auto in = attrs({65009}, "10.0.0.9");
  in.communities = {bgp::kNoExport};
  EXPECT_FALSE(rules.apply(to_int(b), p1, path(a, in), nullptr, true));
  // iBGP to iBGP without reflection: split horizon (RFC 4271 §9.2).
  EXPECT_FALSE(rules.apply(to_int(c), p1, path(a, in), nullptr, true));
  PeerId e = up(peer_cfg("e", "192.0.2.2", 65001), 5);
  AttrRef out = rules.apply(to_int(c), p1, path(e, in), nullptr, true);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->local_pref, 100u);  // RFC 4271 §5.1.5: always sent to internal peers
}

TEST_F(ExportFixture, EbgpWithoutExportPolicySendsNothing) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002, {"accept-all"}, {}), 3);
  EXPECT_FALSE(rules.apply(to_int(b), p1, path(a, attrs({65001}, "192.0.2.2")), nullptr, true));
}

TEST_F(ExportFixture, ResultsAreCachedPerSourceAttributes) {
  PeerId a = up(peer_cfg("a", "192.0.2.2", 65001), 2);
  PeerId b = up(peer_cfg("b", "198.51.100.2", 65002), 3);
  ExportCache cache;
  Path x = path(a, attrs({65001}, "192.0.2.2"));
  AttrRef first = rules.apply(to_int(b), p1, x, &cache, false);
  EXPECT_EQ(cache.size(), 1u);
  AttrRef second = rules.apply(to_int(b), pfx("198.51.100.0/24"), x, &cache, false);
  EXPECT_EQ(first, second);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(rules.prefix_dependent(to_int(b)));
}

}  // namespace
}  // namespace ferry::rib
