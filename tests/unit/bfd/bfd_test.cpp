// Two BFD instances in one process, talking over 127.0.0.1 on different ports.
#include "bfd/bfd.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

using namespace ferry;
using namespace ferry::bfd;
using namespace std::chrono_literals;

namespace {

uint16_t port_base() {
  return static_cast<uint16_t>(20000 + (::getpid() % 20000));
}

// Runs the loop until pred() holds or the deadline passes (a generous bound,
// not a performance threshold).
template <typename F>
bool run_until(asio::io_context& io, F pred, std::chrono::seconds limit = 20s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end) {
    io.run_for(20ms);
    if (io.stopped()) io.restart();
  }
  return pred();
}

TEST(BfdDriver, SessionsComeUpAndDetectLoss) {
  asio::io_context io;
  const uint16_t pa = port_base(), pb = static_cast<uint16_t>(pa + 1);
  auto a = std::make_unique<Bfd>(io, pa, pb);
  auto b = std::make_unique<Bfd>(io, pb, pa);
  ASSERT_TRUE(a->start().ok());
  ASSERT_TRUE(b->start().ok());
  const auto lo = *IpAddress::parse("127.0.0.1");
  std::vector<std::pair<State, Diag>> a_changes;
  a->set_listener([&](const IpAddress& peer, State, State to, Diag d) {
    EXPECT_EQ(peer, lo);
    a_changes.emplace_back(to, d);
  });
  Timers t{50000, 50000, 3};
  ASSERT_TRUE(a->add_peer(lo, lo, t).ok());
  ASSERT_TRUE(b->add_peer(lo, lo, t).ok());
  ASSERT_TRUE(
      run_until(io, [&] { return a->state(lo) == State::Up && b->state(lo) == State::Up; }));
  // Several detection times pass while both are alive: the session stays up.
  const auto stay_until = std::chrono::steady_clock::now() + 1s;
  run_until(io, [&] { return std::chrono::steady_clock::now() > stay_until; });
  EXPECT_EQ(a->state(lo), State::Up);
  EXPECT_EQ(a->counters().drop_ttl, 0u);

  // b vanishes without a word, as a crashed process does: a must time out.
  b.reset();
  ASSERT_TRUE(run_until(io, [&] { return a->state(lo) == State::Down; }));
  ASSERT_FALSE(a_changes.empty());
  EXPECT_EQ(a_changes.back().first, State::Down);
  EXPECT_EQ(a_changes.back().second, Diag::ControlDetectionTimeExpired);
  auto j = a->show();
  EXPECT_EQ(j["sessions"][0]["state"], "down");
  EXPECT_GE(j["sessions"][0]["up_transitions"].get<int>(), 1);
}

TEST(BfdDriver, AdminDownIsSignalled) {
  asio::io_context io;
  const uint16_t pa = static_cast<uint16_t>(port_base() + 2), pb = static_cast<uint16_t>(pa + 1);
  Bfd a(io, pa, pb), b(io, pb, pa);
  ASSERT_TRUE(a.start().ok());
  ASSERT_TRUE(b.start().ok());
  const auto lo = *IpAddress::parse("127.0.0.1");
  Timers t{50000, 50000, 3};
  ASSERT_TRUE(a.add_peer(lo, std::nullopt, t).ok());
  ASSERT_TRUE(b.add_peer(lo, std::nullopt, t).ok());
  ASSERT_TRUE(run_until(io, [&] { return a.state(lo) == State::Up; }));
  Diag why = Diag::None;
  a.set_listener([&](const IpAddress&, State, State, Diag d) { why = d; });
  b.remove_peer(lo);  // sends AdminDown
  ASSERT_TRUE(run_until(io, [&] { return a.state(lo) == State::Down; }));
  EXPECT_EQ(why, Diag::NeighborSignaledDown);
}

TEST(BfdDriver, DropsPacketsWithTtlBelow255) {
  asio::io_context io;
  const uint16_t pa = static_cast<uint16_t>(port_base() + 4);
  Bfd a(io, pa, static_cast<uint16_t>(pa + 1));
  ASSERT_TRUE(a.start().ok());
  const auto lo = *IpAddress::parse("127.0.0.1");
  ASSERT_TRUE(a.add_peer(lo, std::nullopt, Timers{}).ok());
  // A forged packet from a host further away (default TTL 64).
  asio::ip::udp::socket s(io, asio::ip::udp::v4());
  ControlPacket p;
  p.my_discriminator = 5;
  std::vector<uint8_t> out;
  encode(p, out);
  s.send_to(asio::buffer(out), {asio::ip::make_address("127.0.0.1"), pa});
  ASSERT_TRUE(run_until(io, [&] { return a.counters().drop_ttl >= 1; }));
  EXPECT_EQ(a.state(lo), State::Down);
}

}  // namespace
