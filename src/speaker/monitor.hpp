// speaker::Monitor: the narrow seam through which a monitoring exporter (BMP,
// src/bmp) watches the speaker without reaching into sessions or the RIB.
//
// The speaker calls it on the control-plane loop, after the RIB has taken the
// change: peer_up when a session is Established, peer_down when it is lost,
// received for every UPDATE a peer sent (the pre-policy Adj-RIB-In change) and
// sent for every batch the speaker packs for a peer (the Adj-RIB-Out change).
// A monitor must not call back into the speaker or the RIB from these calls
// other than through const queries, and must not block: it is on the BGP path.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bgp/session.hpp"
#include "bgp/update_codec.hpp"
#include "common/ip.hpp"
#include "common/types.hpp"
#include "rib/rib.hpp"

namespace ferry::speaker {

// An Established neighbour as a monitoring station describes it (RFC 7854 §4.2,
// §4.10). The OPEN messages are referenced, not copied: valid during the call.
struct MonitoredPeer {
  rib::PeerId id{};
  std::string name;
  IpAddress address;
  Asn remote_asn;
  RouterId bgp_id;          // from the peer's OPEN
  IpAddress local_address;  // our end of the connection
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  bool ibgp = false;
  std::chrono::system_clock::time_point established_at{};
  const std::vector<uint8_t>* open_sent = nullptr;      // header included
  const std::vector<uint8_t>* open_received = nullptr;  // header included
};

class Monitor {
 public:
  virtual ~Monitor() = default;
  virtual void peer_up(const MonitoredPeer& p) = 0;
  virtual void peer_down(const MonitoredPeer& p, const bgp::DownCause& cause) = 0;
  // One UPDATE the peer sent, as decoded (RFC 7606 treat-as-withdraw applied).
  virtual void received(const MonitoredPeer& p, const bgp::DecodedUpdate& u) = 0;
  // What the speaker is about to send the peer (post-export-policy Adj-RIB-Out).
  virtual void sent(const MonitoredPeer& p, const rib::PullResult& r) = 0;
};

}  // namespace ferry::speaker
