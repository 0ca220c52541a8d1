// Hostile transport (type 4) traffic against a Device's receive path:
// replayed, held-back, truncated, extended and bit-flipped data messages, and
// authenticated packets whose inner source the sending peer may not use
// (static config, another peer's prefix, learned prefixes withdrawn or moved,
// IPv4 and IPv6). Every hostile datagram must be dropped, counted under its
// specific reason, and must not disturb the session (the replay window only
// moves on authenticated counters, so the genuine packet still gets through).
//
// Device::device_drops() holds drops that belong to no peer (malformed,
// unknown receiver index); PeerStats::drops those of an identified peer.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "hostile_fakes.hpp"

using namespace ferry;
using namespace ferry::tunnel;
using namespace ferry::tunnel::hostile;

namespace {

uint64_t counter_of(const std::vector<uint8_t>& m) {
  uint64_t c = 0;
  for (int i = 7; i >= 0; --i) c = c << 8 | m[8 + static_cast<size_t>(i)];  // LE at offset 8
  return c;
}

class HostileData : public PairTest {};

}  // namespace

TEST_F(HostileData, EveryReplayedCopyIsDroppedAndCountedOnce) {
  establish();
  auto m = capture_from_a(ipv4("10.0.1.1", "10.0.2.1"));
  deliver_to_b(m);
  ASSERT_EQ(b->tun->q.out.size(), 1u);
  for (int i = 0; i < 5; ++i) deliver_to_b(m);
  EXPECT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_EQ(b->peer_drop(pb, Drop::Replay), 5u);
  EXPECT_EQ(b->all_drops(), 5u);  // nothing else was counted
}

TEST_F(HostileData, ReorderWithinTheWindowIsNotADrop) {
  establish();
  auto held = capture_from_a(ipv4("10.0.1.1", "10.0.2.1"));
  for (int i = 0; i < 10; ++i) deliver_to_b(capture_from_a(ipv4("10.0.1.1", "10.0.2.1")));
  deliver_to_b(held);
  EXPECT_EQ(b->tun->q.out.size(), 11u);
  EXPECT_EQ(b->all_drops(), 0u);
  deliver_to_b(held);  // the second copy is a replay
  EXPECT_EQ(b->peer_drop(pb, Drop::Replay), 1u);
}

// A genuine message held back by an attacker until the window (8128 counters,
// RFC 6479 ring) has moved past it is refused even though it was never seen.
TEST_F(HostileData, HeldBackMessageOlderThanTheWindowIsReplay) {
  establish();
  auto held = capture_from_a(ipv4("10.0.1.1", "10.0.2.1"));
  const int kMore = 64 * 130;  // > 8128
  for (int i = 0; i < kMore; ++i) {
    a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1", 0));
    if (a->tun->q.in.size() == 64) {
      a->dev->tun_step(0);
      while (b->dev->udp_step(0) > 0) {
      }
    }
  }
  ASSERT_EQ(b->tun->q.out.size(), static_cast<size_t>(kMore));
  ASSERT_EQ(b->all_drops(), 0u);
  deliver_to_b(held);
  EXPECT_EQ(b->tun->q.out.size(), static_cast<size_t>(kMore));
  EXPECT_EQ(b->peer_drop(pb, Drop::Replay), 1u);
}

TEST_F(HostileData, TruncatedAndExtendedMessagesAreDroppedByReason) {
  establish();
  auto m = capture_from_a(ipv4("10.0.1.1", "10.0.2.1", 100));
  ASSERT_GT(m.size(), 64u);
  // Shorter than the type/reserved word, or than header + tag: malformed, no peer known yet.
  uint64_t too_short = 0;
  for (size_t len : {1u, 2u, 3u, 4u, 8u, 15u, 16u, 17u, 31u}) {
    deliver_to_b({m.begin(), m.begin() + static_cast<long>(len)});
    ++too_short;
  }
  EXPECT_EQ(b->dev_drop(Drop::TooShort), too_short);
  // Header + tag or longer, but cut or extended: the tag does not authenticate.
  uint64_t bad = 0;
  for (size_t len = 32; len < m.size(); ++len) {
    deliver_to_b({m.begin(), m.begin() + static_cast<long>(len)});
    ++bad;
  }
  for (size_t extra : {1u, 16u, 100u}) {
    auto longer = m;
    longer.insert(longer.end(), extra, 0);
    deliver_to_b(longer);
    ++bad;
  }
  EXPECT_EQ(b->peer_drop(pb, Drop::DecryptFailed), bad);
  EXPECT_EQ(b->all_drops(), too_short + bad);
  EXPECT_TRUE(b->tun->q.out.empty());
  // None of them moved the replay window: the untouched message is accepted.
  deliver_to_b(m);
  ASSERT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_EQ(b->all_drops(), too_short + bad);
}

