// A WireGuard device: the WireGuard protocol on top of the shared data path.
//
// Device is a facade over three parts, one file each, split by packet flow
// as wireguard-go splits device/ (send.go, receive.go, noise-protocol.go,
// timers.go, indextable.go):
//   device_transport.cpp  the PacketProtocol the shared PacketPath calls per
//                         packet: seal a transport message (outbound) and
//                         open one (inbound), with the per-batch keepKeyFresh
//                         and session-confirmation steps;
//   device_handshake.cpp  the handshake thread: mac1/mac2 and cookie replies
//                         under load, the per-source rate limiter, initiation
//                         and response processing via PeerState, the
//                         per-peer timers, keepalives, staged packets;
//   device.cpp            the peer registry (control plane), stats, threads.
// PacketPath (packet_path.hpp) owns what any tunnel kind shares: TUN and UDP
// batching with GSO/GRO, cryptokey routing and source checks, counters.
//
// Locking: workers take no lock per packet. The peer list, the cryptokey
// table and the receiver-index table are immutable snapshots swapped by
// their writers and reloaded by a worker only when their generation moved;
// a peer's endpoint is a sequence-locked cell; replay windows are lock-free.
// A worker takes one uncontended mutex per peer per outbound batch to read
// the peer's current keypair, and the staging queue's mutex only when a
// packet waits for a handshake. Handshake messages (types 1-3) are copied
// into a bounded queue for the handshake thread.
//
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
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tunnel/cookie.hpp"
#include "tunnel/cryptokey.hpp"
#include "tunnel/datapath.hpp"
#include "tunnel/handshake.hpp"
#include "tunnel/index_table.hpp"
#include "tunnel/packet_path.hpp"
#include "tunnel/peer_state.hpp"
#include "tunnel/ratelimit.hpp"
#include "tunnel/time_source.hpp"
#include "tunnel/tun.hpp"
#include "tunnel/udp.hpp"

namespace ferry::tunnel {

struct DeviceConfig {
  Key private_key{};
  uint32_t mtu = 1420;
  bool mss_clamp = true;  // TCP MSS clamping of transit SYNs to the MTU (tunnel/mss.hpp)
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
  PeerIndex index;
  std::string name;
  Key public_key{};
  std::optional<UdpEndpoint> endpoint;
  std::optional<int64_t> last_handshake_unix;  // seconds since the epoch
  // Liveness inputs (whitepaper §6): time since the last completed handshake,
  // whether an initiation is awaiting its response, and how many retries of it
  // went unanswered (reset by a completed handshake or a fresh initiation).
  std::optional<std::chrono::nanoseconds> since_handshake;
  bool handshake_in_flight = false;
  int handshake_retries = 0;
  uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0;
  // Sessions established (as initiator on the response, as responder on the
  // first transport message under the new keypair).
  uint64_t handshakes = 0;
  uint16_t persistent_keepalive = 0;
  std::array<uint64_t, static_cast<size_t>(Drop::kCount)> drops{};
};

class Device : private PacketProtocol {
 public:
  // tun and udp must have at least `workers` queues/sockets (extra ones are unused).
  Device(DeviceConfig cfg, std::unique_ptr<TunDevice> tun, std::unique_ptr<UdpTransport> udp,
         size_t workers);
  ~Device() override;
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
  Key public_key() const { return identity_.public_key; }

  // Starts the workers and the handshake thread; stop() joins them.
  void start();
  void stop();

  // ---- single-threaded stepping (unit tests) ----
  size_t tun_step(size_t worker) { return path_->tun_step(worker); }  // packets read
  size_t udp_step(size_t worker) { return path_->udp_step(worker); }  // datagrams read
  void handshake_step(TimePoint now);  // drain the handshake queue, run timers

