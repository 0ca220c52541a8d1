// Two ike::Engines back to back (fakes.hpp): establishing with every required
// suite, the CHILD_SA keys agreeing across the ends, INVALID_KE_PAYLOAD,
// retransmission and the duplicate-request cache, CHILD and IKE rekeys with
// make-before-break, DPD, and authentication failure.
#include <gtest/gtest.h>

#include "fakes.hpp"

namespace ferry::ike::test {
namespace {

struct Pair {
  Net net;
  Node a{"10.0.0.1", 1, net.q};
  Node b{"10.0.0.2", 2, net.q};
  Pair() { net.nodes = {&a, &b}; }

  void configure(std::vector<std::string> ike_a, std::vector<std::string> esp_a,
                 std::vector<std::string> ike_b, std::vector<std::string> esp_b) {
    PeerSettings pa = settings("to-b", b, true, ike_a, esp_a);
    pa.local_id = "a.example";
    pa.remote_id = "b.example";
    PeerSettings pb = settings("to-a", a, false, ike_b, esp_b);
    pb.local_id = "b.example";
    pb.remote_id = "a.example";
    ASSERT_TRUE(a.engine.add_peer(pa));
    ASSERT_TRUE(b.engine.add_peer(pb));
  }
  void configure(std::vector<std::string> ike, std::vector<std::string> esp) {
    configure(ike, esp, ike, esp);
  }
};

// my in == your out, and the reverse, for the one installed pair on each end.
void expect_matching_pairs(const Node& x, const Node& y) {
  ASSERT_EQ(x.sink.pairs.size(), 1u);
  ASSERT_EQ(y.sink.pairs.size(), 1u);
  const auto& px = x.sink.pairs.begin()->second;
  const auto& py = y.sink.pairs.begin()->second;
  EXPECT_EQ(px.in.spi, py.out.spi);
  EXPECT_EQ(px.out.spi, py.in.spi);
  EXPECT_EQ(px.in.enc_key, py.out.enc_key);
  EXPECT_EQ(px.in.integ_key, py.out.integ_key);
  EXPECT_EQ(px.out.enc_key, py.in.enc_key);
  EXPECT_EQ(px.out.integ_key, py.in.integ_key);
  EXPECT_NE(px.in.enc_key, px.out.enc_key);
  EXPECT_EQ(px.in.enc_key.size(), ipsec::cipher_keymat_len(px.in.cipher));
  EXPECT_EQ(px.in.integ_key.size(), ipsec::integ_keymat_len(px.in.integ));
  EXPECT_EQ(px.in.cipher, py.in.cipher);
  EXPECT_EQ(px.peer, tunnel::PeerIndex(7));
  EXPECT_EQ(px.remote.port, 4500);  // NAT-T forced (RFC 7296 §2.23)
  EXPECT_EQ(py.remote.port, 4500);
}

struct SuiteCase {
  const char* ike;
  const char* esp;
  ipsec::EspCipher cipher;
  ipsec::EspInteg integ;
};

class EngineSuites : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(EngineSuites, EstablishesAndKeysAgree) {
  Pair t;
  t.configure({GetParam().ike}, {GetParam().esp});
  t.net.tick();
  expect_matching_pairs(t.a, t.b);
  const auto& pa = t.a.sink.pairs.begin()->second;
  EXPECT_EQ(pa.in.cipher, GetParam().cipher);
  EXPECT_EQ(pa.in.integ, GetParam().integ);
  EXPECT_TRUE(t.a.up["to-b"]);
  EXPECT_TRUE(t.b.up["to-a"]);
  auto j = t.a.engine.show_peer("to-b", t.net.now);
  ASSERT_EQ(j["ike_sas"].size(), 1u);
  EXPECT_EQ(j["ike_sas"][0]["state"], "established");
  EXPECT_EQ(j["ike_sas"][0]["algorithms"], GetParam().ike);
  EXPECT_EQ(j["ike_sas"][0]["peer_id"], "b.example");
  EXPECT_EQ(j["ike_sas"][0]["natt"], true);
  // IKE_SA_INIT + IKE_AUTH: exactly four datagrams, none retransmitted.
  EXPECT_EQ(t.net.delivered, 4);
}

INSTANTIATE_TEST_SUITE_P(
    Required, EngineSuites,
    ::testing::Values(SuiteCase{"aes128gcm16-prfsha256-ecp256", "aes128gcm16",
                                ipsec::EspCipher::kAesGcm16_128, ipsec::EspInteg::kNone},
                      SuiteCase{"aes256gcm16-prfsha384-ecp384", "aes256gcm16",
                                ipsec::EspCipher::kAesGcm16_256, ipsec::EspInteg::kNone},
                      SuiteCase{"aes128-sha256-prfsha256-modp2048", "aes128-sha256",
                                ipsec::EspCipher::kAesCbc128, ipsec::EspInteg::kHmacSha256_128},
                      SuiteCase{"aes256-sha384-prfsha384-ecp384", "aes256-sha384",
                                ipsec::EspCipher::kAesCbc256, ipsec::EspInteg::kHmacSha384_192},
                      SuiteCase{"aes256-sha512-prfsha512-curve25519", "aes256-sha512",
                                ipsec::EspCipher::kAesCbc256, ipsec::EspInteg::kHmacSha512_256},
                      SuiteCase{"aes256gcm16-prfsha512-modp2048", "aes128-sha512",
                                ipsec::EspCipher::kAesCbc128, ipsec::EspInteg::kHmacSha512_256}));

TEST(Engine, InvalidKePayloadRetry) {
  Pair t;
  t.configure({"aes128-sha256-ecp256", "aes128-sha256-modp2048"}, {"aes128-sha256"},
              {"aes128-sha256-modp2048"}, {"aes128-sha256"});
  t.net.tick();
  expect_matching_pairs(t.a, t.b);
  EXPECT_EQ(t.a.engine.show(t.net.now)["counters"]["invalid_ke"], 1);
  EXPECT_EQ(t.b.engine.show(t.net.now)["counters"]["invalid_ke"], 1);
  auto j = t.a.engine.show_peer("to-b", t.net.now);
  EXPECT_EQ(j["ike_sas"][0]["algorithms"], "aes128-sha256-prfsha256-modp2048");
}

TEST(Engine, NoCommonProposal) {
  Pair t;
  t.configure({"aes128-sha256-ecp256"}, {"aes128-sha256"}, {"aes256-sha512-ecp384"},
              {"aes128-sha256"});
  t.net.tick();
  EXPECT_TRUE(t.a.sink.pairs.empty());
  EXPECT_EQ(t.b.engine.show(t.net.now)["counters"]["no_proposal"], 1);
  EXPECT_NE(t.a.engine.show_peer("to-b", t.net.now)["last_error"], nullptr);
}

TEST(Engine, WrongPskFailsBothEnds) {
  Pair t;
  PeerSettings pa = settings("to-b", t.b, true);
  PeerSettings pb = settings("to-a", t.a, false);
  pb.psk = {'o', 't', 'h', 'e', 'r'};
  ASSERT_TRUE(t.a.engine.add_peer(pa));
  ASSERT_TRUE(t.b.engine.add_peer(pb));
  t.net.tick();
  EXPECT_TRUE(t.a.sink.pairs.empty());
  EXPECT_TRUE(t.b.sink.pairs.empty());
  EXPECT_EQ(t.b.engine.show(t.net.now)["counters"]["auth_failures"], 1);
  EXPECT_EQ(t.a.engine.show(t.net.now)["counters"]["auth_failures"], 1);
}

TEST(Engine, RetransmitsLostRequestAndAnswersDuplicateFromCache) {
  Pair t;
  t.configure({"aes256gcm16-prfsha256-ecp256"}, {"aes256gcm16"});
  int n = 0;
  // Lose the first IKE_SA_INIT request (1) and the first IKE_AUTH response (5; 2 is the
  // retransmitted IKE_SA_INIT, 3 its response, 4 the IKE_AUTH request).
  t.net.filter = [&](Datagram&) {
    ++n;
    return !(n == 1 || n == 5);
  };
  t.net.tick();
  EXPECT_TRUE(t.a.sink.pairs.empty());
  t.net.advance(std::chrono::seconds(5));
  expect_matching_pairs(t.a, t.b);
  auto cb = t.b.engine.show(t.net.now)["counters"];
  EXPECT_EQ(cb["duplicate_requests"], 1);  // the IKE_AUTH retransmission
  EXPECT_EQ(t.b.sink.log.size(), 1u);      // installed once, not twice
  EXPECT_GE(t.a.engine.show(t.net.now)["counters"]["retransmits"], 2);
}

TEST(Engine, ChildRekeyWithPfsInstallsBeforeRemoving) {
  Pair t;
  t.configure({"aes256gcm16-prfsha256-ecp256"}, {"aes256gcm16-ecp256"});
  t.net.tick();
  expect_matching_pairs(t.a, t.b);
  uint32_t old_a = t.a.sink.pairs.begin()->first, old_b = t.b.sink.pairs.begin()->first;
  t.net.advance(std::chrono::seconds(3600 - 540 + 5));
  expect_matching_pairs(t.a, t.b);
  EXPECT_NE(t.a.sink.pairs.begin()->first, old_a);
  EXPECT_NE(t.b.sink.pairs.begin()->first, old_b);
  for (const Node* n : {&t.a, &t.b}) {
    ASSERT_GE(n->sink.log.size(), 3u);
    // install(first), install(new), remove(first): never a moment without a pair.
    EXPECT_EQ(n->sink.log[0].kind, SinkEvent::kInstall);
    EXPECT_EQ(n->sink.log[1].kind, SinkEvent::kInstall);
    EXPECT_EQ(n->sink.log[2].kind, SinkEvent::kRemove);
    EXPECT_EQ(n->sink.log[2].spi_in, n->sink.log[0].spi_in);
  }
  EXPECT_TRUE(t.a.up["to-b"]);
  EXPECT_EQ(t.a.events.size(), 1u);  // never went down
}

TEST(Engine, SimultaneousChildRekeyLeavesOnePair) {
  Pair t;
  t.configure({"aes256gcm16-prfsha256-ecp256"}, {"aes256gcm16-ecp256"});
  t.net.tick();
  expect_matching_pairs(t.a, t.b);
  // Both ends start a rekey of the same CHILD_SA before either request arrives (§2.8.1).
  ASSERT_TRUE(t.a.engine.clear("to-b", false));
  ASSERT_TRUE(t.b.engine.clear("to-a", false));
  t.net.advance(std::chrono::seconds(3));
  expect_matching_pairs(t.a, t.b);
  // The loser never installed its redundant pair; the winner installed both new pairs and
  // removed the old one and the redundant one. Neither end removed its current pair.
  size_t ia = 0, ib = 0;
  for (const auto& e : t.a.sink.log) ia += e.kind == SinkEvent::kInstall;
  for (const auto& e : t.b.sink.log) ib += e.kind == SinkEvent::kInstall;
  EXPECT_EQ(std::min(ia, ib), 2u);
  EXPECT_EQ(std::max(ia, ib), 3u);
  for (const Node* n : {&t.a, &t.b}) {
    uint32_t last_install = 0;
    for (const auto& e : n->sink.log) {
      if (e.kind == SinkEvent::kInstall) last_install = e.spi_in;
      if (e.kind == SinkEvent::kRemove) {
        EXPECT_NE(e.spi_in, last_install);
      }
    }
  }
  EXPECT_TRUE(t.a.up["to-b"]);
  EXPECT_TRUE(t.b.up["to-a"]);
}

TEST(Engine, SimultaneousInitiationEndsWithOneSa) {
  Pair t;
  PeerSettings pa = settings("to-b", t.b, true);
  PeerSettings pb = settings("to-a", t.a, true);  // both initiate, in the same tick
  ASSERT_TRUE(t.a.engine.add_peer(pa));
  ASSERT_TRUE(t.b.engine.add_peer(pb));
  t.net.tick();
  t.net.advance(std::chrono::seconds(2));
  expect_matching_pairs(t.a, t.b);
  auto ja = t.a.engine.show_peer("to-b", t.net.now)["ike_sas"];
  auto jb = t.b.engine.show_peer("to-a", t.net.now)["ike_sas"];
  ASSERT_EQ(ja.size(), 1u) << ja.dump();
  ASSERT_EQ(jb.size(), 1u) << jb.dump();
  EXPECT_EQ(ja[0]["spi_i"], jb[0]["spi_i"]);
  EXPECT_NE(ja[0]["initiator"], jb[0]["initiator"]);
  // Stays that way: no second attempt once the survivor is established.
  t.net.advance(std::chrono::seconds(60));
  EXPECT_EQ(t.a.engine.show_peer("to-b", t.net.now)["ike_sas"].size(), 1u);
  expect_matching_pairs(t.a, t.b);
}

TEST(Engine, IkeRekeyKeepsChildSas) {
  Pair t;
  t.configure({"aes128-sha256-modp2048"}, {"aes128-sha256"});
  auto pa = settings("to-b", t.b, true, {"aes128-sha256-modp2048"}, {"aes128-sha256"});
  pa.local_id = "a.example";
  pa.remote_id = "b.example";
  pa.ike_lifetime = std::chrono::seconds(1200);
  pa.rekey_margin = std::chrono::seconds(300);
  ASSERT_TRUE(t.a.engine.update_peer(pa));
  t.net.tick();
  auto spi0 = t.a.engine.show_peer("to-b", t.net.now)["ike_sas"][0]["spi_i"];
  t.net.advance(std::chrono::seconds(1200 - 300 + 5));
  auto j = t.a.engine.show_peer("to-b", t.net.now);
  ASSERT_EQ(j["ike_sas"].size(), 1u) << j.dump();
  EXPECT_NE(j["ike_sas"][0]["spi_i"], spi0);
  EXPECT_EQ(j["ike_sas"][0]["state"], "established");
  EXPECT_EQ(j["ike_sas"][0]["child_sas"].size(), 1u);
  expect_matching_pairs(t.a, t.b);
  EXPECT_EQ(t.a.sink.log.size(), 1u);  // the CHILD_SA moved, nothing reinstalled
  EXPECT_EQ(t.b.engine.show_peer("to-a", t.net.now)["ike_sas"].size(), 1u);
  // The rekeyed IKE SA still works: a CHILD rekey over it.
  ASSERT_TRUE(t.a.engine.clear("to-b", false));
  t.net.advance(std::chrono::seconds(2));
  expect_matching_pairs(t.a, t.b);
  EXPECT_EQ(t.a.sink.log.size(), 3u);
}

TEST(Engine, DpdDeclaresDeadPeerAndReinitiates) {
  Pair t;
  t.configure({"aes256gcm16-prfsha256-ecp256"}, {"aes256gcm16"});
  t.net.tick();
  expect_matching_pairs(t.a, t.b);
  // b goes silent: nothing from b reaches a.
  t.net.filter = [&](Datagram& d) { return !(d.from.addr == t.b.ep.addr); };
  t.net.advance(std::chrono::seconds(10 + 30 + 2));
  EXPECT_TRUE(t.a.sink.pairs.empty());
  EXPECT_FALSE(t.a.up["to-b"]);
  ASSERT_EQ(t.a.events.size(), 2u);
  EXPECT_EQ(t.a.events[1], "to-b down: DPD timeout: peer not answering");
  EXPECT_EQ(t.a.engine.show(t.net.now)["counters"]["dpd_dead"], 1);
  // b comes back: a re-establishes (b accepts INITIAL_CONTACT and drops its stale SA).
  t.net.filter = nullptr;
  t.net.advance(std::chrono::seconds(3));
  expect_matching_pairs(t.a, t.b);
  EXPECT_TRUE(t.a.up["to-b"]);
}

TEST(Engine, RemovePeerDeletesOnBothEnds) {
  Pair t;
  t.configure({"aes256gcm16-prfsha256-ecp256"}, {"aes256gcm16"});
  t.net.tick();
  expect_matching_pairs(t.a, t.b);
  t.a.engine.remove_peer("to-b");
  t.net.pump();
  EXPECT_TRUE(t.a.sink.pairs.empty());
  EXPECT_TRUE(t.b.sink.pairs.empty());
  EXPECT_FALSE(t.b.up["to-a"]);
}

}  // namespace
}  // namespace ferry::ike::test
