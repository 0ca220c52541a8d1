// The exporter against a fake connection and a real RIB: what a station is
// sent on connect, as routes change, when a session is lost, and when it
// does not keep up.
#include "bmp/exporter.hpp"

#include <gtest/gtest.h>

#include "bmp/station.hpp"
#include "common/bytes.hpp"

namespace ferry::bmp {
namespace {

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}
Prefix pfx(const char* s) {
  return *Prefix::parse(s);
}

// What the exporter wrote to one connection (outlives the connection object);
// the test decides when writes complete.
struct Rec {
  ConnectionEvents& ev;
  std::vector<std::vector<uint8_t>> writes;
  bool closed = false;
  std::vector<uint8_t> last;
};
struct FakeConn final : Connection {
  std::shared_ptr<Rec> rec;
  explicit FakeConn(std::shared_ptr<Rec> r) : rec(std::move(r)) {}
  void write(std::vector<uint8_t> d) override { rec->writes.push_back(std::move(d)); }
  void close(std::span<const uint8_t> l) override {
    rec->closed = true;
    rec->last.assign(l.begin(), l.end());
  }
};

// One decoded BMP message: type, flags, peer address and the bytes after the
// Per-Peer Header (independent of the encoder: offsets from RFC 7854 §4.1/§4.2).
struct Msg {
  uint8_t type = 0;
  uint8_t flags = 0;
  IpAddress peer;
  std::vector<uint8_t> body;
};
std::vector<Msg> decode(const std::vector<uint8_t>& stream) {
  std::vector<Msg> out;
  ByteReader r(stream);
  while (!r.empty()) {
    EXPECT_EQ(r.u8(), 3);
    auto len = r.u32();
    auto type = r.u8();
    EXPECT_TRUE(len && type && *len >= 6);
    if (!len || !type || *len < 6) break;
    auto body = r.sub(*len - 6);
    EXPECT_TRUE(body.has_value());
    if (!body) break;
    Msg m;
    m.type = *type;
    if (m.type <= 3) {
      body->skip(1);
      m.flags = *body->u8();
      body->skip(8);
      auto a = body->bytes(16);
      m.peer =
          (m.flags & kFlagV) ? IpAddress::v6_bytes(a->data()) : IpAddress::v4_bytes(a->data() + 12);
      body->skip(16);
    }
    auto rest = body->rest();
    m.body.assign(rest.begin(), rest.end());
    out.push_back(std::move(m));
  }
  return out;
}

// The prefixes announced in an IPv4 UPDATE (RFC 4271 §4.3), for the assertions.
std::vector<Prefix> nlri(const std::vector<uint8_t>& update) {
  ByteReader r(update);
  r.skip(19);
  auto wl = r.u16();
  r.skip(*wl);
  auto al = r.u16();
  r.skip(*al);
  std::vector<Prefix> v;
  while (!r.empty()) {
    int len = *r.u8();
    uint8_t b[4] = {};
    r.copy(b, static_cast<size_t>((len + 7) / 8));
    v.push_back(Prefix(IpAddress::v4_bytes(b), len));
  }
  return v;
}

class ExporterTest : public ::testing::Test {
 protected:
  ExporterTest() : rib_(opts()) {
    rib::PeerConfig pc;
    pc.name = "up1";
    pc.address = ip("192.0.2.1");
    pc.remote_asn = Asn(65000);  // iBGP: accepted without import policy (RFC 8212 is eBGP only)
    peer_ = rib_.add_peer(pc);
    rib::PeerSession ps;
    ps.router_id = RouterId(0x0a000001);
    ps.families = {Family::V4};
    rib_.peer_up(peer_, ps);
    attrs_.origin = bgp::Origin::Igp;
    attrs_.next_hop = ip("192.0.2.1");
    attrs_.local_pref = 100;
    open_sent_ = std::vector<uint8_t>(29, 0x11);
    open_recv_ = std::vector<uint8_t>(29, 0x22);
    mp_.id = peer_;
    mp_.name = "up1";
    mp_.address = ip("192.0.2.1");
    mp_.remote_asn = Asn(65000);
    mp_.bgp_id = RouterId(0x0a000001);
    mp_.local_address = ip("192.0.2.2");
    mp_.local_port = 179;
    mp_.remote_port = 40000;
    mp_.open_sent = &open_sent_;
    mp_.open_received = &open_recv_;
  }
  static rib::RibOptions opts() {
    rib::RibOptions o;
    o.local_asn = Asn(65000);
    o.router_id = RouterId(0x0a000002);
    return o;
  }
  void make(StationOptions so, size_t queue_limit = size_t{32} << 20) {
    ExporterOptions eo;
    eo.sys_name = "gw";
    eo.sys_descr = "ferry test";
    so.queue_limit = queue_limit;
    eo.min_backoff = std::chrono::milliseconds(1);
    eo.max_backoff = std::chrono::milliseconds(1);
    so.name = "st";
    so.address = ip("127.0.0.1");
    so.port = 11019;
    so.stats_interval = 0;
    eo.stations = {so};
    ex_ = std::make_unique<Exporter>(
        io_, rib_, eo,
        [this](const IpAddress&, uint16_t, ConnectionEvents& e) {
          conns_.push_back(std::make_shared<Rec>(Rec{e, {}, false, {}}));
          return std::unique_ptr<Connection>(std::make_unique<FakeConn>(conns_.back()));
        },
        [this](const std::function<void(const speaker::MonitoredPeer&)>& fn) { fn(mp_); });
  }
  // Completes every write of the current connection and returns what was written.
  std::vector<Msg> drain() {
    std::vector<uint8_t> all;
    Rec* c = conns_.back().get();
    for (size_t i = 0; i < c->writes.size(); ++i) {
      all.insert(all.end(), c->writes[i].begin(), c->writes[i].end());
      c->ev.written();  // may queue another write: the loop picks it up
    }
    c->writes.clear();
    return decode(all);
  }

