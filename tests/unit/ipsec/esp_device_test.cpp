// EspDevice: the ESP data plane of one IPsec tunnel on the fake network
// (TUN, UDP 4500, UDP 500), stepped by hand; SAs installed through the sink
// the IKE engine uses, IKE datagrams taken from both ports.
#include "ipsec/esp_device.hpp"

#include <gtest/gtest.h>

#include "../tunnel/hostile_fakes.hpp"

using namespace ferry;
using namespace ferry::ipsec;
using namespace ferry::tunnel::hostile;

namespace {

struct Site {
  Site(FakeNet& net, const char* ip) {
    auto tun_p = std::make_unique<FakeTun>();
    tun = tun_p.get();
    auto natt = std::make_unique<FakeUdp>(net, ep(ip, 4500));
    auto ike = std::make_unique<FakeUdp>(net, ep(ip, 500));
    dev = std::make_unique<EspDevice>(EspDeviceConfig{}, std::move(tun_p), std::move(natt),
                                      std::move(ike), 4);
    self = ep(ip, 4500);
  }
  FakeTun* tun;
  std::unique_ptr<EspDevice> dev;
  tunnel::UdpEndpoint self;
};

EspSaKeys keys(uint32_t spi) {
  EspSaKeys k;
  k.spi = spi;
  k.cipher = EspCipher::kAesGcm16_128;
  k.enc_key.assign(20, static_cast<uint8_t>(spi));
  return k;
}

TEST(EspDevice, CarriesTrafficOnceTheEngineInstalledAPair) {
  FakeNet net;
  Site a(net, "192.0.2.1"), b(net, "192.0.2.2");
  EXPECT_EQ(a.dev->workers(), 1u);  // one fake queue
  a.dev->routes().add_allowed(0, pfx("10.0.2.0/24"));
  b.dev->routes().add_allowed(0, pfx("10.0.1.0/24"));
  ChildSaPair pa, pb;
  pa.peer = pb.peer = 0;
  pa.in = pb.out = keys(0xa1);
  pa.out = pb.in = keys(0xb1);
  pa.remote = b.self;
  pb.remote = a.self;
  a.dev->sa_sink().install(pa);
  b.dev->sa_sink().install(pb);
  auto pkt = ipv4("10.0.1.1", "10.0.2.1", 200);
  a.tun->q.in.push_back(pkt);
  a.dev->step(0);
  b.dev->step(0);
  ASSERT_EQ(b.tun->q.out.size(), 1u);
  EXPECT_EQ(b.tun->q.out.front(), pkt);
  EXPECT_EQ(b.dev->sa_sink().stats(0xb1, false).packets, 1u);
  EXPECT_EQ(a.dev->sa_sink().stats(0xa1, true).packets, 1u);
}

TEST(EspDevice, HandsIkeFromBothPortsToTheControlPlaneAndSendsFromEither) {
  FakeNet net;
  Site a(net, "192.0.2.1"), b(net, "192.0.2.2");
  const std::vector<uint8_t> msg = {0x01, 0x02, 0x03};
  b.dev->ike_sender().send_ike(msg, ep("192.0.2.1", 500), false);
  b.dev->ike_sender().send_ike(msg, ep("192.0.2.1", 4500), true);
  net.inject(ep("192.0.2.1", 4500), {0xff}, ep("192.0.2.2", 4500));  // keepalive
  a.dev->step(0);  // the worker queues the port-4500 IKE message
  std::vector<std::pair<std::vector<uint8_t>, bool>> got;
  a.dev->drain_ike([&](std::span<const uint8_t> m, const tunnel::UdpEndpoint& from, bool natt) {
    EXPECT_EQ(from.addr, *IpAddress::parse("192.0.2.2"));
    EXPECT_EQ(from.port, natt ? 4500 : 500);
    got.emplace_back(std::vector<uint8_t>(m.begin(), m.end()), natt);
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(msg, true));
  EXPECT_EQ(got[1], std::make_pair(msg, false));
  EXPECT_EQ(a.dev->keepalives(), 1u);
  EXPECT_EQ(a.dev->ike_queue_drops(), 0u);
  EXPECT_EQ(a.dev->ike500_fd(), -1);  // the fake socket is not pollable
  EXPECT_EQ(a.dev->natt_port(), 4500);
}

TEST(EspDevice, StartsAndStopsItsWorkers) {
  FakeNet net;
  Site a(net, "192.0.2.1");
  int notified = 0;
  a.dev->set_ike_notify([&] { ++notified; });
  a.dev->start();
  a.dev->stop();
  a.dev->start();  // restartable
  a.dev->stop();
  net.inject(ep("192.0.2.1", 4500), {0, 0, 0, 0, 7}, ep("192.0.2.9", 4500));
  a.dev->step(0);
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(a.dev->drops().get(tunnel::Drop::QueueFull), 0u);
}

}  // namespace
