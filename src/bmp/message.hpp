// BMP, the BGP Monitoring Protocol (RFC 7854), message encoder.
//
// A monitored router (ferryd) sends these to a monitoring station over TCP;
// the station never answers (RFC 7854 §3.3), so there is only an encoder.
// Every function appends one complete message, Common Header (§4.1)
// included, to the caller's buffer: the exporter's send queue. The codec is
// pure: it knows nothing about sessions, the RIB or sockets.
//
// Adj-RIB-Out monitoring (RFC 8671) reuses Route Monitoring and Stats Report
// with the O flag of the Per-Peer Header.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/ip.hpp"

namespace ferry::bmp {

// RFC 7854 §4.1: Version 3.
constexpr uint8_t kVersion = 3;
constexpr size_t kCommonHeaderLen = 6;
constexpr size_t kPerPeerHeaderLen = 42;  // §4.2

// RFC 7854 §4.1 Message Types.
enum class MsgType : uint8_t {
  RouteMonitoring = 0,
  StatsReport = 1,
  PeerDown = 2,
  PeerUp = 3,
  Initiation = 4,
  Termination = 5,
  RouteMirroring = 6,
};

// RFC 7854 §4.2 Per-Peer Header flags (bit 0 is the most significant).
constexpr uint8_t kFlagV = 0x80;  // peer address is IPv6
constexpr uint8_t kFlagL = 0x40;  // post-policy (0: pre-policy)
constexpr uint8_t kFlagA = 0x20;  // legacy 2-octet AS_PATH format
constexpr uint8_t kFlagO = 0x10;  // RFC 8671 §4: Adj-RIB-Out (0: Adj-RIB-In)

// RFC 7854 §4.2 Peer Types.
constexpr uint8_t kPeerTypeGlobal = 0;

// RFC 7854 §4.4 Information TLV types (Initiation, Peer Up).
constexpr uint16_t kInfoString = 0;
constexpr uint16_t kInfoSysDescr = 1;
constexpr uint16_t kInfoSysName = 2;

// RFC 7854 §4.5 Termination TLV types and reasons.
constexpr uint16_t kTermString = 0;
constexpr uint16_t kTermReason = 1;
constexpr uint16_t kTermAdminClose = 0;
constexpr uint16_t kTermUnspecified = 1;
constexpr uint16_t kTermOutOfResources = 2;

// RFC 7854 §4.9 Peer Down reasons.
constexpr uint8_t kDownLocalNotification = 1;   // data: the NOTIFICATION PDU
constexpr uint8_t kDownLocalFsmEvent = 2;       // data: 2-octet FSM event code
constexpr uint8_t kDownRemoteNotification = 3;  // data: the NOTIFICATION PDU
constexpr uint8_t kDownRemoteNoData = 4;        // no data
constexpr uint8_t kDownDeconfigured = 5;        // no data

// RFC 7854 §4.8 statistic types (and RFC 8671 §5 for Adj-RIB-Out).
constexpr uint16_t kStatRejected = 0;        // 32-bit: prefixes rejected by inbound policy
constexpr uint16_t kStatDupPrefix = 1;       // 32-bit: duplicate prefix advertisements
constexpr uint16_t kStatClusterLoop = 3;     // 32-bit: updates invalid by CLUSTER_LIST loop
constexpr uint16_t kStatAsPathLoop = 4;      // 32-bit: updates invalid by AS_PATH loop
constexpr uint16_t kStatAdjRibIn = 7;        // 64-bit gauge: routes in Adj-RIBs-In
constexpr uint16_t kStatLocRib = 8;          // 64-bit gauge: routes in Loc-RIB
constexpr uint16_t kStatAdjRibOutPost = 15;  // RFC 8671: 64-bit gauge, post-policy Adj-RIB-Out

// RFC 7854 §4.2 Per-Peer Header, as values.
struct PeerHeader {
  uint8_t peer_type = kPeerTypeGlobal;
  bool post_policy = false;     // L
  bool legacy_as_path = false;  // A
  bool adj_rib_out = false;     // O (RFC 8671)
  uint64_t distinguisher = 0;   // zero for the global instance
  IpAddress address;            // V follows its family
  uint32_t asn = 0;
  uint32_t bgp_id = 0;
  uint32_t ts_sec = 0;  // 0: not available
  uint32_t ts_usec = 0;
};

struct Stat {
  uint16_t type = 0;
  bool gauge64 = false;  // 8-octet gauge, else 4-octet counter
  uint64_t value = 0;
};

// RFC 7854 §4.10 Peer Up fields after the Per-Peer Header.
struct PeerUpInfo {
  IpAddress local_address;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  std::span<const uint8_t> sent_open;      // whole BGP OPEN message, header included
  std::span<const uint8_t> received_open;  // ditto
};

// RFC 7854 §4.3: Initiation with sysDescr and sysName (both required).
void encode_initiation(std::string_view sys_name, std::string_view sys_descr,
                       std::vector<uint8_t>& out);
// RFC 7854 §4.5: Termination with a reason code and an optional string.
void encode_termination(uint16_t reason, std::string_view text, std::vector<uint8_t>& out);
// RFC 7854 §4.6: Route Monitoring carrying one BGP UPDATE (header included).
void encode_route_monitoring(const PeerHeader& peer, std::span<const uint8_t> update,
                             std::vector<uint8_t>& out);
// RFC 7854 §4.8: Stats Report.
void encode_stats_report(const PeerHeader& peer, std::span<const Stat> stats,
                         std::vector<uint8_t>& out);
// RFC 7854 §4.9: Peer Down; data as the reason defines it.
void encode_peer_down(const PeerHeader& peer, uint8_t reason, std::span<const uint8_t> data,
                      std::vector<uint8_t>& out);
// RFC 7854 §4.10: Peer Up.
void encode_peer_up(const PeerHeader& peer, const PeerUpInfo& info, std::vector<uint8_t>& out);

}  // namespace ferry::bmp