  asio::io_context io_;
  rib::Rib rib_;
  rib::PeerId peer_{};
  bgp::PathAttributes attrs_;
  std::vector<uint8_t> open_sent_, open_recv_;
  speaker::MonitoredPeer mp_;
  std::vector<std::shared_ptr<Rec>> conns_;
  std::unique_ptr<Exporter> ex_;
};

TEST_F(ExporterTest, ConnectSendsInitiationPeerUpDumpAndEndOfRib) {
  const Prefix routes[] = {pfx("10.1.0.0/16"), pfx("10.2.0.0/16")};
  rib_.announce(peer_, attrs_, routes);
  make(StationOptions{});
  ASSERT_EQ(conns_.size(), 1u);
  EXPECT_TRUE(conns_[0]->writes.empty());  // nothing before the connection is up
  conns_[0]->ev.connected();
  auto msgs = drain();
  ASSERT_GE(msgs.size(), 4u);
  EXPECT_EQ(msgs[0].type, 4);  // Initiation first (RFC 7854 §4.3)
  EXPECT_EQ(msgs[1].type, 3);  // Peer Up
  EXPECT_EQ(msgs[1].peer, ip("192.0.2.1"));
  // Local address, ports, then both OPENs verbatim.
  ASSERT_EQ(msgs[1].body.size(), 16u + 4 + 29 + 29);
  EXPECT_EQ(msgs[1].body[15], 2);
  EXPECT_EQ(msgs[1].body[16] << 8 | msgs[1].body[17], 179);
  EXPECT_EQ(msgs[1].body[18] << 8 | msgs[1].body[19], 40000);
  EXPECT_EQ(std::vector<uint8_t>(msgs[1].body.begin() + 20, msgs[1].body.begin() + 49), open_sent_);
  EXPECT_EQ(std::vector<uint8_t>(msgs[1].body.begin() + 49, msgs[1].body.end()), open_recv_);
  std::vector<Prefix> dumped;
  size_t eors = 0;
  for (size_t i = 2; i < msgs.size(); ++i) {
    ASSERT_EQ(msgs[i].type, 0);
    EXPECT_EQ(msgs[i].flags, 0);  // pre-policy Adj-RIB-In
    auto n = nlri(msgs[i].body);
    if (msgs[i].body.size() == 23) ++eors;  // IPv4 End-of-RIB
    dumped.insert(dumped.end(), n.begin(), n.end());
  }
  std::sort(dumped.begin(), dumped.end());
  EXPECT_EQ(dumped, std::vector<Prefix>(std::begin(routes), std::end(routes)));
  EXPECT_EQ(eors, 1u);
  EXPECT_EQ(ex_->show()["stations"][0]["state"], "up");
  EXPECT_EQ(ex_->show()["stations"][0]["messages_sent"], msgs.size());
}

TEST_F(ExporterTest, IncrementalUpdatesAndPeerDown) {
  make(StationOptions{});
  conns_[0]->ev.connected();
  drain();
  bgp::DecodedUpdate u;
  u.attrs = attrs_;
  u.nlri = {pfx("10.9.0.0/16")};
  rib_.announce(peer_, u.attrs, u.nlri);
  ex_->received(mp_, u);
  auto msgs = drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, 0);
  EXPECT_EQ(nlri(msgs[0].body), u.nlri);

