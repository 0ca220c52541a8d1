// Two IpsecTunnels back to back on the fake network (TUN, UDP 500/4500),
// each with a real ike::Engine: IKE establishes the CHILD_SA pair over the
// fake wire, then traffic flows both ways through ESP; a CHILD_SA rekey
// under traffic loses nothing; the tunnel publishes a tunnel::View for
// routing, takes learned prefixes, and shows its peers. Stepped by hand
// with a manual clock (no worker threads, no Asio loop).
#include "ipsec/ipsec_tunnel.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "../tunnel/hostile_fakes.hpp"

using namespace ferry;
using namespace ferry::ipsec;
using namespace ferry::tunnel::hostile;

namespace {

struct NullIface : tunnel::InterfaceConfigurator {
  std::vector<std::string>* log;
  explicit NullIface(std::vector<std::string>* l) : log(l) {}
  Result<void> set_mtu(const std::string& n, uint32_t m) override {
    log->push_back(n + " mtu " + std::to_string(m));
    return {};
  }
  Result<void> set_up(const std::string& n, bool) override {
    log->push_back(n + " up");
    return {};
  }
  Result<void> add_address(const std::string& n, const config::InterfaceAddress& a) override {
    log->push_back(n + " addr " + a.str());
    return {};
  }
  Result<void> remove_address(const std::string&, const config::InterfaceAddress&) override {
    return {};
  }
};

std::string temp_file(const std::string& name, const std::string& text, mode_t mode) {
  std::string path =
      ::testing::TempDir() + "ipsec_tunnel_test_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
  return path;
}

struct Site {
  Site(FakeNet& net, const char* ip, config::IpsecConfig cfg) {
    IpsecIo io;
    io.open_tun = [this](const std::string&, size_t) -> Result<std::unique_ptr<tunnel::TunDevice>> {
      auto t = std::make_unique<FakeTun>();
      tun = t.get();
      return std::unique_ptr<tunnel::TunDevice>(std::move(t));
    };
    io.open_udp = [&net, ip](uint16_t port,
                             size_t) -> Result<std::unique_ptr<tunnel::UdpTransport>> {
      return std::unique_ptr<tunnel::UdpTransport>(std::make_unique<FakeUdp>(net, ep(ip, port)));
    };
    io.iface = std::make_unique<NullIface>(&iface_log);
    io.ifindex = [](const std::string&) { return 42u; };
    io.threads = false;
    tunnel = std::make_unique<IpsecTunnel>(std::move(cfg), std::move(io));
  }
  FakeTun* tun = nullptr;
  std::vector<std::string> iface_log;
  std::unique_ptr<IpsecTunnel> tunnel;
};

config::IpsecConfig site_config(const char* peer_ip, const std::string& psk, bool initiate,
                                const char* peer_prefix, const char* own_addr, const char* own_id) {
  config::IpsecConfig c;
  c.interface = "ipsec-test";
  c.addresses.push_back({*IpAddress::parse(own_addr), 30});
  config::IpsecPeerConfig p;
  p.name = "remote";
  p.endpoint = config::Endpoint{*IpAddress::parse(peer_ip), 500};
  p.psk_file = psk;
  p.local_id = own_id;  // remote-id defaults to the endpoint's address
  p.initiate = initiate;
  p.ike_proposals = {"aes256gcm16-prfsha256-ecp256"};
  p.esp_proposals = {"aes256gcm16"};
  p.allowed_ips = {*Prefix::parse(peer_prefix)};
  c.peers.push_back(p);
  return c;
}

class IpsecTunnelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    psk = temp_file("psk", "a shared secret of some length\n", 0600);
    a = std::make_unique<Site>(
        net, "192.0.2.1",
        site_config("192.0.2.2", psk, true, "10.0.2.0/24", "169.254.1.1", "192.0.2.1"));
    b = std::make_unique<Site>(
        net, "192.0.2.2",
        site_config("192.0.2.1", psk, false, "10.0.1.0/24", "169.254.1.2", "192.0.2.2"));
    a->tunnel->set_view_listener([this](const tunnel::View& v) { a_view = v; });
    auto ra = a->tunnel->start();
    ASSERT_TRUE(ra) << ra.error();
    auto rb = b->tunnel->start();
    ASSERT_TRUE(rb) << rb.error();
  }
  void TearDown() override { ::unlink(psk.c_str()); }
  // One round: both data planes step, both control planes read IKE and tick.
  void round(std::chrono::milliseconds dt = std::chrono::milliseconds(100)) {
    now += dt;
    for (Site* s : {a.get(), b.get()}) {
      s->tunnel->device()->step(0);
      s->tunnel->poll_ike(now);
      s->tunnel->tick(now);
    }
  }
  void establish() {
    for (int i = 0; i < 20 && !(a->tunnel->peer_up("remote") && b->tunnel->peer_up("remote")); ++i)
      round();
    ASSERT_TRUE(a->tunnel->peer_up("remote"));
    ASSERT_TRUE(b->tunnel->peer_up("remote"));
  }
  FakeNet net;
  std::string psk;
  std::unique_ptr<Site> a, b;
  tunnel::View a_view;
  ike::TimePoint now = ike::Clock::now();
};

