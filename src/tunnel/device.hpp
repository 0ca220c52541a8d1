// A WireGuard device: the data path between one TUN interface and UDP.
//
// Data flow (outbound): worker i reads a batch of IP packets from TUN queue i
// straight into its transmit buffer at offset 16, looks the destination up in
// the cryptokey table (snapshot, no lock; an ECMP prefix picks one of its
// peers by a hash of the packet's flow), encrypts each packet in place with
// the peer's current keypair, and hands the batch to UDP socket i with
// sendmmsg (equal-size runs to one endpoint go as one UDP GSO buffer). A
// packet for a peer without a usable keypair is copied into the peer's bounded
// staging queue and a handshake is requested.
//
// Data flow (inbound): worker i receives a batch with recvmmsg (GRO buffers
// are split into datagrams), looks transport messages up by receiver index
// (index table), decrypts in place, checks the inner source against the
// cryptokey table (must map to the same peer, or to an ECMP set including
// it), updates the peer's endpoint (roaming) and writes the packet to the TUN
// queue. Handshake messages (types 1-3) are copied into a bounded queue for
// the handshake thread.
//
// The handshake thread owns the slow path: mac1/mac2/cookie replies and the
// per-source rate limiter when under load (queue longer than 1/8 of its
// capacity), initiation/response processing via PeerState, the per-peer timer
// machines, keepalives, and flushing staged packets once a session exists (as
// initiator on the response; as responder when a worker saw the first
// transport message under the new keypair and set the peer's want_flush).
//
// Peers are added/removed by the control plane; the data plane reads the peer
// list through an immutable snapshot (shared_ptr swap), like the cryptokey table.
// For unit tests, the step functions (tun_step, udp_step, handshake_step) run
// one iteration without threads, with fakes for TUN and UDP.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tunnel/cookie.hpp"
#include "tunnel/cryptokey.hpp"
#include "tunnel/datapath.hpp"
#include "tunnel/handshake.hpp"
#include "tunnel/peer_state.hpp"
#include "tunnel/ratelimit.hpp"
#include "tunnel/time_source.hpp"
#include "tunnel/tun.hpp"
#include "tunnel/udp.hpp"

namespace ferry::tunnel {

struct DeviceConfig {
  Key private_key{};
  uint32_t mtu = 1420;
  TimerConfig timers{};
  size_t staged_per_peer = 128;      // packets waiting for a handshake, per peer
  size_t handshake_queue = 1024;     // handshake messages waiting for the handshake thread
  const TimeSource* time = nullptr;  // null = the system clocks; must outlive the Device
};

struct DevicePeerConfig {
  std::string name;
  Key public_key{};
  Key preshared_key{};  // all zero = none
  std::optional<UdpEndpoint> endpoint;
  uint16_t persistent_keepalive = 0;  // seconds, 0 = off
};

struct PeerStats {
  PeerIndex index = 0;
  std::string name;
  Key public_key{};
  std::optional<UdpEndpoint> endpoint;
  std::optional<int64_t> last_handshake_unix;  // seconds since the epoch
  uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0;
  // Sessions established (as initiator on the response, as responder on the
  // first transport message under the new keypair).
  uint64_t handshakes = 0;
  uint16_t persistent_keepalive = 0;
  std::array<uint64_t, static_cast<size_t>(Drop::kCount)> drops{};
};

class Device {
 public:
  // tun and udp must have at least `workers` queues/sockets (extra ones are unused).
  Device(DeviceConfig cfg, std::unique_ptr<TunDevice> tun, std::unique_ptr<UdpTransport> udp,
         size_t workers);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // ---- control plane (one thread at a time) ----
  PeerIndex add_peer(const DevicePeerConfig& pc);
  void remove_peer(PeerIndex p);
  bool has_peer(PeerIndex p) const;
  void set_endpoint(PeerIndex p, const UdpEndpoint& e);
  void set_persistent_keepalive(PeerIndex p, uint16_t seconds);
  void set_preshared_key(PeerIndex p, const Key& psk);
  CryptokeyTable& routes() { return routes_; }
  const CryptokeyTable& routes() const { return routes_; }
  std::vector<PeerStats> stats() const;
  // Tests only: the peer's current keypair (e.g. to move its send counter).
  std::shared_ptr<Keypair> current_keypair_for_testing(PeerIndex p) const;
  const DropCounters& device_drops() const { return drops_; }
  // Cookie replies sent (handshake messages under load without a valid mac2).
  uint64_t cookie_replies_sent() const { return cookie_sent_.load(std::memory_order_relaxed); }
  uint16_t listen_port() const { return udp_->port(); }
  const std::string& interface_name() const { return tun_->name(); }
  Key public_key() const { return identity_.public_key; }