// Zero-length UDP datagrams reach recv_batch as len 0; they must not crash
// or deliver anything, and are counted like any other malformed datagram.
TEST_F(HostileData, EmptyDatagramIsHarmless) {
  establish();
  deliver_to_b({});
  EXPECT_TRUE(b->tun->q.out.empty());
  EXPECT_EQ(b->dev_drop(Drop::TooShort), 1u);
  EXPECT_EQ(b->all_drops(), 1u);
  deliver_to_b(capture_from_a(ipv4("10.0.1.1", "10.0.2.1")));
  EXPECT_EQ(b->tun->q.out.size(), 1u);
}

// Every single-bit flip of a transport message, each delivered once. Where the
// flip lands decides the counter: type/reserved -> too_short (malformed),
// receiver index -> no_keypair (no such session), counter -> replay if it now
// names a counter already received, else decrypt_failed (the nonce is
// authenticated), payload/tag -> decrypt_failed.
TEST_F(HostileData, EveryBitFlipIsDroppedAndCountedByRegion) {
  establish();
  // A few packets first so the counter has low bits that can flip to seen values.
  for (int i = 0; i < 6; ++i) deliver_to_b(capture_from_a(ipv4("10.0.1.1", "10.0.2.1")));
  ASSERT_EQ(b->tun->q.out.size(), 6u);
  b->tun->q.out.clear();
  auto m = capture_from_a(ipv4("10.0.1.1", "10.0.2.1", 40));
  const uint64_t c = counter_of(m);
  ASSERT_GE(c, 6u);  // counters 0..c-1 were received (handshake packet, 6 above)
  uint64_t want_short = 0, want_nokp = 0, want_replay = 0, want_decrypt = 0;
  for (size_t byte = 0; byte < m.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      auto f = m;
      f[byte] ^= static_cast<uint8_t>(1u << bit);
      if (byte < 4) {
        ++want_short;
      } else if (byte < 8) {
        ++want_nokp;
      } else if (byte < 16) {
        uint64_t c2 = c ^ (uint64_t{1} << (8 * (byte - 8) + static_cast<size_t>(bit)));
        (c2 < c ? want_replay : want_decrypt)++;
      } else {
        ++want_decrypt;
      }
      deliver_to_b(std::move(f));
    }
  }
  EXPECT_TRUE(b->tun->q.out.empty());
  EXPECT_EQ(b->dev_drop(Drop::TooShort), want_short);
  EXPECT_EQ(b->dev_drop(Drop::NoKeypair), want_nokp);
  EXPECT_EQ(b->peer_drop(pb, Drop::Replay), want_replay);
  EXPECT_EQ(b->peer_drop(pb, Drop::DecryptFailed), want_decrypt);
  EXPECT_EQ(b->all_drops(), m.size() * 8);
  EXPECT_GT(want_replay, 0u);
  // Forged higher counters did not advance the window.
  deliver_to_b(m);
  EXPECT_EQ(b->tun->q.out.size(), 1u);
}

