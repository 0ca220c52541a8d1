// Two ike::Engines back to back: in-memory IkeSender/ChildSaSink fakes, a
// manual clock and a deterministic RNG. Datagrams are queued and delivered by
// pump(); a filter can drop or alter them to model loss and hostile input.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ike/engine.hpp"

namespace ferry::ike::test {

struct SinkEvent {
  enum Kind { kInstall, kRemove } kind;
  uint32_t spi_in;
};

class FakeSink final : public ipsec::ChildSaSink {
 public:
  void install(const ipsec::ChildSaPair& sa) override {
    pairs[sa.in.spi] = sa;
    log.push_back({SinkEvent::kInstall, sa.in.spi});
  }
  void remove(tunnel::PeerIndex, uint32_t inbound_spi) override {
    pairs.erase(inbound_spi);
    log.push_back({SinkEvent::kRemove, inbound_spi});
  }
  void set_endpoint(tunnel::PeerIndex, const tunnel::UdpEndpoint&) override {}
  ipsec::EspSaStats stats(uint32_t, bool) const override { return {}; }

  std::map<uint32_t, ipsec::ChildSaPair> pairs;  // installed, by inbound SPI
  std::vector<SinkEvent> log;
};

struct Datagram {
  std::vector<uint8_t> data;
  tunnel::UdpEndpoint from, to;
  bool natt;
};

class FakeSender final : public ipsec::IkeSender {
 public:
  FakeSender(tunnel::UdpEndpoint self, std::deque<Datagram>& q) : self_(self), q_(q) {}
  void send_ike(std::span<const uint8_t> msg, const tunnel::UdpEndpoint& to, bool natt) override {
    tunnel::UdpEndpoint from{self_.addr, static_cast<uint16_t>(natt ? 4500 : 500)};
    q_.push_back({{msg.begin(), msg.end()}, from, to, natt});
    ++sent;
  }
  int sent = 0;

 private:
  tunnel::UdpEndpoint self_;
  std::deque<Datagram>& q_;
};

inline std::function<void(std::span<uint8_t>)> seeded_rng(uint32_t seed) {
  auto gen = std::make_shared<std::mt19937>(seed);
  return [gen](std::span<uint8_t> b) {
    for (auto& x : b) x = static_cast<uint8_t>((*gen)());
  };
}

struct Node {
  Node(const char* addr, uint32_t seed, std::deque<Datagram>& q)
      : ep{*IpAddress::parse(addr), 500}, sender(ep, q), engine(sink, sender, seeded_rng(seed)) {
    engine.set_liveness_listener([this](const std::string& peer, bool up, const std::string& why) {
      events.push_back(peer + (up ? " up" : " down: ") + (up ? "" : why));
      this->up[peer] = up;
    });
  }
  tunnel::UdpEndpoint ep;
  FakeSink sink;
  FakeSender sender;
  Engine engine;
  std::vector<std::string> events;
  std::map<std::string, bool> up;
};

// Delivers queued datagrams to whichever node owns the destination address.
class Net {
 public:
  std::deque<Datagram> q;
  std::vector<Node*> nodes;
  // Return false to drop; may modify the datagram.
  std::function<bool(Datagram&)> filter;
  TimePoint now = TimePoint{} + std::chrono::hours(1);
  int delivered = 0, dropped = 0;

  void pump() {
    for (int guard = 0; !q.empty() && guard < 10000; ++guard) {
      Datagram d = std::move(q.front());
      q.pop_front();
      if (filter && !filter(d)) {
        ++dropped;
        continue;
      }
      for (Node* n : nodes)
        if (n->ep.addr == d.to.addr) {
          ++delivered;
          n->engine.on_datagram(d.data, d.from, d.natt, now);
        }
    }
  }
  void tick() {
    for (Node* n : nodes) n->engine.tick(now);
    pump();
  }
  // Advances the manual clock in steps, ticking and delivering after each.
  void advance(std::chrono::seconds total,
               std::chrono::milliseconds step = std::chrono::milliseconds(500)) {
    for (auto t = std::chrono::milliseconds(0); t < total; t += step) {
      now += step;
      tick();
    }
  }
};

inline PeerSettings settings(const char* name, const Node& remote, bool initiate,
                             std::vector<std::string> ike = {"aes256gcm16-prfsha256-ecp256"},
                             std::vector<std::string> esp = {"aes256gcm16-ecp256"}) {
  PeerSettings p;
  p.name = name;
  p.peer = tunnel::PeerIndex(7);
  p.remote = remote.ep;
  p.local_id = "local." + std::string(name);
  p.remote_id = "";
  p.psk = {'s', 'e', 'c', 'r', 'e', 't'};
  p.ike_proposals = std::move(ike);
  p.esp_proposals = std::move(esp);
  p.initiate = initiate;
  return p;
}

}  // namespace ferry::ike::test
