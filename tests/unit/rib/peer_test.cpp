// PeerTable: the local pseudo-peers, neighbour ids, iBGP-ness from the remote
// AS, session state and negotiated families.
#include "rib/peer.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace ferry::rib {
namespace {

using test::peer_cfg;
using test::session;

TEST(PeerTable, LocalSourcesArePseudoPeersBeforeTheNeighbours) {
  PeerTable t;
  for (RouteSource s :
       {RouteSource::Network, RouteSource::Static, RouteSource::Connected, RouteSource::Kernel}) {
    const PeerState* ps = t.find(local_peer(s));
    ASSERT_NE(ps, nullptr);
    EXPECT_TRUE(ps->local);
    EXPECT_EQ(ps->source, s);
    EXPECT_EQ(ps->cfg.name, route_source_name(s));
  }
  EXPECT_EQ(t.find(local_peer(RouteSource::Bgp)), nullptr);  // id 0 is no peer
  PeerId first = t.add(peer_cfg("a", "192.0.2.2", 65001), Asn(65000));
  EXPECT_EQ(to_int(first), kFirstBgpPeer);
}

TEST(PeerTable, IbgpFollowsTheRemoteAsAcrossReconfiguration) {
  PeerTable t;
  PeerId p = t.add(peer_cfg("a", "192.0.2.2", 65001), Asn(65000));
  EXPECT_FALSE(t.find(p)->ibgp);
  t.reconfigure(p, peer_cfg("a", "192.0.2.2", 65000), Asn(65000));
  EXPECT_TRUE(t.find(p)->ibgp);
  // A local source cannot be reconfigured.
  t.reconfigure(local_peer(RouteSource::Static), peer_cfg("x", "192.0.2.9", 65000), Asn(65000));
  EXPECT_EQ(t.find(local_peer(RouteSource::Static))->cfg.name, "static");
}

TEST(PeerTable, SessionUpRecordsTheNegotiatedFamilies) {
  PeerTable t;
  PeerId p = t.add(peer_cfg("a", "192.0.2.2", 65001), Asn(65000));
  PeerSession s = session(2);
  s.families = {Family::V6};
  t.session_up(p, s);
  const PeerState& ps = *t.find(p);
  EXPECT_TRUE(ps.up);
  EXPECT_FALSE(ps.has_family(Family::V4));
  EXPECT_TRUE(ps.has_family(Family::V6));
  EXPECT_EQ(ps.sess.router_id, RouterId(2));
  t.session_down(p);
  EXPECT_FALSE(t.find(p)->up);
}

TEST(PeerTable, RemovedIdsAreNotReused) {
  PeerTable t;
  PeerId a = t.add(peer_cfg("a", "192.0.2.2", 65001), Asn(65000));
  t.remove(a);
  EXPECT_EQ(t.find(a), nullptr);
  PeerId b = t.add(peer_cfg("b", "192.0.2.3", 65002), Asn(65000));
  EXPECT_NE(a, b);
  EXPECT_EQ(t.size(), to_int(b) + 1);
  t.remove(local_peer(RouteSource::Kernel));  // local sources stay
  EXPECT_NE(t.find(local_peer(RouteSource::Kernel)), nullptr);
}

}  // namespace
}  // namespace ferry::rib
