// BMP exporter (RFC 7854): streams the speaker's sessions and routes to the
// configured monitoring stations.
//
// Data flow. The speaker calls the Exporter through speaker::Monitor (peer
// up/down, each UPDATE received, each batch sent). The Exporter keeps the
// small per-peer facts a Per-Peer Header and a Peer Up need (addresses, AS,
// BGP ID, both OPENs) and encodes every event once per kind of view, then
// appends the bytes to each connected Station that wants that view. Routes
// are never copied: the initial dump of a station walks the RIB in steps
// (rib::Rib::walk_peer), one step whenever the station's queue is short.
//
// A Station is one TCP connection (Connection seam) with a bounded send
// queue. On connect it sends Initiation, a Peer Up for every Established
// session, then the dump of each peer's pre-policy Adj-RIB-In (and post-policy
// Adj-RIB-In / Adj-RIB-Out when configured) closed by End-of-RIB, with the
// incremental changes interleaved as they happen. A station that cannot keep
// up never holds back BGP: when its queue passes queue_limit the connection
// is dropped (counted) and the next connection starts over with a full dump.
// Reconnects back off exponentially from min_backoff to max_backoff.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bmp/connection.hpp"
#include "bmp/message.hpp"
#include "bmp/options.hpp"
#include "bmp/route_monitor.hpp"
#include "ctl/registry.hpp"
#include "rib/rib.hpp"
#include "speaker/monitor.hpp"

namespace ferry::bmp {

class Station;

class Exporter final : public speaker::Monitor {
 public:
  // rib outlives this. established: the sessions up right now (the speaker's
  // for_each_established), asked once at construction.
  using PeerLister = std::function<void(const std::function<void(const speaker::MonitoredPeer&)>&)>;
  Exporter(asio::io_context& io, rib::Rib& rib, ExporterOptions opts, Connector connector,
           const PeerLister& established);
  ~Exporter() override;

  // Reload: stations added, removed (Termination sent) or restarted when changed.
  void apply(const ExporterOptions& opts);
  // Termination (administratively closed) to every station, then closed.
  void stop();
  // `ferryctl show bmp`: every station's state and counters.
  ctl::Json show() const;

  // speaker::Monitor
  void peer_up(const speaker::MonitoredPeer& p) override;
  void peer_down(const speaker::MonitoredPeer& p, const bgp::DownCause& cause) override;
  void received(const speaker::MonitoredPeer& p, const bgp::DecodedUpdate& u) override;
  void sent(const speaker::MonitoredPeer& p, const rib::PullResult& r) override;

  // What a Station needs from its exporter.
  struct PeerFacts {
    PeerHeader header;  // flags and timestamp clear
    IpAddress local_address;
    uint16_t local_port = 0;
    uint16_t remote_port = 0;
    uint32_t up_sec = 0, up_usec = 0;  // when it became Established
    std::vector<uint8_t> open_sent, open_received;
  };
  const std::map<rib::PeerId, PeerFacts>& peers() const { return peers_; }
  rib::Rib& rib() { return rib_; }
  const ExporterOptions& options() const { return opts_; }
  asio::io_context& io() { return io_; }
  const Connector& connector() const { return connector_; }

 private:
  PeerFacts facts(const speaker::MonitoredPeer& p) const;
  void start_station(const StationOptions& so);

  asio::io_context& io_;
  rib::Rib& rib_;
  ExporterOptions opts_;
  Connector connector_;
  std::map<rib::PeerId, PeerFacts> peers_;  // Established sessions
  std::map<std::string, std::unique_ptr<Station>> stations_;
  RouteMonitorEncoder enc_;
  std::vector<uint8_t> scratch_[3];  // one event's messages per view (pre, post, out)
};

// Fills the Peer Up message for a peer (RFC 7854 §4.10).
void peer_up_message(const Exporter::PeerFacts& f, std::vector<uint8_t>& out);
// Encodes the current time as Per-Peer Header timestamp fields.
void stamp_now(PeerHeader& h);

}  // namespace ferry::bmp