TEST_F(IpsecTunnelTest, EstablishesOverIkeAndCarriesTrafficBothWays) {
  EXPECT_EQ(a->iface_log,
            (std::vector<std::string>{"fake0 mtu 1400", "fake0 addr 169.254.1.1/30", "fake0 up"}));
  ASSERT_EQ(a_view.peers.size(), 1u);  // published at start, before IKE
  EXPECT_EQ(a_view.ifindex, 42u);
  EXPECT_EQ(a_view.peers[0].name, "remote");
  EXPECT_EQ(a_view.peers[0].allowed_ips, (std::vector<Prefix>{*Prefix::parse("10.0.2.0/24")}));
  EXPECT_EQ(a_view.peers[0].endpoint, IpAddress::parse("192.0.2.2"));
  establish();
  auto to_b = ipv4("10.0.1.1", "10.0.2.1", 300);
  a->tun->q.in.push_back(to_b);
  round();
  round();
  ASSERT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_EQ(b->tun->q.out.front(), to_b);
  auto to_a = ipv4("10.0.2.1", "10.0.1.1", 700);
  b->tun->q.in.push_back(to_a);
  round();
  round();
  ASSERT_EQ(a->tun->q.out.size(), 1u);
  EXPECT_EQ(a->tun->q.out.front(), to_a);
  // ESP went over port 4500 (NAT-T, RFC 7296 §2.23) with the marker-free ESP header.
  const auto esp = std::find_if(net.log.begin(), net.log.end(), [](const Datagram& d) {
    return d.to.port == 4500 && d.data.size() > 300 &&
           d.data[0] | d.data[1] | d.data[2] | d.data[3];
  });
  EXPECT_NE(esp, net.log.end());
  auto j = a->tunnel->show(now);
  EXPECT_EQ(j["kind"], "ipsec");
  ASSERT_EQ(j["peers"].size(), 1u);
  EXPECT_EQ(j["peers"][0]["up"], true);
  EXPECT_EQ(j["peers"][0]["child_sas"].size(), 1u);
  EXPECT_EQ(j["peers"][0]["child_sas"][0]["encryption"], "aes256gcm16");
  EXPECT_EQ(j["peers"][0]["tx_packets"], 1u);
  EXPECT_EQ(j["peers"][0]["rx_packets"], 1u);
  EXPECT_TRUE(j["peers"][0]["ike"].is_object());
}

TEST_F(IpsecTunnelTest, ChildRekeyUnderTrafficLosesNothing) {
  establish();
  size_t sent = 0;
  auto send_some = [&] {
    for (int i = 0; i < 5; ++i, ++sent) a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1", 64));
  };
  send_some();
  round();
  ASSERT_TRUE(a->tunnel->clear("remote", /*hard=*/false));  // CHILD_SA rekey (RFC 7296 §1.3.3)
  for (int i = 0; i < 10; ++i) {
    send_some();
    round();
  }
  for (int i = 0; i < 5; ++i) round();
  EXPECT_EQ(b->tun->q.out.size(), sent);
  auto j = b->tunnel->show(now);
  EXPECT_EQ(j["peers"][0]["drops"]["unknown_spi"], 0u);
  EXPECT_EQ(j["drops"]["unknown_spi"], 0u);
  EXPECT_EQ(j["drops"]["auth_failed"], 0u);
  // Both ends settled on the new pair (the old one deleted).
  EXPECT_EQ(j["peers"][0]["child_sas"].size(), 1u);
  EXPECT_NE(j["peers"][0]["child_sas"][0]["rx_packets"], sent);
}

TEST_F(IpsecTunnelTest, LearnedPrefixesRouteToThePeerAndUnknownNamesAreErrors) {
  establish();
  auto peer = a->tunnel->peer_id("remote");
  ASSERT_TRUE(peer);
  tunnel::LearnedChange ch{true, *peer, *Prefix::parse("10.9.0.0/16")};
  EXPECT_EQ(a->tunnel->apply_learned({&ch, 1}), 1u);
  b->tunnel->device()->routes().add_allowed(0, *Prefix::parse("10.1.0.0/16"));
  a->tun->q.in.push_back(ipv4("10.1.0.5", "10.9.1.1", 64));
  round();
  round();
  EXPECT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_FALSE(a->tunnel->peer_id("nobody"));
  EXPECT_FALSE(a->tunnel->clear("nobody", false));
  auto j = a->tunnel->show(now);
  EXPECT_EQ(j["peers"][0]["learned_ips"], nlohmann::json::array({"10.9.0.0/16"}));
}

TEST(IpsecSecrets, RefusesFilesOthersCanReadAndStripsTheNewline) {
  auto open_psk = temp_file("open", "secret\n", 0644);
  auto r = read_secret_file(open_psk, true);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("accessible by group/others (mode 0644)"), std::string::npos);
  auto ok = temp_file("ok", "secret\r\n", 0600);
  auto s = read_secret_file(ok, true);
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(*s, "secret");
  ::unlink(open_psk.c_str());
  ::unlink(ok.c_str());
}

TEST(IpsecSecrets, StartFailsNamingThePeerAndKey) {
  FakeNet net;
  auto bad = temp_file("bad", "secret", 0640);
  Site s(net, "192.0.2.1",
         site_config("192.0.2.2", bad, true, "10.0.2.0/24", "169.254.1.1", "192.0.2.1"));
  auto r = s.tunnel->start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().rfind("ipsec: peer remote: psk-file: key file ", 0), 0u) << r.error();
  EXPECT_FALSE(s.tunnel->running());
  ::unlink(bad.c_str());
}

}  // namespace
