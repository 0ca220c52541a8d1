// Modules: the wiring of one ferryd, against fakes (no root, no netlink, no
// TUN): fib::FakeKernel for the kernel route table, a fake route source for
// connected networks and foreign kernel routes, in-memory TUN/UDP for the
// tunnel. Covers start-up, the tunnel view reaching routing, next-hop
// resolution over connected networks, redistribution, reload and stop.
#include "daemon/modules.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "../tunnel/hostile_fakes.hpp"
#include "config/config.hpp"
#include "fib/fake_kernel.hpp"
#include "speaker/peer.hpp"
#include "tunnel/keys.hpp"

using namespace ferry;
using namespace ferry::daemon;
using namespace std::chrono_literals;

namespace {

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}
Prefix pfx(const char* s) {
  return *Prefix::parse(s);
}

// Connected networks and kernel routes the test sets; changes go to the
// listener Modules registered, from the event loop (as fib::KernelRoutes).
class FakeRouteSource : public RouteSource {
 public:
  FakeRouteSource(asio::io_context& io, fib::RouteSourceFilter f, fib::RouteSourceListener& l)
      : io_(io), filter(std::move(f)), listener(l) {}
  Result<void> start(std::function<void(int)> done) override {
    started = true;
    asio::post(io_, [done = std::move(done)] { done(0); });
    return {};
  }
  void stop() override { stopped = true; }
  std::vector<std::pair<Prefix, uint32_t>> connected_networks() const override { return connected; }
  std::optional<std::string> ifname(uint32_t ifindex) const override {
    auto it = names.find(ifindex);
    if (it == names.end()) return std::nullopt;
    return it->second;
  }
  // A connected network appears on an interface; reported from the event loop.
  void add_connected(const char* prefix, uint32_t ifindex) {
    connected.emplace_back(pfx(prefix), ifindex);
    fib::RedistRoute r;
    r.prefix = pfx(prefix);
    r.ifindex = ifindex;
    asio::post(io_, [this, r] { listener.on_route_add(r); });
  }
  // Another daemon (OSPF) installs a kernel route.
  void add_kernel(const char* prefix) {
    fib::RedistRoute r;
    r.source = fib::RedistRoute::Source::Kernel;
    r.prefix = pfx(prefix);
    r.protocol = 89;
    asio::post(io_, [this, r] { listener.on_route_add(r); });
  }

  asio::io_context& io_;
  fib::RouteSourceFilter filter;
  fib::RouteSourceListener& listener;
  std::vector<std::pair<Prefix, uint32_t>> connected;
  std::map<uint32_t, std::string> names;
  bool started = false, stopped = false;
};

constexpr uint32_t kTunIfindex = 42;

class ModulesTest : public ::testing::Test {
 protected:
  ModulesTest() {
    key_ = ::testing::TempDir() + "/modules-key-" + std::to_string(::getpid());
    std::ofstream(key_) << tunnel::key_to_base64(tunnel::generate_private_key()) << "\n";
    ::chmod(key_.c_str(), 0600);
    peer_key_ = tunnel::key_to_base64(tunnel::public_key(tunnel::generate_private_key()));
  }
  ~ModulesTest() override {
    if (modules_) {
      bool done = false;
      modules_->stop("test over", [&] { done = true; });
      run_until([&] { return done; });
    }
    ::unlink(key_.c_str());
  }

