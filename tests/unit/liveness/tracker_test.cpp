#include "liveness/tracker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace ferry::liveness;
using ferry::tunnel::PeerIndex;
using namespace std::chrono_literals;

namespace {

const InputId kBfd4{InputKind::Bfd, "169.254.12.2"};
const InputId kBfd6{InputKind::Bfd, "fd99:12::2"};
const InputId kWg{InputKind::WireGuard, "handshake"};
const InputId kIke{InputKind::Ipsec, "dpd"};
const PeerIndex kP{0};
const PeerIndex kQ{1};

Options opts() {
  Options o;
  o.hold_down = 1000ms;
  o.hold_down_max = 8000ms;
  o.reset_after = 60000ms;
  return o;
}

// A tracker on a fake clock that records every state change.
struct Fixture {
  Tracker t{opts()};
  TimePoint now = TimePoint{} + 1000s;
  struct Change {
    PeerIndex peer;
    State from, to;
    std::string reason;
  };
  std::vector<Change> changes;
  Fixture() {
    t.set_listener([this](PeerIndex p, State from, const PeerStatus& s) {
      changes.push_back({p, from, s.state, s.reason});
    });
    t.add_peer(kP, "site2", now);
    t.add_peer(kQ, "site3", now);
  }
  void report(const InputId& in, Verdict v, PeerIndex p = kP) { t.report(p, in, v, "test", now); }
  void advance(Duration d) {
    now += d;
    t.tick(now);
  }
  // Runs time to the end of the current hold-down.
  void finish_hold_down() {
    auto d = t.next_deadline();
    ASSERT_TRUE(d);
    now = *d;
    t.tick(now);
  }
  State state(PeerIndex p = kP) const {
    const PeerStatus* s = t.status(p);
    return s ? s->state : State::Unknown;
  }
};

TEST(LivenessTracker, StartsUnknownAndUsable) {
  Fixture f;
  EXPECT_EQ(f.state(), State::Unknown);
  EXPECT_TRUE(f.t.usable(kP));
  EXPECT_FALSE(f.t.usable(kP, &kBfd4));  // strict: BFD has not come up
  EXPECT_TRUE(f.t.unusable_peers().empty());
  EXPECT_FALSE(f.t.next_deadline());
}

TEST(LivenessTracker, AnyInputUpMakesThePeerUp) {
  Fixture f;
  f.report(kWg, Verdict::Up);
  EXPECT_EQ(f.state(), State::Up);
  ASSERT_EQ(f.changes.size(), 1u);
  EXPECT_EQ(f.changes[0].from, State::Unknown);
  EXPECT_NE(f.changes[0].reason.find("wireguard handshake up"), std::string::npos);
  EXPECT_EQ(f.state(kQ), State::Unknown);  // other peers are not affected
}

TEST(LivenessTracker, OneDownInputTakesThePeerDownWhateverTheOthersSay) {
  Fixture f;
  f.report(kBfd4, Verdict::Up);
  f.report(kBfd6, Verdict::Up);
  f.report(kWg, Verdict::Up);
  f.report(kBfd4, Verdict::Down);
  EXPECT_EQ(f.state(), State::Down);
  EXPECT_FALSE(f.t.usable(kP));
  EXPECT_EQ(f.t.unusable_peers(), std::vector<PeerIndex>{kP});
  EXPECT_NE(f.t.status(kP)->reason.find("bfd 169.254.12.2 down"), std::string::npos);
  // More evidence of the same death changes nothing.
  const size_t n = f.changes.size();
  f.report(kBfd6, Verdict::Down);
  EXPECT_EQ(f.changes.size(), n);
  EXPECT_EQ(f.t.status(kP)->failures, 1u);
}

// Every order of the inputs' failures and recoveries: the peer is Down exactly
// while some input is Down, then holds down, then is Up.
TEST(LivenessTracker, EveryOrderOfInputsGivesTheSameOutcome) {
  std::vector<InputId> ins{kBfd4, kBfd6, kWg, kIke};
  std::sort(ins.begin(), ins.end());
  const std::vector<InputId> sorted = ins;
  int orders = 0;
  do {
    std::vector<InputId> rec = sorted;
    do {
      Fixture f;
      for (const auto& i : ins) f.report(i, Verdict::Up);
      ASSERT_EQ(f.state(), State::Up);
      for (size_t k = 0; k < ins.size(); ++k) {
        f.report(ins[k], Verdict::Down);
        ASSERT_EQ(f.state(), State::Down);
      }
      for (size_t k = 0; k < rec.size(); ++k) {
        f.report(rec[k], Verdict::Up);
        ASSERT_EQ(f.state(), k + 1 == rec.size() ? State::HoldDown : State::Down);
      }
      ASSERT_FALSE(f.t.usable(kP));
      f.finish_hold_down();
      ASSERT_EQ(f.state(), State::Up);
      ASSERT_EQ(f.t.status(kP)->failures, 1u);
      ++orders;
    } while (std::next_permutation(rec.begin(), rec.end()));
  } while (std::next_permutation(ins.begin(), ins.end()));
  EXPECT_EQ(orders, 24 * 24);
}

TEST(LivenessTracker, DownBeforeAnyUpAndUnknownAfterHoldDownWithoutEvidence) {
  Fixture f;
  f.report(kWg, Verdict::Down);  // handshakes unanswered from the start
  EXPECT_EQ(f.state(), State::Down);
  f.report(kWg, Verdict::Unknown);  // the tunnel gave up trying: no evidence either way
  EXPECT_EQ(f.state(), State::HoldDown);
  f.finish_hold_down();
  EXPECT_EQ(f.state(), State::Unknown);
  EXPECT_TRUE(f.t.usable(kP));  // BGP may try again: its traffic makes a handshake
}

TEST(LivenessTracker, HoldDownDoublesOnRepeatedFailuresUpToTheMaximum) {
  Fixture f;
  std::vector<int64_t> holds;
  for (int i = 0; i < 6; ++i) {
    f.report(kBfd4, Verdict::Up);
    f.report(kBfd4, Verdict::Down);
    holds.push_back(f.t.status(kP)->hold_down.count());
    f.report(kBfd4, Verdict::Up);
    ASSERT_EQ(f.state(), State::HoldDown);
    // One millisecond early: still holding down.
    f.advance(f.t.status(kP)->hold_down - 1ms);
    ASSERT_EQ(f.state(), State::HoldDown);
    f.advance(1ms);
    ASSERT_EQ(f.state(), State::Up);
    f.advance(5s);  // Up, but for less than reset_after
  }
  EXPECT_EQ(holds, (std::vector<int64_t>{1000, 2000, 4000, 8000, 8000, 8000}));
}

TEST(LivenessTracker, FailureDuringHoldDownRestartsItLonger) {
  Fixture f;
  f.report(kBfd4, Verdict::Up);
  f.report(kBfd4, Verdict::Down);
  f.report(kBfd4, Verdict::Up);
  ASSERT_EQ(f.state(), State::HoldDown);
  f.advance(500ms);
  f.report(kBfd4, Verdict::Down);  // flapping inside the hold-down
  EXPECT_EQ(f.state(), State::Down);
  EXPECT_EQ(f.t.status(kP)->hold_down, 2000ms);
  EXPECT_FALSE(f.t.next_deadline());  // Down has no deadline: it waits for the inputs
  f.report(kBfd4, Verdict::Up);
  f.advance(1999ms);
  EXPECT_EQ(f.state(), State::HoldDown);
  f.advance(1ms);
  EXPECT_EQ(f.state(), State::Up);
}

TEST(LivenessTracker, BackOffResetsAfterBeingStableForResetAfter) {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    f.report(kBfd4, Verdict::Up);
    f.report(kBfd4, Verdict::Down);
    f.report(kBfd4, Verdict::Up);
    f.finish_hold_down();
  }
  EXPECT_EQ(f.t.status(kP)->hold_down, 4000ms);
  f.advance(60s);  // stable for reset_after
  f.report(kBfd4, Verdict::Down);
  EXPECT_EQ(f.t.status(kP)->hold_down, 1000ms);
  EXPECT_EQ(f.t.status(kP)->failures, 4u);
}

