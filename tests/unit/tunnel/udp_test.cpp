// The Linux UDP transport against the kernel, on loopback only (no root):
// batched send/receive both families, the sender's address as an IPv4 or
// IPv6 endpoint (the sockets are dual-stack), UDP GSO buffers arriving as
// their datagrams (whether or not UDP GRO coalesced them again), and an
// empty receive.
#include "tunnel/udp.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <vector>

using namespace ferry;
using namespace ferry::tunnel;

namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 13);
  return v;
}

struct Got {
  std::vector<uint8_t> data;
  UdpEndpoint from;
};

// Receives until `want` datagrams arrived (GRO buffers split at their
// segment size) or the socket stays silent for 2 s.
std::vector<Got> receive(UdpSocket& s, size_t want) {
  std::vector<Got> out;
  std::vector<std::vector<uint8_t>> bufs(8, std::vector<uint8_t>(65536));
  std::vector<UdpRecv> r(8);
  while (out.size() < want) {
    pollfd p{s.fd(), POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) break;
    for (size_t i = 0; i < r.size(); ++i) r[i].buf = bufs[i];
    int n = s.recv_batch(r);
    for (int i = 0; i < n; ++i) {
      const UdpRecv& m = r[static_cast<size_t>(i)];
      size_t seg = m.segment ? m.segment : m.len;
      for (size_t off = 0; off < m.len; off += seg) {
        size_t len = std::min(seg, m.len - off);
        out.push_back(
            {{m.buf.begin() + static_cast<long>(off), m.buf.begin() + static_cast<long>(off + len)},
             m.from});
      }
    }
  }
  return out;
}

class UdpTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    auto a_or = open_linux_udp(0, 1, /*gro=*/true);
    auto b_or = open_linux_udp(0, 1, /*gro=*/true);
    ASSERT_TRUE(a_or) << a_or.error();
    ASSERT_TRUE(b_or) << b_or.error();
    a = std::move(*a_or);
    b = std::move(*b_or);
    loop = *IpAddress::parse(GetParam());
  }
  std::unique_ptr<UdpTransport> a, b;
  IpAddress loop;
};

TEST_P(UdpTest, BatchArrivesInOrderWithTheSenderAsEndpoint) {
  ASSERT_NE(a->port(), 0);
  ASSERT_NE(a->port(), b->port());
  const UdpEndpoint to{loop, b->port()};
  auto d1 = pattern(1, 1), d2 = pattern(148, 2), d3 = pattern(1400, 3);
  std::vector<UdpSend> sends = {{d1, 0, to}, {d2, 0, to}, {d3, 0, to}};
  ASSERT_EQ(a->socket(0).send_batch(sends), 3);
  auto got = receive(b->socket(0), 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].data, d1);
  EXPECT_EQ(got[1].data, d2);
  EXPECT_EQ(got[2].data, d3);
  for (const auto& g : got) {
    EXPECT_EQ(g.from.addr, loop);  // an IPv4 sender is not reported v4-mapped
    EXPECT_EQ(g.from.port, a->port());
  }
}

TEST_P(UdpTest, GsoBufferArrivesAsItsDatagrams) {
  if (!a->gso()) GTEST_SKIP() << "kernel without UDP GSO";
  const UdpEndpoint to{loop, b->port()};
  // Five segments of 1000 bytes, the last one shorter (RFC-free kernel
  // contract: UDP_SEGMENT splits at the segment size, the tail may be short).
  auto buf = pattern(4 * 1000 + 321, 7);
  std::vector<UdpSend> sends = {{buf, 1000, to}};
  ASSERT_EQ(a->socket(0).send_batch(sends), 1);
  auto got = receive(b->socket(0), 5);
  ASSERT_EQ(got.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    size_t len = i < 4 ? 1000 : 321;
    ASSERT_EQ(got[i].data.size(), len) << i;
    EXPECT_TRUE(std::equal(got[i].data.begin(), got[i].data.end(),
                           buf.begin() + static_cast<long>(i * 1000)))
        << i;
  }
}

TEST_P(UdpTest, NothingPendingReceivesZero) {
  std::vector<uint8_t> buf(2048);
  std::vector<UdpRecv> r(1);
  r[0].buf = buf;
  EXPECT_EQ(b->socket(0).recv_batch(r), 0);
}

INSTANTIATE_TEST_SUITE_P(Loopback, UdpTest, ::testing::Values("127.0.0.1", "::1"),
                         [](const auto& i) {
                           return std::string(i.param[0] == ':' ? "v6" : "v4");
                         });

TEST(UdpEndpoint, PrintsBracketsForIpv6) {
  EXPECT_EQ((UdpEndpoint{*IpAddress::parse("192.0.2.1"), 51820}).str(), "192.0.2.1:51820");
  EXPECT_EQ((UdpEndpoint{*IpAddress::parse("2001:db8::1"), 4500}).str(), "[2001:db8::1]:4500");
}

}  // namespace
