// PathAttributes queries, hashing and text formatting (the wire codec for
// attributes lives in update_codec.cpp).
#include "bgp/attributes.hpp"

#include <cstdio>

namespace ferry::bgp {

int PathAttributes::as_path_length() const {
  int n = 0;
  for (const auto& seg : as_path) {
    switch (seg.type) {
      case SegmentType::Sequence:
        n += static_cast<int>(seg.asns.size());
        break;
      case SegmentType::Set:
        n += 1;
        break;  // RFC 4271 §9.1.2.2 (a)
      default:
        break;  // RFC 5065 §5.3: confed segments count zero
    }
  }
  return n;
}

uint32_t PathAttributes::neighbor_as() const {
  for (const auto& seg : as_path) {
    if (seg.type == SegmentType::ConfedSequence || seg.type == SegmentType::ConfedSet) continue;
    if (seg.type == SegmentType::Sequence && !seg.asns.empty()) return seg.asns.front();
    return 0;
  }
  return 0;
}

uint32_t PathAttributes::origin_as() const {
  for (auto it = as_path.rbegin(); it != as_path.rend(); ++it) {
    if (it->type == SegmentType::ConfedSequence || it->type == SegmentType::ConfedSet) continue;
    // RFC 6811 §2: a path ending in an AS_SET has no single origin.
    if (it->type == SegmentType::Sequence && !it->asns.empty()) return it->asns.back();
    return 0;
  }
  return 0;
}

bool PathAttributes::as_path_contains(uint32_t asn) const {
  for (const auto& seg : as_path)
    for (uint32_t a : seg.asns)
      if (a == asn) return true;
  return false;
}

bool PathAttributes::has_community(uint32_t c) const {
  for (uint32_t x : communities)
    if (x == c) return true;
  return false;
}

namespace {

// 64-bit mixing in the style of splitmix64; good spread, cheap.
inline uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 29);
}

uint64_t mix_addr(uint64_t h, const std::optional<IpAddress>& a) {
  if (!a) return mix(h, 0x55);
  return mix(h, std::hash<IpAddress>{}(*a));
}

}  // namespace

size_t PathAttributes::hash() const {
  uint64_t h = static_cast<uint64_t>(origin) + 1;
  for (const auto& seg : as_path) {
    h = mix(h, static_cast<uint64_t>(seg.type) << 32 | seg.asns.size());
    for (uint32_t a : seg.asns) h = mix(h, a);
  }
  h = mix_addr(h, next_hop);
  h = mix_addr(h, next_hop_ll);
  h = mix(h, med ? (uint64_t{1} << 32) | *med : 0);
  h = mix(h, local_pref ? (uint64_t{1} << 32) | *local_pref : 0);
  h = mix(h, atomic_aggregate);
  if (aggregator) {
    h = mix(h, aggregator->asn);
    h = mix_addr(h, aggregator->address);
  }
  h = mix(h, communities.size());
  for (uint32_t c : communities) h = mix(h, c);
  h = mix(h, ext_communities.size());
  for (uint64_t c : ext_communities) h = mix(h, c);
  h = mix(h, large_communities.size());
  for (const auto& c : large_communities) h = mix(mix(mix(h, c.global), c.local1), c.local2);
  h = mix(h, originator_id ? (uint64_t{1} << 32) | *originator_id : 0);
  h = mix(h, cluster_list.size());
  for (uint32_t c : cluster_list) h = mix(h, c);
  for (const auto& u : unknown) {
    h = mix(h, static_cast<uint64_t>(u.flags) << 8 | u.type);
    h = mix(h, u.value.size());
    for (uint8_t b : u.value) h = mix(h, b);
  }
  return static_cast<size_t>(h);
}

std::string format_as_path(const std::vector<AsPathSegment>& path) {
  // BIRD-style: sequences plain, {set}, (confed sequence), [confed set].
  std::string s;
  for (const auto& seg : path) {
    const char* open = "";
    const char* close = "";
    switch (seg.type) {
      case SegmentType::Sequence:
        break;
      case SegmentType::Set:
        open = "{", close = "}";
        break;
      case SegmentType::ConfedSequence:
        open = "(", close = ")";
        break;
      case SegmentType::ConfedSet:
        open = "[", close = "]";
        break;
    }
    if (!s.empty()) s += ' ';
    s += open;
    for (size_t i = 0; i < seg.asns.size(); ++i) {
      if (i) s += ' ';
      s += std::to_string(seg.asns[i]);
    }
    s += close;
  }
  return s;
}

std::string format_community(uint32_t c) {
  return std::to_string(c >> 16) + ":" + std::to_string(c & 0xffff);
}

std::string format_large_community(const LargeCommunity& c) {
  return std::to_string(c.global) + ":" + std::to_string(c.local1) + ":" + std::to_string(c.local2);
}

std::string format_ext_community(uint64_t c) {
  // RFC 4360 §3: Type high (1), Type low / sub-type (1), Value (6).
  const uint8_t type = static_cast<uint8_t>(c >> 56);
  const uint8_t subtype = static_cast<uint8_t>(c >> 48);
  const char* kind = subtype == 0x02 ? "rt" : subtype == 0x03 ? "soo" : nullptr;
  char buf[64];
  if (kind) {
    switch (type) {
      case 0x00:  // §3.1 Two-Octet AS Specific: AS (2), Local Administrator (4)
        std::snprintf(buf, sizeof buf, "%s:%u:%u", kind, static_cast<unsigned>((c >> 32) & 0xffff),
                      static_cast<unsigned>(c & 0xffffffff));
        return buf;
      case 0x01: {  // §3.2 IPv4 Address Specific: address (4), Local (2)
        const uint32_t a = static_cast<uint32_t>(c >> 16);
        std::snprintf(buf, sizeof buf, "%s:%u.%u.%u.%u:%u", kind, a >> 24, (a >> 16) & 0xff,
                      (a >> 8) & 0xff, a & 0xff, static_cast<unsigned>(c & 0xffff));
        return buf;
      }
      case 0x02:  // RFC 5668 §2 Four-Octet AS Specific: AS (4), Local (2)
        std::snprintf(buf, sizeof buf, "%s:%u:%u", kind,
                      static_cast<unsigned>((c >> 16) & 0xffffffff),
                      static_cast<unsigned>(c & 0xffff));
        return buf;
      default:
        break;
    }
  }
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(c));
  return buf;
}

}  // namespace ferry::bgp