TEST(LivenessTracker, StrictModeWaitsForBfdUpAndTheEndOfTheHoldDown) {
  Fixture f;
  f.report(kWg, Verdict::Up);  // the tunnel is fine, but BFD is not up yet
  EXPECT_TRUE(f.t.usable(kP));
  EXPECT_FALSE(f.t.usable(kP, &kBfd4));
  f.report(kBfd4, Verdict::Up);
  EXPECT_TRUE(f.t.usable(kP, &kBfd4));
  EXPECT_FALSE(f.t.usable(kP, &kBfd6));  // strict is about the neighbour's own session
  f.report(kBfd4, Verdict::Down);
  EXPECT_FALSE(f.t.usable(kP, &kBfd4));
  f.report(kBfd4, Verdict::Up);  // BFD is back, but not yet stable
  EXPECT_EQ(f.state(), State::HoldDown);
  EXPECT_FALSE(f.t.usable(kP, &kBfd4));
  EXPECT_FALSE(f.t.usable(kP));
  f.finish_hold_down();
  EXPECT_TRUE(f.t.usable(kP, &kBfd4));
  EXPECT_TRUE(f.t.usable(kP));
}

TEST(LivenessTracker, ForgettingTheOnlyDownInputRecovers) {
  Fixture f;
  f.report(kBfd4, Verdict::Up);
  f.report(kBfd6, Verdict::Down);
  ASSERT_EQ(f.state(), State::Down);
  f.t.forget(kP, kBfd6, f.now);  // that BFD session was deconfigured
  EXPECT_EQ(f.state(), State::HoldDown);
  EXPECT_EQ(f.t.status(kP)->inputs.count(kBfd6), 0u);
  f.finish_hold_down();
  EXPECT_EQ(f.state(), State::Up);
}