  // Starts the workers and the handshake thread; stop() joins them.
  void start();
  void stop();

  // ---- single-threaded stepping (unit tests) ----
  size_t tun_step(size_t worker);      // one TUN batch; returns packets read
  size_t udp_step(size_t worker);      // one UDP batch; returns datagrams read
  void handshake_step(TimePoint now);  // drain the handshake queue, run timers

 private:
  struct Peer;
  struct Worker;
  struct HsMsg {
    std::array<uint8_t, kMessageInitiationSize> data;
    size_t len;
    UdpEndpoint from;
  };
  using PeerList = std::vector<std::shared_ptr<Peer>>;  // indexed by PeerIndex, null = free

  std::shared_ptr<Peer> peer_at(const PeerList& l, PeerIndex i) const {
    return i < l.size() ? l[i] : nullptr;
  }
  void publish_peers(PeerList l);
  void worker_loop(size_t i);
  void handshake_loop();

  // Data path pieces.
  void send_transport_batch(Worker& w, TimePoint now);
  void receive_datagram(Worker& w, std::span<uint8_t> d, const UdpEndpoint& from, TimePoint now);
  void stage(Peer& p, std::span<const uint8_t> pkt);
  std::function<void(uint8_t*, size_t)> tun_writer(Worker& w);
  void request_handshake(Peer& p);
  void request_flush(Peer& p);
  void wake_handshake_thread();

  // Handshake-thread pieces.
  void handle_handshake_message(HsMsg& m, TimePoint now);
  void handle_initiation(HsMsg& m, TimePoint now);
  void handle_response(HsMsg& m, TimePoint now);
  void handle_cookie_reply(HsMsg& m, TimePoint now);
  // False if the rate limit (one initiation per REKEY_TIMEOUT, whitepaper §6.4)
  // deferred a new initiation while no handshake is in flight whose retries
  // would cover it: the caller keeps the request for a later step.
  bool send_initiation(Peer& p, TimePoint now, bool is_retry);
  void send_keepalive(Peer& p, TimePoint now);
  // Sends the staged packets with the current keypair; with nothing staged,
  // a keepalive if `keepalive_if_empty` (initiator: confirms the session).
  void flush_staged(Peer& p, TimePoint now, bool keepalive_if_empty);
  bool send_raw(std::span<const uint8_t> msg, const UdpEndpoint& to);
  // A worker's handshake request is stale once a session was established
  // after it was made (a batch that started with the old keypair asks for a
  // rekey just after the new one is installed). True if the peer still needs
  // a new session: no usable current keypair, or the current one is due for
  // a rekey (whitepaper §6.2, keepKeyFresh). Packets staged meanwhile are
  // sent on the current keypair.
  bool handshake_still_wanted(Peer& p, TimePoint now);

  // Index table: our receiver indices (handshakes in flight and keypairs) -> peer.
  uint32_t allocate_index(const std::shared_ptr<Peer>& p);
  void free_index(uint32_t idx);
  std::shared_ptr<Peer> find_index(uint32_t idx) const;
  void free_dropped(const KeypairSet::Dropped& d);

  DeviceConfig cfg_;
  StaticIdentity identity_;
  std::unique_ptr<TunDevice> tun_;
  std::unique_ptr<UdpTransport> udp_;
  const TimeSource* time_;
  CryptokeyTable routes_;

  std::atomic<std::shared_ptr<const PeerList>> peers_;
  std::atomic<uint64_t> peers_gen_{0};
  std::unordered_map<std::string, PeerIndex> peer_by_key_;  // control plane + handshake thread
  mutable std::mutex peers_mu_;                             // guards peer_by_key_ and edits

  mutable std::shared_mutex index_mu_;
  std::unordered_map<uint32_t, std::shared_ptr<Peer>> index_;
  std::atomic<uint64_t> index_gen_{0};  // bumped on every removal (invalidates worker caches)

  CookieChecker cookie_checker_;
  HandshakeRateLimiter rate_limiter_;
  std::mutex hs_mu_;
  std::condition_variable hs_cv_;
  std::deque<HsMsg> hs_queue_;
  bool hs_wakeup_ = false;

  DropCounters drops_;  // drops that belong to no peer
  std::atomic<uint64_t> cookie_sent_{0};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> running_{false};
  int stop_fd_ = -1;  // eventfd: readable once stop() was called
};

}  // namespace ferry::tunnel