  bgp::DownCause cause;
  cause.kind = bgp::DownCause::Kind::RemoteNotification;
  cause.notification = std::vector<uint8_t>(16, 0xff);
  for (uint8_t b : {0, 21, 3, 6, 2}) cause.notification.push_back(b);
  ex_->peer_down(mp_, cause);
  msgs = drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, 2);
  ASSERT_EQ(msgs[0].body.size(), 1u + 21);
  EXPECT_EQ(msgs[0].body[0], kDownRemoteNotification);
  EXPECT_EQ(std::vector<uint8_t>(msgs[0].body.begin() + 1, msgs[0].body.end()), cause.notification);
  EXPECT_EQ(ex_->show()["monitored_peers"], 0);
}

TEST_F(ExporterTest, PostPolicyAndAdjRibOutCarryTheirFlags) {
  StationOptions so;
  so.pre_policy = false;
  so.post_policy = true;
  so.adj_rib_out = true;
  make(so);
  conns_[0]->ev.connected();
  drain();
  bgp::DecodedUpdate u;
  u.attrs = attrs_;
  u.nlri = {pfx("10.3.0.0/16")};
  rib_.announce(peer_, u.attrs, u.nlri);
  ex_->received(mp_, u);
  rib::PullResult r;
  r.withdraw = {pfx("10.4.0.0/16")};
  ex_->sent(mp_, r);
  auto msgs = drain();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].flags, kFlagL);  // post-policy Adj-RIB-In
  EXPECT_EQ(nlri(msgs[0].body), u.nlri);
  EXPECT_EQ(msgs[1].flags, kFlagL | kFlagO);  // RFC 8671 post-policy Adj-RIB-Out
}

TEST_F(ExporterTest, SlowStationIsDroppedAndResyncs) {
  make(StationOptions{}, 4096);
  conns_[0]->ev.connected();
  // The first write never completes: the station stopped reading.
  bgp::DecodedUpdate u;
  u.attrs = attrs_;
  for (int i = 0; i < 200; ++i) {
    u.nlri = {Prefix(IpAddress::v4(0x0a000000u + (uint32_t(i) << 8)), 24)};
    ex_->received(mp_, u);
  }
  EXPECT_TRUE(conns_[0]->closed);
  auto st = ex_->show()["stations"][0];
  EXPECT_EQ(st["drops"], 1);
  EXPECT_EQ(st["state"], "backoff");
  EXPECT_EQ(st["queue_bytes"], 0);
  // After the back-off a new connection starts over with Initiation and Peer Up.
  io_.run_for(std::chrono::seconds(5));
  ASSERT_EQ(conns_.size(), 2u);
  conns_[1]->ev.connected();
  auto msgs = drain();
  ASSERT_GE(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].type, 4);
  EXPECT_EQ(msgs[1].type, 3);
}

TEST_F(ExporterTest, ReloadRemovesStationWithTermination) {
  make(StationOptions{});
  conns_[0]->ev.connected();
  drain();
  ExporterOptions none = ex_->options();
  none.stations.clear();
  ex_->apply(none);
  EXPECT_TRUE(conns_[0]->closed);
  auto msgs = decode(conns_[0]->last);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, 5);  // Termination (RFC 7854 §4.5)
  EXPECT_TRUE(ex_->show()["stations"].empty());
}

}  // namespace
}  // namespace ferry::bmp
