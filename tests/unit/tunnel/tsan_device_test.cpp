// Two Devices running their real threads (3 workers + the handshake thread
// each) over pollable in-process fakes (tsan_fakes.hpp), for ThreadSanitizer
// (ctest -L tsan) and as a functional multi-threaded test in every build.
//
// While packets flow both ways through every TUN queue and every receiving
// worker (LoopNet spreads one peer's datagrams round-robin over the
// receiver's sockets), a control thread churns everything the data plane
// reads concurrently: cryptokey-table snapshot swaps (learned prefixes added
// and withdrawn, batched apply), peer-list swaps (a third peer added and
// removed), endpoint and keepalive edits, and stats() reads. Timers run at
// 1/50 scale, so REKEY_AFTER_TIME is 2.4 s and keypairs rotate under traffic.
//
// Asserted: every packet sent is delivered exactly once and unmodified
// (replay protection holds across workers, no packet lost to a rotation),
// several handshakes happened, and a peer removed and re-added under traffic
// comes back. TSan, when enabled, asserts there is no data race.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <thread>

#include "tsan_fakes.hpp"

using namespace ferry;
using namespace ferry::tunnel;
using namespace ferry::tunnel::tsan;
using namespace std::chrono_literals;

namespace {

constexpr size_t kWorkers = 3;
constexpr uint32_t kWindow = 96;  // in flight per direction: below the 128 staged per peer

UdpEndpoint ep(const char* ip, uint16_t port) {
  return {*IpAddress::parse(ip), port};
}
Prefix pfx(const std::string& s) {
  return *Prefix::parse(s);
}

// IPv4/UDP packet carrying (direction, sequence) and a pattern derived from them.
std::vector<uint8_t> make_packet(const char* src, const char* dst, uint8_t dir, uint32_t seq) {
  size_t payload = 16 + seq % 1200;
  std::vector<uint8_t> p(28 + payload);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(p.size() >> 8);
  p[3] = static_cast<uint8_t>(p.size());
  p[8] = 64;
  p[9] = 17;
  std::memcpy(&p[12], IpAddress::parse(src)->bytes(), 4);
  std::memcpy(&p[16], IpAddress::parse(dst)->bytes(), 4);
  p[28] = dir;
  std::memcpy(&p[29], &seq, 4);
  for (size_t i = 33; i < p.size(); ++i) p[i] = static_cast<uint8_t>(seq * 31 + i);
  return p;
}

bool check_packet(const uint8_t* p, size_t n, uint8_t& dir, uint32_t& seq) {
  if (n < 33) return false;
  dir = p[28];
  std::memcpy(&seq, &p[29], 4);
  if (n != 28 + 16 + seq % 1200) return false;
  for (size_t i = 33; i < n; ++i)
    if (p[i] != static_cast<uint8_t>(seq * 31 + i)) return false;
  return true;
}

struct TNode {
  TNode(LoopNet& net, const UdpEndpoint& addr, Key priv) : key(priv) {
    auto& host = net.add_host(addr, kWorkers);
    DeviceConfig cfg;
    cfg.private_key = priv;
    cfg.timers.scale = 0.02;
    auto t = std::make_unique<SocketTun>(kWorkers);
    tun = t.get();
    dev =
        std::make_unique<Device>(cfg, std::move(t), std::make_unique<LoopUdp>(net, host), kWorkers);
  }
  Key key;
  SocketTun* tun;
  std::unique_ptr<Device> dev;
};

// One direction of traffic: per-queue sender threads on one node, per-queue
// receiver threads on the other, with at most kWindow packets in flight.
class Flow {
 public:
  Flow(uint8_t dir, const char* src, const char* dst, SocketTun& from, SocketTun& to)
      : dir_(dir), src_(src), dst_(dst), from_(from), to_(to) {
    seen_ = std::vector<std::atomic<uint8_t>>(1 << 22);
  }
  void start() {
    stop_send_ = false;
    stop_recv_ = false;
    for (size_t q = 0; q < kWorkers; ++q) {
      threads_.emplace_back([this, q] { send_loop(q); });
      threads_.emplace_back([this, q] { recv_loop(q); });
    }
  }
  // Stops sending, waits (bounded) for the in-flight packets, joins.
  void finish(std::chrono::seconds drain) {
    stop_send_ = true;
    auto deadline = std::chrono::steady_clock::now() + drain;
    while (received_.load() + corrupt_.load() + dup_.load() < sent_.load() &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    stop_recv_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  // Sends one packet at a time until one arrives (after churn, sessions re-form).
  bool probe(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    uint64_t r0 = received_.load();
    stop_recv_ = false;
    std::vector<std::thread> rx;
    for (size_t q = 0; q < kWorkers; ++q) rx.emplace_back([this, q] { recv_loop(q); });
    while (received_.load() == r0 && std::chrono::steady_clock::now() < deadline) {
      send_one(0);
      std::this_thread::sleep_for(20ms);
    }
    stop_recv_ = true;
    for (auto& t : rx) t.join();
    return received_.load() > r0;
  }
  uint64_t sent() const { return sent_.load(); }
  uint64_t received() const { return received_.load(); }
  uint64_t duplicates() const { return dup_.load(); }
  uint64_t corrupt() const { return corrupt_.load(); }

 private:
  void send_one(size_t q) {
    uint32_t seq = next_seq_.fetch_add(1);
    auto p = make_packet(src_, dst_, dir_, seq);
    if (::send(from_.q(q).test_fd(), p.data(), p.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(p.size()))
      sent_.fetch_add(1);
  }
  void send_loop(size_t q) {
    while (!stop_send_) {
      if (sent_.load() - received_.load() >= kWindow) {
        std::this_thread::sleep_for(200us);
        continue;
      }
      send_one(q);
    }
  }
  void recv_loop(size_t q) {
    std::vector<uint8_t> buf(2048);
    int fd = to_.q(q).test_fd();
    while (!stop_recv_) {
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) continue;
      uint8_t dir;
      uint32_t seq;
      if (!check_packet(buf.data(), static_cast<size_t>(n), dir, seq) || dir != dir_ ||
          seq >= seen_.size()) {
        corrupt_.fetch_add(1);
        continue;
      }
      if (seen_[seq].exchange(1))
        dup_.fetch_add(1);
      else
        received_.fetch_add(1);
    }
  }

  uint8_t dir_;
  const char *src_, *dst_;
  SocketTun &from_, &to_;
  std::vector<std::atomic<uint8_t>> seen_;
  std::atomic<uint32_t> next_seq_{0};
  std::atomic<uint64_t> sent_{0}, received_{0}, dup_{0}, corrupt_{0};
  std::atomic<bool> stop_send_{false}, stop_recv_{false};
  std::vector<std::thread> threads_;
};

class ThreadedDevices : public ::testing::Test {
 protected:
  void SetUp() override {
    a = std::make_unique<TNode>(net, ep("192.0.2.1", 51820), generate_private_key());
    b = std::make_unique<TNode>(net, ep("192.0.2.2", 51820), generate_private_key());
    pa = a->dev->add_peer({"b", public_key(b->key), {}, ep("192.0.2.2", 51820), 0});
    pb = b->dev->add_peer({"a", public_key(a->key), {}, ep("192.0.2.1", 51820), 0});
    a->dev->routes().add_allowed(pa, pfx("10.0.2.0/24"));
    b->dev->routes().add_allowed(pb, pfx("10.0.1.0/24"));
    a->dev->start();
    b->dev->start();
  }
  void TearDown() override {
    a->dev->stop();
    b->dev->stop();
  }
  uint64_t drops(TNode& n, Drop d) {
    uint64_t v = n.dev->device_drops().get(d);
    for (const auto& s : n.dev->stats()) v += s.drops[static_cast<size_t>(d)];
    return v;
  }

  LoopNet net;
  std::unique_ptr<TNode> a, b;
  PeerIndex pa = 0, pb = 0;
};

// Control-plane churn from one thread, as the daemon's io_context would do it.
void churn_step(Device& dev, PeerIndex live, const UdpEndpoint& live_ep, int i) {
  auto& routes = dev.routes();
  std::string learned = "172.16." + std::to_string(i % 200) + ".0/24";
  routes.add_allowed(live, pfx(learned), AllowedOrigin::Learned);
  if (i >= 10) {
    std::string old = "172.16." + std::to_string((i - 10) % 200) + ".0/24";
    routes.remove_allowed(live, pfx(old), AllowedOrigin::Learned);
  }
  if (i % 5 == 0) {
    std::vector<AllowedChange> batch;
    for (int k = 0; k < 20; ++k)
      batch.push_back({k % 2 ? AllowedChange::Op::Remove : AllowedChange::Op::Add, live,
                       pfx("fd00:" + std::to_string(k / 2) + "::/64"), AllowedOrigin::Learned});
    routes.apply(batch);
  }
  if (i % 7 == 0) {
    auto extra =
        dev.add_peer({"x" + std::to_string(i), public_key(generate_private_key()), {}, live_ep, 0});
    routes.add_allowed(extra, pfx("10.99." + std::to_string(i % 200) + ".0/24"));
    dev.remove_peer(extra);
  }
  if (i % 3 == 0) dev.set_endpoint(live, live_ep);
  dev.set_persistent_keepalive(live, static_cast<uint16_t>(i % 2));
  auto st = dev.stats();
  EXPECT_FALSE(st.empty());
}

}  // namespace

TEST_F(ThreadedDevices, TrafficBothWaysAcrossWorkersWhileTablesSwapAndKeysRotate) {
  Flow ab(1, "10.0.1.1", "10.0.2.1", *a->tun, *b->tun);
  Flow ba(2, "10.0.2.1", "10.0.1.1", *b->tun, *a->tun);
  // The session is up before B sends: packets B stages while it is only the
  // responder are never flushed (see DISABLED_ResponderFlushesStagedPackets in
  // hostile_datapath_test.cpp), which would stall B's window for good.
  ASSERT_TRUE(ab.probe(30s));
  ab.start();
  ba.start();
  // Run until several handshakes (the first + rekeys) happened and enough
  // packets went through, bounded in time.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  int i = 0;
  while (std::chrono::steady_clock::now() < deadline &&
         (net.sent_of_type(1) < 4 || ab.received() < 5000 || ba.received() < 5000)) {
    churn_step(*a->dev, pa, ep("192.0.2.2", 51820), i);
    churn_step(*b->dev, pb, ep("192.0.2.1", 51820), i);
    ++i;
    std::this_thread::sleep_for(5ms);
  }
  ab.finish(20s);
  ba.finish(20s);
  auto report = [&](const char* name, TNode& n) {
    std::string s;
    for (size_t d = 0; d < static_cast<size_t>(Drop::kCount); ++d)
      if (uint64_t v = drops(n, static_cast<Drop>(d)))
        s += std::string(" ") + drop_name(static_cast<Drop>(d)) + "=" + std::to_string(v);
    return std::string(name) + " drops:" + s;
  };
  SCOPED_TRACE(report("a", *a) + "; " + report("b", *b) +
               "; initiations=" + std::to_string(net.sent_of_type(1)) +
               " cookies=" + std::to_string(net.sent_of_type(3)) +
               " lost=" + std::to_string(net.lost()) + " churn=" + std::to_string(i));
  EXPECT_GE(net.sent_of_type(1), 4u);
  EXPECT_GE(ab.received(), 5000u);
  EXPECT_GE(ba.received(), 5000u);
  EXPECT_EQ(ab.received(), ab.sent());
  EXPECT_EQ(ba.received(), ba.sent());
  EXPECT_EQ(ab.duplicates() + ba.duplicates(), 0u);
  EXPECT_EQ(ab.corrupt() + ba.corrupt(), 0u);
  EXPECT_EQ(
      drops(*b, Drop::Replay) + drops(*b, Drop::DecryptFailed) + drops(*b, Drop::NotAllowedSource),
      0u);
}

// B removes A (its keypairs, indices and allowed-ips go at once) and re-adds
// it, repeatedly, while both keep sending; afterwards the session re-forms.
TEST_F(ThreadedDevices, PeerRemovedAndReaddedUnderTrafficRecovers) {
  Flow ab(1, "10.0.1.1", "10.0.2.1", *a->tun, *b->tun);
  Flow ba(2, "10.0.2.1", "10.0.1.1", *b->tun, *a->tun);
  ab.start();
  ba.start();
  auto until = std::chrono::steady_clock::now() + 3s;
  int i = 0;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(100ms);
    b->dev->remove_peer(pb);
    pb = b->dev->add_peer({"a", public_key(a->key), {}, ep("192.0.2.1", 51820), 0});
    b->dev->routes().add_allowed(pb, pfx("10.0.1.0/24"));
    churn_step(*a->dev, pa, ep("192.0.2.2", 51820), i++);
  }
  ab.finish(1s);
  ba.finish(1s);
  // Whether anything gets through between two removals depends on how fast the
  // handshakes go on a loaded machine, so that is not asserted; what arrived must
  // be intact, and the session must re-form afterwards.
  EXPECT_EQ(ab.duplicates() + ba.duplicates(), 0u);
  EXPECT_EQ(ab.corrupt() + ba.corrupt(), 0u);
  EXPECT_TRUE(ba.probe(30s)) << "B -> A never recovered";
  EXPECT_TRUE(ab.probe(30s)) << "A -> B never recovered";
}
