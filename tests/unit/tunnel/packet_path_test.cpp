// The shared data path with a toy protocol (an 8-byte header naming the
// peer, a 4-byte trailer, the payload XOR-ed), so what is asserted is
// PacketPath's own job: routing each packet to its peer, grouping equal-size
// messages to one endpoint into UDP GSO runs, charging each peer's counters,
// the source check on the way in, and counting what it drops.
#include "tunnel/packet_path.hpp"

#include <gtest/gtest.h>

#include <map>

#include "hostile_fakes.hpp"

using namespace ferry;
using namespace ferry::tunnel;
using namespace ferry::tunnel::hostile;

namespace {

class ToyProtocol : public PacketProtocol {
 public:
  static constexpr size_t kHeader = 16, kTrailer = 4;
  std::map<PeerIndex, UdpEndpoint> endpoints;
  std::map<PeerIndex, PeerCounters> counters;
  int tx_batches = 0, rx_batches = 0;

  size_t headroom() const override { return kHeader; }
  size_t max_overhead() const override { return kHeader + kTrailer; }
  void tx_begin(size_t, TimePoint) override { ++tx_batches; }
  Sealed seal(size_t, PeerIndex peer, std::span<uint8_t> msg, size_t n, TimePoint) override {
    auto it = endpoints.find(peer);
    if (it == endpoints.end()) return {};  // "staged"
    msg[0] = static_cast<uint8_t>(peer.value);
    for (size_t i = 0; i < n; ++i) msg[kHeader + i] ^= 0x5a;
    std::memset(msg.data() + kHeader + n, 0xee, kTrailer);
    return {kHeader + n + kTrailer, &counters[peer], it->second};
  }
  void tx_end(size_t, TimePoint) override {}
  void rx_begin(size_t, TimePoint) override { ++rx_batches; }
  Opened open(size_t, std::span<uint8_t> d, const UdpEndpoint&, TimePoint) override {
    if (d.size() < kHeader + kTrailer) return {};
    PeerIndex peer = d[0];
    size_t n = d.size() - kHeader - kTrailer;
    for (size_t i = 0; i < n; ++i) d[kHeader + i] ^= 0x5a;
    return {n, peer, &counters[peer]};
  }
  void rx_end(size_t, TimePoint) override {}
};

struct Side {
  Side(FakeNet& net, UdpEndpoint self, bool gso) : udp(net, self, gso) {}
  FakeTun tun;
  FakeUdp udp;
  CryptokeyTable routes;
  DropCounters drops;
  ToyProtocol proto;
  std::unique_ptr<PacketPath> path;
  void build() {
    path = std::make_unique<PacketPath>(proto, tun, udp, routes, system_time(), drops, 1420, 1);
  }
};

class PacketPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a = std::make_unique<Side>(net, ep("192.0.2.1", 1000), /*gso=*/true);
    b = std::make_unique<Side>(net, ep("192.0.2.2", 1000), false);
    a->routes.add_allowed(1, pfx("10.0.2.0/24"));
    a->routes.add_allowed(2, pfx("10.0.3.0/24"));
    a->proto.endpoints[1] = ep("192.0.2.2", 1000);
    a->proto.endpoints[2] = ep("192.0.2.3", 1000);
    b->routes.add_allowed(1, pfx("10.0.1.0/24"));
    a->build();
    b->build();
  }
  FakeNet net;
  std::unique_ptr<Side> a, b;
};

TEST_F(PacketPathTest, RoutesSealsAndGroupsEqualSizeRunsPerEndpoint) {
  for (int i = 0; i < 3; ++i) a->tun.q.in.push_back(ipv4("10.0.1.1", "10.0.2.1", 100));
  a->tun.q.in.push_back(ipv4("10.0.1.1", "10.0.2.1", 40));   // shorter: ends the run
  a->tun.q.in.push_back(ipv4("10.0.1.1", "10.0.3.1", 100));  // other peer
  a->tun.q.in.push_back(ipv4("10.0.1.1", "10.9.9.9", 100));  // no route
  EXPECT_EQ(a->path->tun_step(0), 6u);
  EXPECT_EQ(a->drops.get(Drop::NoPeer), 1u);
  // Peer 1's four messages went as one GSO buffer (the fake splits it), peer 2's as one.
  EXPECT_EQ(net.inbox[ep("192.0.2.2", 1000).str()].size(), 4u);
  EXPECT_EQ(net.inbox[ep("192.0.2.3", 1000).str()].size(), 1u);
  const size_t msg = 28 + 100 + ToyProtocol::kHeader + ToyProtocol::kTrailer;
  EXPECT_EQ(a->proto.counters[1].tx_packets.load(), 4u);
  EXPECT_EQ(a->proto.counters[1].tx_bytes.load(), 3 * msg + (msg - 60));
  EXPECT_EQ(a->proto.counters[2].tx_packets.load(), 1u);
  EXPECT_EQ(a->proto.tx_batches, 1);
}

TEST_F(PacketPathTest, OpensChecksTheSourceAndWritesTheTun) {
  auto good = ipv4("10.0.1.1", "10.0.2.1", 64);
  a->tun.q.in.push_back(good);
  a->tun.q.in.push_back(ipv4("10.0.7.7", "10.0.2.1", 64));  // source not peer 1's
  a->path->tun_step(0);
  EXPECT_EQ(b->path->udp_step(0), 2u);
  ASSERT_EQ(b->tun.q.out.size(), 1u);
  EXPECT_EQ(b->tun.q.out.front(), good);
  EXPECT_EQ(b->proto.counters[1].drops.get(Drop::NotAllowedSource), 1u);
  EXPECT_EQ(b->proto.rx_batches, 1);
}

TEST_F(PacketPathTest, MalformedInnerPacketsAndEmptyDatagramsAreCounted) {
  a->tun.q.in.push_back({0x00, 0x01, 0x02});  // not IPv4/IPv6
  a->path->tun_step(0);
  EXPECT_EQ(a->drops.get(Drop::BadPacket), 1u);
  net.inject(ep("192.0.2.2", 1000), {}, ep("192.0.2.1", 1000));
  b->path->udp_step(0);
  EXPECT_EQ(b->drops.get(Drop::TooShort), 1u);
  EXPECT_EQ(b->proto.rx_batches, 1);
}

}  // namespace