TEST(LivenessTracker, ZeroHoldDownRecoversAtOnce) {
  Fixture f;
  Options o = opts();
  o.hold_down = 0ms;
  f.t.set_options(o);
  f.report(kBfd4, Verdict::Up);
  f.report(kBfd4, Verdict::Down);
  f.report(kBfd4, Verdict::Up);
  EXPECT_EQ(f.state(), State::Up);
}

TEST(LivenessTracker, UnknownAndRemovedPeersAreIgnored) {
  Fixture f;
  f.t.report(PeerIndex{7}, kBfd4, Verdict::Down, "x", f.now);
  EXPECT_EQ(f.state(PeerIndex{7}), State::Unknown);
  EXPECT_TRUE(f.t.usable(PeerIndex{7}));
  f.report(kBfd4, Verdict::Down);
  f.t.remove_peer(kP);
  EXPECT_TRUE(f.t.usable(kP));
  EXPECT_EQ(f.t.peer_ids(), std::vector<PeerIndex>{kQ});
  EXPECT_TRUE(f.t.unusable_peers().empty());
}

TEST(LivenessTracker, ReasonSaysWhichInputAndSince) {
  Fixture f;
  f.report(kBfd4, Verdict::Up);
  f.now += 3s;
  f.t.report(kP, kBfd4, Verdict::Down, "control detection time expired", f.now);
  const PeerStatus* s = f.t.status(kP);
  EXPECT_EQ(s->since, f.now);
  EXPECT_EQ(s->reason, "bfd 169.254.12.2 down: control detection time expired");
  EXPECT_EQ(s->inputs.at(kBfd4).reason, "control detection time expired");
  f.report(kBfd4, Verdict::Up);
  EXPECT_EQ(f.t.status(kP)->reason, "bfd 169.254.12.2 up: test; holding down 1000 ms");
  f.finish_hold_down();
  EXPECT_EQ(f.t.status(kP)->reason, "hold-down of 1000 ms over");
}

}  // namespace
