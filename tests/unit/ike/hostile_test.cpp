// Hostile input: garbage, truncations, bit flips and replays of real messages,
// from a stranger and forged from a real peer's address. Every one is dropped
// and counted; the established peer's SAs stay untouched and keep working.
#include <gtest/gtest.h>

#include <random>

#include "fakes.hpp"

namespace ferry::ike::test {
namespace {

struct Three {
  Net net;
  Node a{"10.0.0.1", 11, net.q};
  Node b{"10.0.0.2", 12, net.q};
  Node m{"10.0.0.66", 13, net.q};  // not configured anywhere
  std::vector<Datagram> seen;      // every real datagram between a and b, for mutation

  Three() {
    net.nodes = {&a, &b, &m};
    PeerSettings pa = settings("to-b", b, true);
    pa.local_id = "a.example";
    PeerSettings pb = settings("to-a", a, false);
    pb.local_id = "b.example";
    EXPECT_TRUE(a.engine.add_peer(pa));
    EXPECT_TRUE(b.engine.add_peer(pb));
    net.filter = [this](Datagram& d) {
      seen.push_back(d);
      return true;
    };
  }
};

TEST(EngineHostile, MutatedAndForgedInputIsDroppedAndCounted) {
  Three t;
  t.net.tick();
  ASSERT_EQ(t.b.sink.pairs.size(), 1u);
  ASSERT_GE(t.seen.size(), 4u);
  const auto pairs_a = t.a.sink.pairs;
  const auto pairs_b = t.b.sink.pairs;
  const size_t log_b = t.b.sink.log.size();
  t.net.filter = nullptr;

  std::mt19937 gen(42);
  tunnel::UdpEndpoint stranger{t.m.ep.addr, 500};
  for (int i = 0; i < 3000; ++i) {
    const Datagram& src = t.seen[gen() % t.seen.size()];
    std::vector<uint8_t> d = src.data;
    switch (gen() % 5) {
      case 0:  // truncated
        d.resize(gen() % d.size());
        break;
      case 1:  // a few bit flips
        for (int k = 0; k < 1 + static_cast<int>(gen() % 3); ++k)
          d[gen() % d.size()] ^= 1 << (gen() % 8);
        break;
      case 2:  // random garbage of a plausible size
        d.resize(gen() % 600);
        for (auto& x : d) x = static_cast<uint8_t>(gen());
        break;
      case 3:  // a flipped byte in the encrypted part only (integrity must catch it)
        if (d.size() > 40) d[40 + gen() % (d.size() - 40)] ^= 0x80;
        break;
      case 4:  // verbatim replay
        break;
    }
    // Half from the stranger, half forged from a's address towards b.
    bool forged = gen() % 2;
    tunnel::UdpEndpoint from = forged ? src.from : stranger;
    t.b.engine.on_datagram(d, from, src.natt, t.net.now);
    t.a.engine.on_datagram(d, forged ? src.from : stranger, src.natt, t.net.now);
  }
  // Whatever b answered (cached responses to replays, refusals to the stranger) is dropped.
  t.net.q.clear();

  auto cb = t.b.engine.show(t.net.now)["counters"];
  EXPECT_GT(cb["malformed"].get<int>(), 0);
  EXPECT_GT(cb["bad_integrity"].get<int>() + cb["unknown_spi"].get<int>(), 0);
  EXPECT_GT(cb["no_peer"].get<int>(), 0);  // IKE_SA_INIT from an unconfigured address
  EXPECT_EQ(t.a.sink.pairs.size(), 1u);
  EXPECT_EQ(t.b.sink.pairs.size(), 1u);
  EXPECT_EQ(t.b.sink.pairs.begin()->first, pairs_b.begin()->first);
  EXPECT_EQ(t.a.sink.pairs.begin()->first, pairs_a.begin()->first);
  EXPECT_EQ(t.b.sink.log.size(), log_b);  // nothing installed or removed
  EXPECT_TRUE(t.a.up["to-b"]);
  EXPECT_TRUE(t.b.up["to-a"]);

  // The real peers still talk: a CHILD rekey goes through.
  ASSERT_TRUE(t.a.engine.clear("to-b", false));
  t.net.advance(std::chrono::seconds(2));
  ASSERT_EQ(t.a.sink.pairs.size(), 1u);
  ASSERT_EQ(t.b.sink.pairs.size(), 1u);
  EXPECT_NE(t.b.sink.pairs.begin()->first, pairs_b.begin()->first);
  EXPECT_EQ(t.a.sink.pairs.begin()->second.out.spi, t.b.sink.pairs.begin()->second.in.spi);
}

TEST(EngineHostile, HalfOpenSasFromForgedInitsExpire) {
  Three t;
  t.net.tick();
  ASSERT_EQ(t.b.sink.pairs.size(), 1u);
  // Replays of a's IKE_SA_INIT with fresh SPIs (forged: the sender never sees the answers):
  // b keeps the first ten half-open, then demands cookies (§2.6) and keeps no more state.
  Datagram init = t.seen[0];
  for (int i = 0; i < 50; ++i) {
    std::vector<uint8_t> d = init.data;
    d[7] = static_cast<uint8_t>(i + 1);  // a different SPIi
    t.b.engine.on_datagram(d, init.from, false, t.net.now);
  }
  t.net.q.clear();
  EXPECT_EQ(t.b.engine.show_peer("to-a", t.net.now)["ike_sas"].size(), 1u + 10u);
  EXPECT_EQ(t.b.engine.show(t.net.now)["counters"]["cookies_sent"], 40);
  t.net.filter = nullptr;
  t.net.advance(std::chrono::seconds(31));
  EXPECT_EQ(t.b.engine.show_peer("to-a", t.net.now)["ike_sas"].size(), 1u);
  EXPECT_EQ(t.b.sink.pairs.size(), 1u);
}

TEST(EngineHostile, InitiatorGetsThroughWithCookieUnderFlood) {
  Net net;
  Node a{"10.0.0.1", 21, net.q};
  Node b{"10.0.0.2", 22, net.q};
  Node c{"10.0.0.3", 23, net.q};
  net.nodes = {&a, &b, &c};
  PeerSettings pb_a = settings("to-a", a, false);
  PeerSettings pb_c = settings("to-c", c, false);
  ASSERT_TRUE(b.engine.add_peer(pb_a));
  ASSERT_TRUE(b.engine.add_peer(pb_c));
  // A flood of IKE_SA_INITs "from c" whose answers never reach c (forged sources) fills
  // b's half-open set: a fresh initiator each round, only what goes to b is delivered.
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(c.engine.add_peer(settings("to-b", b, true)));
    c.engine.tick(net.now);
    c.engine.remove_peer("to-b");
    net.filter = [&](Datagram& d) { return d.to.addr == b.ep.addr; };
    net.pump();
  }
  EXPECT_GE(b.engine.show(net.now)["counters"]["cookies_sent"].get<int>(), 1);
  // a, a real initiator, gets a cookie, echoes it and gets through.
  net.filter = nullptr;
  ASSERT_TRUE(a.engine.add_peer(settings("to-b", b, true)));
  a.engine.tick(net.now);
  net.pump();
  ASSERT_EQ(a.sink.pairs.size(), 1u);
  ASSERT_EQ(b.sink.pairs.size(), 1u);
  EXPECT_EQ(a.sink.pairs.begin()->second.out.spi, b.sink.pairs.begin()->second.in.spi);
}

}  // namespace
}  // namespace ferry::ike::test
