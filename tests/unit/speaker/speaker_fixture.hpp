// Test fixture shared by the speaker tests: two speakers in one io_context
// talking BGP over loopback TCP (127.0.0.1 and 127.0.0.2, ephemeral ports, no root).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#include "bgp/session.hpp"
#include "bgp/transport.hpp"
#include "speaker/peer.hpp"
#include "speaker/speaker.hpp"

namespace ferry::speaker::testing_fixture {

using namespace std::chrono_literals;

template <class Pred>
bool run_until(asio::io_context& io, Pred pred, std::chrono::seconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.run_one_for(20ms);
  }
  return true;
}

inline void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  auto deadline = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < deadline) io.run_one_for(10ms);
}

inline Prefix P(const char* s) {
  return *Prefix::parse(s);
}
inline IpAddress A(const char* s) {
  return *IpAddress::parse(s);
}

inline Options base_config(uint32_t asn, uint32_t id, const char* listen) {
  Options c;
  c.local_asn = Asn(asn);
  c.router_id = RouterId(id);
  c.listen_port = 0;
  c.listen_address = A(listen);
  config::PolicyConfig all;
  all.name = "all";
  all.default_action = config::PolicyAction::Accept;
  c.policies.push_back(all);
  return c;
}

inline config::BgpNeighborConfig neighbor(const char* name, const char* addr, uint16_t port,
                                          uint32_t asn, const char* local) {
  config::BgpNeighborConfig n;
  n.name = name;
  n.address = A(addr);
  n.port = port;
  n.remote_asn = Asn(asn);
  n.local_address = A(local);
  n.import_policies = {"all"};
  n.export_policies = {"all"};
  n.import_set = n.export_set = true;
  n.connect_retry = 1;
  n.hold_time = 30;
  n.multihop = 2;
  return n;
}

struct Node {
  Options cfg;
  rib::Rib rib;
  Speaker sp;
  Node(asio::io_context& io, uint32_t asn, uint32_t id, const char* listen)
      : cfg(base_config(asn, id, listen)),
        rib(rib::RibOptions{Asn(asn), RouterId(id), {}, 1, false, false}),
        sp(io, cfg, rib) {}
  const ctl::Json neighbor_json(const std::string& name) const {
    const ctl::Json all = sp.show_neighbors();
    for (const auto& j : all["neighbors"])
      if (j["name"] == name) return j;
    return {};
  }
  std::string state(const std::string& name) const { return neighbor_json(name)["state"]; }
  bool has_route(const Prefix& p) const {
    for (const auto& v : rib.show_route(p))
      if (v.best) return true;
    return false;
  }
  const bgp::Session& session(const std::string& name) { return sp.find(name)->session(); }
};

class SpeakerTest : public ::testing::Test {
 protected:
  asio::io_context io;
  Node a{io, 65001, 0x01010101, "127.0.0.1"};
  Node b{io, 65002, 0x02020202, "127.0.0.2"};

  void SetUp() override {
    ASSERT_TRUE(a.sp.start().ok());
    ASSERT_TRUE(b.sp.start().ok());
    ASSERT_NE(a.sp.listen_port(), 0);
    ASSERT_NE(b.sp.listen_port(), 0);
  }
  // Adds the neighbours on both sides (both active: the first connections collide).
  void connect(
      std::function<void(config::BgpNeighborConfig&, config::BgpNeighborConfig&)> tweak = {}) {
    auto na = neighbor("b", "127.0.0.2", b.sp.listen_port(), 65002, "127.0.0.1");
    auto nb = neighbor("a", "127.0.0.1", a.sp.listen_port(), 65001, "127.0.0.2");
    if (tweak) tweak(na, nb);
    a.cfg.neighbors = {na};
    b.cfg.neighbors = {nb};
    a.sp.apply(a.cfg);
    b.sp.apply(b.cfg);
  }
  bool both_up() { return a.sp.established_count() == 1 && b.sp.established_count() == 1; }
};

}  // namespace ferry::speaker::testing_fixture
