// Device internals shared by device.cpp, device_transport.cpp and
// device_handshake.cpp (not part of the tunnel module's interface).
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tunnel/device.hpp"
#include "tunnel/endpoint_cell.hpp"

namespace ferry::tunnel {

// The key of Device::peer_by_key_.
inline std::string peer_key_str(const Key& k) {
  return std::string(k.begin(), k.end());
}

// One configured peer. Owned by shared_ptr: the peer list snapshot, the index
// table and in-flight batches keep it alive after removal.
struct Device::Peer {
  Peer(PeerIndex i, const DevicePeerConfig& pc, const StaticIdentity& id, TimerConfig tc)
      : index(i),
        name(pc.name),
        public_key(pc.public_key),
        state(id, pc.public_key, pc.preshared_key, tc),
        endpoint(pc.endpoint),
        keepalive(pc.persistent_keepalive) {
    std::lock_guard l(state.timers_mutex());
    state.timers().set_persistent_keepalive(std::chrono::seconds(pc.persistent_keepalive));
  }

  const PeerIndex index;
  const std::string name;
  const Key public_key;
  PeerState state;
  EndpointCell endpoint;  // config, handshakes and roaming write; workers read
  std::mutex staged_mu;
  std::deque<std::vector<uint8_t>> staged;  // guarded by staged_mu
  std::atomic<bool> want_handshake{false};  // set by workers, cleared by the handshake thread
  std::atomic<bool> want_flush{false};      // responder session confirmed: send staged packets
  uint32_t pending_index = 0;               // handshake thread: index of our in-flight initiation
  std::atomic<uint16_t> keepalive;
  std::atomic<uint64_t> handshakes{0};  // sessions established
  PeerCounters counters;
};

// A peer/keypair used in the current batch, accounted once at its end. Owning
// references (one per distinct keypair per batch, not per packet): a rekey or
// a peer removal may otherwise drop the last reference before the accounting
// runs.
struct Device::Touched {
  std::shared_ptr<Peer> peer;
  std::shared_ptr<Keypair> kp;
  bool data;
};

// Per-worker outbound state of the protocol; touched only by its worker.
struct Device::TxState {
  std::shared_ptr<const PeerList> peers;
  uint64_t peers_gen = ~uint64_t{0};
  std::vector<Touched> touched;
  // The peer of the previous packet and what was read for it (a batch is
  // usually one or a few flows).
  Peer* last_peer = nullptr;
  std::shared_ptr<Keypair> kp;
  std::optional<UdpEndpoint> ep;
};

// Per-worker inbound state of the protocol; touched only by its worker.
struct Device::RxState {
  explicit RxState(const IndexTable<IndexEntry>& t) : index(t) {}
  IndexTable<IndexEntry>::Reader index;
  std::vector<Touched> touched;
};

}  // namespace ferry::tunnel
