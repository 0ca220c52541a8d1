#include "liveness/wireguard.hpp"

#include <gtest/gtest.h>

using namespace ferry::liveness;
using namespace std::chrono_literals;

namespace {

constexpr Duration kReject = 180000ms;
constexpr Duration kRekey = 5000ms;

InputReport verdict(std::optional<Duration> since, bool in_flight, int retries) {
  return wireguard_verdict({since, in_flight, retries}, kReject, kRekey, 3);
}

TEST(LivenessWireGuard, NoHandshakeYetIsNoEvidence) {
  EXPECT_EQ(verdict(std::nullopt, false, 0).verdict, Verdict::Unknown);
  EXPECT_EQ(verdict(std::nullopt, true, 2).verdict, Verdict::Unknown);  // still trying
}

TEST(LivenessWireGuard, RecentHandshakeIsUp) {
  EXPECT_EQ(verdict(1s, false, 0).verdict, Verdict::Up);
  EXPECT_EQ(verdict(179s, false, 0).verdict, Verdict::Up);
  // A rekey in progress with fewer unanswered retries than allowed: still up.
  EXPECT_EQ(verdict(130s, true, 2).verdict, Verdict::Up);
}

TEST(LivenessWireGuard, UnansweredInitiationsAreDownEvenWithFreshKeys) {
  const InputReport r = verdict(30s, true, 3);
  EXPECT_EQ(r.verdict, Verdict::Down);
  EXPECT_EQ(r.reason, "3 handshake initiations unanswered (5000 ms each)");
  EXPECT_EQ(verdict(std::nullopt, true, 3).verdict, Verdict::Down);  // never came up
  // The threshold is the configured count.
  EXPECT_EQ(wireguard_verdict({30s, true, 1}, kReject, kRekey, 1).verdict, Verdict::Down);
}

TEST(LivenessWireGuard, ExpiredSessionIsDownOnlyWhileAHandshakeIsWanted) {
  const InputReport r = verdict(181s, true, 0);
  EXPECT_EQ(r.verdict, Verdict::Down);
  EXPECT_EQ(r.reason, "session expired (REJECT_AFTER_TIME) and no handshake completes");
  EXPECT_EQ(verdict(181s, false, 0).verdict, Verdict::Unknown);  // idle: no evidence
}

}  // namespace
