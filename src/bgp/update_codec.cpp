// UPDATE decoding (RFC 4271 §4.3, RFC 4760 §3-4, RFC 6793 §4.2.3) with
// RFC 7606 revised error handling. See update_codec.hpp for the contract.
#include "bgp/update_codec.hpp"

#include <algorithm>
#include <bitset>

#include "bgp/nlri.hpp"
#include "bgp/update_codec_internal.hpp"

namespace ferry::bgp {

using detail::attr_spec;
using detail::kAsTrans;

const char* outcome_name(UpdateOutcome o) {
  switch (o) {
    case UpdateOutcome::Ok:
      return "ok";
    case UpdateOutcome::AttributeDiscard:
      return "attribute-discard";
    case UpdateOutcome::TreatAsWithdraw:
      return "treat-as-withdraw";
    case UpdateOutcome::SessionReset:
      return "session-reset";
  }
  return "?";
}

void DecodedUpdate::clear() {
  withdrawn.clear();
  nlri.clear();
  mp_nlri.clear();
  mp_next_hop.reset();
  mp_next_hop_ll.reset();
  mp_reach_af = {};
  mp_unreach_af = {};
  // Field by field so the vectors keep their capacity.
  attrs.origin = Origin::Incomplete;
  attrs.as_path.clear();
  attrs.next_hop.reset();
  attrs.next_hop_ll.reset();
  attrs.med.reset();
  attrs.local_pref.reset();
  attrs.atomic_aggregate = false;
  attrs.aggregator.reset();
  attrs.communities.clear();
  attrs.ext_communities.clear();
  attrs.large_communities.clear();
  attrs.originator_id.reset();
  attrs.cluster_list.clear();
  attrs.unknown.clear();
  has_attributes = false;
  outcome = UpdateOutcome::Ok;
  notification.code = 0;
  notification.subcode = 0;
  notification.data.clear();
  issues.clear();
  end_of_rib.reset();
}

PathAttributes DecodedUpdate::mp_attrs() const {
  PathAttributes a = attrs;
  a.next_hop = mp_next_hop;
  a.next_hop_ll = mp_next_hop_ll;
  return a;
}

namespace {

// Parses AS_PATH / AS4_PATH segments (RFC 4271 §4.3 (b), RFC 6793 §3).
// Returns false if malformed per RFC 7606 §7.2: unknown segment type,
// zero segment length, overrun, or a single trailing octet.
bool parse_as_path(ByteReader r, size_t as_size, std::vector<AsPathSegment>& out) {
  out.clear();
  while (!r.empty()) {
    auto type = r.u8();
    auto count = r.u8();
    if (!type || !count || *count == 0) return false;
    if (*type < 1 || *type > 4) return false;
    if (r.remaining() < *count * as_size) return false;
    AsPathSegment& seg = out.emplace_back();
    seg.type = static_cast<SegmentType>(*type);
    seg.asns.resize(*count);
    for (auto& a : seg.asns) a = as_size == 4 ? *r.u32() : *r.u16();
  }
  return true;
}

// Number of ASes for RFC 6793 §4.2.3: a set counts one, confed segments zero.
size_t path_count(const std::vector<AsPathSegment>& p) {
  size_t n = 0;
  for (const auto& s : p) {
    if (s.type == SegmentType::Sequence) n += s.asns.size();
    if (s.type == SegmentType::Set) n += 1;
  }
  return n;
}

bool is_confed(SegmentType t) {
  return t == SegmentType::ConfedSequence || t == SegmentType::ConfedSet;
}

// Single-use parser state for one UPDATE: walks the body once, fills the
// DecodedUpdate, and records RFC 7606 outcomes as it goes; the most severe
// outcome wins and a session reset stops the walk.
class Decoder {
 public:
  Decoder(const CodecOptions& opt, DecodedUpdate& out) : opt_(opt), out_(out) {}

  void run(std::span<const uint8_t> body);

