#include "tunnel/tunnel.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

using namespace ferry::tunnel;

namespace {
std::string write_key(const std::string& name, mode_t mode) {
  std::string path = ::testing::TempDir() + "/" + name + std::to_string(::getpid());
  std::ofstream(path) << key_to_base64(generate_private_key()) << "\n";
  ::chmod(path.c_str(), mode);
  return path;
}
}  // namespace

TEST(TunnelKeyFile, RefusesGroupOrWorldAccessibleKeyWithoutPrintingIt) {
  std::string p = write_key("k644-", 0644);
  std::ifstream in(p);
  std::string key;
  in >> key;
  auto r = read_secret_key_file(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("chmod 600"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("0644"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().find(key), std::string::npos);
  ::unlink(p.c_str());
}

TEST(TunnelKeyFile, AcceptsOwnerOnlyKey) {
  std::string p = write_key("k600-", 0600);
  EXPECT_TRUE(read_secret_key_file(p).ok());
  ::unlink(p.c_str());
  EXPECT_FALSE(read_secret_key_file(p).ok());  // missing file: clear error, no crash
}

TEST(TunnelShow, NotRunningTunnelShowsInterfaceAndNoPeers) {
  ferry::config::TunnelConfig cfg;
  cfg.interface = "ferrytest0";
  Tunnel t(cfg);
  auto j = t.show();
  EXPECT_EQ(j["interface"], "ferrytest0");
  EXPECT_EQ(j["running"], false);
  EXPECT_TRUE(j["peers"].empty());
  EXPECT_FALSE(t.peer_id("nobody").has_value());
  ferry::ctl::Registry r;
  t.register_commands(r);
  ASSERT_NE(r.find("show tunnels"), nullptr);
  EXPECT_FALSE(r.find("show tunnels")->mutating);
}

// ---- Tunnel lifecycle with in-memory kernel access ---------------------------

namespace {

class NullQueue : public TunQueue {
 public:
  int read(std::span<uint8_t>) override { return 0; }
  bool write(std::span<const uint8_t>) override { return true; }
  int fd() const override { return -1; }
};
class NullTun : public TunDevice {
 public:
  explicit NullTun(std::string n) : name_(std::move(n)) {}
  const std::string& name() const override { return name_; }
  size_t queue_count() const override { return 1; }
  TunQueue& queue(size_t) override { return q_; }

 private:
  std::string name_;
  NullQueue q_;
};
class NullSocket : public UdpSocket {
 public:
  int recv_batch(std::span<UdpRecv>) override { return 0; }
  int send_batch(std::span<const UdpSend> m) override { return static_cast<int>(m.size()); }
  int fd() const override { return -1; }
};
class NullUdp : public UdpTransport {
 public:
  explicit NullUdp(uint16_t p) : port_(p) {}
  uint16_t port() const override { return port_; }
  size_t socket_count() const override { return 1; }
  UdpSocket& socket(size_t) override { return s_; }
  bool gso() const override { return false; }
  bool gro() const override { return false; }

 private:
  uint16_t port_;
  NullSocket s_;
};
struct IfaceLog : InterfaceConfigurator {
  std::vector<std::string>* log;
  explicit IfaceLog(std::vector<std::string>* l) : log(l) {}
  ferry::Result<void> set_mtu(const std::string& n, uint32_t m) override {
    log->push_back(n + " mtu " + std::to_string(m));
    return {};
  }
  ferry::Result<void> set_up(const std::string& n, bool up) override {
    log->push_back(n + (up ? " up" : " down"));
    return {};
  }
  ferry::Result<void> add_address(const std::string& n,
                                  const ferry::config::InterfaceAddress& a) override {
    log->push_back(n + " addr " + a.str());
    return {};
  }
  ferry::Result<void> remove_address(const std::string&,
                                     const ferry::config::InterfaceAddress&) override {
    return {};
  }
};

ferry::Prefix P(const char* s) {
  return *ferry::Prefix::parse(s);
}

ferry::config::TunnelPeerConfig peer(const std::string& name, const char* allowed) {
  ferry::config::TunnelPeerConfig p;
  p.name = name;
  p.public_key = key_to_base64(public_key(generate_private_key()));
  p.endpoint = ferry::config::Endpoint{*ferry::IpAddress::parse("192.0.2.9"), 51820};
  p.allowed_ips = {P(allowed)};
  p.persistent_keepalive = 25;
  return p;
}

struct Fixture {
  Fixture() {
    cfg.interface = "fr0";
    cfg.private_key_file = write_key("tk-", 0600);
    cfg.workers = 1;
    cfg.addresses = {{*ferry::IpAddress::parse("169.254.10.1"), 30}};
    cfg.peers = {peer("b", "169.254.10.2/32"), peer("c", "10.3.0.0/16")};
  }
  ~Fixture() { ::unlink(cfg.private_key_file.c_str()); }
  TunnelIo io() {
    TunnelIo io;
    io.open_tun = [this](const std::string& n,
                         size_t) -> ferry::Result<std::unique_ptr<TunDevice>> {
      ++opened;
      return std::unique_ptr<TunDevice>(std::make_unique<NullTun>(n));
    };
    io.open_udp = [](uint16_t p, size_t) -> ferry::Result<std::unique_ptr<UdpTransport>> {
      return std::unique_ptr<UdpTransport>(std::make_unique<NullUdp>(p));
    };
    io.iface = std::make_unique<IfaceLog>(&log);
    io.ifindex = [](const std::string& n) -> uint32_t { return n == "fr0" ? 17 : 0; };
    return io;
  }
  ferry::config::TunnelConfig cfg;
  std::vector<std::string> log;
  int opened = 0;
};

std::vector<std::string> strings(const nlohmann::json& a) {
  std::vector<std::string> v;
  for (const auto& x : a) v.push_back(x.get<std::string>());
  return v;
}

}  // namespace

TEST(TunnelLifecycle, RefusesToStartWithReadableKeyBeforeTouchingTheKernel) {
  Fixture f;
  ::chmod(f.cfg.private_key_file.c_str(), 0640);
  Tunnel t(f.cfg, f.io());
  auto r = t.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("chmod 600"), std::string::npos);
  EXPECT_EQ(f.opened, 0);
  EXPECT_FALSE(t.running());
}

TEST(TunnelLifecycle, StartConfiguresInterfaceAndShowsPeers) {
  Fixture f;
  Tunnel t(f.cfg, f.io());
  ASSERT_TRUE(t.start().ok());
  EXPECT_EQ(f.log,
            (std::vector<std::string>{"fr0 mtu 1420", "fr0 addr 169.254.10.1/30", "fr0 up"}));
  auto j = t.show();
  EXPECT_EQ(j["running"], true);
  EXPECT_EQ(j["listen_port"], 51820);
  EXPECT_EQ(j["cookie_sent"], 0);
  ASSERT_EQ(j["peers"].size(), 2u);
  const auto& b = j["peers"][0];
  EXPECT_EQ(b["name"], "b");
  EXPECT_EQ(b["public_key"], f.cfg.peers[0].public_key);
  EXPECT_EQ(b["endpoint"], "192.0.2.9:51820");
  EXPECT_TRUE(b["latest_handshake"].is_null());
  EXPECT_EQ(b["persistent_keepalive"], 25);
  EXPECT_EQ(strings(b["allowed_ips"]), std::vector<std::string>{"169.254.10.2/32"});
  EXPECT_TRUE(b["learned_ips"].empty());
  EXPECT_EQ(b["drops"]["not_allowed_source"], 0);
  EXPECT_EQ(b["rx_bytes"], 0);
  t.stop();
  EXPECT_FALSE(t.running());
}

TEST(TunnelLifecycle, LearnedPrefixesAreBatchedAndNeverOverrideStatic) {
  Fixture f;
  Tunnel t(f.cfg, f.io());
  ASSERT_TRUE(t.start().ok());
  auto b = *t.peer_id("b");
  auto c = *t.peer_id("c");
  uint64_t g0 = t.device()->routes().generation();
  t.add_learned(b, P("10.2.0.0/16"));
  t.add_learned(b, P("10.2.5.0/24"));
  t.add_learned(b, P("10.3.0.0/16"));                // c's static allowed-ip: ignored
  EXPECT_EQ(t.device()->routes().generation(), g0);  // nothing published before commit
  EXPECT_EQ(t.commit_learned(), 2u);
  EXPECT_EQ(t.device()->routes().generation(), g0 + 1);
  auto snap = t.device()->routes().snapshot();
  EXPECT_EQ(snap->lookup(*ferry::IpAddress::parse("10.2.5.1")), b);
  EXPECT_EQ(snap->lookup(*ferry::IpAddress::parse("10.3.0.1")), c);
  auto j = t.show();
  EXPECT_EQ(strings(j["peers"][0]["learned_ips"]),
            (std::vector<std::string>{"10.2.0.0/16", "10.2.5.0/24"}));
  t.remove_learned(b, P("10.2.5.0/24"));
  t.remove_learned(c, P("10.3.0.0/16"));  // static, not learned: stays
  EXPECT_EQ(t.commit_learned(), 1u);
  EXPECT_EQ(t.device()->routes().snapshot()->lookup(*ferry::IpAddress::parse("10.3.0.1")), c);
  t.clear_learned(b);
  EXPECT_EQ(t.device()->routes().snapshot()->lookup(*ferry::IpAddress::parse("10.2.0.1")), kNoPeer);
}

TEST(TunnelLifecycle, EcmpPrefixIsListedUnderEverySharingPeer) {
  Fixture f;
  Tunnel t(f.cfg, f.io());
  ASSERT_TRUE(t.start().ok());
  auto b = *t.peer_id("b");
  auto c = *t.peer_id("c");
  t.add_learned(b, P("10.2.0.0/16"));
  t.add_learned(c, P("10.2.0.0/16"));
  t.add_learned(c, P("10.5.0.0/16"));
  EXPECT_EQ(t.commit_learned(), 3u);
  EXPECT_EQ(t.device()->routes().peers_of(P("10.2.0.0/16")), (std::vector<PeerIndex>{b, c}));
  auto j = t.show();
  EXPECT_EQ(j["ecmp_prefixes"], 1);
  const auto& jb = j["peers"][0];
  const auto& jc = j["peers"][1];
  EXPECT_EQ(strings(jb["learned_ips"]), std::vector<std::string>{"10.2.0.0/16"});
  EXPECT_EQ(strings(jc["learned_ips"]), (std::vector<std::string>{"10.2.0.0/16", "10.5.0.0/16"}));
  EXPECT_EQ(strings(jb["ecmp_ips"]["10.2.0.0/16"]), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(jc["ecmp_ips"].size(), 1u);  // 10.5.0.0/16 is c's alone
  // A learned prefix equal to c's static allowed-ip waits underneath it and takes
  // over when a reload removes the static entry.
  t.add_learned(b, P("10.3.0.0/16"));
  EXPECT_EQ(t.commit_learned(), 0u);
  EXPECT_EQ(t.device()->routes().snapshot()->lookup(*ferry::IpAddress::parse("10.3.0.1")), c);
  auto next = f.cfg;
  next.peers[1].allowed_ips = {P("10.33.0.0/16")};
  ASSERT_TRUE(t.apply(next).ok());
  EXPECT_EQ(t.device()->routes().snapshot()->lookup(*ferry::IpAddress::parse("10.3.0.1")), b);
  // A peer's routing session going down removes it from every set.
  t.clear_learned(b);
  EXPECT_EQ(t.device()->routes().peers_of(P("10.2.0.0/16")), std::vector<PeerIndex>{c});
  EXPECT_EQ(t.device()->routes().snapshot()->lookup(*ferry::IpAddress::parse("10.3.0.1")), kNoPeer);
}

TEST(TunnelLifecycle, ReloadAddsRemovesAndEditsPeersLive) {
  Fixture f;
  Tunnel t(f.cfg, f.io());
  ASSERT_TRUE(t.start().ok());
  auto next = f.cfg;
  next.peers.erase(next.peers.begin() + 1);                              // drop c
  next.peers[0].allowed_ips = {P("169.254.10.2/32"), P("10.9.0.0/16")};  // edit b
  next.peers[0].persistent_keepalive = 0;
  next.peers.push_back(peer("d", "10.4.0.0/16"));  // add d
  ASSERT_TRUE(t.apply(next).ok());
  EXPECT_FALSE(t.peer_id("c").has_value());
  ASSERT_TRUE(t.peer_id("d").has_value());
  auto snap = t.device()->routes().snapshot();
  EXPECT_EQ(snap->lookup(*ferry::IpAddress::parse("10.3.0.1")), kNoPeer);
  EXPECT_EQ(snap->lookup(*ferry::IpAddress::parse("10.9.0.1")), *t.peer_id("b"));
  EXPECT_EQ(snap->lookup(*ferry::IpAddress::parse("10.4.0.1")), *t.peer_id("d"));
  auto j = t.show();
  ASSERT_EQ(j["peers"].size(), 2u);
  EXPECT_EQ(j["peers"][0]["persistent_keepalive"], 0);
  auto bad = next;
  bad.listen_port = 4000;
  auto r = t.apply(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("listen-port"), std::string::npos);
}

// Routing reads the tunnel through the published view: one publish per change, none otherwise.
TEST(TunnelView, PublishedAtStartAndOnEveryChangeOnly) {
  Fixture f;
  Tunnel t(f.cfg, f.io());
  std::vector<View> seen;
  t.set_view_listener([&](const View& v) { seen.push_back(v); });
  ASSERT_TRUE(t.start().ok());
  ASSERT_EQ(seen.size(), 1u);
  const View& v = seen.back();
  EXPECT_EQ(v.ifindex, 17u);
  EXPECT_EQ(v.max_ecmp_peers, kMaxEcmpPeers);
  ASSERT_EQ(v.peers.size(), 2u);
  EXPECT_EQ(v.peers[0].name, "b");
  EXPECT_EQ(v.peers[0].id, *t.peer_id("b"));
  EXPECT_EQ(v.peers[0].allowed_ips, std::vector<ferry::Prefix>{P("169.254.10.2/32")});
  EXPECT_EQ(v.peers[0].endpoint, ferry::IpAddress::parse("192.0.2.9"));
  EXPECT_EQ(v.peers[1].name, "c");
  EXPECT_EQ(v.peers[1].allowed_ips, std::vector<ferry::Prefix>{P("10.3.0.0/16")});
  EXPECT_EQ(t.view(), v);
  // Nothing moved: polling publishes nothing, nor does an unchanged reload.
  t.poll();
  ASSERT_TRUE(t.apply(f.cfg).ok());
  EXPECT_EQ(seen.size(), 1u);
  // A reload that moves an endpoint and an allowed-ip: one publish with both.
  auto next = f.cfg;
  next.peers[1].allowed_ips = {P("10.30.0.0/16")};
  next.peers[0].endpoint = ferry::config::Endpoint{*ferry::IpAddress::parse("192.0.2.77"), 51820};
  ASSERT_TRUE(t.apply(next).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.back().peers[0].endpoint, ferry::IpAddress::parse("192.0.2.77"));
  EXPECT_EQ(seen.back().peers[1].allowed_ips, std::vector<ferry::Prefix>{P("10.30.0.0/16")});
  // A removed peer leaves the view.
  next.peers.pop_back();
  ASSERT_TRUE(t.apply(next).ok());
  ASSERT_EQ(seen.size(), 3u);
  ASSERT_EQ(seen.back().peers.size(), 1u);
  EXPECT_EQ(seen.back().peers[0].name, "b");
  t.stop();
}

TEST(TunnelView, ApplyLearnedCommitsTheBatchInOnePublish) {
  Fixture f;
  Tunnel t(f.cfg, f.io());
  ASSERT_TRUE(t.start().ok());
  const PeerIndex b = *t.peer_id("b"), c = *t.peer_id("c");
  const uint64_t g = t.device()->routes().generation();
  const LearnedChange batch[] = {{true, b, P("10.2.0.0/16")}, {true, c, P("10.2.0.0/16")}};
  EXPECT_EQ(t.apply_learned(batch), 2u);
  EXPECT_EQ(t.device()->routes().generation(), g + 1);
  auto peers = t.device()->routes().peers_of(P("10.2.0.0/16"));
  EXPECT_EQ(std::set<PeerIndex>(peers.begin(), peers.end()), (std::set<PeerIndex>{b, c}));
  const LearnedChange out[] = {{false, b, P("10.2.0.0/16")}};
  t.apply_learned(out);
  EXPECT_EQ(t.device()->routes().peers_of(P("10.2.0.0/16")), std::vector<PeerIndex>{c});
  t.stop();
}