// After A restarts and handshakes again, the old session's messages are still
// recognised (previous keypair) and refused as replays; after one more
// rotation and the retired keypair's grace the old receiver index is gone
// entirely (no_keypair).
TEST_F(HostileData, OldSessionMessagesAfterRehandshakeAreRefused) {
  establish();
  auto old1 = capture_from_a(ipv4("10.0.1.1", "10.0.2.1"));
  deliver_to_b(old1);
  auto old2 = capture_from_a(ipv4("10.0.1.1", "10.0.2.1"));  // never delivered
  ASSERT_EQ(b->tun->q.out.size(), 1u);

  auto restart_a = [&] {
    // The new initiation must carry a newer TAI64N timestamp (whitened to
    // ~16.8 ms) and come more than 1/50 s after the last one B consumed.
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    a = std::make_unique<Node>(net, ep("192.0.2.1", 51820), ka);
    pa = a->dev->add_peer({"b", public_key(kb), {}, b->addr, 0});
    a->dev->routes().add_allowed(pa, pfx("10.0.2.0/24"));
    a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
    run();
  };
  restart_a();
  ASSERT_EQ(b->tun->q.out.size(), 2u);
  deliver_to_b(old1);
  EXPECT_EQ(b->peer_drop(pb, Drop::Replay), 1u);
  deliver_to_b(old2);  // fresh counter under the previous keypair: still authentic
  EXPECT_EQ(b->tun->q.out.size(), 3u);

  restart_a();
  ASSERT_EQ(b->tun->q.out.size(), 4u);
  // The rotation retired the old session's keypair: for REKEY_TIMEOUT it
  // still decrypts (make-before-break), so its messages are replays...
  uint64_t replays = b->peer_drop(pb, Drop::Replay);
  deliver_to_b(old1);
  EXPECT_EQ(b->peer_drop(pb, Drop::Replay), replays + 1);
  // ... and once the grace has ended its receiver index is gone.
  b->dev->handshake_step(Clock::now() + kRekeyTimeout);
  uint64_t nokp = b->peer_drop(pb, Drop::NoKeypair) + b->dev_drop(Drop::NoKeypair);
  deliver_to_b(old1);
  deliver_to_b(old2);
  EXPECT_EQ(b->peer_drop(pb, Drop::NoKeypair) + b->dev_drop(Drop::NoKeypair), nokp + 2);
  EXPECT_EQ(b->tun->q.out.size(), 4u);
}

// ---------------------------------------------------------------- inner source checks

TEST_F(HostileData, InnerIpv6SourceOutsideAllowedIpsIsDropped) {
  establish();
  a->tun->q.in.push_back(ipv6("fd00:1::5", "fd00:2::1"));        // allowed
  a->tun->q.in.push_back(ipv6("fd00:9::5", "fd00:2::1"));        // nobody's
  a->tun->q.in.push_back(ipv6("fd00:1:0:1::5", "fd00:2::1"));    // next /64: not allowed
  a->tun->q.in.push_back(ipv6("::ffff:10.0.1.1", "fd00:2::1"));  // v4-mapped is not 10.0.1.1
  run(2);
  ASSERT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_EQ(b->tun->q.out.front()[0] >> 4, 6);
  EXPECT_EQ(b->peer_drop(pb, Drop::NotAllowedSource), 3u);
}

// A source that is allowed, but for another peer of B: the cryptokey table
// must map it to the sender, not just to "some peer".
TEST_F(HostileData, SourceOwnedByAnotherPeerIsDropped) {
  establish();
  auto pc = b->dev->add_peer({"c", public_key(generate_private_key()), {}, std::nullopt, 0});
  b->dev->routes().add_allowed(pc, pfx("10.0.3.0/24"));
  b->dev->routes().add_allowed(pc, pfx("fd00:3::/64"));
  b->dev->routes().add_allowed(pc, pfx("10.0.1.128/25"));  // carved out of A's /24
  a->tun->q.in.push_back(ipv4("10.0.3.1", "10.0.2.1"));
  a->tun->q.in.push_back(ipv6("fd00:3::1", "fd00:2::1"));
  a->tun->q.in.push_back(ipv4("10.0.1.200", "10.0.2.1"));  // longest match is C's /25
  a->tun->q.in.push_back(ipv4("10.0.1.100", "10.0.2.1"));  // still A's
  run(2);
  ASSERT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_EQ(b->peer_drop(pb, Drop::NotAllowedSource), 3u);
  EXPECT_EQ(b->peer_drop(pc, Drop::NotAllowedSource), 0u);
}