  // A gateway with a tunnel to site 2 (inner 169.254.12.2, static allowed-ip
  // 10.50.0.1/32 beyond the tunnel's subnet) and a BGP session with it.
  std::string toml(const std::string& extra = "", const std::string& allowed_extra = "") const {
    return R"(
[router]
asn = 65001
router-id = "10.255.0.1"

[tunnel]
interface = "fake0"
private-key-file = ")" +
           key_ + R"("
listen-port = 51820
addresses = ["169.254.12.1/30"]
workers = 1

[[tunnel.peers]]
name = "site2"
public-key = ")" +
           peer_key_ + R"("
endpoint = "192.0.2.2:51820"
allowed-ips = ["169.254.12.2/32", "10.50.0.1/32")" +
           allowed_extra + R"(]

[bgp]
listen-address = "127.0.0.1"
redistribute = [{ source = "connected", interfaces = ["lan0"] }, { source = "kernel", protocols = ["ospf"] }]

[[bgp.neighbors]]
name = "site2"
address = "169.254.12.2"
remote-asn = 65002
passive = true
)" + extra;
  }

  ModulesOptions options(const std::string& text) {
    auto cfg = config::parse(text, "test.toml");
    EXPECT_TRUE(cfg.ok()) << cfg.error();
    auto o =
        from_config(*cfg, [](const std::string& n) -> uint32_t { return n == "lan0" ? 7 : 0; });
    EXPECT_TRUE(o.ok()) << o.error();
    if (o->speaker) o->speaker->listen_port = 0;  // any free port (the file needs 1..65535)
    return *o;
  }

  ModulesIo fakes() {
    ModulesIo k;
    k.route_kernel = [this](const fib::KernelFibOptions& o) {
      kernel_options_ = o;
      auto f = std::make_unique<fib::FakeKernel>(io_);
      f->routes = previous_routes_;  // what a previous run left in the kernel
      kernel_ = f.get();
      return std::unique_ptr<fib::RouteKernel>(std::move(f));
    };
    k.route_source = [this](fib::RouteSourceFilter f, fib::RouteSourceListener& l) {
      auto s = std::make_unique<FakeRouteSource>(io_, std::move(f), l);
      source_ = s.get();
      return std::unique_ptr<RouteSource>(std::move(s));
    };
    k.tunnel = [this](bool persistent) {
      persistent_ = persistent;
      tunnel::TunnelIo tio;
      tio.open_tun = [](const std::string&, size_t) -> Result<std::unique_ptr<tunnel::TunDevice>> {
        return std::unique_ptr<tunnel::TunDevice>(std::make_unique<tunnel::hostile::FakeTun>());
      };
      tio.open_udp = [this](uint16_t port,
                            size_t) -> Result<std::unique_ptr<tunnel::UdpTransport>> {
        return std::unique_ptr<tunnel::UdpTransport>(std::make_unique<tunnel::hostile::FakeUdp>(
            net_, tunnel::hostile::ep("192.0.2.1", port)));
      };
      tio.iface = std::make_unique<NullIface>();
      tio.ifindex = [](const std::string& n) -> uint32_t { return n == "fake0" ? kTunIfindex : 0; };
      return tio;
    };
    k.bfd_port = 0;  // BFD (on by default across the tunnel) on any free port
    k.ipsec = [this] {
      ipsec::IpsecIo io;
      io.open_tun = [](const std::string&, size_t) -> Result<std::unique_ptr<tunnel::TunDevice>> {
        return std::unique_ptr<tunnel::TunDevice>(std::make_unique<tunnel::hostile::FakeTun>());
      };
      io.open_udp = [this](uint16_t port, size_t) -> Result<std::unique_ptr<tunnel::UdpTransport>> {
        return std::unique_ptr<tunnel::UdpTransport>(std::make_unique<tunnel::hostile::FakeUdp>(
            net_, tunnel::hostile::ep("192.0.2.1", port)));
      };
      io.iface = std::make_unique<NullIface>();
      io.ifindex = [](const std::string&) -> uint32_t { return 43; };
      io.threads = false;
      return io;
    };
    k.tun_exists = [this](const std::string&) { return tun_existed_; };
    k.remove_tun = [this](const std::string& n) -> Result<void> {
      removed_tun_.push_back(n);
      return {};
    };
    k.bmp_connector = [this](const IpAddress& a, uint16_t port, bmp::ConnectionEvents& e) {
      bmp_dials_.push_back({a, port, &e});
      return std::unique_ptr<bmp::Connection>(std::make_unique<FakeBmpConn>(bmp_written_));
    };
    return k;
  }

  void start(const std::string& text) {
    modules_ = std::make_unique<Modules>(io_, options(text), fakes());
    auto r = modules_->start();
    ASSERT_TRUE(r.ok()) << r.error();
    modules_->register_commands(registry_);
    run_idle();
  }

  template <typename Pred>
  bool run_until(Pred pred) {
    for (int i = 0; i < 2000 && !pred(); ++i) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(10ms);
    }
    return pred();
  }
  void run_idle() {
    if (io_.stopped()) io_.restart();
    io_.poll();
  }
  ctl::Json run(const std::string& cmd) {
    auto r = registry_.find(cmd)->handler(ctl::Json::object());
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? *r : ctl::Json{};
  }

  // A BMP station connection that records what goes out (close() too).
  struct FakeBmpConn : bmp::Connection {
    explicit FakeBmpConn(std::vector<uint8_t>& out) : out_(out) {}
    void write(std::vector<uint8_t> d) override { out_.insert(out_.end(), d.begin(), d.end()); }
    void close(std::span<const uint8_t> last) override {
      out_.insert(out_.end(), last.begin(), last.end());
    }
    std::vector<uint8_t>& out_;
  };
  struct BmpDial {
    IpAddress address;
    uint16_t port;
    bmp::ConnectionEvents* events;
  };

  struct NullIface : tunnel::InterfaceConfigurator {
    Result<void> set_mtu(const std::string&, uint32_t) override { return {}; }
    Result<void> set_up(const std::string&, bool) override { return {}; }
    Result<void> add_address(const std::string&, const config::InterfaceAddress&) override {
      return {};
    }
    Result<void> remove_address(const std::string&, const config::InterfaceAddress&) override {
      return {};
    }
  };

  asio::io_context io_;
  std::string key_, peer_key_;
  tunnel::hostile::FakeNet net_;
  fib::FakeKernel* kernel_ = nullptr;
  fib::KernelFibOptions kernel_options_;
  FakeRouteSource* source_ = nullptr;
  bool persistent_ = true;
  std::map<Prefix, fib::RouteTarget> previous_routes_;
  bool tun_existed_ = false;
  std::vector<std::string> removed_tun_;
  std::vector<BmpDial> bmp_dials_;
  std::vector<uint8_t> bmp_written_;  // all BMP connections' bytes
  ctl::Registry registry_;
  std::unique_ptr<Modules> modules_;
};

