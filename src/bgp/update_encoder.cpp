// UPDATE encoding and packing (RFC 4271 §4.3, RFC 4760, RFC 6793 §4.2.2,
// RFC 2545 §3). See update_codec.hpp for the contract.
#include <algorithm>

#include "bgp/nlri.hpp"
#include "bgp/update_codec.hpp"
#include "bgp/update_codec_internal.hpp"

namespace ferry::bgp {

using detail::attr_spec;
using detail::kAsTrans;

namespace {

// Attribute header: Flags (1), Type (1), Length (1, or 2 with Extended
// Length when the value exceeds 255 octets; RFC 4271 §4.3).
void attr_header(ByteWriter& w, uint8_t flags, uint8_t type, size_t len) {
  if (len > 255) {
    w.u8(flags | kFlagExtendedLength);
    w.u8(type);
    w.u16(static_cast<uint16_t>(len));
  } else {
    w.u8(flags & ~kFlagExtendedLength);
    w.u8(type);
    w.u8(static_cast<uint8_t>(len));
  }
}

constexpr size_t kMaxSegment = 255;  // Path Segment Length is one octet

size_t as_path_size(const std::vector<AsPathSegment>& path, size_t as_size, bool skip_confed) {
  size_t n = 0;
  for (const auto& s : path) {
    if (skip_confed && (s.type == SegmentType::ConfedSequence || s.type == SegmentType::ConfedSet))
      continue;
    const size_t segs = (s.asns.size() + kMaxSegment - 1) / kMaxSegment;
    n += segs * 2 + s.asns.size() * as_size;
  }
  return n;
}

// Path segments: Type (1), Length in ASes (1), ASes (2 or 4 octets each).
// Long segments are split; 4-octet ASNs become AS_TRANS on 2-octet paths.
void write_as_path(ByteWriter& w, const std::vector<AsPathSegment>& path, size_t as_size,
                   bool skip_confed) {
  for (const auto& s : path) {
    if (skip_confed && (s.type == SegmentType::ConfedSequence || s.type == SegmentType::ConfedSet))
      continue;
    for (size_t i = 0; i < s.asns.size(); i += kMaxSegment) {
      const size_t n = std::min(kMaxSegment, s.asns.size() - i);
      w.u8(static_cast<uint8_t>(s.type));
      w.u8(static_cast<uint8_t>(n));
      for (size_t k = i; k < i + n; ++k) {
        const uint32_t asn = s.asns[k];
        if (as_size == 4)
          w.u32(asn);
        else
          w.u16(static_cast<uint16_t>(asn > 0xffff ? kAsTrans : asn));
      }
    }
  }
}

bool has_4octet_asn(const std::vector<AsPathSegment>& path) {
  for (const auto& s : path)
    for (uint32_t a : s.asns)
      if (a > 0xffff) return true;
  return false;
}

void write_raw(ByteWriter& w, const RawAttribute& r) {
  uint8_t flags = r.flags & (kFlagOptional | kFlagTransitive | kFlagPartial);
  // RFC 4271 §5: an unrecognized optional transitive attribute is passed
  // on with the Partial bit set.
  if ((flags & kFlagOptional) && (flags & kFlagTransitive)) flags |= kFlagPartial;
  attr_header(w, flags, r.type, r.value.size());
  w.bytes(r.value.data(), r.value.size());
}

void write_aggregator_addr(ByteWriter& w, const IpAddress& a) {
  if (a.is_v4())
    w.bytes(a.bytes(), 4);
  else
    w.u32(0);
}

// All attributes in ascending type order (RFC 4271 §5 recommends it),
// unknown ones interleaved by type. nh: IPv4 NEXT_HOP to write, or null.
void encode_attrs(const PathAttributes& a, const CodecOptions& opt, const IpAddress* nh,
                  std::vector<uint8_t>& out) {
  ByteWriter w(out);
  using detail::kOptNonTrans;
  using detail::kOptTrans;
  using detail::kWellKnown;
  const size_t as_size = opt.four_octet_as ? 4 : 2;
  size_t raw_i = 0;
  auto raws_upto = [&](uint8_t type) {
    for (; raw_i < a.unknown.size() && a.unknown[raw_i].type <= type; ++raw_i)
      if (!attr_spec(a.unknown[raw_i].type).known) write_raw(w, a.unknown[raw_i]);
  };
  // Unknown attributes are kept in arrival order, which is almost always
  // ascending; if not, they are written at the end.
  const bool raws_sorted =
      std::is_sorted(a.unknown.begin(), a.unknown.end(),
                     [](const RawAttribute& x, const RawAttribute& y) { return x.type < y.type; });
  auto before = [&](uint8_t type) {
    if (raws_sorted && type > 0) raws_upto(static_cast<uint8_t>(type - 1));
  };

  before(kAttrOrigin);
  attr_header(w, kWellKnown, kAttrOrigin, 1);  // §4.3 (a)
  w.u8(static_cast<uint8_t>(a.origin));

  before(kAttrAsPath);  // §4.3 (b)
  attr_header(w, kWellKnown, kAttrAsPath, as_path_size(a.as_path, as_size, false));
  write_as_path(w, a.as_path, as_size, false);

  if (nh) {
    before(kAttrNextHop);  // §4.3 (c)
    attr_header(w, kWellKnown, kAttrNextHop, 4);
    w.bytes(nh->bytes(), 4);
  }
  if (a.med) {
    before(kAttrMed);  // §4.3 (d)
    attr_header(w, kOptNonTrans, kAttrMed, 4);
    w.u32(*a.med);
  }
  if (a.local_pref && !opt.ebgp) {
    before(kAttrLocalPref);  // §4.3 (e): only to internal peers
    attr_header(w, kWellKnown, kAttrLocalPref, 4);
    w.u32(*a.local_pref);
  }
  if (a.atomic_aggregate) {
    before(kAttrAtomicAggregate);  // §4.3 (f)
    attr_header(w, kWellKnown, kAttrAtomicAggregate, 0);
  }
  if (a.aggregator) {
    before(kAttrAggregator);  // §4.3 (g); RFC 6793 §4.2.2 AS_TRANS for 2-octet
    attr_header(w, kOptTrans, kAttrAggregator, as_size + 4);
    if (as_size == 4)
      w.u32(a.aggregator->asn);
    else
      w.u16(static_cast<uint16_t>(a.aggregator->asn > 0xffff ? kAsTrans : a.aggregator->asn));
    write_aggregator_addr(w, a.aggregator->address);
  }
  if (!a.communities.empty()) {
    before(kAttrCommunities);  // RFC 1997
    attr_header(w, kOptTrans, kAttrCommunities, a.communities.size() * 4);
    for (uint32_t c : a.communities) w.u32(c);
  }
  if (a.originator_id && !opt.ebgp) {
    before(kAttrOriginatorId);  // RFC 4456 §8
    attr_header(w, kOptNonTrans, kAttrOriginatorId, 4);
    w.u32(*a.originator_id);
  }
  if (!a.cluster_list.empty() && !opt.ebgp) {
    before(kAttrClusterList);  // RFC 4456 §8
    attr_header(w, kOptNonTrans, kAttrClusterList, a.cluster_list.size() * 4);
    for (uint32_t c : a.cluster_list) w.u32(c);
  }
  if (!a.ext_communities.empty()) {
    before(kAttrExtCommunities);  // RFC 4360 §2
    attr_header(w, kOptTrans, kAttrExtCommunities, a.ext_communities.size() * 8);
    for (uint64_t c : a.ext_communities) w.u64(c);
  }
  if (!opt.four_octet_as) {
    // RFC 6793 §4.2.2: towards a 2-octet speaker, carry the real path in
    // AS4_PATH (without confederation segments) when it has 4-octet ASNs,
    // and the real aggregator in AS4_AGGREGATOR.
    if (has_4octet_asn(a.as_path)) {
      before(kAttrAs4Path);
      attr_header(w, kOptTrans, kAttrAs4Path, as_path_size(a.as_path, 4, true));
      write_as_path(w, a.as_path, 4, true);
    }
    if (a.aggregator && a.aggregator->asn > 0xffff) {
      before(kAttrAs4Aggregator);
      attr_header(w, kOptTrans, kAttrAs4Aggregator, 8);
      w.u32(a.aggregator->asn);
      write_aggregator_addr(w, a.aggregator->address);
    }
  }
  if (!a.large_communities.empty()) {
    before(kAttrLargeCommunities);  // RFC 8092 §3
    attr_header(w, kOptTrans, kAttrLargeCommunities, a.large_communities.size() * 12);
    for (const auto& c : a.large_communities) {
      w.u32(c.global);
      w.u32(c.local1);
      w.u32(c.local2);
    }
  }
  if (raws_sorted) {
    raws_upto(255);
  } else {
    for (const auto& r : a.unknown)
      if (!attr_spec(r.type).known) write_raw(w, r);
  }
}

// Fixed part of an UPDATE before any attribute: header + two length fields.
constexpr size_t kUpdateFixed = kHeaderLen + 4;

}  // namespace

void encode_path_attributes(const PathAttributes& a, const CodecOptions& opt, bool with_next_hop,
                            std::vector<uint8_t>& out) {
  const IpAddress* nh = nullptr;
  if (with_next_hop) {
    if (opt.next_hop && opt.next_hop->is_v4())
      nh = &*opt.next_hop;
    else if (a.next_hop && a.next_hop->is_v4())
      nh = &*a.next_hop;
  }
  encode_attrs(a, opt, nh, out);
}

Result<size_t> UpdateEncoder::announce(const PathAttributes& attrs,
                                       std::span<const Prefix> prefixes,
                                       std::vector<uint8_t>& out) {
  const size_t max = opt_.max_message_size();
  const size_t rollback = out.size();  // on error nothing is appended
  size_t messages = 0;
  for (const Family f : {Family::V4, Family::V6}) {
    auto it = std::find_if(prefixes.begin(), prefixes.end(),
                           [f](const Prefix& p) { return p.family() == f; });
    if (it == prefixes.end()) continue;
    // The next hop for this family: the per-peer override, else the
    // attribute's, of the prefixes' family. IPv4 prefixes fall back to an
    // IPv6 next hop (RFC 8950, sent in MP_REACH) only if no IPv4 one exists.
    std::optional<IpAddress> nh;
    std::optional<IpAddress> ll;
    for (const Family want : {f, Family::V6}) {
      if (opt_.next_hop && opt_.next_hop->family() == want) {
        nh = opt_.next_hop;
        ll = opt_.next_hop_ll;
      } else if (attrs.next_hop && attrs.next_hop->family() == want) {
        nh = attrs.next_hop;
        ll = attrs.next_hop_ll;
      }
      if (nh) break;
    }
    if (!nh) {
      out.resize(rollback);
      return make_error(std::string("no usable ") + family_name(f) + " next hop");
    }
    if (!opt_.send_link_local || !nh->is_v6() || (ll && !ll->is_v6())) ll.reset();
    const bool body_nlri = f == Family::V4 && nh->is_v4();

    attr_buf_.clear();
    encode_attrs(attrs, opt_, body_nlri ? &*nh : nullptr, attr_buf_);

    // Room for prefixes in one message.
    size_t fixed = kUpdateFixed + attr_buf_.size();
    size_t nh_len = 0;
    if (!body_nlri) {
      nh_len = nh->is_v4() ? 4 : (ll ? 32 : 16);
      // MP_REACH: flags, type, 2-octet length, AFI, SAFI, NH len, NH, reserved.
      fixed += 4 + 3 + 1 + nh_len + 1;
    }
    if (fixed + nlri_size(family_bits(f)) > max) {
      out.resize(rollback);
      return make_error("path attributes too large for one UPDATE");
    }

    while (it != prefixes.end()) {
      const size_t start = begin_message(MessageType::Update, out);
      ByteWriter w(out);
      w.u16(0);  // Withdrawn Routes Length
      const size_t alen_at = w.placeholder_u16();
      const size_t limit = start + max;
      auto fill = [&] {
        for (; it != prefixes.end(); ++it) {
          if (it->family() != f) continue;
          if (out.size() + nlri_size(it->len()) > limit - (body_nlri ? 0 : attr_buf_.size())) break;
          encode_prefix(*it, w);
        }
      };
      if (body_nlri) {
        w.bytes(attr_buf_.data(), attr_buf_.size());
        w.patch_u16(alen_at, static_cast<uint16_t>(attr_buf_.size()));
        fill();  // NLRI (§4.3)
      } else {
        // RFC 4760 §3 MP_REACH_NLRI, first among the attributes (RFC 7606
        // §5.1), always with an extended length since it may exceed 255.
        w.u8(kFlagOptional | kFlagExtendedLength);
        w.u8(kAttrMpReachNlri);
        const size_t mplen_at = w.placeholder_u16();
        w.u16(afi_of(f));
        w.u8(kSafiUnicast);
        w.u8(static_cast<uint8_t>(nh_len));
        w.bytes(nh->bytes(), static_cast<size_t>(nh->byte_len()));
        if (ll) w.bytes(ll->bytes(), 16);  // RFC 2545 §3 link-local
        w.u8(0);                           // Reserved
        fill();
        w.patch_u16(mplen_at, static_cast<uint16_t>(out.size() - mplen_at - 2));
        w.bytes(attr_buf_.data(), attr_buf_.size());
        w.patch_u16(alen_at, static_cast<uint16_t>(out.size() - alen_at - 2));
      }
      finish_message(start, out);
      ++messages;
      // Skip to the next prefix of this family.
      it = std::find_if(it, prefixes.end(), [f](const Prefix& p) { return p.family() == f; });
    }
  }
  return messages;
}

size_t UpdateEncoder::withdraw(std::span<const Prefix> prefixes, std::vector<uint8_t>& out) {
  const size_t max = opt_.max_message_size();
  size_t messages = 0;
  for (const Family f : {Family::V4, Family::V6}) {
    auto next = [&](auto it) {
      return std::find_if(it, prefixes.end(), [f](const Prefix& p) { return p.family() == f; });
    };
    auto it = next(prefixes.begin());
    while (it != prefixes.end()) {
      const size_t start = begin_message(MessageType::Update, out);
      const size_t limit = start + max;
      ByteWriter w(out);
      if (f == Family::V4) {
        // §4.3: Withdrawn Routes Length, Withdrawn Routes, attr length 0.
        const size_t wlen_at = w.placeholder_u16();
        for (; it != prefixes.end(); it = next(it + 1)) {
          if (out.size() + nlri_size(it->len()) + 2 > limit) break;
          encode_prefix(*it, w);
        }
        w.patch_u16(wlen_at, static_cast<uint16_t>(out.size() - wlen_at - 2));
        w.u16(0);
      } else {
        // RFC 4760 §4 MP_UNREACH_NLRI: AFI, SAFI, Withdrawn Routes.
        w.u16(0);
        const size_t alen_at = w.placeholder_u16();
        w.u8(kFlagOptional | kFlagExtendedLength);
        w.u8(kAttrMpUnreachNlri);
        const size_t mplen_at = w.placeholder_u16();
        w.u16(kAfiIpv6);
        w.u8(kSafiUnicast);
        for (; it != prefixes.end(); it = next(it + 1)) {
          if (out.size() + nlri_size(it->len()) > limit) break;
          encode_prefix(*it, w);
        }
        w.patch_u16(mplen_at, static_cast<uint16_t>(out.size() - mplen_at - 2));
        w.patch_u16(alen_at, static_cast<uint16_t>(out.size() - alen_at - 2));
      }
      finish_message(start, out);
      ++messages;
    }
  }
  return messages;
}

void UpdateEncoder::end_of_rib(Family f, std::vector<uint8_t>& out) {
  const size_t start = begin_message(MessageType::Update, out);
  ByteWriter w(out);
  w.u16(0);  // no withdrawn routes
  if (f == Family::V4) {
    w.u16(0);  // RFC 4724 §2: an UPDATE with no attributes and no NLRI
  } else {
    // RFC 4724 §2: only an MP_UNREACH_NLRI with no withdrawn routes.
    w.u16(6);
    w.u8(kFlagOptional);
    w.u8(kAttrMpUnreachNlri);
    w.u8(3);
    w.u16(afi_of(f));
    w.u8(kSafiUnicast);
  }
  finish_message(start, out);
}

}  // namespace ferry::bgp