 private:
  struct Peer;
  struct Touched;
  struct TxState;
  struct RxState;
  struct HsMsg {
    std::array<uint8_t, kMessageInitiationSize> data;
    size_t len;
    UdpEndpoint from;
  };
  using PeerList = std::vector<std::shared_ptr<Peer>>;  // indexed by PeerIndex, null = free
  // Receiver index -> peer, and the keypair once one is derived for it.
  struct IndexEntry {
    std::shared_ptr<Peer> peer;
    std::shared_ptr<Keypair> kp;
  };

  std::shared_ptr<Peer> peer_at(const PeerList& l, PeerIndex i) const {
    return i.slot() < l.size() ? l[i.slot()] : nullptr;
  }
  void publish_peers(PeerList l);
  void worker_loop(size_t i);
  void handshake_loop();

  // ---- PacketProtocol (device_transport.cpp), called by the workers ----
  size_t headroom() const override { return kTransportHeaderSize; }
  // Header, tag, and up to 15 bytes of padding (whitepaper §5.4.6).
  size_t max_overhead() const override { return kTransportHeaderSize + kAeadTagSize + 16; }
  void tx_begin(size_t worker, TimePoint now) override;
  Sealed seal(size_t worker, PeerIndex peer, std::span<uint8_t> msg, size_t plain_len,
              TimePoint now) override;
  void tx_end(size_t worker, TimePoint now) override;
  void rx_begin(size_t worker, TimePoint now) override;
  Opened open(size_t worker, std::span<uint8_t> datagram, const UdpEndpoint& from,
              TimePoint now) override;
  void rx_end(size_t worker, TimePoint now) override;
  void queue_handshake_message(std::span<const uint8_t> d, const UdpEndpoint& from);
  void worker_idle(size_t worker);  // drop snapshot references between bursts

  void stage(Peer& p, std::span<const uint8_t> pkt);
  void request_handshake(Peer& p);
  void request_flush(Peer& p);
  void wake_handshake_thread();

  // ---- handshake thread (device_handshake.cpp) ----
  void handle_handshake_message(HsMsg& m, TimePoint now);
  void handle_initiation(HsMsg& m, TimePoint now);
  void handle_response(HsMsg& m, TimePoint now);
  void handle_cookie_reply(HsMsg& m, TimePoint now);
  enum class Initiation {
    Sent,      // an initiation went out (or could not, and retrying cannot help)
    Deferred,  // the rate limit (one per REKEY_TIMEOUT, whitepaper §6.4) holds it
               // while no handshake is in flight whose retries would cover it
  };
  Initiation send_initiation(Peer& p, TimePoint now, bool is_retry);
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
  void free_dropped(const KeypairSet::Dropped& d);

  DeviceConfig cfg_;
  StaticIdentity identity_;
  std::unique_ptr<TunDevice> tun_;
  std::unique_ptr<UdpTransport> udp_;
  const TimeSource* time_;
  CryptokeyTable routes_;
  DropCounters drops_;  // drops that belong to no peer

  std::atomic<std::shared_ptr<const PeerList>> peers_;
  std::atomic<uint64_t> peers_gen_{0};
  std::unordered_map<std::string, PeerIndex> peer_by_key_;  // control plane + handshake thread
  mutable std::mutex peers_mu_;                             // guards peer_by_key_ and edits

  IndexTable<IndexEntry> index_;

  CookieChecker cookie_checker_;
  HandshakeRateLimiter rate_limiter_;
  std::mutex hs_mu_;
  std::condition_variable hs_cv_;
  std::deque<HsMsg> hs_queue_;
  bool hs_wakeup_ = false;

  std::atomic<uint64_t> cookie_sent_{0};
  std::vector<std::unique_ptr<TxState>> tx_;  // per worker
  std::vector<std::unique_ptr<RxState>> rx_;  // per worker
  std::unique_ptr<PacketPath> path_;
  std::vector<std::thread> threads_;
  std::atomic<bool> running_{false};
  int stop_fd_ = -1;  // eventfd: readable once stop() was called
};

}  // namespace ferry::tunnel