TEST_F(ModulesTest, StartWiresTheModulesFromTheirOptions) {
  start(toml());
  ASSERT_TRUE(kernel_);
  ASSERT_TRUE(source_);
  EXPECT_TRUE(source_->started);
  // Connected networks are always watched (next-hop resolution needs them); the
  // redistribute selectors come along.
  EXPECT_TRUE(source_->filter.connected);
  ASSERT_EQ(source_->filter.connected_selectors.size(), 1u);
  EXPECT_EQ(source_->filter.connected_selectors[0].interfaces, std::vector<std::string>{"lan0"});
  EXPECT_TRUE(source_->filter.kernel);
  EXPECT_EQ(source_->filter.tunnel_interface, "fake0");
  EXPECT_EQ(kernel_options_.keys.protocol, 200);
  EXPECT_FALSE(persistent_);  // no graceful-restart neighbour
  ASSERT_TRUE(modules_->tunnel());
  ASSERT_TRUE(modules_->speaker());
  EXPECT_NE(modules_->speaker()->listen_port(), 0);
  // Routing has the tunnel's view without asking for it.
  ASSERT_TRUE(modules_->routing());
  const tunnel::View& v = modules_->routing()->tunnel();
  EXPECT_EQ(v.ifindex, kTunIfindex);
  ASSERT_EQ(v.peers.size(), 1u);
  EXPECT_EQ(v.peers[0].name, "site2");
  EXPECT_EQ(v.peers[0].endpoint, ip("192.0.2.2"));
  // The static allowed-ip beyond the tunnel's subnet is routed into the tunnel device.
  const fib::RouteTarget* t = modules_->fib()->desired(pfx("10.50.0.1/32"));
  ASSERT_TRUE(t);
  ASSERT_EQ(t->nexthops.size(), 1u);
  EXPECT_EQ(t->nexthops[0].ifindex, kTunIfindex);
  ASSERT_TRUE(run_until([&] { return kernel_->routes.count(pfx("10.50.0.1/32")) == 1; }));
}

