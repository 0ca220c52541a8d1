// The part of the data path that any encrypted tunnel shares, whatever its
// wire protocol (WireGuard transport messages today; ESP in UDP next):
// batched TUN and UDP I/O with their offloads, cryptokey routing, and the
// per-peer counters. The protocol plugs in through PacketProtocol and only
// seals and opens messages in place.
//
// Outbound (tun_step, one worker): read a batch of IP packets from TUN queue
// i straight into the transmit buffer at offset headroom() (a TUN GSO read is
// split into segments first), parse the inner header, look the destination up
// in the cryptokey snapshot (an ECMP prefix picks a peer by the flow hash),
// and let the protocol seal the packet in place for that peer. Sealed messages
// lie back to back; runs of equal size to one endpoint leave as one UDP GSO
// buffer through sendmmsg, and the peer's tx counters are charged per message
// sent.
//
// Inbound (udp_step, one worker): receive a batch with recvmmsg (UDP GRO
// buffers are split into datagrams), let the protocol open each one in place,
// check the decrypted packet's source against the cryptokey snapshot (it must
// map to the peer that sent it, or to an ECMP set including it), and write it
// to the TUN queue (TCP segments of one flow are coalesced into one TUN write
// when the TUN has offloads).
//
// Threads: each worker index is used by one thread at a time; nothing here
// takes a lock. The cryptokey table is read through a per-worker snapshot
// reader; the protocol keeps its own per-worker state indexed by worker.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tunnel/cryptokey.hpp"
#include "tunnel/datapath.hpp"
#include "tunnel/time_source.hpp"
#include "tunnel/tun.hpp"
#include "tunnel/tun_offload.hpp"
#include "tunnel/udp.hpp"

namespace ferry::tunnel {

// Traffic and drop counters of one peer: relaxed atomics, workers add, the
// control plane reads.
struct PeerCounters {
  std::atomic<uint64_t> rx_bytes{0}, tx_bytes{0}, rx_packets{0}, tx_packets{0};
  DropCounters drops;
};

// What a tunnel protocol does in the shared data path. Called from worker
// threads; `worker` says whose per-worker state to use.
class PacketProtocol {
 public:
  virtual ~PacketProtocol() = default;

  // Bytes the protocol writes in front of the plaintext (at least
  // VnetHdr::kSize: an opened message's header room takes the virtio header
  // of a coalesced TUN write), and the most it adds in all (header, padding,
  // trailer, tag).
  virtual size_t headroom() const = 0;
  virtual size_t max_overhead() const = 0;

  struct Sealed {
    size_t len = 0;  // message length; 0 = not sent (the protocol staged or counted it)
    PeerCounters* counters = nullptr;
    UdpEndpoint to;
  };
  // Outbound batch: tx_begin, then seal() per routed packet in TUN order, then
  // tx_end after the batch was sent. `msg` holds the plaintext at
  // msg[headroom() : headroom() + plain_len] and has room for the overhead.
  virtual void tx_begin(size_t worker, TimePoint now) = 0;
  virtual Sealed seal(size_t worker, PeerIndex peer, std::span<uint8_t> msg, size_t plain_len,
                      TimePoint now) = 0;
  virtual void tx_end(size_t worker, TimePoint now) = 0;

  // The plaintext lies at datagram[headroom() : headroom() + len].
  struct Opened {
    size_t len = 0;  // plaintext length; 0 = nothing for the TUN (control, keepalive, drop)
    PeerIndex peer = kNoPeer;
    PeerCounters* counters = nullptr;
  };
  // Inbound batch: rx_begin, then open() per datagram (decrypt in place), then
  // rx_end before the coalesced TUN writes are flushed.
  virtual void rx_begin(size_t worker, TimePoint now) = 0;
  virtual Opened open(size_t worker, std::span<uint8_t> datagram, const UdpEndpoint& from,
                      TimePoint now) = 0;
  virtual void rx_end(size_t worker, TimePoint now) = 0;
};

class PacketPath {
 public:
  // One worker per TUN queue / UDP socket pair (the smaller count of the two
  // and `workers`, at least one). `drops` counts what belongs to no peer.
  PacketPath(PacketProtocol& proto, TunDevice& tun, UdpTransport& udp, const CryptokeyTable& routes,
             const TimeSource& time, DropCounters& drops, size_t mtu, size_t workers);
  ~PacketPath();
  PacketPath(const PacketPath&) = delete;
  PacketPath& operator=(const PacketPath&) = delete;

  size_t workers() const { return workers_.size(); }
  size_t tun_step(size_t worker);  // one TUN batch; returns packets read
  size_t udp_step(size_t worker);  // one UDP batch; returns datagrams handled
  // TCP MSS clamping of transit SYNs to the MTU (tunnel/mss.hpp), both
  // directions; on by default. Set before the workers run.
  void set_mss_clamp(bool on) { mss_clamp_ = on; }
  // Waits until worker's TUN queue or UDP socket is readable, or `stop_fd` is.
  void wait(size_t worker, int stop_fd) const;

 private:
  struct Worker;
  void send(Worker& w);

  PacketProtocol& proto_;
  UdpTransport& udp_;
  const TimeSource& time_;
  DropCounters& drops_;
  const size_t headroom_;
  const size_t mtu_;
  bool mss_clamp_ = true;
  const size_t read_cap_;
  const size_t slot_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace ferry::tunnel