// Prefixes learned via routing (BGP over the tunnel) allow a source while
// the sending peer is in the prefix's (ECMP) peer set; once withdrawn, or once
// the best path moved to another peer (joined C, then left A), or once a
// static allowed-ip of another peer shadows it, packets from them are
// dropped, while the static allowed-ips keep working.
TEST_F(HostileData, WithdrawnMovedOrShadowedLearnedPrefixStopsBeingAllowed) {
  establish();
  auto& routes = b->dev->routes();
  auto pc = b->dev->add_peer({"c", public_key(generate_private_key()), {}, std::nullopt, 0});
  routes.add_allowed(pb, pfx("172.16.0.0/16"), AllowedOrigin::Learned);
  routes.add_allowed(pb, pfx("2001:db8:40::/48"), AllowedOrigin::Learned);
  routes.add_allowed(pb, pfx("192.168.50.0/24"), AllowedOrigin::Learned);
  routes.add_allowed(pb, pfx("192.168.60.0/24"), AllowedOrigin::Learned);
  routes.add_allowed(pc, pfx("192.168.50.0/24"), AllowedOrigin::Learned);  // ECMP {A, C}
  auto send_all = [&] {
    a->tun->q.in.push_back(ipv4("172.16.9.9", "10.0.2.1"));
    a->tun->q.in.push_back(ipv6("2001:db8:40::9", "fd00:2::1"));
    a->tun->q.in.push_back(ipv4("192.168.50.9", "10.0.2.1"));
    a->tun->q.in.push_back(ipv4("192.168.60.9", "10.0.2.1"));
    a->tun->q.in.push_back(ipv4("10.0.1.9", "10.0.2.1"));  // static
    run(2);
  };
  send_all();
  ASSERT_EQ(b->tun->q.out.size(), 5u);  // A is a member of every set
  EXPECT_EQ(b->peer_drop(pb, Drop::NotAllowedSource), 0u);
  b->tun->q.out.clear();

  // Withdraw two; the ECMP prefix is left to C alone; a static route for
  // C at 192.168.60.0/24 shadows A's learned one.
  EXPECT_TRUE(routes.remove_allowed(pb, pfx("172.16.0.0/16"), AllowedOrigin::Learned));
  EXPECT_TRUE(routes.remove_allowed(pb, pfx("2001:db8:40::/48"), AllowedOrigin::Learned));
  EXPECT_TRUE(routes.remove_allowed(pb, pfx("192.168.50.0/24"), AllowedOrigin::Learned));
  routes.add_allowed(pc, pfx("192.168.60.0/24"), AllowedOrigin::Static);
  // A learned withdrawal never removes the static entry.
  EXPECT_FALSE(routes.remove_allowed(pb, pfx("10.0.1.0/24"), AllowedOrigin::Learned));
  send_all();
  ASSERT_EQ(b->tun->q.out.size(), 1u);
  EXPECT_EQ(b->peer_drop(pb, Drop::NotAllowedSource), 4u);
}

// A peer removed from the device: its in-flight session is gone at once.
TEST_F(HostileData, PacketsFromARemovedPeerAreNotDelivered) {
  establish();
  auto m = capture_from_a(ipv4("10.0.1.1", "10.0.2.1"));
  b->dev->remove_peer(pb);
  deliver_to_b(m);
  EXPECT_TRUE(b->tun->q.out.empty());
  EXPECT_EQ(b->dev_drop(Drop::NoKeypair), 1u);
}

// Handshake-sized datagrams with the wrong length never reach the handshake thread.
TEST_F(HostileData, WrongSizeHandshakeMessagesAreTooShort) {
  std::vector<uint8_t> init;
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  a->dev->tun_step(0);
  a->dev->handshake_step(Clock::now());
  auto& q = net.inbox[b->addr.str()];
  ASSERT_EQ(q.size(), 1u);
  init = q.front().data;
  q.clear();
  ASSERT_EQ(init.size(), kMessageInitiationSize);
  for (size_t len : {4u, 32u, 64u, 92u, 147u, 149u, 200u}) {
    auto f = init;
    f.resize(len, 0);
    deliver_to_b(f);
  }
  b->dev->handshake_step(Clock::now());
  EXPECT_EQ(b->dev_drop(Drop::TooShort), 7u);
  EXPECT_EQ(b->dev_drop(Drop::BadMac), 0u);
  EXPECT_FALSE(b->dev->stats()[pb.slot()].last_handshake_unix.has_value());
  // The real one still works.
  deliver_to_b(init);
  b->dev->handshake_step(Clock::now());
  run();
  EXPECT_EQ(b->tun->q.out.size(), 1u);
}

// A packet B staged while it had no session (its own initiation went
// unanswered) goes out once B's session is confirmed as the responder, i.e.
// when the first transport message under the new keypair arrives (wireguard-go
// sends staged packets in ReceivedWithKeypair). Before, only handle_response
// (initiator side) flushed, so the packet stayed staged until B next completed
// a handshake as initiator, which may be never while A keeps rekeying first.
TEST_F(HostileData, ResponderFlushesStagedPacketsWhenItsSessionIsConfirmed) {
  b->dev->set_endpoint(pb, ep("192.0.2.99", 51820));  // B's initiation is lost
  auto staged = ipv4("10.0.2.1", "10.0.1.1", 77);
  b->tun->q.in.push_back(staged);
  run(1);
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));  // A initiates; B responds
  run();
  ASSERT_EQ(b->tun->q.out.size(), 1u);  // B's session is confirmed
  ASSERT_EQ(a->tun->q.out.size(), 1u);
  EXPECT_EQ(a->tun->q.out.front(), staged);
  EXPECT_EQ(a->all_drops() + b->all_drops(), 0u);
}

