// bgp::Session against a scripted peer over real loopback TCP (no root).
// The scripted peer runs blocking I/O on its own thread (socket receive
// timeouts bound every read); the session runs on the test's io_context.
#include "bgp/session.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "bgp/nlri.hpp"
#include "bgp/transport.hpp"

namespace ferry::bgp {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;

template <class Pred>
bool run_until(asio::io_context& io, Pred pred, std::chrono::seconds limit = 15s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.run_one_for(20ms);
  }
  return true;
}

struct Recorder : SessionListener {
  std::atomic<int> established{0};
  std::atomic<int> down{0};
  std::string down_reason;
  std::vector<Prefix> announced;
  std::vector<Prefix> withdrawn;
  std::vector<UpdateOutcome> outcomes;
  void session_established(Session&) override { ++established; }
  bool last_down_graceful = false;
  void session_down(Session&, const std::string& r, bool graceful) override {
    down_reason = r;
    last_down_graceful = graceful;
    ++down;
  }
  void session_update(Session&, DecodedUpdate& u) override {
    outcomes.push_back(u.outcome);
    announced.insert(announced.end(), u.nlri.begin(), u.nlri.end());
    withdrawn.insert(withdrawn.end(), u.withdrawn.begin(), u.withdrawn.end());
  }
  void session_route_refresh(Session&, const RouteRefresh&) override {}
  void session_writable(Session&) override {}
};

