// In-memory model of BGP path attributes, shared by the wire codec (src/bgp)
// and the RIB (src/rib).
//
// The codec decodes an UPDATE's attributes into one PathAttributes value and
// encodes one back for a given peer (2- or 4-octet AS, IPv4 or MP next hop).
// The RIB interns PathAttributes (hash-consing), so routes with the same
// attributes share one immutable copy; hence the value semantics, operator==
// and hash. AS numbers are always held as 4-octet values here; AS4_PATH
// merging (RFC 6793 §4.2.3) happens in the codec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.hpp"
#include "common/types.hpp"

namespace ferry::bgp {

// RFC 4271 §4.3 attribute type codes, plus later RFCs.
enum AttrType : uint8_t {
  kAttrOrigin = 1,
  kAttrAsPath = 2,
  kAttrNextHop = 3,
  kAttrMed = 4,
  kAttrLocalPref = 5,
  kAttrAtomicAggregate = 6,
  kAttrAggregator = 7,
  kAttrCommunities = 8,        // RFC 1997
  kAttrOriginatorId = 9,       // RFC 4456
  kAttrClusterList = 10,       // RFC 4456
  kAttrMpReachNlri = 14,       // RFC 4760
  kAttrMpUnreachNlri = 15,     // RFC 4760
  kAttrExtCommunities = 16,    // RFC 4360
  kAttrAs4Path = 17,           // RFC 6793
  kAttrAs4Aggregator = 18,     // RFC 6793
  kAttrLargeCommunities = 32,  // RFC 8092
};

// RFC 4271 §4.3 attribute flag bits.
constexpr uint8_t kFlagOptional = 0x80;
constexpr uint8_t kFlagTransitive = 0x40;
constexpr uint8_t kFlagPartial = 0x20;
constexpr uint8_t kFlagExtendedLength = 0x10;

enum class Origin : uint8_t { Igp = 0, Egp = 1, Incomplete = 2 };

// RFC 4271 §4.3 (b) segment types; RFC 5065 confederation segments.
enum class SegmentType : uint8_t { Set = 1, Sequence = 2, ConfedSequence = 3, ConfedSet = 4 };

struct AsPathSegment {
  SegmentType type = SegmentType::Sequence;
  std::vector<uint32_t> asns;
  bool operator==(const AsPathSegment&) const = default;
};

struct Aggregator {
  uint32_t asn = 0;
  IpAddress address;
  bool operator==(const Aggregator&) const = default;
};

// RFC 8092 §3.
struct LargeCommunity {
  uint32_t global = 0;
  uint32_t local1 = 0;
  uint32_t local2 = 0;
  auto operator<=>(const LargeCommunity&) const = default;
};

// RFC 1997 well-known communities.
constexpr uint32_t kNoExport = 0xFFFFFF01;
constexpr uint32_t kNoAdvertise = 0xFFFFFF02;
constexpr uint32_t kNoExportSubconfed = 0xFFFFFF03;

// An attribute this speaker does not interpret, kept byte-exact so it can be
// passed on (optional transitive, with the Partial bit set: RFC 4271 §5).
struct RawAttribute {
  uint8_t flags = 0;
  uint8_t type = 0;
  std::vector<uint8_t> value;
  bool operator==(const RawAttribute&) const = default;
};

struct PathAttributes {
  Origin origin = Origin::Incomplete;
  std::vector<AsPathSegment> as_path;
  // NEXT_HOP (IPv4 unicast) or the MP_REACH next hop (RFC 4760 §3). For IPv6
  // the optional link-local second address (RFC 2545 §3) is next_hop_ll.
  std::optional<IpAddress> next_hop;
  std::optional<IpAddress> next_hop_ll;
  std::optional<uint32_t> med;
  std::optional<uint32_t> local_pref;
  bool atomic_aggregate = false;
  std::optional<Aggregator> aggregator;
  std::vector<uint32_t> communities;
  std::vector<uint64_t> ext_communities;
  std::vector<LargeCommunity> large_communities;
  std::optional<uint32_t> originator_id;
  std::vector<uint32_t> cluster_list;
  std::vector<RawAttribute> unknown;

  bool operator==(const PathAttributes&) const = default;

  // RFC 4271 §9.1.2.2 (a): an AS_SET counts as one, confederation segments count zero.
  int as_path_length() const;
  // First AS of the leftmost AS_SEQUENCE (the neighbouring AS), 0 if none.
  uint32_t neighbor_as() const;
  // Last AS of the path (the originating AS), 0 if none.
  uint32_t origin_as() const;
  bool as_path_contains(uint32_t asn) const;
  bool has_community(uint32_t c) const;
  size_t hash() const;
};

std::string format_as_path(const std::vector<AsPathSegment>& path);
std::string format_community(uint32_t c);  // "65001:100"
std::string format_large_community(const LargeCommunity& c);
std::string format_ext_community(uint64_t c);  // "rt:65001:100", "soo:...", or hex

}  // namespace ferry::bgp

template <>
struct std::hash<ferry::bgp::PathAttributes> {
  size_t operator()(const ferry::bgp::PathAttributes& a) const noexcept { return a.hash(); }
};
