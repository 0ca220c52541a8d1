// The Security Association Database of the ESP data plane (RFC 4301 §4.4.2):
// inbound SAs by SPI, the current outbound SA of each peer, and the counters
// of both. It is the ChildSaSink the IKE engine installs into.
//
// Ownership and threads. The control-plane thread writes (install, remove,
// set_endpoint, add_peer, remove_peer) under a writer mutex; every change
// publishes a new immutable Snapshot and bumps a generation counter, as
// tunnel/index_table.hpp does. Workers read through a Reader that reloads
// the snapshot only when the generation moved (once per rekey, not per
// packet), so the hot path takes no lock. An SA's mutable state (sequence
// counter, replay window, counters) is atomic, shared by all workers.
//
// Make-before-break (RFC 7296 §2.8): install() publishes the new inbound SA
// and makes the new outbound SA the peer's current one in the same snapshot;
// the old pair's inbound SA stays until remove() names it, so packets the
// peer sent under the old SA before switching are still accepted.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ipsec/esp.hpp"
#include "ipsec/esp_replay.hpp"
#include "tunnel/endpoint_cell.hpp"
#include "tunnel/packet_path.hpp"

namespace ferry::ipsec {

// Why the ESP data plane dropped something. Names are what `show tunnels` prints.
enum class EspDrop : uint8_t {
  UnknownSpi,    // inbound SPI not in the SAD (RFC 4303 §3.4.2)
  Replay,        // sequence number seen or below the window (RFC 4303 §3.4.3)
  AuthFailed,    // ICV mismatch (RFC 4303 §3.4.4)
  Malformed,     // too short, misaligned, bad padding or next header
  NoSa,          // outbound: the peer has no established CHILD_SA
  SeqExhausted,  // outbound: the 32-bit counter would cycle without ESN (RFC 4303 §3.3.3)
  kCount
};
const char* esp_drop_name(EspDrop d);

struct EspDropCounters {
  std::array<std::atomic<uint64_t>, static_cast<size_t>(EspDrop::kCount)> v{};
  void add(EspDrop d) { v[static_cast<size_t>(d)].fetch_add(1, std::memory_order_relaxed); }
  uint64_t get(EspDrop d) const {
    return v[static_cast<size_t>(d)].load(std::memory_order_relaxed);
  }
  nlohmann::json json() const;
};

// Counters of one SA direction; workers add, the control plane reads.
struct SaCounters {
  std::atomic<uint64_t> bytes{0}, packets{0}, replayed{0}, auth_failed{0}, last_used_ns{0};
  void used(size_t len, uint64_t now_ns) {
    bytes.fetch_add(len, std::memory_order_relaxed);
    packets.fetch_add(1, std::memory_order_relaxed);
    last_used_ns.store(now_ns, std::memory_order_relaxed);
  }
  EspSaStats load() const;
};

// A peer as the data plane knows it: its counters (the packet path charges
// them) and where its ESP goes. Lives from add_peer (or its first install)
// to remove_peer, across rekeys.
struct PeerSad {
  tunnel::PeerIndex peer;
  tunnel::PeerCounters counters;
  EspDropCounters drops;
  tunnel::EndpointCell remote;
};

struct InboundSa {
  InboundSa(std::shared_ptr<PeerSad> p, std::unique_ptr<EspCrypto> c, uint32_t window, bool e)
      : peer(std::move(p)), crypto(std::move(c)), replay(window, e), esn(e) {}
  std::shared_ptr<PeerSad> peer;
  std::unique_ptr<EspCrypto> crypto;
  EspReplay replay;
  const bool esn;
  SaCounters counters;
};

struct OutboundSa {
  OutboundSa(std::unique_ptr<EspCrypto> c, bool e) : crypto(std::move(c)), esn(e) {}
  std::unique_ptr<EspCrypto> crypto;
  const bool esn;
  std::atomic<uint64_t> last_seq{0};  // RFC 4303 §3.3.3: the first packet sent is 1
  SaCounters counters;
};

class Sad : public ChildSaSink {
 public:
  struct Snapshot {
    std::unordered_map<uint32_t, std::shared_ptr<InboundSa>> in;  // by our SPI
    std::vector<std::shared_ptr<PeerSad>> peers;                  // by peer slot
    std::vector<std::shared_ptr<OutboundSa>> out;                 // by peer slot: current
  };

  // Crypto contexts are made for `workers` workers (the packet path's count).
  explicit Sad(size_t workers);
  ~Sad() override;

  // A peer this data plane carries (idempotent); remove_peer drops its SAs.
  void add_peer(tunnel::PeerIndex peer);
  void remove_peer(tunnel::PeerIndex peer);

  // ChildSaSink (control-plane thread).
  void install(const ChildSaPair& sa) override;
  void remove(tunnel::PeerIndex peer, uint32_t inbound_spi) override;
  void set_endpoint(tunnel::PeerIndex peer, const tunnel::UdpEndpoint& remote) override;
  EspSaStats stats(uint32_t inbound_spi, bool outbound) const override;

  // Pairs refused at install (bad keys); the IKE engine's SA then carries nothing.
  uint64_t install_failures() const { return install_failures_.load(std::memory_order_relaxed); }
  // A peer's SAs (SPIs, algorithms, counters; current first) and drops, for `show tunnels`.
  nlohmann::json show_peer(tunnel::PeerIndex peer) const;
  EspDropCounters& drops() { return drops_; }  // not attributable to a peer (unknown SPI, ...)
  const EspDropCounters& drops() const { return drops_; }
  size_t workers() const { return workers_; }

  // A worker's lock-free view: refresh() once per batch.
  class Reader {
   public:
    explicit Reader(const Sad& s) : sad_(&s) { refresh(); }
    void refresh() {
      const uint64_t g = sad_->gen_.load(std::memory_order_acquire);
      if (g != gen_ || !snap_) {
        snap_ = sad_->snap_.load(std::memory_order_acquire);
        gen_ = g;
      }
    }
    InboundSa* inbound(uint32_t spi) const {
      auto it = snap_->in.find(spi);
      return it == snap_->in.end() ? nullptr : it->second.get();
    }
    PeerSad* peer(tunnel::PeerIndex p) const {
      return p.slot() < snap_->peers.size() ? snap_->peers[p.slot()].get() : nullptr;
    }
    OutboundSa* outbound(tunnel::PeerIndex p) const {
      return p.slot() < snap_->out.size() ? snap_->out[p.slot()].get() : nullptr;
    }

   private:
    const Sad* sad_;
    std::shared_ptr<const Snapshot> snap_;
    uint64_t gen_ = ~uint64_t{0};
  };

 private:
  struct Pair {
    tunnel::PeerIndex peer;
    std::shared_ptr<InboundSa> in;
    std::shared_ptr<OutboundSa> out;
  };
  std::shared_ptr<PeerSad> peer_locked(Snapshot& next, tunnel::PeerIndex peer);
  void publish(Snapshot next);

  const size_t workers_;
  mutable std::mutex mu_;                     // writers
  std::unordered_map<uint32_t, Pair> pairs_;  // by inbound SPI; writer side, under mu_
  std::atomic<std::shared_ptr<const Snapshot>> snap_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<uint64_t> install_failures_{0};
  EspDropCounters drops_;
};

const char* cipher_name(EspCipher c);
const char* integ_name(EspInteg i);

}  // namespace ferry::ipsec
