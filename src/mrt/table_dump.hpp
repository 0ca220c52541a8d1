// MRT routing information export, TABLE_DUMP_V2 (RFC 6396 §4.3).
//
// A dump is one PEER_INDEX_TABLE record naming the peers, followed by one
// RIB_IPV4_UNICAST or RIB_IPV6_UNICAST record per prefix, each listing the
// routes for that prefix by peer index. ferry writes its Loc-RIB this way
// (`ferryctl dump routes --mrt FILE`), readable by bgpdump, bgpscanner and
// friends. The writer is pure: it turns values into bytes and knows nothing
// about the RIB.
//
// Path attributes are encoded as in an UPDATE (src/bgp's encoder) with the
// two changes RFC 6396 §4.3.4 makes: AS_PATH always carries 4-octet AS
// numbers, and for IPv6 the MP_REACH_NLRI attribute holds only the next hop
// length and next hop (no AFI/SAFI, no reserved octet, no NLRI).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bgp/attributes.hpp"
#include "common/ip.hpp"

namespace ferry::mrt {

// RFC 6396 §4: MRT types; §4.3: TABLE_DUMP_V2 subtypes.
constexpr uint16_t kTypeTableDumpV2 = 13;
constexpr uint16_t kSubtypePeerIndexTable = 1;
constexpr uint16_t kSubtypeRibIpv4Unicast = 2;
constexpr uint16_t kSubtypeRibIpv6Unicast = 4;

struct Peer {
  uint32_t bgp_id = 0;  // the peer's BGP Identifier, 0 if unknown (RFC 6396 §4.3.1)
  IpAddress address;
  uint32_t asn = 0;
};

struct RibEntry {
  uint16_t peer_index = 0;       // index into the PEER_INDEX_TABLE
  uint32_t originated_time = 0;  // seconds since the epoch
  const bgp::PathAttributes* attrs = nullptr;
};

// The PEER_INDEX_TABLE record (header included). At most 65535 peers.
std::vector<uint8_t> peer_index_table(uint32_t timestamp, uint32_t collector_bgp_id,
                                      std::string_view view_name, std::span<const Peer> peers);
// One RIB_IPV4_UNICAST / RIB_IPV6_UNICAST record (header included) for prefix.
std::vector<uint8_t> rib_record(uint32_t timestamp, uint32_t sequence, const Prefix& prefix,
                                std::span<const RibEntry> entries);
// The attribute block of one RIB entry (RFC 6396 §4.3.4), for tests.
std::vector<uint8_t> rib_attributes(const bgp::PathAttributes& a, Family family);

// RFC 4648 §4 base64, to carry a dump over the JSON control protocol.
std::string base64_encode(std::span<const uint8_t> in);
// Strict: canonical padding, no whitespace; false on anything else.
bool base64_decode(std::string_view in, std::vector<uint8_t>& out);

}  // namespace ferry::mrt
