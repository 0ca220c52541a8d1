// ike::Engine: the IKEv2 control plane (RFC 7296) of one ferry IPsec tunnel,
// as the ipsec module drives it. This header is the contract between the two
// modules; the implementation lives in src/ike/.
//
// Data flow. The ipsec module owns the sockets (UDP 500 and the shared 4500
// socket with ESP, ipsec/sa.hpp) and the event loop. It hands every IKE
// datagram to on_datagram() and calls tick() periodically (every 100 ms is
// enough; nothing here has its own timer or thread). The engine answers
// through IkeSender, and installs/removes CHILD_SAs through ChildSaSink. It
// reports each peer's liveness (IKE SA + CHILD_SA established, DPD alive)
// through the listener, which the daemon feeds into the tunnel peer's shared
// liveness state.
//
// Threading: every call on the control-plane thread.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ipsec/sa.hpp"
#include "tunnel/peer_index.hpp"
#include "tunnel/udp.hpp"

namespace ferry::ike {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// One configured IPsec peer, resolved from config (files already read).
struct PeerSettings {
  std::string name;
  tunnel::PeerIndex peer;           // the tunnel peer whose traffic its CHILD_SA carries
  tunnel::UdpEndpoint remote;       // port 500 (NAT-T floats to 4500 per RFC 7296 §2.23)
  std::string local_id, remote_id;  // IDi/IDr: an IP address or FQDN (RFC 7296 §3.5)
  std::vector<uint8_t> psk;         // empty: certificate authentication
  std::string cert_pem, key_pem;    // our certificate and private key (PEM text)
  std::string ca_pem;               // trust anchor for the peer's certificate
  // Proposals in strongSwan's notation, most preferred first, e.g.
  // "aes256gcm16-prfsha256-ecp256", "aes128-sha256-modp2048" (IKE) and
  // "aes256gcm16-ecp256", "aes128-sha256" (ESP; a DH group means PFS on rekey).
  std::vector<std::string> ike_proposals, esp_proposals;
  std::chrono::seconds ike_lifetime{28800}, child_lifetime{3600};
  std::chrono::seconds rekey_margin{540};  // rekey this long before the lifetime ends (jittered)
  std::chrono::seconds dpd_interval{10};   // empty INFORMATIONAL when no traffic was seen
  std::chrono::seconds dpd_timeout{30};    // peer declared dead after this long unanswered
  bool initiate = true;                    // false: responder only (wait for the peer)
  uint32_t replay_window = 1024;
};

class Engine {
 public:
  // `rng` fills buffers with random bytes (tests inject a deterministic one; default OpenSSL).
  Engine(ipsec::ChildSaSink& sa, ipsec::IkeSender& out,
         std::function<void(std::span<uint8_t>)> rng = {});
  ~Engine();

  Result<void> add_peer(const PeerSettings& p);     // starts initiating at the next tick
  void remove_peer(const std::string& name);        // sends Delete, removes its SAs
  Result<void> update_peer(const PeerSettings& p);  // reload: re-establishes if keys/ids changed

  // A datagram received on local port 500 (natt false) or 4500 (natt true, marker stripped).
  void on_datagram(std::span<const uint8_t> msg, const tunnel::UdpEndpoint& from, bool natt,
                   TimePoint now);
  void tick(TimePoint now);

  // `ferryctl clear tunnel NAME`: rekey the CHILD_SA, or re-establish (`hard`).
  Result<void> clear(const std::string& name, bool hard);

  // A peer's liveness changed: up once the CHILD_SA is installed; down when the IKE
  // SA dies (DPD timeout, Delete, retransmits exhausted, auth failure).
  void set_liveness_listener(
      std::function<void(const std::string& peer, bool up, const std::string& reason)> fn);

  // IKE/CHILD SA state, negotiated algorithms, SPIs, rekey countdowns (stable JSON fields).
  nlohmann::json show(TimePoint now) const;
  nlohmann::json show_peer(const std::string& name, TimePoint now) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::ike
