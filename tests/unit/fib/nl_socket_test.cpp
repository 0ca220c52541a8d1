// NetlinkSocket on a real NETLINK_ROUTE socket. Safe without root and without
// a private network namespace: the only requests are NLMSG_NOOP, which change
// nothing in the kernel; each is answered by an ACK (struct nlmsgerr with
// error 0, netlink(7)). Errors come as negative errno (see fib.hpp).
#include "fib/nl_socket.hpp"

#include <gtest/gtest.h>
#include <linux/netlink.h>

#include <asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

using namespace ferry::fib;

namespace {

// count NLMSG_NOOP requests with NLM_F_ACK, sequence numbers first..first+count-1.
std::vector<uint8_t> noops(uint32_t first, uint32_t count) {
  std::vector<uint8_t> buf(count * 16, 0);
  for (uint32_t i = 0; i < count; ++i) {
    // struct nlmsghdr {u32 len; u16 type; u16 flags; u32 seq; u32 pid;}
    const uint32_t len = 16, seq = first + i;
    const uint16_t type = NLMSG_NOOP, flags = NLM_F_REQUEST | NLM_F_ACK;
    std::memcpy(&buf[i * 16], &len, 4);
    std::memcpy(&buf[i * 16 + 4], &type, 2);
    std::memcpy(&buf[i * 16 + 6], &flags, 2);
    std::memcpy(&buf[i * 16 + 8], &seq, 4);
  }
  return buf;
}

struct Ack {
  uint16_t type = 0;
  uint32_t seq = 0;
  int error = 1;
};

// The first message of a datagram, read as an NLMSG_ERROR reply.
Ack first_ack(std::span<const uint8_t> d) {
  Ack a;
  if (d.size() < 20) return a;
  std::memcpy(&a.type, &d[4], 2);
  std::memcpy(&a.seq, &d[8], 4);
  std::memcpy(&a.error, &d[16], 4);
  return a;
}

// Runs handlers until pred() holds or nothing is left to run.
template <class Pred>
void run_until(asio::io_context& io, Pred pred) {
  while (!pred() && io.run_one_for(std::chrono::seconds(5)) > 0) {
  }
}

}  // namespace

TEST(NetlinkSocket, SendOnAClosedSocketIsNegativeEbadf) {
  asio::io_context io;
  NetlinkSocket s(io);
  EXPECT_FALSE(s.is_open());
  EXPECT_EQ(s.send(noops(1, 1)), -EBADF);
  s.close();  // closing a closed socket is harmless
  EXPECT_FALSE(s.is_open());
}

TEST(NetlinkSocket, DeliversTheKernelsAckToTheDataHandler) {
  asio::io_context io;
  NetlinkSocket s(io);
  if (!s.open().ok()) GTEST_SKIP() << "no netlink socket";
  std::vector<Ack> acks;
  int errors = 0;
  s.start([&](std::span<const uint8_t> d) { acks.push_back(first_ack(d)); },
          [&](int) { ++errors; });
  ASSERT_EQ(s.send(noops(42, 1)), 0);
  run_until(io, [&] { return !acks.empty(); });
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].type, NLMSG_ERROR);
  EXPECT_EQ(acks[0].seq, 42u);
  EXPECT_EQ(acks[0].error, 0);  // error 0: an ACK
  EXPECT_EQ(errors, 0);
}

TEST(NetlinkSocket, CloseStopsDeliveryAndReopeningWorks) {
  asio::io_context io;
  NetlinkSocket s(io);
  if (!s.open().ok()) GTEST_SKIP() << "no netlink socket";
  int delivered = 0;
  s.start([&](std::span<const uint8_t>) { ++delivered; }, [](int) {});
  ASSERT_EQ(s.send(noops(1, 1)), 0);
  s.close();  // the ACK is waiting in the closed socket: never delivered
  EXPECT_FALSE(s.is_open());
  EXPECT_EQ(s.send(noops(2, 1)), -EBADF);
  io.poll();
  EXPECT_EQ(delivered, 0);

  io.restart();
  ASSERT_TRUE(s.open().ok());
  std::vector<Ack> acks;
  s.start([&](std::span<const uint8_t> d) { acks.push_back(first_ack(d)); }, [](int) {});
  ASSERT_EQ(s.send(noops(7, 1)), 0);
  run_until(io, [&] { return !acks.empty(); });
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].seq, 7u);
  EXPECT_EQ(delivered, 0);
}

// With the smallest receive buffer the kernel allows, a burst of ACKs
// overflows it: the kernel drops the rest and flags the socket (ENOBUFS on the
// next receive). The error handler gets -ENOBUFS and reading goes on.
TEST(NetlinkSocket, OverrunIsReportedAsNegativeEnobufsAndReadingGoesOn) {
  asio::io_context io;
  NetlinkSocket s(io);
  if (!s.open({}, 1).ok()) GTEST_SKIP() << "no netlink socket";
  std::vector<Ack> acks;
  std::vector<int> errors;
  s.start([&](std::span<const uint8_t> d) { acks.push_back(first_ack(d)); },
          [&](int e) { errors.push_back(e); });
  constexpr uint32_t kCount = 2000;
  ASSERT_EQ(s.send(noops(1, kCount)), 0);  // no reading in between: the buffer fills
  run_until(io, [&] { return !errors.empty(); });
  ASSERT_FALSE(errors.empty());
  for (int e : errors) EXPECT_EQ(e, -ENOBUFS);
  io.poll();                   // whatever is still queued
  EXPECT_FALSE(acks.empty());  // what fitted in the buffer was read
  EXPECT_LT(acks.size(), size_t{kCount});
  EXPECT_TRUE(s.is_open());
  // The socket still works after the overrun.
  auto seen = [&](uint32_t seq) {
    for (const Ack& a : acks)
      if (a.seq == seq) return true;
    return false;
  };
  ASSERT_EQ(s.send(noops(5000, 1)), 0);
  run_until(io, [&] { return seen(5000); });
  EXPECT_TRUE(seen(5000));
}