// A hand-driven BGP speaker on a blocking socket.
struct ScriptPeer {
  asio::io_context io;
  tcp::acceptor acc{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  tcp::socket sock{io};
  uint16_t port() const { return acc.local_endpoint().port(); }

  void accept() {
    acc.accept(sock);
    timeval tv{5, 0};
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  void write(const std::vector<uint8_t>& b) { asio::write(sock, asio::buffer(b)); }
  // Reads one message; returns {type, body}. Throws on timeout/EOF.
  std::pair<MessageType, std::vector<uint8_t>> read() {
    std::vector<uint8_t> hdr(kHeaderLen);
    asio::read(sock, asio::buffer(hdr));
    size_t len = size_t{hdr[16]} << 8 | hdr[17];
    std::vector<uint8_t> body(len - kHeaderLen);
    if (!body.empty()) asio::read(sock, asio::buffer(body));
    return {static_cast<MessageType>(hdr[18]), body};
  }
  // Reads until a message of type t (skipping KEEPALIVEs etc).
  std::vector<uint8_t> read_until(MessageType t) {
    for (;;) {
      auto [type, body] = read();
      if (type == t) return body;
    }
  }
  OpenMessage theirs;  // the session's OPEN, after handshake()
  // gr: also offer graceful restart (IPv4 forwarding preserved, 120 s), with
  // the RFC 8538 N bit when `nbit`.
  void handshake(uint32_t asn, uint16_t hold, bool gr = false, bool nbit = false) {
    accept();
    auto open_body = read_until(MessageType::Open);
    ASSERT_FALSE(decode_open(open_body, theirs).has_value());
    OpenMessage m;
    m.my_as = open_my_as(asn);
    m.hold_time = hold;
    m.bgp_id = RouterId(0x0a000002);
    m.caps.four_octet_as = asn;
    m.caps.multiprotocol.push_back(AfiSafi{kAfiIpv4, kSafiUnicast});
    m.caps.route_refresh = true;
    if (gr) {
      GracefulRestartCap g;
      g.notification = nbit;
      g.restart_time = 120;
      g.families.push_back({AfiSafi{kAfiIpv4, kSafiUnicast}, true});
      m.caps.graceful_restart = g;
    }
    std::vector<uint8_t> out;
    encode_open(m, out);
    encode_keepalive(out);
    write(out);
    read_until(MessageType::Keepalive);
  }
};

SessionConfig make_cfg(uint16_t port) {
  SessionConfig c;
  c.name = "scripted";
  c.peer = *IpAddress::parse("127.0.0.1");
  c.port = port;
  c.local_asn = Asn(65001);
  c.router_id = RouterId(0x0a000001);
  c.remote_asn = Asn(65002);
  c.hold_time = 90;
  c.connect_retry = 1;
  c.multihop = 2;
  return c;
}

// UPDATE body helpers: withdrawn routes, attributes, NLRI (RFC 4271 §4.3).
std::vector<uint8_t> update(std::vector<uint8_t> attrs, std::vector<uint8_t> nlri) {
  std::vector<uint8_t> out;
  size_t at = begin_message(MessageType::Update, out);
  ByteWriter w(out);
  w.u16(0);  // withdrawn routes length
  w.u16(static_cast<uint16_t>(attrs.size()));
  w.bytes(attrs);
  w.bytes(nlri);
  finish_message(at, out);
  return out;
}

std::vector<uint8_t> good_attrs(uint8_t origin = 0) {
  return {
      0x40, 1, 1, origin,                             // ORIGIN
      0x40, 2, 6, 2,      1, 0x00, 0x00, 0xfd, 0xea,  // AS_PATH: SEQUENCE [65002] (4-octet)
      0x40, 3, 4, 127,    0, 0,    1,                 // NEXT_HOP 127.0.0.1
  };
}

class SessionTest : public ::testing::Test {
 protected:
  asio::io_context io;
  Recorder rec;
  ScriptPeer peer;
};

TEST_F(SessionTest, OpenNegotiationAndRouteReceive) {
  auto cfg = make_cfg(peer.port());
  Session s(io, cfg, rec);
  std::atomic<bool> done{false};
  std::thread t([&] {
    peer.handshake(65002, 30);
    peer.write(update(good_attrs(), {24, 192, 0, 2}));
    done = true;
  });
  s.start();
  ASSERT_TRUE(run_until(io, [&] { return done && rec.announced.size() == 1; }));
  t.join();
  EXPECT_TRUE(s.established());
  EXPECT_EQ(s.negotiated().hold_time, 30);  // min(90, 30)
  EXPECT_TRUE(s.negotiated().four_octet_as);
  EXPECT_TRUE(s.negotiated().route_refresh);
  EXPECT_EQ(rec.announced[0], *Prefix::parse("192.0.2.0/24"));
  EXPECT_EQ(s.remote_open().bgp_id, RouterId(0x0a000002));
  // Both OPENs as they went over the wire, and the ports, for monitoring (RFC 7854 §4.10).
  ASSERT_GT(s.open_sent().size(), kHeaderLen);
  ASSERT_GT(s.open_received().size(), kHeaderLen);
  EXPECT_EQ(s.open_sent()[18], static_cast<uint8_t>(MessageType::Open));
  OpenMessage sent, received;
  ASSERT_FALSE(decode_open(std::span(s.open_sent()).subspan(kHeaderLen), sent).has_value());
  ASSERT_FALSE(decode_open(std::span(s.open_received()).subspan(kHeaderLen), received).has_value());
  EXPECT_EQ(sent.bgp_id, RouterId(0x0a000001));
  EXPECT_EQ(received.bgp_id, RouterId(0x0a000002));
  EXPECT_EQ(received.hold_time, 30);
  EXPECT_EQ(s.remote_port(), peer.port());
  EXPECT_NE(s.local_port(), 0);
}

TEST_F(SessionTest, MalformedUpdateGetsNotification) {
  auto cfg = make_cfg(peer.port());
  Session s(io, cfg, rec);
  std::promise<std::vector<uint8_t>> note;
  std::thread t([&] {
    peer.handshake(65002, 90);
    // Withdrawn Routes Length runs past the message: RFC 4271 §6.3 / RFC 7606 §4
    // -> 3/1 Malformed Attribute List, session reset.
    std::vector<uint8_t> out;
    size_t at = begin_message(MessageType::Update, out);
    ByteWriter w(out);
    w.u16(200);
    w.u16(0);
    finish_message(at, out);
    peer.write(out);
    try {
      note.set_value(peer.read_until(MessageType::Notification));
    } catch (...) {
      note.set_exception(std::current_exception());
    }
  });
  s.start();
  auto fut = note.get_future();
  ASSERT_TRUE(
      run_until(io, [&] { return fut.wait_for(0s) == std::future_status::ready && rec.down > 0; }));
  t.join();
  auto body = fut.get();
  ASSERT_GE(body.size(), 2u);
  EXPECT_EQ(body[0], kErrUpdate);
  EXPECT_EQ(body[1], kSubMalformedAttributeList);
  EXPECT_NE(s.state(), FsmState::Established);
  EXPECT_NE(s.last_error().find("sent"), std::string::npos);
}

TEST_F(SessionTest, TreatAsWithdrawKeepsSession) {
  auto cfg = make_cfg(peer.port());
  Session s(io, cfg, rec);
  std::atomic<bool> done{false};
  std::thread t([&] {
    peer.handshake(65002, 90);
    peer.write(update(good_attrs(), {24, 192, 0, 2}));
    // RFC 7606 §7.1: a bad ORIGIN value is treat-as-withdraw.
    peer.write(update(good_attrs(7), {24, 192, 0, 2}));
    // The session must still be usable afterwards.
    peer.write(update(good_attrs(), {24, 198, 51, 100}));
    done = true;
  });
  s.start();
  ASSERT_TRUE(run_until(io, [&] { return done && rec.outcomes.size() == 3; }));
  t.join();
  EXPECT_TRUE(s.established());
  EXPECT_EQ(rec.down, 0);
  EXPECT_EQ(rec.outcomes[1], UpdateOutcome::TreatAsWithdraw);
  ASSERT_EQ(rec.withdrawn.size(), 1u);
  EXPECT_EQ(rec.withdrawn[0], *Prefix::parse("192.0.2.0/24"));
  EXPECT_EQ(s.counters().update_errors, 1u);
  EXPECT_EQ(rec.announced.back(), *Prefix::parse("198.51.100.0/24"));
}

TEST_F(SessionTest, HoldTimerExpirySendsNotification) {
  auto cfg = make_cfg(peer.port());
  cfg.hold_time = 3;
  Session s(io, cfg, rec);
  std::promise<std::vector<uint8_t>> note;
  std::thread t([&] {
    peer.handshake(65002, 3);
    // Say nothing more: the session's 3 s hold timer must expire (RFC 4271 §6.5).
    try {
      note.set_value(peer.read_until(MessageType::Notification));
    } catch (...) {
      note.set_exception(std::current_exception());
    }
  });
  s.start();
  auto fut = note.get_future();
  ASSERT_TRUE(
      run_until(io, [&] { return fut.wait_for(0s) == std::future_status::ready && rec.down > 0; }));
  t.join();
  auto body = fut.get();
  ASSERT_GE(body.size(), 2u);
  EXPECT_EQ(body[0], kErrHoldTimerExpired);
  EXPECT_EQ(rec.established, 1);
  // RFC 7854 §4.9 reason 1: we sent the NOTIFICATION; the whole PDU is kept.
  EXPECT_EQ(s.down_cause().kind, DownCause::Kind::LocalNotification);
  ASSERT_EQ(s.down_cause().notification.size(), kHeaderLen + body.size());
  EXPECT_EQ(s.down_cause().notification[18], static_cast<uint8_t>(MessageType::Notification));
  EXPECT_EQ(s.down_cause().notification[19], kErrHoldTimerExpired);
}

TEST_F(SessionTest, DownCauseNamesTheSideThatClosed) {
  auto cfg = make_cfg(peer.port());
  Session s(io, cfg, rec);
  std::atomic<bool> sent{false};
  std::thread t([&] {
    peer.handshake(65002, 90);
    std::vector<uint8_t> n;
    encode_notification(Notification{kErrCease, kSubAdminShutdown, {}}, n);
    peer.write(n);
    sent = true;
  });
  s.start();
  ASSERT_TRUE(run_until(io, [&] { return sent && rec.down > 0; }));
  t.join();
  // Reason 3: the peer's NOTIFICATION, as received.
  EXPECT_EQ(s.down_cause().kind, DownCause::Kind::RemoteNotification);
  std::vector<uint8_t> want;
  encode_notification(Notification{kErrCease, kSubAdminShutdown, {}}, want);
  EXPECT_EQ(s.down_cause().notification, want);
}

TEST_F(SessionTest, WrongPeerAsRejected) {
  auto cfg = make_cfg(peer.port());
  Session s(io, cfg, rec);
  std::promise<std::vector<uint8_t>> note;
  std::thread t([&] {
    try {
      peer.accept();
      peer.read_until(MessageType::Open);
      OpenMessage m;
      m.my_as = open_my_as(65099);
      m.hold_time = 90;
      m.bgp_id = RouterId(0x0a000002);
      m.caps.four_octet_as = 65099;
      std::vector<uint8_t> out;
      encode_open(m, out);
      peer.write(out);
      note.set_value(peer.read_until(MessageType::Notification));
    } catch (...) {
      note.set_exception(std::current_exception());
    }
  });
  s.start();
  auto fut = note.get_future();
  ASSERT_TRUE(run_until(io, [&] { return fut.wait_for(0s) == std::future_status::ready; }));
  t.join();
  auto body = fut.get();
  EXPECT_EQ(body[0], kErrOpen);
  EXPECT_EQ(body[1], kSubBadPeerAs);
  EXPECT_EQ(rec.established, 0);
}

TEST_F(SessionTest, StopSendsCeaseWithShutdownCommunication) {
  auto cfg = make_cfg(peer.port());
  Session s(io, cfg, rec);
  std::promise<std::vector<uint8_t>> note;
  std::atomic<bool> up{false};
  std::thread t([&] {
    try {
      peer.handshake(65002, 90);
      up = true;
      note.set_value(peer.read_until(MessageType::Notification));
    } catch (...) {
      note.set_exception(std::current_exception());
    }
  });
  s.start();
  ASSERT_TRUE(run_until(io, [&] { return up && s.established(); }));
  s.stop(Notification::shutdown(kSubAdminShutdown, "planned maintenance"));
  auto fut = note.get_future();
  ASSERT_TRUE(run_until(io, [&] { return fut.wait_for(0s) == std::future_status::ready; }));
  t.join();
  Notification n = decode_notification(fut.get());
  EXPECT_EQ(n.code, kErrCease);
  EXPECT_EQ(n.subcode, kSubAdminShutdown);
  EXPECT_EQ(n.shutdown_message(), "planned maintenance");
  EXPECT_EQ(rec.down, 1);
  EXPECT_EQ(s.state(), FsmState::Idle);
}

// A client-side scripted peer: connects to port, answers the session's OPEN.
void client_handshake(tcp::socket& c, uint16_t port, bool graceful_restart = false) {
  c.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  timeval tv{5, 0};
  setsockopt(c.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  auto read_type = [&](MessageType want) {
    for (;;) {
      std::vector<uint8_t> hdr(kHeaderLen);
      asio::read(c, asio::buffer(hdr));
      size_t len = size_t{hdr[16]} << 8 | hdr[17];
      std::vector<uint8_t> body(len - kHeaderLen);
      if (!body.empty()) asio::read(c, asio::buffer(body));
      if (static_cast<MessageType>(hdr[18]) == want) return;
    }
  };
  read_type(MessageType::Open);
  OpenMessage m;
  m.my_as = open_my_as(65002);
  m.hold_time = 90;
  m.bgp_id = RouterId(0x0a000002);
  m.caps.four_octet_as = 65002;
  if (graceful_restart) {
    GracefulRestartCap gr;
    gr.restart_time = 120;
    gr.families.push_back({AfiSafi{kAfiIpv4, kSafiUnicast}, true});
    m.caps.graceful_restart = gr;
  }
  std::vector<uint8_t> out;
  encode_open(m, out);
  encode_keepalive(out);
  asio::write(c, asio::buffer(out));
  read_type(MessageType::Keepalive);
}

TEST_F(SessionTest, PassiveSessionTakesReconnectDuringIdleHold) {
  // A peer whose connection dropped (it restarted) reconnects at once: the session must
  // accept it rather than refuse it for its idle-hold backoff.
  auto cfg = make_cfg(1);
  cfg.passive = true;
  Session s(io, cfg, rec);
  s.start();
  EXPECT_EQ(s.state(), FsmState::Active);
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = acc.local_endpoint().port();
  std::vector<bool> accepted;
  std::function<void()> loop = [&] {
    acc.async_accept([&](asio::error_code ec, tcp::socket sock) {
      if (ec) return;
      accepted.push_back(s.accept(std::move(sock)));
      loop();
    });
  };
  loop();
  std::atomic<int> step{0};
  std::thread t([&] {
    asio::io_context cio;
    tcp::socket c1(cio);
    client_handshake(c1, port);
    step = 1;
    while (step != 2) std::this_thread::sleep_for(5ms);
    c1.close();  // "restart": the TCP connection goes away without a NOTIFICATION
    while (step != 3) std::this_thread::sleep_for(5ms);
    tcp::socket c2(cio);
    client_handshake(c2, port);
    step = 4;
    while (step != 5) std::this_thread::sleep_for(5ms);
  });
  ASSERT_TRUE(run_until(io, [&] { return step == 1 && s.established(); }));
  step = 2;
  ASSERT_TRUE(run_until(io, [&] { return rec.down == 1; }));
  EXPECT_EQ(s.state(), FsmState::Idle);
  step = 3;
  ASSERT_TRUE(run_until(io, [&] { return step == 4 && s.established(); }));
  step = 5;
  t.join();
  EXPECT_EQ(accepted, (std::vector<bool>{true, true}));
  EXPECT_EQ(rec.established, 2);
}

TEST_F(SessionTest, GracefulRestartPeerReconnectingReplacesEstablishedSession) {
  // RFC 4724 §4.2: the peer restarted without closing the old connection (crash, power
  // loss); its new connection replaces the established one and the loss is graceful.
  auto cfg = make_cfg(1);
  cfg.passive = true;
  cfg.graceful_restart = true;
  Session s(io, cfg, rec);
  s.start();
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = acc.local_endpoint().port();
  std::vector<bool> accepted;
  std::function<void()> loop = [&] {
    acc.async_accept([&](asio::error_code ec, tcp::socket sock) {
      if (ec) return;
      accepted.push_back(s.accept(std::move(sock)));
      loop();
    });
  };
  loop();
  std::atomic<int> step{0};
  std::thread t([&] {
    asio::io_context cio;
    tcp::socket c1(cio), c2(cio);
    client_handshake(c1, port, true);
    step = 1;
    while (step != 2) std::this_thread::sleep_for(5ms);
    client_handshake(c2, port, true);  // c1 stays open: the peer "forgot" it
    step = 3;
    while (step != 4) std::this_thread::sleep_for(5ms);
  });
  ASSERT_TRUE(run_until(io, [&] { return step == 1 && s.established(); }));
  step = 2;
  ASSERT_TRUE(run_until(io, [&] { return step == 3 && rec.established == 2 && s.established(); }));
  step = 4;
  t.join();
  EXPECT_EQ(accepted, (std::vector<bool>{true, true}));
  EXPECT_EQ(rec.down, 1);
  EXPECT_TRUE(rec.last_down_graceful);
}

TEST_F(SessionTest, WithoutGracefulRestartEstablishedSessionRefusesNewConnection) {
  auto cfg = make_cfg(1);
  cfg.passive = true;
  Session s(io, cfg, rec);
  s.start();
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = acc.local_endpoint().port();
  std::vector<bool> accepted;
  std::function<void()> loop = [&] {
    acc.async_accept([&](asio::error_code ec, tcp::socket sock) {
      if (ec) return;
      accepted.push_back(s.accept(std::move(sock)));
      loop();
    });
  };
  loop();
  std::atomic<int> step{0};
  std::thread t([&] {
    asio::io_context cio;
    tcp::socket c1(cio), c2(cio);
    client_handshake(c1, port);
    step = 1;
    while (step != 2) std::this_thread::sleep_for(5ms);
    c2.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::array<uint8_t, 64> buf;
    asio::error_code ec;
    c2.read_some(asio::buffer(buf), ec);  // refused: closed without a word
    step = ec ? 3 : -1;
    // Keep the first connection open until the main thread has checked the
    // session; closing it here would race the final assertion.
    while (step != 4) std::this_thread::sleep_for(5ms);
  });
  ASSERT_TRUE(run_until(io, [&] { return step == 1 && s.established(); }));
  step = 2;
  ASSERT_TRUE(run_until(io, [&] { return step == 3 || step == -1; }));
  const int outcome = step;
  // Let the refusal settle on the io_context while c1 is still open.
  io.restart();
  io.poll();
  const bool still_established = s.established();
  step = 4;
  t.join();
  EXPECT_EQ(outcome, 3);
  EXPECT_EQ(accepted, (std::vector<bool>{true, false}));
  EXPECT_TRUE(still_established);
}

}  // namespace
}  // namespace ferry::bgp

namespace ferry::bgp {
namespace {

// Without graceful restart configured the OPEN still carries the capability, with
// no families and restart time 0 (RFC 4724 §3: End-of-RIB aware only). FRR sends
// End-of-RIB, and answers our ROUTE-REFRESH, only to speakers that advertise it.
TEST_F(SessionTest, OpenIsGracefulRestartAwareWithoutGracefulRestart) {
  Session s(io, make_cfg(1), rec);
  const OpenMessage m = s.local_open();
  ASSERT_TRUE(m.caps.graceful_restart.has_value());
  EXPECT_EQ(*m.caps.graceful_restart, GracefulRestartCap{});
  std::vector<uint8_t> wire;
  ByteWriter w(wire);
  encode_capabilities(m.caps, w);
  // RFC 4724 §3: code 64, length 2, Restart Flags 0 + Restart Time 0, no tuples.
  const std::vector<uint8_t> gr_cap = {64, 2, 0x00, 0x00};
  EXPECT_NE(std::search(wire.begin(), wire.end(), gr_cap.begin(), gr_cap.end()), wire.end());

  auto cfg = make_cfg(1);
  cfg.graceful_restart = true;
  cfg.graceful_restart_time = 90;
  Session g(io, cfg, rec);
  ASSERT_TRUE(g.local_open().caps.graceful_restart.has_value());
  EXPECT_EQ(g.local_open().caps.graceful_restart->restart_time, 90);
}

}  // namespace
}  // namespace ferry::bgp

namespace ferry::bgp {
namespace {

TEST(Transport, IpHeaderTtlGoldenHeaders) {
  // RFC 791 §3.1 header: TTL 64 at octet 8 (protocol 6 follows).
  const std::vector<uint8_t> v4 = {0x45, 0x00, 0x00, 0x3c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06,
                                   0x00, 0x00, 0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01};
  EXPECT_EQ(ip_header_ttl(v4), 64);
  // RFC 8200 §3 header: next header 6, hop limit 255 at octet 7.
  std::vector<uint8_t> v6(40, 0);
  v6[0] = 0x60;
  v6[6] = 6;
  v6[7] = 255;
  EXPECT_EQ(ip_header_ttl(v6), 255);
  EXPECT_EQ(ip_header_ttl(std::span<const uint8_t>(v4.data(), 8)), std::nullopt);  // truncated
  EXPECT_EQ(ip_header_ttl(std::span<const uint8_t>(v6.data(), 7)), std::nullopt);
  EXPECT_EQ(ip_header_ttl({}), std::nullopt);
  std::vector<uint8_t> v5 = v4;
  v5[0] = 0x55;  // neither IPv4 nor IPv6
  EXPECT_EQ(ip_header_ttl(v5), std::nullopt);
}

// RFC 5082 §3 on the passive side: the SYN's TTL decides, before the connection can
// touch the session. On loopback a packet arrives with the TTL it was sent with.
TEST_F(SessionTest, GtsmRefusesAConnectionWhoseSynHadALowTtl) {
  auto cfg = make_cfg(1);
  cfg.passive = true;
  cfg.ttl_security = true;
  Session s(io, cfg, rec);
  s.start();
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ASSERT_TRUE(set_save_syn(acc.native_handle()).ok());
  const uint16_t port = acc.local_endpoint().port();
  auto connect_with_ttl = [&](int ttl) {
    tcp::socket c(io);
    c.open(tcp::v4());
    EXPECT_EQ(setsockopt(c.native_handle(), IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
    c.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    tcp::socket server = acc.accept();
    bool accepted = s.accept(std::move(server));
    return std::make_pair(accepted, std::move(c));
  };
  auto [low_accepted, low] = connect_with_ttl(64);
  EXPECT_FALSE(low_accepted);
  EXPECT_EQ(s.counters().gtsm_refused, 1u);
  EXPECT_NE(s.last_error().find("TTL 64"), std::string::npos) << s.last_error();
  auto [ok_accepted, ok] = connect_with_ttl(255);
  EXPECT_TRUE(ok_accepted);
  EXPECT_EQ(s.counters().gtsm_refused, 1u);
}

// ---- RFC 8538: graceful restart for NOTIFICATIONs --------------------------

// The peer sends `n` after a GR handshake; returns whether the loss was graceful.
bool peer_notification_is_graceful(asio::io_context& io, Recorder& rec, ScriptPeer& peer, bool nbit,
                                   const Notification& n) {
  auto cfg = make_cfg(peer.port());
  cfg.graceful_restart = true;
  Session s(io, cfg, rec);
  std::atomic<bool> sent{false};
  std::thread t([&] {
    peer.handshake(65002, 30, true, nbit);
    std::vector<uint8_t> out;
    encode_notification(n, out);
    peer.write(out);
    sent = true;
  });
  s.start();
  EXPECT_TRUE(run_until(io, [&] { return sent && rec.down > 0; }));
  t.join();
  EXPECT_TRUE(peer.theirs.caps.graceful_restart);
  EXPECT_TRUE(peer.theirs.caps.graceful_restart->notification);  // we always set N
  s.stop(Notification::shutdown(kSubAdminShutdown, "test over"));
  return rec.last_down_graceful;
}

Notification cease(uint8_t sub) {
  Notification n;
  n.code = kErrCease;
  n.subcode = sub;
  return n;
}

TEST_F(SessionTest, Rfc8538NotificationIsAGracefulRestartWithTheNBit) {
  EXPECT_TRUE(peer_notification_is_graceful(io, rec, peer, true, cease(kSubOtherConfigChange)));
}

TEST_F(SessionTest, Rfc8538HardResetFlushes) {
  Notification hr = Notification::hard_reset(cease(kSubAdminShutdown));
  EXPECT_FALSE(peer_notification_is_graceful(io, rec, peer, true, hr));
  EXPECT_NE(rec.down_reason.find("Hard Reset (Cease/Administrative Shutdown"), std::string::npos)
      << rec.down_reason;
}

TEST_F(SessionTest, WithoutThePeersNBitANotificationFlushes) {
  EXPECT_FALSE(peer_notification_is_graceful(io, rec, peer, false, cease(kSubOtherConfigChange)));
}

TEST_F(SessionTest, Rfc8538AdministrativeShutdownGoesOutAsHardReset) {
  auto cfg = make_cfg(peer.port());
  cfg.graceful_restart = true;
  Session s(io, cfg, rec);
  std::promise<std::vector<uint8_t>> note;
  std::atomic<bool> up{false};
  std::thread t([&] {
    peer.handshake(65002, 30, true, true);
    up = true;
    try {
      note.set_value(peer.read_until(MessageType::Notification));
    } catch (...) {
      note.set_exception(std::current_exception());
    }
  });
  s.start();
  ASSERT_TRUE(run_until(io, [&] { return up && s.established(); }));
  s.stop(Notification::shutdown(kSubAdminShutdown, "bye"));
  auto fut = note.get_future();
  ASSERT_TRUE(run_until(io, [&] { return fut.wait_for(0s) == std::future_status::ready; }));
  t.join();
  auto body = fut.get();
  // RFC 8538 §3: Cease (6) / Hard Reset (9), data = the encapsulated Cease/Admin Shutdown
  // with its RFC 8203 message.
  ASSERT_GE(body.size(), 5u);
  EXPECT_EQ(body[0], kErrCease);
  EXPECT_EQ(body[1], kSubHardReset);
  EXPECT_EQ(body[2], kErrCease);
  EXPECT_EQ(body[3], kSubAdminShutdown);
  EXPECT_EQ(body[4], 3);  // "bye"
  EXPECT_FALSE(rec.last_down_graceful);
}

}  // namespace
}  // namespace ferry::bgp