TEST_F(ModulesTest, ConnectedNetworksResolveNextHopsAndSelectedOnesAreRedistributed) {
  start(toml(R"(
[[static-routes]]
prefix = "10.60.0.0/16"
next-hop = "192.168.7.1"
)"));
  EXPECT_FALSE(modules_->fib()->desired(pfx("10.60.0.0/16")));  // gateway not reachable yet
  source_->names[7] = "lan0";
  source_->names[8] = "wan0";
  source_->add_connected("192.168.7.0/24", 7);
  source_->add_connected("198.51.100.0/24", 8);
  run_idle();
  const fib::RouteTarget* t = modules_->fib()->desired(pfx("10.60.0.0/16"));
  ASSERT_TRUE(t);
  ASSERT_EQ(t->nexthops.size(), 1u);
  EXPECT_EQ(t->nexthops[0].gateway, ip("192.168.7.1"));
  EXPECT_EQ(t->nexthops[0].ifindex, 7u);
  // lan0 is selected by `redistribute`, wan0 is not; kernel routes of OSPF are.
  source_->add_kernel("10.70.0.0/16");
  run_idle();
  auto best_source = [&](const char* p) -> std::optional<rib::RouteSource> {
    for (const auto& v : modules_->rib().show_route(pfx(p)))
      if (v.best) return v.source;
    return std::nullopt;
  };
  EXPECT_EQ(best_source("192.168.7.0/24"), rib::RouteSource::Connected);
  EXPECT_FALSE(best_source("198.51.100.0/24"));
  EXPECT_EQ(best_source("10.70.0.0/16"), rib::RouteSource::Kernel);
  EXPECT_EQ(best_source("10.60.0.0/16"), rib::RouteSource::Static);
}

TEST_F(ModulesTest, ReloadAppliesLiveChangesAndRefusesRestartOnes) {
  start(toml());
  const tunnel::PeerIndex site2 = modules_->routing()->tunnel().peers.at(0).id;
  // A new static allowed-ip: the tunnel publishes, routing routes it into the tunnel.
  ASSERT_TRUE(modules_->apply(options(toml("", R"(, "10.51.0.0/16")"))).ok());
  ASSERT_TRUE(modules_->fib()->desired(pfx("10.51.0.0/16")));
  EXPECT_EQ(modules_->routing()->tunnel().peers.at(0).allowed_ips.size(), 3u);
  EXPECT_EQ(modules_->routing()->tunnel().peers.at(0).id, site2);
  // A static route added on reload is originated and installed.
  ASSERT_TRUE(modules_
                  ->apply(options(toml(R"(
[[static-routes]]
prefix = "10.66.0.0/16"
blackhole = true
)")))
                  .ok());
  const fib::RouteTarget* bh = modules_->fib()->desired(pfx("10.66.0.0/16"));
  ASSERT_TRUE(bh);
  EXPECT_EQ(bh->type, fib::RouteType::Blackhole);
  EXPECT_FALSE(modules_->fib()->desired(pfx("10.51.0.0/16")));  // gone with that reload
  // What needs a restart is refused and nothing changes.
  std::string asn = toml();
  asn.replace(asn.find("asn = 65001"), 11, "asn = 65009");
  auto r = modules_->apply(options(asn));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("restart"), std::string::npos);
  EXPECT_EQ(modules_->options().rib.local_asn, Asn(65001));
  EXPECT_TRUE(modules_->fib()->desired(pfx("10.66.0.0/16")));
  std::string no_bgp = toml();
  no_bgp.erase(no_bgp.find("[bgp]"));
  r = modules_->apply(options(no_bgp));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("[bgp]"), std::string::npos);
  std::string table = toml("\n[fib]\ntable = 100\n");
  r = modules_->apply(options(table));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("fib table"), std::string::npos);
}

