// NetlinkClient reply matching, fed with kernel-format replies: a batch is
// sent with NLM_F_ACK on its last message only, so the kernel answers failed
// messages with an error and the last one with an ACK; an overrun fails
// everything outstanding.
#include <gtest/gtest.h>
#include <linux/netlink.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>

#include "fib/nl_socket.hpp"

using namespace ferry::fib;

namespace {

// struct nlmsghdr + struct nlmsgerr (capped: the request's header only).
std::vector<uint8_t> error_reply(uint32_t seq, int error) {
  std::vector<uint8_t> b(36, 0);
  uint32_t len = 36;
  uint16_t type = NLMSG_ERROR, flags = NLM_F_CAPPED;
  std::memcpy(&b[0], &len, 4);
  std::memcpy(&b[4], &type, 2);
  std::memcpy(&b[6], &flags, 2);
  std::memcpy(&b[8], &seq, 4);
  std::memcpy(&b[16], &error, 4);
  uint32_t olen = 16;
  std::memcpy(&b[20], &olen, 4);
  std::memcpy(&b[28], &seq, 4);
  return b;
}

}  // namespace

TEST(NetlinkClient, ErrorsAndFinalAckCompleteABatch) {
  asio::io_context io;
  NetlinkClient c(io);
  std::vector<NlAck> got;
  bool done = false;
  c.expect(100, 4, [&](std::vector<NlAck> acks) {
    got = std::move(acks);
    done = true;
  });
  c.expect(104, 2, [&](std::vector<NlAck>) { FAIL() << "other batch must stay pending"; });
  c.handle_datagram(error_reply(101, -ENETUNREACH));
  EXPECT_FALSE(done);
  // Two replies in one datagram: another failure and the final ACK.
  auto two = error_reply(102, -EEXIST);
  auto ack = error_reply(103, 0);
  two.insert(two.end(), ack.begin(), ack.end());
  c.handle_datagram(two);
  ASSERT_TRUE(done);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].error, 0);  // no error reply before the final ACK: success
  EXPECT_EQ(got[1].error, -ENETUNREACH);
  EXPECT_EQ(got[2].error, -EEXIST);
  EXPECT_EQ(got[3].error, 0);
  EXPECT_EQ(c.outstanding(), 1u);
  EXPECT_EQ(c.counters().errors, 2u);
  // A reply nobody waits for is counted, not fatal.
  c.handle_datagram(error_reply(999, -EINVAL));
  EXPECT_EQ(c.counters().unmatched, 1u);
}

TEST(NetlinkClient, OverrunFailsOutstandingRequests) {
  asio::io_context io;
  NetlinkClient c(io);
  std::vector<NlAck> got;
  bool overrun = false;
  c.set_overrun_handler([&] { overrun = true; });
  c.expect(7, 3, [&](std::vector<NlAck> acks) { got = std::move(acks); });
  c.handle_datagram(error_reply(7, -ENODEV));
  c.handle_error(-ENOBUFS);
  EXPECT_TRUE(overrun);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].error, -ENODEV);  // known before the overrun
  EXPECT_EQ(got[1].error, -ENOBUFS);
  EXPECT_EQ(got[2].error, -ENOBUFS);
  EXPECT_EQ(c.outstanding(), 0u);
  EXPECT_EQ(c.counters().overruns, 1u);
}

TEST(NetlinkClient, GarbageFromTheSocketIsCounted) {
  asio::io_context io;
  NetlinkClient c(io);
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  c.handle_datagram(junk);
  EXPECT_EQ(c.counters().malformed, 1u);
}

// A burst of datagrams (one per message, as route notifications come) is read
// a budget at a time: after each slice the rest is posted behind the other
// ready handlers. The burst: NLMSG_NOOP requests with NLM_F_ACK on a real
// (unprivileged) netlink socket, each answered by its own ACK datagram.
TEST(NetlinkSocket, ReadsABurstInSlicesLettingOtherHandlersRun) {
  asio::io_context io;
  NetlinkClient c(io);
  if (!c.open().ok()) GTEST_SKIP() << "no netlink socket";
  constexpr uint32_t kBudget = 16;
  constexpr uint32_t kCount = 200;
  c.socket().set_budget(kBudget, std::chrono::seconds(60));
  const uint32_t first = c.alloc_seq(kCount);
  std::vector<uint8_t> buf(kCount * 16, 0);
  for (uint32_t i = 0; i < kCount; ++i) {
    // struct nlmsghdr {u32 len; u16 type; u16 flags; u32 seq; u32 pid;}
    const uint32_t len = 16, seq = first + i;
    const uint16_t type = NLMSG_NOOP, flags = NLM_F_REQUEST | NLM_F_ACK;
    std::memcpy(&buf[i * 16], &len, 4);
    std::memcpy(&buf[i * 16 + 4], &type, 2);
    std::memcpy(&buf[i * 16 + 6], &flags, 2);
    std::memcpy(&buf[i * 16 + 8], &seq, 4);
  }
  bool done = false;
  std::vector<NlAck> acks;
  c.request(buf, first, kCount, [&](std::vector<NlAck> a) {
    acks = std::move(a);
    done = true;
  });
  // Another handler that is always ready: it must get turns during the burst.
  int turns_during_burst = 0;
  std::function<void()> other = [&] {
    if (done) return;
    ++turns_during_burst;
    asio::post(io, other);
  };
  asio::post(io, other);
  while (!done && io.run_one_for(std::chrono::seconds(5)) > 0) {
  }
  ASSERT_TRUE(done);
  ASSERT_EQ(acks.size(), kCount);
  for (const auto& a : acks) EXPECT_EQ(a.error, 0);
  EXPECT_GE(c.socket().yields(), kCount / kBudget - 1);
  EXPECT_GE(turns_during_burst, static_cast<int>(kCount / kBudget) - 1);
  EXPECT_EQ(c.counters().overruns, 0u);
}
