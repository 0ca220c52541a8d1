// Rib::walk_peer / peer_route: the monitoring (BMP) view of one peer's tables,
// walked in steps without copying the table.
#include <gtest/gtest.h>

#include <set>

#include "test_util.hpp"

namespace ferry::rib {
namespace {

using test::attrs;
using test::pfx;

Prefix nth(uint32_t i) {
  return Prefix(IpAddress::v4(0x0a000000u + (i << 8)), 24);
}

class PeerWalkTest : public ::testing::Test {
 protected:
  PeerWalkTest() : rib_(test::options()) {
    config::PolicyConfig p;
    p.name = "no-10-9";  // rejects 10.9.0.0/16 on import, accepts the rest
    config::PolicyTerm t;
    t.match.prefixes.push_back(config::PrefixMatch{pfx("10.9.0.0/16"), -1, -1});
    t.action = config::PolicyAction::Reject;
    p.terms.push_back(t);
    p.default_action = config::PolicyAction::Accept;
    rib_.set_policies({p});
    a_ = rib_.add_peer(test::peer_cfg("a", "192.0.2.2", 65001, {"no-10-9"}));
    b_ = rib_.add_peer(test::peer_cfg("b", "192.0.2.3", 65002));
    rib_.peer_up(a_, test::session(1));
    rib_.peer_up(b_, test::session(2));
  }
  std::multiset<Prefix> walk(PeerId p, PeerView v, size_t budget,
                             const std::function<void()>& between = {}) {
    std::multiset<Prefix> seen;
    PeerWalk w;
    w.view = v;
    for (int guard = 0; guard < 100000 && !w.done; ++guard) {
      rib_.walk_peer(p, w, budget, [&](const Prefix& x, const AttrRef& a) {
        EXPECT_TRUE(a);
        seen.insert(x);
      });
      if (between) between();
    }
    EXPECT_TRUE(w.done);
    return seen;
  }
  Rib rib_;
  PeerId a_{}, b_{};
};

TEST_F(PeerWalkTest, PreAndPostPolicyViewsOfOnePeer) {
  const Prefix in[] = {pfx("10.1.0.0/16"), pfx("10.9.0.0/16")};
  rib_.announce(a_, attrs({65001}, "192.0.2.2"), in);
  const Prefix other[] = {pfx("10.2.0.0/16")};
  rib_.announce(b_, attrs({65002}, "192.0.2.3"), other);
  EXPECT_EQ(walk(a_, PeerView::AdjInPre, 1), (std::multiset<Prefix>{in[0], in[1]}));
  EXPECT_EQ(walk(a_, PeerView::AdjInPost, 3), (std::multiset<Prefix>{in[0]}));  // 10.9 rejected
  EXPECT_EQ(walk(b_, PeerView::AdjInPre, 1000), (std::multiset<Prefix>{other[0]}));
  EXPECT_TRUE(rib_.peer_route(a_, PeerView::AdjInPre, in[1]));
  EXPECT_FALSE(rib_.peer_route(a_, PeerView::AdjInPost, in[1]));
  EXPECT_EQ(rib_.peer_route(a_, PeerView::AdjInPre, in[0])->as_path[0].asns,
            std::vector<uint32_t>{65001});
}

TEST_F(PeerWalkTest, AdjRibOutIsWhatWasSent) {
  const Prefix in[] = {pfx("10.1.0.0/16")};
  rib_.announce(a_, attrs({65001}, "192.0.2.2"), in);
  EXPECT_TRUE(walk(b_, PeerView::AdjOut, 100).empty());  // queued, not sent yet
  test::pull_all(rib_, b_);
  EXPECT_EQ(walk(b_, PeerView::AdjOut, 100), (std::multiset<Prefix>{in[0]}));
  // eBGP export: our AS in front of the path.
  EXPECT_EQ(rib_.peer_route(b_, PeerView::AdjOut, in[0])->as_path[0].asns,
            (std::vector<uint32_t>{65000, 65001}));
}

TEST_F(PeerWalkTest, TableRebuiltMidWalkMissesNothing) {
  std::vector<Prefix> first;
  for (uint32_t i = 0; i < 100; ++i) first.push_back(nth(i));
  rib_.announce(a_, attrs({65001}, "192.0.2.2"), first);
  // Between steps the table grows (and is rebuilt) several times over.
  uint32_t next = 100;
  auto grow = [&] {
    if (next >= 5000) return;
    std::vector<Prefix> more;
    for (uint32_t i = 0; i < 500; ++i) more.push_back(nth(next++));
    rib_.announce(a_, attrs({65001}, "192.0.2.2"), more);
  };
  auto seen = walk(a_, PeerView::AdjInPre, 16, grow);
  for (const Prefix& p : first) EXPECT_GE(seen.count(p), 1u) << p.str();
}

}  // namespace
}  // namespace ferry::rib