TEST_F(ModulesTest, IpsecTunnelIsStartedAndShownNextToTheWireGuardPeers) {
  const std::string psk = key_ + ".psk";
  std::ofstream(psk) << "shared secret\n";
  ::chmod(psk.c_str(), 0600);
  const std::string ipsec = R"(
[ipsec]
interface = "fake-ipsec"
[[ipsec.peers]]
name = "cloud"
preset = "aws"
endpoint = "192.0.2.9:500"
local-id = "192.0.2.1"
psk-file = ")" + psk + R"("
allowed-ips = ["10.60.0.0/16"]
)";
  start(toml(ipsec));
  ctl::Json j = run("show tunnels");
  EXPECT_EQ(j["peers"][0]["name"], "site2");  // the WireGuard peer, as before
  EXPECT_EQ(j["ipsec"]["interface"], "fake-ipsec");
  ASSERT_EQ(j["ipsec"]["peers"].size(), 1u);
  EXPECT_EQ(j["ipsec"]["peers"][0]["name"], "cloud");
  EXPECT_EQ(j["ipsec"]["peers"][0]["up"], false);  // nobody answers at 192.0.2.9
  EXPECT_EQ(j["ipsec"]["peers"][0]["allowed_ips"], ctl::Json::array({"10.60.0.0/16"}));
  // The engine runs from the loop: its IKE_SA_INIT went out on port 500.
  ASSERT_TRUE(run_until([&] {
    return std::any_of(net_.log.begin(), net_.log.end(),
                       [](const auto& d) { return d.to == tunnel::hostile::ep("192.0.2.9", 500); });
  }));
  // The metrics snapshot carries the IPsec peer's counters and SA states (the
  // IKE_SA_INIT in flight), without prefix lists.
  ctl::Json m = modules_->metrics_snapshot()["ipsec"];
  EXPECT_EQ(m["interface"], "fake-ipsec");
  ASSERT_EQ(m["peers"].size(), 1u);
  EXPECT_EQ(m["peers"][0]["name"], "cloud");
  EXPECT_EQ(m["peers"][0]["up"], false);
  EXPECT_EQ(m["peers"][0]["child_sas"], 0);
  EXPECT_FALSE(m["peers"][0].contains("allowed_ips"));
  EXPECT_GE(m["peers"][0]["ike_sas"].size(), 1u);
  auto r = registry_.find("clear tunnel")->handler(ctl::Json{{"name", "nobody"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("no peer nobody"), std::string::npos);
  std::string changed = toml(ipsec);
  changed.replace(changed.find("10.60.0.0/16"), 12, "10.61.0.0/16");
  auto a = modules_->apply(options(changed));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().find("[ipsec]"), std::string::npos);
  ::unlink(psk.c_str());
}

TEST_F(ModulesTest, ShowFibReportsRoutesAndTheLoopGuard) {
  // An allowed-ip that covers the peer's own endpoint gets no kernel route.
  start(toml("", R"(, "192.0.2.0/24")"));
  auto j = run("show fib");
  EXPECT_EQ(j["enabled"], true);
  EXPECT_EQ(j["graceful_restart"]["enabled"], false);
  ASSERT_EQ(j["tunnel_loop_guard"]["withheld"].size(), 1u);
  const auto& w = j["tunnel_loop_guard"]["withheld"][0];
  EXPECT_EQ(w["prefix"], "192.0.2.0/24");
  EXPECT_EQ(w["kind"], "allowed-ip");
  EXPECT_EQ(w["peer"], "site2");
  EXPECT_EQ(w["endpoint"], "192.0.2.2");
  EXPECT_FALSE(modules_->fib()->desired(pfx("192.0.2.0/24")));
  EXPECT_TRUE(modules_->fib()->desired(pfx("10.50.0.1/32")));
  ASSERT_NE(registry_.find("show tunnels"), nullptr);
  ASSERT_NE(registry_.find("show neighbors"), nullptr);
  // BFD is on by default for a neighbour reached through a tunnel peer.
  EXPECT_EQ(run("show bfd")["sessions"].size(), 1u);
}

TEST_F(ModulesTest, StopRemovesTheKernelRoutesAndStopsTheSources) {
  start(toml());
  ASSERT_TRUE(run_until([&] { return kernel_->routes.count(pfx("10.50.0.1/32")) == 1; }));
  bool done = false;
  modules_->stop("bye", [&] { done = true; });
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_TRUE(source_->stopped);
  EXPECT_FALSE(modules_->tunnel()->running());
  EXPECT_EQ(kernel_->routes.count(pfx("10.50.0.1/32")), 0u);
  EXPECT_TRUE(removed_tun_.empty());  // not persistent: the tunnel removed its own interface
  modules_.reset();
}

