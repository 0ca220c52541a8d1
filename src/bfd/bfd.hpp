// BFD for single-hop IPv4/IPv6 (RFC 5881) on the control-plane event loop.
//
// One listening socket per family on UDP 3784 receives every session's
// packets; the TTL/hop limit must be 255 (RFC 5881 §5, GTSM-style). Packets
// are matched to sessions by Your Discriminator, or by source address while
// the remote does not know our discriminator yet. Each session sends from its
// own socket bound to a source port in 49152..65535 with TTL 255. State
// changes are reported through the listener; BGP uses them to drop a session
// long before its hold timer would.
#pragma once

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include "bfd/session.hpp"
#include "common/ip.hpp"
#include "common/result.hpp"

namespace ferry::bfd {

class Bfd {
 public:
  using Listener = std::function<void(const IpAddress& peer, State from, State to, Diag why)>;

  // listen_port: where we receive; peer_port: where peers listen. Both are
  // 3784 (RFC 5881 §4) except in tests that run two instances in one process.
  explicit Bfd(asio::io_context& io, uint16_t listen_port = 3784, uint16_t peer_port = 3784);
  ~Bfd();

  Result<void> start();
  // Sends AdminDown to every peer and closes the sockets.
  void stop();
  Result<void> add_peer(const IpAddress& peer, std::optional<IpAddress> local, Timers timers);
  void remove_peer(const IpAddress& peer);
  bool has_peer(const IpAddress& peer) const { return peers_.count(peer) != 0; }
  std::optional<State> state(const IpAddress& peer) const;
  // The state the peer last reported (AdminDown: it is shutting down, RFC 5882 §3.2).
  std::optional<State> remote_state(const IpAddress& peer) const;
  void set_listener(Listener l) { listener_ = std::move(l); }
  nlohmann::json show() const;

  struct Counters {
    uint64_t rx = 0, tx = 0, drop_ttl = 0, drop_malformed = 0, drop_no_session = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Peer;
  struct Listen;
  void read_loop(Listen& l);
  // Handles every packet waiting in the socket (never blocks).
  void drain(Listen& l);
  void handle(const IpAddress& from, std::span<const uint8_t> data, int ttl);
  void arm(Peer& p);
  void send(Peer& p, const ControlPacket& pkt);
  uint32_t new_discriminator();

  asio::io_context& io_;
  uint16_t port_;
  uint16_t peer_port_;
  std::unique_ptr<Listen> listen4_, listen6_;
  std::map<IpAddress, std::unique_ptr<Peer>> peers_;
  std::map<uint32_t, Peer*> by_discr_;
  Listener listener_;
  Counters counters_;
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace ferry::bfd
