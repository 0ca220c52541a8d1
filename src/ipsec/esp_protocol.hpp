// ESP's part of the per-packet data path: the PacketProtocol that the shared
// tunnel::PacketPath calls from its workers, so ESP gets the same batched
// TUN/UDP I/O, GSO/GRO and cryptokey routing as WireGuard.
//
// Outbound (seal): the routed peer's current outbound SA (worker snapshot of
// the Sad, no lock) takes the next sequence number (one atomic add; RFC 4303
// §3.3.3) and seals the inner packet in place. Header room is sized for GCM
// (8-byte ESP header + 8-byte IV); a CBC SA moves the plaintext 8 bytes on to
// make room for its 16-byte IV.
//
// Inbound (open), one UDP socket on port 4500 carrying IKE and ESP
// (RFC 3948 §2.2): a datagram starting with the zero non-ESP marker is IKE
// and is copied, without the marker, into the IkeInbox for the control
// plane (the way WireGuard handshake messages reach the handshake thread); a
// one-byte 0xff is a NAT-keepalive (RFC 3948 §2.3), dropped; anything else is
// ESP: SA by SPI, ESN inference and replay pre-check, ICV and decryption in
// place, replay window update, trailer. A dummy packet (next header 59, RFC
// 4303 §2.6) is discarded after it counted as traffic.
//
// Threads: one worker index per thread, as PacketPath guarantees; the Sad
// reader and crypto contexts are per worker.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "ipsec/sad.hpp"
#include "tunnel/packet_path.hpp"

namespace ferry::ipsec {

// IKE datagrams received on port 4500, handed from the workers to the
// control plane. Bounded; a full inbox drops (and counts) the datagram, as
// IKE retransmits (RFC 7296 §2.1).
class IkeInbox {
 public:
  struct Datagram {
    std::vector<uint8_t> msg;  // without the non-ESP marker
    tunnel::UdpEndpoint from;
  };
  explicit IkeInbox(size_t capacity = 256) : capacity_(capacity) {}
  // Called from a worker after a datagram was queued (the daemon wakes its loop).
  void set_notify(std::function<void()> fn) { notify_ = std::move(fn); }
  bool push(std::span<const uint8_t> msg, const tunnel::UdpEndpoint& from);
  // Takes everything queued (control-plane thread).
  std::deque<Datagram> drain();
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::deque<Datagram> q_;
  std::function<void()> notify_;
  std::atomic<uint64_t> dropped_{0};
};

class EspProtocol : public tunnel::PacketProtocol {
 public:
  static constexpr size_t kHeadroom = payload_offset(EspCipher::kAesGcm16_128);  // 16
  static_assert(kHeadroom >= tunnel::VnetHdr::kSize);

  // `drops`: what belongs to no peer (the packet path's device counters).
  EspProtocol(Sad& sad, IkeInbox& ike, tunnel::DropCounters& drops, size_t workers);
  ~EspProtocol() override;

  size_t headroom() const override { return kHeadroom; }
  size_t max_overhead() const override { return kMaxEspOverhead; }

  void tx_begin(size_t worker, tunnel::TimePoint now) override;
  Sealed seal(size_t worker, tunnel::PeerIndex peer, std::span<uint8_t> msg, size_t plain_len,
              tunnel::TimePoint now) override;
  void tx_end(size_t worker, tunnel::TimePoint now) override;

  void rx_begin(size_t worker, tunnel::TimePoint now) override;
  Opened open(size_t worker, std::span<uint8_t> datagram, const tunnel::UdpEndpoint& from,
              tunnel::TimePoint now) override;
  void rx_end(size_t worker, tunnel::TimePoint now) override;

  uint64_t keepalives() const { return keepalives_.load(std::memory_order_relaxed); }

 private:
  struct Worker {
    explicit Worker(const Sad& s) : tx(s), rx(s) {}
    Sad::Reader tx, rx;
  };
  Opened drop(PeerSad* p, EspDrop why, tunnel::Drop generic);

  Sad& sad_;
  IkeInbox& ike_;
  tunnel::DropCounters& drops_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<uint64_t> keepalives_{0};
};

}  // namespace ferry::ipsec