// A and B on one manual clock (workers and handshake threads alike), with a
// session A initiated at the start.
class HostileDataClock : public ::testing::Test {
 protected:
  void SetUp() override {
    a = std::make_unique<Node>(net, ep("192.0.2.1", 51820), ka, NodeOptions{.time = &clock});
    b = std::make_unique<Node>(net, ep("192.0.2.2", 51820), kb, NodeOptions{.time = &clock});
    pa = a->dev->add_peer({"b", public_key(kb), {}, b->addr, 0});
    pb = b->dev->add_peer({"a", public_key(ka), {}, std::nullopt, 0});
    a->dev->routes().add_allowed(pa, pfx("10.0.2.0/24"));
    b->dev->routes().add_allowed(pb, pfx("10.0.1.0/24"));
    a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
    for (int i = 0; i < 2; ++i) {
      a->step(clock.now());
      b->step(clock.now());
    }
  }
  size_t initiations() const {
    size_t n = 0;
    for (const auto& d : net.log) n += d.from == a->addr && d.data[0] == 1;
    return n;
  }
  ManualTime clock;
  FakeNet net;
  Key ka = generate_private_key(), kb = generate_private_key();
  std::unique_ptr<Node> a, b;
  PeerIndex pa, pb;
};

// A handshake request that the initiation rate limit (one per REKEY_TIMEOUT,
// whitepaper §6.4) defers while no handshake is in flight is kept, not lost:
// it is sent once the limit allows. Here A's keypair has sent more than
// REKEY_AFTER_MESSAGES one second after A's last initiation (one clock for
// the workers and the handshake thread).
TEST_F(HostileDataClock, DeferredRekeyRequestIsSentOnceTheRateLimitAllows) {
  ASSERT_EQ(b->tun->q.out.size(), 1u);  // session derived now, A initiated now
  ASSERT_EQ(initiations(), 1u);
  clock.advance(std::chrono::seconds(1));
  a->dev->current_keypair_for_testing(pa)->set_send_counter_for_testing(kRekeyAfterMessages + 1);
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  a->dev->tun_step(0);  // still usable, but due for a rekey
  a->dev->handshake_step(clock.now());
  EXPECT_EQ(initiations(), 1u);  // too soon after the last initiation
  clock.advance(std::chrono::seconds(5));
  a->dev->handshake_step(clock.now());
  EXPECT_EQ(initiations(), 2u);  // the request survived
  clock.advance(std::chrono::seconds(1));
  a->dev->handshake_step(clock.now());
  EXPECT_EQ(initiations(), 2u);  // and was consumed
}

// A worker batch that began with the old keypair asks for a rekey just after
// the handshake thread installed the new one. That request is stale: the
// handshake thread must not start another handshake REKEY_TIMEOUT later
// (it would replace the session the peer just confirmed).
TEST_F(HostileDataClock, StaleRekeyRequestAfterANewSessionIsDropped) {
  ASSERT_EQ(initiations(), 1u);
  // REKEY_AFTER_TIME later A's worker asks for a rekey; a second batch under
  // the old keypair asks again while the handshake is in flight, and the
  // handshake completes.
  clock.advance(kRekeyAfterTime + std::chrono::seconds(1));
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  a->dev->tun_step(0);
  a->dev->handshake_step(clock.now());
  ASSERT_EQ(initiations(), 2u);
  a->tun->q.in.push_back(ipv4("10.0.1.1", "10.0.2.1"));
  a->dev->tun_step(0);
  b->step(clock.now());
  a->step(clock.now());
  b->step(clock.now());
  ASSERT_EQ(a->dev->stats()[pa.slot()].handshakes, 2u);
  ASSERT_EQ(b->dev->stats()[pb.slot()].handshakes, 2u);
  ASSERT_EQ(b->tun->q.out.size(), 3u);
  for (int i = 0; i < 4; ++i) {
    clock.advance(kRekeyTimeout);
    a->step(clock.now());
    b->step(clock.now());
  }
  EXPECT_EQ(initiations(), 2u);
  EXPECT_EQ(b->tun->q.out.size(), 3u);
  EXPECT_EQ(a->all_drops() + b->all_drops(), 0u);
}
