// LocRib through its own interface: Adj-RIB-In counters, the decision on
// each change, the ChangeSink report of best-path changes, batched listener
// delivery per call, and the shared prefix snapshots for table walks.
#include "rib/loc_rib.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace ferry::rib {
namespace {

using test::attrs;
using test::peer_cfg;
using test::pfx;
using test::session;

struct SinkRecorder : ChangeSink {
  std::vector<std::pair<Prefix, int64_t>> changes;
  void best_changed(const Prefix& p, PathList&, int64_t best_peer) override {
    changes.emplace_back(p, best_peer);
  }
};

struct Listener : BestPathListener {
  std::vector<size_t> batch_sizes;
  void on_best_changes(std::span<const BestChange> c) override { batch_sizes.push_back(c.size()); }
};

struct LocRibFixture : ::testing::Test {
  RibOptions opts = test::options();
  AttrTable table;
  PeerTable peers;
  LocRib loc{opts, peers, {}};
  SinkRecorder sink;
  PeerId a, b;
  Prefix p1 = pfx("203.0.113.0/24");
  Prefix p2 = pfx("198.51.100.0/24");

  LocRibFixture() {
    loc.set_change_sink(&sink);
    a = peers.add(peer_cfg("a", "192.0.2.2", 65001), opts.local_asn);
    b = peers.add(peer_cfg("b", "192.0.2.3", 65002), opts.local_asn);
    peers.session_up(a, session(2));
    peers.session_up(b, session(3));
  }
  void set(PeerId p, const Prefix& x, const bgp::PathAttributes& v) {
    AttrRef r = table.intern(v);
    loc.begin_call();
    loc.set_path(x, to_int(p), r, r);
    loc.end_call();
  }
};

TEST_F(LocRibFixture, PathsAreCountedAndTheBestIsReported) {
  set(a, p1, attrs({65001, 1, 2}, "192.0.2.2"));
  set(b, p1, attrs({65002}, "192.0.2.3"));  // shorter AS_PATH: new best
  EXPECT_EQ(loc.prefix_count(), 1u);
  EXPECT_EQ(loc.path_count(), 2u);
  EXPECT_EQ(peers.find(a)->counters.received, 1u);
  EXPECT_EQ(peers.find(b)->counters.accepted, 1u);
  ASSERT_EQ(sink.changes.size(), 2u);
  EXPECT_EQ(sink.changes[0].second, int64_t{to_int(a)});
  EXPECT_EQ(sink.changes[1].second, int64_t{to_int(b)});
  std::vector<NextHop> nh = loc.active_next_hops(*loc.find(p1));
  ASSERT_EQ(nh.size(), 1u);
  EXPECT_EQ(nh[0].peer, b);

  loc.begin_call();
  loc.remove_path(p1, to_int(b));
  loc.remove_path(p1, to_int(a));
  loc.end_call();
  EXPECT_EQ(sink.changes.back().second, -1);  // no best path left
  EXPECT_EQ(loc.prefix_count(), 0u);
  EXPECT_EQ(loc.find(p1), nullptr);  // no paths and no Adj-RIB-Out bits: erased
}

TEST_F(LocRibFixture, AWorsePathDoesNotChangeTheBest) {
  set(b, p1, attrs({65002}, "192.0.2.3"));
  sink.changes.clear();
  set(a, p1, attrs({65001, 1, 2}, "192.0.2.2"));
  EXPECT_TRUE(sink.changes.empty());
}

TEST_F(LocRibFixture, ListenersGetOneBatchPerOutermostCall) {
  Listener l;
  loc.add_listener(&l);
  AttrRef r = table.intern(attrs({65001}, "192.0.2.2"));
  loc.begin_call();
  loc.begin_call();
  loc.set_path(p1, to_int(a), r, r);
  EXPECT_FALSE(loc.end_call());  // inner call: nothing delivered yet
  loc.set_path(p2, to_int(a), r, r);
  EXPECT_TRUE(l.batch_sizes.empty());
  EXPECT_TRUE(loc.end_call());
  EXPECT_EQ(l.batch_sizes, (std::vector<size_t>{2}));
  loc.remove_listener(&l);
}

TEST_F(LocRibFixture, PrefixSnapshotsAreSharedUntilThePrefixSetChanges) {
  set(a, p1, attrs({65001}, "192.0.2.2"));
  auto s1 = loc.prefix_snapshot(Family::V4);
  auto s2 = loc.prefix_snapshot(Family::V4);
  EXPECT_EQ(s1, s2);
  EXPECT_EQ(*s1, (std::vector<Prefix>{p1}));
  set(b, p1, attrs({65002}, "192.0.2.3"));  // same prefixes: still shared
  EXPECT_EQ(loc.prefix_snapshot(Family::V4), s1);
  set(a, p2, attrs({65001}, "192.0.2.2"));
  auto s3 = loc.prefix_snapshot(Family::V4);
  EXPECT_NE(s3, s1);
  EXPECT_EQ(s3->size(), 2u);
  EXPECT_TRUE(loc.prefix_snapshot(Family::V6)->empty());
}

}  // namespace
}  // namespace ferry::rib