 private:
  void issue(uint8_t type, UpdateOutcome action, const char* reason) {
    out_.issues.push_back({type, action, reason});
    if (action > out_.outcome) out_.outcome = action;
  }
  void reset(uint8_t type, uint8_t subcode, const char* reason,
             std::span<const uint8_t> data = {}) {
    if (out_.outcome != UpdateOutcome::SessionReset) {
      out_.notification.code = kErrUpdate;
      out_.notification.subcode = subcode;
      out_.notification.data.assign(data.begin(), data.end());
    }
    issue(type, UpdateOutcome::SessionReset, reason);
  }
  bool failed() const { return out_.outcome == UpdateOutcome::SessionReset; }

  void attribute(uint8_t flags, uint8_t type, ByteReader v, std::span<const uint8_t> whole);
  void mp_reach(ByteReader v, std::span<const uint8_t> whole);
  void mp_unreach(ByteReader v, std::span<const uint8_t> whole);
  void merge_as4();
  void finish(bool body_empty_of_attrs);

  const CodecOptions& opt_;
  DecodedUpdate& out_;
  std::bitset<256> seen_;
  std::vector<AsPathSegment> as4_path_;
  bool have_as4_path_ = false;
  std::optional<Aggregator> as4_aggregator_;
  bool as_path_ok_ = false;
  int attr_count_ = 0;
};

void Decoder::run(std::span<const uint8_t> body) {
  ByteReader r(body);
  // RFC 4271 §4.3: Withdrawn Routes Length (2), Withdrawn Routes,
  // Total Path Attribute Length (2), Path Attributes, NLRI (the rest).
  // RFC 7606 §5.3 / RFC 4271 §6.3: if these lengths are inconsistent the
  // NLRI cannot be located → session reset, Malformed Attribute List.
  auto wlen = r.u16();
  if (!wlen) return reset(0, kSubMalformedAttributeList, "truncated withdrawn routes length");
  auto wr = r.sub(*wlen);
  if (!wr) return reset(0, kSubMalformedAttributeList, "withdrawn routes overrun");
  auto alen = r.u16();
  if (!alen) return reset(0, kSubMalformedAttributeList, "truncated path attribute length");
  auto ar = r.sub(*alen);
  if (!ar) return reset(0, kSubMalformedAttributeList, "path attributes overrun");
  ByteReader nr = r;

  if (!decode_prefixes(*wr, Family::V4, out_.withdrawn))
    return reset(0, kSubInvalidNetworkField, "malformed withdrawn prefix");

  while (!ar->empty() && !failed()) {
    // Attribute Flags (1), Type Code (1), Length (1, or 2 if Extended Length).
    // RFC 7606 §4: fewer than 3 octets left, or a length overrunning the
    // attributes field, means the attributes cannot be trusted; the NLRI can
    // still be found from the total length → treat-as-withdraw.
    const uint8_t* attr_start = ar->data();
    if (ar->remaining() < 3) {
      issue(0, UpdateOutcome::TreatAsWithdraw, "truncated attribute header");
      break;
    }
    const uint8_t flags = *ar->u8();
    const uint8_t type = *ar->u8();
    std::optional<uint16_t> len;
    if (flags & kFlagExtendedLength) {
      len = ar->u16();
    } else if (auto l = ar->u8()) {
      len = *l;
    }
    if (!len) {
      issue(type, UpdateOutcome::TreatAsWithdraw, "truncated attribute length");
      break;
    }
    auto v = ar->sub(*len);
    if (!v) {
      issue(type, UpdateOutcome::TreatAsWithdraw, "attribute length overruns attributes");
      break;
    }
    const std::span<const uint8_t> whole(
        attr_start, static_cast<size_t>(v->data() - attr_start) + v->remaining());
    // RFC 7606 §3 (g): MP_REACH/MP_UNREACH more than once → Malformed
    // Attribute List; any other repeated attribute → keep the first.
    if (seen_[type]) {
      if (type == kAttrMpReachNlri || type == kAttrMpUnreachNlri)
        return reset(type, kSubMalformedAttributeList, "repeated MP attribute");
      issue(type, UpdateOutcome::AttributeDiscard, "repeated attribute");
      continue;
    }
    seen_[type] = true;
    ++attr_count_;
    attribute(flags, type, *v, whole);
  }
  if (failed()) return;

  if (!decode_prefixes(nr, Family::V4, out_.nlri))
    return reset(0, kSubInvalidNetworkField, "malformed NLRI prefix");
  finish(*alen == 0);
}

void Decoder::attribute(uint8_t flags, uint8_t type, ByteReader v, std::span<const uint8_t> whole) {
  const auto spec = attr_spec(type);
  if (!spec.known) {
    // RFC 4271 §6.3: unrecognized well-known → 3/2 with the attribute as data.
    if (!(flags & kFlagOptional))
      return reset(type, kSubUnrecognizedWellKnown, "unrecognized well-known attribute", whole);
    // RFC 4271 §5: unrecognized optional non-transitive → quietly ignored;
    // optional transitive → kept and passed on (Partial set on encode).
    if (!(flags & kFlagTransitive)) return;
    out_.has_attributes = true;
    auto& raw = out_.attrs.unknown.emplace_back();
    raw.flags = flags & (kFlagOptional | kFlagTransitive | kFlagPartial);
    raw.type = type;
    raw.value.assign(v.rest().begin(), v.rest().end());
    return;
  }
  if (type != kAttrMpReachNlri && type != kAttrMpUnreachNlri) out_.has_attributes = true;
  // RFC 7606 §3 (c): Optional/Transitive bits in conflict with the
  // attribute's definition → malformed, handled as that attribute's errors.
  if ((flags & (kFlagOptional | kFlagTransitive)) != spec.flags) {
    if (spec.on_malformed == UpdateOutcome::SessionReset)
      return reset(type, kSubAttributeFlagsError, "attribute flags conflict", whole);
    return issue(type, spec.on_malformed, "attribute flags conflict");
  }
  const size_t len = v.remaining();
  auto malformed = [&](const char* why) { issue(type, spec.on_malformed, why); };
  PathAttributes& a = out_.attrs;
  switch (type) {
    case kAttrOrigin: {  // RFC 4271 §4.3 (a); RFC 7606 §7.1
      const uint8_t o = len == 1 ? *v.u8() : 0xff;
      if (o > 2) return malformed("bad ORIGIN");
      a.origin = static_cast<Origin>(o);
      return;
    }
    case kAttrAsPath:  // §4.3 (b); RFC 7606 §7.2
      if (!parse_as_path(v, opt_.four_octet_as ? 4 : 2, a.as_path)) {
        a.as_path.clear();
        return malformed("malformed AS_PATH");
      }
      as_path_ok_ = true;
      return;
    case kAttrNextHop:  // §4.3 (c); RFC 7606 §7.3
      if (len != 4) return malformed("bad NEXT_HOP length");
      a.next_hop = IpAddress::v4(*v.u32());
      return;
    case kAttrMed:  // §4.3 (d); RFC 7606 §7.4
      if (len != 4) return malformed("bad MULTI_EXIT_DISC length");
      a.med = *v.u32();
      return;
    case kAttrLocalPref:  // §4.3 (e); RFC 7606 §7.5
      if (opt_.ebgp) return issue(type, UpdateOutcome::AttributeDiscard, "LOCAL_PREF from eBGP");
      if (len != 4) return malformed("bad LOCAL_PREF length");
      a.local_pref = *v.u32();
      return;
    case kAttrAtomicAggregate:  // §4.3 (f); RFC 7606 §7.6
      if (len != 0) return malformed("bad ATOMIC_AGGREGATE length");
      a.atomic_aggregate = true;
      return;
    case kAttrAggregator: {  // §4.3 (g), RFC 6793 §3; RFC 7606 §7.7
      const size_t as_size = opt_.four_octet_as ? 4 : 2;
      if (len != as_size + 4) return malformed("bad AGGREGATOR length");
      Aggregator ag;
      ag.asn = as_size == 4 ? *v.u32() : *v.u16();
      ag.address = IpAddress::v4(*v.u32());
      a.aggregator = ag;
      return;
    }
    case kAttrCommunities:  // RFC 1997; RFC 7606 §7.8: non-zero multiple of 4
      if (len == 0 || len % 4 != 0) return malformed("bad COMMUNITIES length");
      a.communities.reserve(len / 4);
      while (!v.empty()) a.communities.push_back(*v.u32());
      return;
    case kAttrOriginatorId:  // RFC 4456 §8; RFC 7606 §7.9
      if (opt_.ebgp) return issue(type, UpdateOutcome::AttributeDiscard, "ORIGINATOR_ID from eBGP");
      if (len != 4) return malformed("bad ORIGINATOR_ID length");
      a.originator_id = *v.u32();
      return;
    case kAttrClusterList:  // RFC 4456 §8; RFC 7606 §7.10
      if (opt_.ebgp) return issue(type, UpdateOutcome::AttributeDiscard, "CLUSTER_LIST from eBGP");
      if (len == 0 || len % 4 != 0) return malformed("bad CLUSTER_LIST length");
      while (!v.empty()) a.cluster_list.push_back(*v.u32());
      return;
    case kAttrMpReachNlri:
      return mp_reach(v, whole);
    case kAttrMpUnreachNlri:
      return mp_unreach(v, whole);
    case kAttrExtCommunities:  // RFC 4360 §2; RFC 7606 §7.14
      if (len == 0 || len % 8 != 0) return malformed("bad EXTENDED_COMMUNITIES length");
      a.ext_communities.reserve(len / 8);
      while (!v.empty()) a.ext_communities.push_back(*v.u64());
      return;
    case kAttrLargeCommunities:  // RFC 8092 §3, §6: non-zero multiple of 12
      if (len == 0 || len % 12 != 0) return malformed("bad LARGE_COMMUNITY length");
      a.large_communities.reserve(len / 12);
      while (!v.empty()) a.large_communities.push_back({*v.u32(), *v.u32(), *v.u32()});
      return;
    case kAttrAs4Path:  // RFC 6793 §3, §6
      if (opt_.four_octet_as)
        return issue(type, UpdateOutcome::AttributeDiscard, "AS4_PATH from 4-octet peer");
      if (!parse_as_path(v, 4, as4_path_)) return malformed("malformed AS4_PATH");
      have_as4_path_ = true;
      return;
    case kAttrAs4Aggregator:  // RFC 6793 §3, §6
      if (opt_.four_octet_as)
        return issue(type, UpdateOutcome::AttributeDiscard, "AS4_AGGREGATOR from 4-octet peer");
      if (len != 8) return malformed("bad AS4_AGGREGATOR length");
      as4_aggregator_ = Aggregator{*v.u32(), IpAddress::v4(*v.u32())};
      return;
  }
}

void Decoder::mp_reach(ByteReader v, std::span<const uint8_t> whole) {
  // RFC 4760 §3: AFI (2), SAFI (1), Length of Next Hop (1), Next Hop,
  // Reserved (1), NLRI. RFC 7606 §7.11: malformed → session reset.
  auto afi = v.u16();
  auto safi = v.u8();
  auto nhlen = v.u8();
  if (!nhlen)
    return reset(kAttrMpReachNlri, kSubOptionalAttributeError, "truncated MP_REACH", whole);
  if (*safi != kSafiUnicast || (*afi != kAfiIpv4 && *afi != kAfiIpv6)) {
    // A family we did not negotiate: ignore its routes (RFC 4760 §7).
    return issue(kAttrMpReachNlri, UpdateOutcome::AttributeDiscard,
                 "MP_REACH for unknown AFI/SAFI");
  }
  out_.mp_reach_af = {*afi, *safi};
  auto nh = v.sub(*nhlen);
  if (!nh || !v.skip(1))
    return reset(kAttrMpReachNlri, kSubOptionalAttributeError, "truncated MP_REACH", whole);
  const Family f = *afi == kAfiIpv4 ? Family::V4 : Family::V6;
  uint8_t b[16];
  if (f == Family::V4 && *nhlen == 4) {
    nh->copy(b, 4);
    out_.mp_next_hop = IpAddress::v4_bytes(b);
  } else if (*nhlen == 16 || *nhlen == 32) {
    // RFC 2545 §3: global address, optionally followed by link-local.
    // RFC 8950 §3: the same encodings carry IPv6 next hops for IPv4 NLRI.
    nh->copy(b, 16);
    out_.mp_next_hop = IpAddress::v6_bytes(b);
    if (*nhlen == 32) {
      nh->copy(b, 16);
      // Some speakers fill an absent link-local with zeros.
      const IpAddress ll = IpAddress::v6_bytes(b);
      if (!ll.is_unspecified()) out_.mp_next_hop_ll = ll;
    }
  } else {
    return reset(kAttrMpReachNlri, kSubOptionalAttributeError, "bad MP_REACH next hop length",
                 whole);
  }
  if (!decode_prefixes(v, f, out_.mp_nlri))
    return reset(kAttrMpReachNlri, kSubOptionalAttributeError, "malformed MP_REACH NLRI", whole);
}

void Decoder::mp_unreach(ByteReader v, std::span<const uint8_t> whole) {
  // RFC 4760 §4: AFI (2), SAFI (1), Withdrawn Routes.
  auto afi = v.u16();
  auto safi = v.u8();
  if (!safi)
    return reset(kAttrMpUnreachNlri, kSubOptionalAttributeError, "truncated MP_UNREACH", whole);
  if (*safi != kSafiUnicast || (*afi != kAfiIpv4 && *afi != kAfiIpv6)) {
    return issue(kAttrMpUnreachNlri, UpdateOutcome::AttributeDiscard,
                 "MP_UNREACH for unknown AFI/SAFI");
  }
  out_.mp_unreach_af = {*afi, *safi};
  if (!decode_prefixes(v, *afi == kAfiIpv4 ? Family::V4 : Family::V6, out_.withdrawn))
    return reset(kAttrMpUnreachNlri, kSubOptionalAttributeError, "malformed MP_UNREACH NLRI",
                 whole);
}

void Decoder::merge_as4() {
  // RFC 6793 §4.2.3, for a session with a 2-octet speaker.
  auto& a = out_.attrs;
  if (as4_aggregator_) {
    if (a.aggregator && a.aggregator->asn != kAsTrans) {
      // The AGGREGATOR was set by a 2-octet speaker after the AS4 attributes:
      // both AS4_AGGREGATOR and AS4_PATH are stale and ignored.
      issue(kAttrAs4Aggregator, UpdateOutcome::Ok,
            "AS4 attributes ignored (AGGREGATOR not AS_TRANS)");
      return;
    }
    if (a.aggregator) a.aggregator = as4_aggregator_;
  }
  if (!have_as4_path_) return;
  // RFC 6793 §6: confederation segments in AS4_PATH are discarded.
  std::erase_if(as4_path_, [](const AsPathSegment& s) { return is_confed(s.type); });
  const size_t n_as = path_count(a.as_path);
  const size_t n_as4 = path_count(as4_path_);
  if (n_as < n_as4) {
    issue(kAttrAs4Path, UpdateOutcome::Ok, "AS4_PATH longer than AS_PATH ignored");
    return;
  }
  // Keep the leading n_as - n_as4 ASes of AS_PATH, then append AS4_PATH.
  size_t keep = n_as - n_as4;
  size_t seg_keep = 0;  // whole segments kept
  size_t partial = 0;   // ASes kept from segment seg_keep (a sequence), 0 if none
  for (; seg_keep < a.as_path.size(); ++seg_keep) {
    const auto& s = a.as_path[seg_keep];
    if (is_confed(s.type)) continue;  // counts zero; kept while in the lead
    if (keep == 0) break;
    if (s.type == SegmentType::Set) {
      --keep;
      continue;
    }
    if (s.asns.size() <= keep) {
      keep -= s.asns.size();
      continue;
    }
    partial = keep;
    keep = 0;
    break;
  }
  if (partial) {
    a.as_path[seg_keep].asns.resize(partial);
    ++seg_keep;
  }
  a.as_path.resize(seg_keep);
  for (auto& s : as4_path_) {
    if (!a.as_path.empty() && a.as_path.back().type == SegmentType::Sequence &&
        s.type == SegmentType::Sequence) {
      auto& back = a.as_path.back().asns;
      back.insert(back.end(), s.asns.begin(), s.asns.end());
    } else {
      a.as_path.push_back(std::move(s));
    }
  }
}

void Decoder::finish(bool no_attrs) {
  auto& u = out_;
  // RFC 4724 §2: End-of-RIB is an UPDATE with nothing in it (IPv4 unicast),
  // or with only an empty MP_UNREACH_NLRI for the family.
  if (no_attrs && u.withdrawn.empty() && u.nlri.empty()) {
    u.end_of_rib = Family::V4;
    return;
  }
  if (attr_count_ == 1 && seen_[kAttrMpUnreachNlri] && u.withdrawn.empty() && u.nlri.empty() &&
      u.mp_unreach_af.safi == kSafiUnicast) {
    u.end_of_rib = u.mp_unreach_af.afi == kAfiIpv4 ? Family::V4 : Family::V6;
    return;
  }

  if (!opt_.four_octet_as && as_path_ok_) merge_as4();

  const bool reach = !u.nlri.empty() || !u.mp_nlri.empty();
  if (reach) {
    // RFC 7606 §3 (d): missing well-known mandatory attributes →
    // treat-as-withdraw. NEXT_HOP is only mandatory for IPv4 NLRI in the
    // body (RFC 4760 §3).
    if (!seen_[kAttrOrigin]) issue(kAttrOrigin, UpdateOutcome::TreatAsWithdraw, "missing ORIGIN");
    if (!seen_[kAttrAsPath]) issue(kAttrAsPath, UpdateOutcome::TreatAsWithdraw, "missing AS_PATH");
    if (!u.nlri.empty() && !seen_[kAttrNextHop])
      issue(kAttrNextHop, UpdateOutcome::TreatAsWithdraw, "missing NEXT_HOP");
    // RFC 4271 §6.3 / RFC 7606 §7.2: the leftmost AS of an eBGP peer's path
    // must be the peer's AS.
    if (opt_.ebgp && opt_.enforce_first_as && as_path_ok_ && u.attrs.neighbor_as() != opt_.peer_as)
      issue(kAttrAsPath, UpdateOutcome::TreatAsWithdraw, "first AS is not the peer AS");
  }
  if (u.outcome == UpdateOutcome::TreatAsWithdraw) {
    u.withdrawn.insert(u.withdrawn.end(), u.nlri.begin(), u.nlri.end());
    u.withdrawn.insert(u.withdrawn.end(), u.mp_nlri.begin(), u.mp_nlri.end());
    u.nlri.clear();
    u.mp_nlri.clear();
  }
}

}  // namespace

void decode_update(std::span<const uint8_t> body, const CodecOptions& opt, DecodedUpdate& out) {
  out.clear();
  Decoder d(opt, out);
  d.run(body);
}

}  // namespace ferry::bgp