// Graceful restart, restarting speaker (RFC 4724 §4.1): the kernel is the state.
TEST_F(ModulesTest, GracefulRestartKeepsThePreviousRunsRoutesAndItsInterface) {
  tun_existed_ = true;
  fib::NextHop into_tunnel;
  into_tunnel.ifindex = kTunIfindex;
  previous_routes_[pfx("10.2.0.0/16")] = fib::RouteTarget::via({into_tunnel});
  start(toml("graceful-restart = true\n"));
  EXPECT_TRUE(persistent_);  // the TUN interface outlives the process
  // BGP starts only once the FIB's first dump told whether forwarding state survived.
  ASSERT_TRUE(run_until([&] { return modules_->speaker()->listen_port() != 0; }));
  EXPECT_TRUE(modules_->speaker()->restarting());
  EXPECT_TRUE(modules_->speaker()->deferring());
  auto gr = run("show fib")["graceful_restart"];
  EXPECT_EQ(gr["enabled"], true);
  EXPECT_EQ(gr["persistent_interface"], "fake0");
  EXPECT_EQ(gr["restarting"], true);
  EXPECT_EQ(gr["routes_at_start"], 1);
  EXPECT_EQ(gr["stale_routes"], 1);
  EXPECT_TRUE(gr["complete"].is_null());
  EXPECT_EQ(kernel_->routes.count(pfx("10.2.0.0/16")), 1u);  // kept, not deleted
  // A clean stop removes the persistent interface (fib.keep-on-shutdown is off).
  bool done = false;
  modules_->stop("bye", [&] { done = true; });
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_EQ(removed_tun_, std::vector<std::string>{"fake0"});
  modules_.reset();
}

TEST_F(ModulesTest, GracefulRestartWithKeepOnShutdownLeavesTheInterface) {
  start(toml("graceful-restart = true\n\n[fib]\nkeep-on-shutdown = true\n"));
  EXPECT_TRUE(persistent_);
  ASSERT_TRUE(run_until([&] { return modules_->speaker()->listen_port() != 0; }));
  EXPECT_FALSE(modules_->speaker()->restarting());  // nothing of ours in the kernel: a fresh start
  bool done = false;
  modules_->stop("bye", [&] { done = true; });
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_TRUE(removed_tun_.empty());
  modules_.reset();
}

TEST_F(ModulesTest, KeepOnShutdownLeavesTheKernelRoutes) {
  start(toml("\n[fib]\nkeep-on-shutdown = true\n"));
  ASSERT_TRUE(run_until([&] { return kernel_->routes.count(pfx("10.50.0.1/32")) == 1; }));
  bool done = false;
  modules_->stop("bye", [&] { done = true; });
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_EQ(kernel_->routes.count(pfx("10.50.0.1/32")), 1u);
  modules_.reset();
}

TEST_F(ModulesTest, BmpStationsFollowTheConfigurationAndGetTheSpeakersSessions) {
  const std::string station = "\n[[bmp]]\nname = \"noc\"\nstation = \"127.0.0.1:11019\"\n";
  start(toml(station));
  ASSERT_TRUE(modules_->bmp());
  EXPECT_EQ(modules_->speaker()->monitor(), modules_->bmp());  // the speaker reports to it
  ASSERT_EQ(bmp_dials_.size(), 1u);
  EXPECT_EQ(bmp_dials_[0].address, ip("127.0.0.1"));
  EXPECT_EQ(bmp_dials_[0].port, 11019);
  ctl::Json j = run("show bmp");
  ASSERT_EQ(j["stations"].size(), 1u);
  EXPECT_EQ(j["stations"][0]["name"], "noc");
  EXPECT_EQ(j["stations"][0]["state"], "connecting");
  bmp_dials_[0].events->connected();
  ASSERT_GE(bmp_written_.size(), 6u);
  EXPECT_EQ(bmp_written_[5], 4);  // RFC 7854 §4.3: Initiation first
  EXPECT_EQ(run("show bmp")["stations"][0]["state"], "up");
  // Reload without the station: a Termination goes out and it is gone.
  bmp_written_.clear();
  ASSERT_TRUE(modules_->apply(options(toml())).ok());
  ASSERT_GE(bmp_written_.size(), 6u);
  EXPECT_EQ(bmp_written_[5], 5);  // Termination (§4.5)
  EXPECT_TRUE(run("show bmp")["stations"].empty());
  // And back on the next reload.
  ASSERT_TRUE(modules_->apply(options(toml(station))).ok());
  EXPECT_EQ(bmp_dials_.size(), 2u);
  EXPECT_EQ(run("show bmp")["stations"].size(), 1u);
}

}  // namespace

