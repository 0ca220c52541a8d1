// Route Monitoring messages (RFC 7854 §4.6) for routes held as values: the
// routes are packed into BGP UPDATEs with src/bgp's encoder and each UPDATE
// is wrapped in its own BMP message.
//
// Every UPDATE is written with 4-octet AS numbers (the A flag stays clear,
// RFC 7854 §4.2) whatever the monitored session negotiated, and with the
// attributes as stored (nothing stripped for eBGP): the station sees what the
// RIB holds, in one format for the initial dump and the incremental updates.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bgp/attributes.hpp"
#include "bgp/update_codec.hpp"
#include "bmp/message.hpp"
#include "common/ip.hpp"

namespace ferry::bmp {

class RouteMonitorEncoder {
 public:
  RouteMonitorEncoder();
  // Announcements sharing attrs; returns the BMP messages appended (0 if the
  // attributes cannot be encoded, e.g. no next hop for the family).
  size_t announce(const PeerHeader& peer, const bgp::PathAttributes& attrs,
                  std::span<const Prefix> prefixes, std::vector<uint8_t>& out);
  size_t withdraw(const PeerHeader& peer, std::span<const Prefix> prefixes,
                  std::vector<uint8_t>& out);
  // RFC 7854 §5: End-of-RIB after the initial dump (RFC 4724 §2 marker).
  size_t end_of_rib(const PeerHeader& peer, Family f, std::vector<uint8_t>& out);

 private:
  size_t wrap(const PeerHeader& peer, std::vector<uint8_t>& out);
  bgp::UpdateEncoder enc_;
  std::vector<uint8_t> bgp_;  // UPDATEs of one call, reused
};

}  // namespace ferry::bmp