// Fate sharing (docs/liveness.md): evidence that the tunnel peer is dead holds
// down every session across it and makes next hops through it unresolvable;
// after the inputs recover and the hold-down ends, both come back.
TEST_F(ModulesTest, ADeadTunnelPeerHoldsItsSessionsDownUntilItsHoldDownEnds) {
  // bfd = false: nothing but the test's reports feeds the peer's liveness.
  start(toml("bfd = false\n\n[liveness]\nhold-down-ms = 30\n"));
  liveness::InputSink* sink = modules_->liveness_input();
  ASSERT_TRUE(sink);
  auto peer = modules_->routing()->tunnel_peer_of(ip("169.254.12.2"));
  ASSERT_TRUE(peer);
  speaker::Peer* n = modules_->speaker()->find("site2");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->gate_open());
  EXPECT_NE(n->session().state(), bgp::FsmState::Idle);  // passive: waiting in Active
  EXPECT_TRUE(modules_->routing()->resolve(ip("169.254.12.2")).reachable);

  const liveness::InputId ipsec{liveness::InputKind::Ipsec, "dpd"};
  sink->report(*peer, ipsec, liveness::Verdict::Down, "3 DPD probes unanswered");
  EXPECT_FALSE(n->gate_open());
  EXPECT_EQ(n->session().state(), bgp::FsmState::Idle);
  EXPECT_FALSE(modules_->routing()->resolve(ip("169.254.12.2")).reachable);
  ctl::Json nb = run("show neighbors")["neighbors"][0];
  EXPECT_TRUE(nb["held_down"].get<bool>());
  EXPECT_EQ(nb["liveness"]["peer"], "site2");
  EXPECT_EQ(nb["liveness"]["state"], "down");
  EXPECT_EQ(nb["liveness"]["reason"], "ipsec dpd down: 3 DPD probes unanswered");
  EXPECT_EQ(nb["last_error"],
            "held down: tunnel peer site2 down (ipsec dpd down: 3 DPD probes unanswered)");
  ctl::Json tp = run("show tunnels")["peers"][0];
  EXPECT_EQ(tp["liveness"]["state"], "down");
  EXPECT_EQ(tp["liveness"]["failures"], 1);

  sink->report(*peer, ipsec, liveness::Verdict::Up, "probe answered");
  EXPECT_FALSE(n->gate_open());  // holding down
  EXPECT_EQ(run("show tunnels")["peers"][0]["liveness"]["state"], "hold-down");
  ASSERT_TRUE(run_until([&] { return n->gate_open(); }));
  EXPECT_NE(n->session().state(), bgp::FsmState::Idle);
  EXPECT_TRUE(modules_->routing()->resolve(ip("169.254.12.2")).reachable);
  EXPECT_EQ(run("show neighbors")["neighbors"][0]["liveness"]["state"], "up");
}

// Strict mode: the session stays Idle until its own BFD session is Up.
TEST_F(ModulesTest, StrictModeWaitsForTheNeighboursBfdSession) {
  start(toml("bfd-strict = true\n"));
  speaker::Peer* n = modules_->speaker()->find("site2");
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->gate_open());
  EXPECT_EQ(n->session().state(), bgp::FsmState::Idle);
  EXPECT_NE(run("show neighbors")["neighbors"][0]["held_down_reason"].get<std::string>().find(
                "strict mode: waiting for BFD 169.254.12.2"),
            std::string::npos);
  auto peer = modules_->routing()->tunnel_peer_of(ip("169.254.12.2"));
  ASSERT_TRUE(peer);
  // What the BFD listener reports when the session comes up.
  modules_->liveness_input()->report(*peer, {liveness::InputKind::Bfd, "169.254.12.2"},
                                     liveness::Verdict::Up, "session up");
  EXPECT_TRUE(n->gate_open());
  EXPECT_NE(n->session().state(), bgp::FsmState::Idle);
}
