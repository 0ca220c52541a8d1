// UPDATE codec tests: golden bytes written from the RFC 4271 §4.3 /
// RFC 4760 layouts, RFC 6793 AS4 handling, End-of-RIB, and every RFC 7606
// error-handling outcome.
#include "bgp/update_codec.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

using namespace ferry;
using namespace ferry::bgp;

namespace {

using Bytes = std::vector<uint8_t>;

Prefix P(const char* s) {
  return *Prefix::parse(s);
}
IpAddress A(const char* s) {
  return *IpAddress::parse(s);
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes u16(size_t v) {
  return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

// UPDATE body: Withdrawn Routes Length, Withdrawn Routes, Total Path
// Attribute Length, Path Attributes, NLRI (RFC 4271 §4.3).
Bytes body(const Bytes& withdrawn, const Bytes& attrs, const Bytes& nlri) {
  return cat({u16(withdrawn.size()), withdrawn, u16(attrs.size()), attrs, nlri});
}

// Strips the 19-octet header from an encoded message.
std::span<const uint8_t> body_of(const Bytes& msg) {
  return std::span<const uint8_t>(msg).subspan(kHeaderLen);
}

// Well-formed attributes for a 4-octet session.
const Bytes kOrigin{0x40, 1, 1, 0};                        // ORIGIN IGP
const Bytes kAsPath4{0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9};  // AS_SEQUENCE [65001]
const Bytes kNextHop{0x40, 3, 4, 192, 0, 2, 1};            // NEXT_HOP 192.0.2.1
const Bytes kNlri{24, 10, 1, 1};                           // 10.1.1.0/24

CodecOptions four() {
  return CodecOptions{};
}
CodecOptions two() {
  CodecOptions o;
  o.four_octet_as = false;
  return o;
}

DecodedUpdate decode(const Bytes& b, const CodecOptions& o = four()) {
  DecodedUpdate u;
  decode_update(b, o, u);
  return u;
}

}  // namespace

// --------------------------------------------------------------------------
// Golden messages

TEST(UpdateGolden, Ipv4AnnouncementDecodeAndEncode) {
  const Bytes attrs = {
      0x40, 1, 1,    0,        // ORIGIN IGP
      0x40, 2, 14,   2,    3,  // AS_PATH: AS_SEQUENCE, 3 ASes
      0,    0, 0xfd, 0xe9, 0,    0, 0xfd, 0xea, 0,    0,    0xfd, 0xeb,  // 65001 65002 65003
      0x40, 3, 4,    192,  0,    2, 1,                                   // NEXT_HOP 192.0.2.1
      0x80, 4, 4,    0,    0,    0, 100,                                 // MULTI_EXIT_DISC 100
      0xc0, 8, 8,    0xfd, 0xe9, 0, 100,  0xff, 0xff, 0xff, 0x01,        // COMMUNITIES 65001:100
                                                                         // no-export
  };
  const Bytes nlri = {24, 10,  1, 1,  // 10.1.1.0/24
                      16, 172, 16};   // 172.16.0.0/16
  const Bytes b = body({}, attrs, nlri);

  auto u = decode(b);
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
  EXPECT_TRUE(u.issues.empty());
  EXPECT_EQ(u.nlri, (std::vector<Prefix>{P("10.1.1.0/24"), P("172.16.0.0/16")}));
  EXPECT_TRUE(u.withdrawn.empty());
  EXPECT_EQ(u.attrs.origin, Origin::Igp);
  ASSERT_EQ(u.attrs.as_path.size(), 1u);
  EXPECT_EQ(u.attrs.as_path[0].asns, (std::vector<uint32_t>{65001, 65002, 65003}));
  EXPECT_EQ(u.attrs.next_hop, A("192.0.2.1"));
  EXPECT_EQ(u.attrs.med, 100u);
  EXPECT_EQ(u.attrs.communities, (std::vector<uint32_t>{0xfde90064, kNoExport}));
  EXPECT_FALSE(u.end_of_rib);

  // The encoder writes the same attributes in the same (ascending) order.
  UpdateEncoder enc;
  Bytes out;
  auto n = enc.announce(u.attrs, u.nlri, out);
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(Bytes(body_of(out).begin(), body_of(out).end()), b);
  EXPECT_EQ(out.size(), 19 + b.size());
  EXPECT_EQ(out[16], 0);
  EXPECT_EQ(out[17], 19 + b.size());
  EXPECT_EQ(out[18], 2);
}

TEST(UpdateGolden, Ipv6MpReachWithLinkLocal) {
  const Bytes mp = {
      0x90, 14,   0,    44,  // MP_REACH_NLRI, extended length 44
      0,    2,    1,         // AFI 2 (IPv6), SAFI 1
      32,                    // next hop length: global + link-local (RFC 2545 §3)
      0x20, 0x01, 0x0d, 0xb8, 0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  // 2001:db8::1
      0xfe, 0x80, 0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  // fe80::1
      0,                                                              // reserved
      48,   0x20, 0x01, 0x0d, 0xb8, 0, 1,                             // 2001:db8:1::/48
  };
  const Bytes b = body({}, cat({mp, kOrigin, kAsPath4}), {});
  auto u = decode(b);
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
  EXPECT_EQ(u.mp_nlri, (std::vector<Prefix>{P("2001:db8:1::/48")}));
  EXPECT_EQ(u.mp_next_hop, A("2001:db8::1"));
  EXPECT_EQ(u.mp_next_hop_ll, A("fe80::1"));
  EXPECT_EQ(u.mp_reach_af, (AfiSafi{2, 1}));
  EXPECT_FALSE(u.attrs.next_hop);
  EXPECT_EQ(u.mp_attrs().next_hop, A("2001:db8::1"));

  UpdateEncoder enc;
  Bytes out;
  ASSERT_EQ(*enc.announce(u.mp_attrs(), u.mp_nlri, out), 1u);
  EXPECT_EQ(Bytes(body_of(out).begin(), body_of(out).end()), b);

  // Without the link-local: a 16-octet next hop.
  CodecOptions o;
  o.send_link_local = false;
  UpdateEncoder enc2(o);
  out.clear();
  ASSERT_TRUE(enc2.announce(u.mp_attrs(), u.mp_nlri, out).ok());
  auto u2 = decode(Bytes(body_of(out).begin(), body_of(out).end()));
  EXPECT_EQ(u2.mp_next_hop, A("2001:db8::1"));
  EXPECT_FALSE(u2.mp_next_hop_ll);
  EXPECT_EQ(body_of(out)[2 + 2 + 4 + 3], 16);  // Length of Next Hop
}

TEST(UpdateGolden, WithdrawalsBothFamilies) {
  UpdateEncoder enc;
  Bytes out;
  std::vector<Prefix> w{P("10.1.1.0/24"), P("2001:db8::/32")};
  EXPECT_EQ(enc.withdraw(w, out), 2u);
  // IPv4: Withdrawn Routes Length 4, 10.1.1.0/24, no attributes.
  const Bytes v4 = {0, 4, 24, 10, 1, 1, 0, 0};
  // IPv6: MP_UNREACH_NLRI (extended length 8): AFI 2, SAFI 1, 2001:db8::/32.
  const Bytes v6 = {0, 0, 0, 12, 0x90, 15, 0, 8, 0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb8};
  ASSERT_EQ(out.size(), 19 + v4.size() + 19 + v6.size());
  EXPECT_EQ(Bytes(out.begin() + 19, out.begin() + 19 + static_cast<long>(v4.size())), v4);
  EXPECT_EQ(Bytes(out.end() - static_cast<long>(v6.size()), out.end()), v6);

  auto u = decode(v4);
  EXPECT_EQ(u.withdrawn, (std::vector<Prefix>{P("10.1.1.0/24")}));
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
  u = decode(v6);
  EXPECT_EQ(u.withdrawn, (std::vector<Prefix>{P("2001:db8::/32")}));
  EXPECT_FALSE(u.end_of_rib);
}

TEST(UpdateGolden, EndOfRib) {
  UpdateEncoder enc;
  Bytes out;
  enc.end_of_rib(Family::V4, out);
  // RFC 4724 §2: IPv4 unicast EoR is an UPDATE with empty everything.
  EXPECT_EQ(Bytes(body_of(out).begin(), body_of(out).end()), (Bytes{0, 0, 0, 0}));
  EXPECT_EQ(decode({0, 0, 0, 0}).end_of_rib, Family::V4);

  out.clear();
  enc.end_of_rib(Family::V6, out);
  // Only an empty MP_UNREACH_NLRI for AFI 2 / SAFI 1.
  const Bytes v6 = {0, 0, 0, 6, 0x80, 15, 3, 0, 2, 1};
  EXPECT_EQ(Bytes(body_of(out).begin(), body_of(out).end()), v6);
  EXPECT_EQ(decode(v6).end_of_rib, Family::V6);
  // The extended-length form is recognised too.
  EXPECT_EQ(decode({0, 0, 0, 7, 0x90, 15, 0, 3, 0, 2, 1}).end_of_rib, Family::V6);
  // A withdrawal is not EoR.
  EXPECT_FALSE(decode({0, 4, 24, 10, 1, 1, 0, 0}).end_of_rib);
}

TEST(UpdateGolden, AllAttributesRoundTrip) {
  PathAttributes a;
  a.origin = Origin::Egp;
  a.as_path = {{SegmentType::Sequence, {65001, 4200000000u}}, {SegmentType::Set, {1, 2, 3}}};
  a.next_hop = A("198.51.100.7");
  a.med = 5;
  a.local_pref = 200;
  a.atomic_aggregate = true;
  a.aggregator = Aggregator{4200000000u, A("192.0.2.9")};
  a.communities = {0x00010002, kNoAdvertise};
  a.ext_communities = {0x0002fde900000064ULL};
  a.large_communities = {{4200000000u, 1, 2}};
  a.originator_id = 0x0a000009;
  a.cluster_list = {1, 2};
  a.unknown = {{kFlagOptional | kFlagTransitive | kFlagPartial, 99, {1, 2, 3}}};
  UpdateEncoder enc;
  Bytes out;
  std::vector<Prefix> nlri{P("10.0.0.0/8"), P("0.0.0.0/0"), P("192.0.2.128/25")};
  ASSERT_EQ(*enc.announce(a, nlri, out), 1u);
  auto u = decode(Bytes(body_of(out).begin(), body_of(out).end()));
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
  EXPECT_EQ(u.attrs, a);
  EXPECT_EQ(u.nlri, nlri);
}

TEST(UpdateGolden, UnknownOptionalTransitiveGetsPartialBit) {
  const Bytes unk = {0xc0, 99, 2, 0xaa, 0xbb};  // optional transitive, type 99
  const Bytes nontrans = {0x80, 98, 1, 0xcc};   // optional non-transitive, type 98
  auto u = decode(body({}, cat({kOrigin, kAsPath4, kNextHop, nontrans, unk}), kNlri));
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
  ASSERT_EQ(u.attrs.unknown.size(), 1u);  // the non-transitive one is quietly ignored
  EXPECT_EQ(u.attrs.unknown[0].type, 99);
  UpdateEncoder enc;
  Bytes out;
  ASSERT_TRUE(enc.announce(u.attrs, u.nlri, out).ok());
  // RFC 4271 §5: passed on with the Partial bit (0x20) set.
  const Bytes expect = {0xe0, 99, 2, 0xaa, 0xbb};
  EXPECT_NE(std::search(out.begin(), out.end(), expect.begin(), expect.end()), out.end());
}

// --------------------------------------------------------------------------
// RFC 6793: 2-octet peers

TEST(As4, EncodeToTwoOctetPeerUsesAsTransAndAs4Path) {
  PathAttributes a;
  a.origin = Origin::Igp;
  a.as_path = {{SegmentType::Sequence, {65001, 4200000001u}}};
  a.next_hop = A("192.0.2.1");
  a.aggregator = Aggregator{4200000001u, A("192.0.2.2")};
  UpdateEncoder enc(two());
  Bytes out;
  ASSERT_TRUE(enc.announce(a, std::vector<Prefix>{P("10.0.0.0/8")}, out).ok());
  const Bytes attrs = {
      0x40, 1,  1,  0,                                   // ORIGIN
      0x40, 2,  6,  2,    2,    0xfd, 0xe9, 0x5b, 0xa0,  // AS_PATH [65001 23456] (2-octet)
      0x40, 3,  4,  192,  0,    2,    1,                 // NEXT_HOP
      0xc0, 7,  6,  0x5b, 0xa0, 192,  0,    2,    2,     // AGGREGATOR AS_TRANS 192.0.2.2
      0xc0, 17, 10, 2,    2,    0,    0,    0xfd, 0xe9, 0xfa, 0x56, 0xea, 0x01,  // AS4_PATH
      0xc0, 18, 8,  0xfa, 0x56, 0xea, 0x01, 192,  0,    2,    2,                 // AS4_AGGREGATOR
  };
  EXPECT_EQ(Bytes(body_of(out).begin(), body_of(out).end()), body({}, attrs, {8, 10}));
  // And a 2-octet decode merges it back.
  auto u = decode(body({}, attrs, {8, 10}), two());
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
  EXPECT_EQ(u.attrs.as_path, a.as_path);
  EXPECT_EQ(u.attrs.aggregator, a.aggregator);
}

TEST(As4, MergeKeepsLeadingAsesAddedByOldSpeakers) {
  // AS_PATH [65010 65001 23456 {23456 65002}] from an old speaker that
  // prepended 65010; AS4_PATH [65001 4200000001 {4200000002 65002}].
  const Bytes as_path = {0x40, 2,    14, 2, 3,    0xfd, 0xf2, 0xfd, 0xe9,
                         0x5b, 0xa0, 1,  2, 0x5b, 0xa0, 0xfd, 0xea};
  const Bytes as4_path = {0xc0, 17, 20, 2,    2,    0,    0,    0xfd, 0xe9, 0xfa, 0x56, 0xea,
                          0x01, 1,  2,  0xfa, 0x56, 0xea, 0x02, 0,    0,    0xfd, 0xea};
  auto u = decode(body({}, cat({kOrigin, as_path, kNextHop, as4_path}), kNlri), two());
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok) << (u.issues.empty() ? "" : u.issues[0].reason);
  const std::vector<AsPathSegment> want = {{SegmentType::Sequence, {65010, 65001, 4200000001u}},
                                           {SegmentType::Set, {4200000002u, 65002}}};
  EXPECT_EQ(u.attrs.as_path, want);
  EXPECT_EQ(format_as_path(u.attrs.as_path), "65010 65001 4200000001 {4200000002 65002}");
}

TEST(As4, LongerAs4PathIsIgnored) {
  const Bytes as_path = {0x40, 2, 4, 2, 1, 0x5b, 0xa0};  // [23456]
  const Bytes as4_path = {0xc0, 17, 10, 2, 2, 0, 0, 0xfd, 0xe9, 0xfa, 0x56, 0xea, 0x01};
  auto u = decode(body({}, cat({kOrigin, as_path, kNextHop, as4_path}), kNlri), two());
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
  EXPECT_EQ(u.attrs.as_path[0].asns, (std::vector<uint32_t>{23456}));
}

TEST(As4, AggregatorNotAsTransIgnoresAs4Attributes) {
  const Bytes as_path = {0x40, 2, 6, 2, 2, 0xfd, 0xe9, 0x5b, 0xa0};
  const Bytes agg = {0xc0, 7, 6, 0xfd, 0xe9, 192, 0, 2, 2};  // AGGREGATOR 65001
  const Bytes as4_path = {0xc0, 17, 6, 2, 1, 0xfa, 0x56, 0xea, 0x01};
  const Bytes as4_agg = {0xc0, 18, 8, 0xfa, 0x56, 0xea, 0x01, 192, 0, 2, 2};
  auto u =
      decode(body({}, cat({kOrigin, as_path, kNextHop, agg, as4_path, as4_agg}), kNlri), two());
  EXPECT_EQ(u.attrs.aggregator->asn, 65001u);
  EXPECT_EQ(u.attrs.as_path[0].asns, (std::vector<uint32_t>{65001, 23456}));
  // With AS_TRANS in AGGREGATOR both are used.
  const Bytes agg_trans = {0xc0, 7, 6, 0x5b, 0xa0, 192, 0, 2, 2};
  u = decode(body({}, cat({kOrigin, as_path, kNextHop, agg_trans, as4_path, as4_agg}), kNlri),
             two());
  EXPECT_EQ(u.attrs.aggregator->asn, 4200000001u);
  EXPECT_EQ(u.attrs.as_path[0].asns, (std::vector<uint32_t>{65001, 4200000001u}));
}

TEST(As4, As4AttributesFromFourOctetPeerAreDiscarded) {
  const Bytes as4_path = {0xc0, 17, 6, 2, 1, 0xfa, 0x56, 0xea, 0x01};
  auto u = decode(body({}, cat({kOrigin, kAsPath4, kNextHop, as4_path}), kNlri));
  EXPECT_EQ(u.outcome, UpdateOutcome::AttributeDiscard);
  EXPECT_EQ(u.attrs.as_path[0].asns, (std::vector<uint32_t>{65001}));
  EXPECT_EQ(u.nlri.size(), 1u);
}

TEST(As4, MalformedAs4PathIsDiscardedNotFatal) {
  const Bytes as_path = {0x40, 2, 4, 2, 1, 0xfd, 0xe9};
  const Bytes bad_as4 = {0xc0, 17, 5, 2, 1, 0xfa, 0x56, 0xea};  // truncated ASN
  auto u = decode(body({}, cat({kOrigin, as_path, kNextHop, bad_as4}), kNlri), two());
  EXPECT_EQ(u.outcome, UpdateOutcome::AttributeDiscard);
  EXPECT_EQ(u.nlri.size(), 1u);
  EXPECT_EQ(u.attrs.as_path[0].asns, (std::vector<uint32_t>{65001}));
}

// --------------------------------------------------------------------------
// RFC 7606 outcomes, attribute by attribute.

struct Case7606 {
  const char* name;
  Bytes attr;  // replaces or adds to the base attributes
  UpdateOutcome want;
  uint8_t subcode = 0;  // for SessionReset
  bool ebgp = false;
};

class Rfc7606 : public ::testing::TestWithParam<Case7606> {};

TEST_P(Rfc7606, Outcome) {
  const auto& c = GetParam();
  // Base: ORIGIN, AS_PATH, NEXT_HOP, then the case's attribute. A broken
  // copy of a base attribute goes first so it is the one that counts.
  const uint8_t type = c.attr.size() > 1 ? c.attr[1] : 0;
  Bytes attrs = c.attr;
  if (type != 1) attrs = cat({attrs, kOrigin});
  if (type != 2) attrs = cat({attrs, kAsPath4});
  if (type != 3) attrs = cat({attrs, kNextHop});
  CodecOptions o;
  o.ebgp = c.ebgp;
  auto u = decode(body({24, 10, 9, 9}, attrs, kNlri), o);
  EXPECT_EQ(u.outcome, c.want) << outcome_name(u.outcome);
  if (c.want == UpdateOutcome::SessionReset) {
    EXPECT_EQ(u.notification.code, 3);
    EXPECT_EQ(u.notification.subcode, c.subcode);
  } else if (c.want == UpdateOutcome::TreatAsWithdraw) {
    // The NLRI is now withdrawn, alongside the real withdrawal.
    EXPECT_TRUE(u.nlri.empty());
    EXPECT_EQ(u.withdrawn, (std::vector<Prefix>{P("10.9.9.0/24"), P("10.1.1.0/24")}));
  } else {
    EXPECT_EQ(u.nlri, (std::vector<Prefix>{P("10.1.1.0/24")}));
  }
  if (c.want != UpdateOutcome::Ok) {
    EXPECT_FALSE(u.issues.empty());
  }
}

using O = UpdateOutcome;
INSTANTIATE_TEST_SUITE_P(
    Attributes, Rfc7606,
    ::testing::Values(
        Case7606{"origin_len", {0x40, 1, 2, 0, 0}, O::TreatAsWithdraw},
        Case7606{"origin_value", {0x40, 1, 1, 3}, O::TreatAsWithdraw},
        Case7606{"origin_flags", {0xc0, 1, 1, 0}, O::TreatAsWithdraw},
        Case7606{"as_path_zero_segment", {0x40, 2, 2, 2, 0}, O::TreatAsWithdraw},
        Case7606{"as_path_bad_type", {0x40, 2, 6, 5, 1, 0, 0, 0xfd, 0xe9}, O::TreatAsWithdraw},
        Case7606{"as_path_overrun", {0x40, 2, 6, 2, 2, 0, 0, 0xfd, 0xe9}, O::TreatAsWithdraw},
        Case7606{"as_path_one_trailing_octet",
                 {0x40, 2, 7, 2, 1, 0, 0, 0xfd, 0xe9, 2},
                 O::TreatAsWithdraw},
        Case7606{"next_hop_len", {0x40, 3, 5, 1, 2, 3, 4, 5}, O::TreatAsWithdraw},
        Case7606{"med_len", {0x80, 4, 3, 0, 0, 1}, O::TreatAsWithdraw},
        Case7606{"med_flags", {0x40, 4, 4, 0, 0, 0, 1}, O::TreatAsWithdraw},
        Case7606{"local_pref_len", {0x40, 5, 3, 0, 0, 1}, O::TreatAsWithdraw},
        Case7606{"local_pref_from_ebgp", {0x40, 5, 4, 0, 0, 0, 1}, O::AttributeDiscard, 0, true},
        Case7606{"atomic_aggregate_len", {0x40, 6, 1, 0}, O::AttributeDiscard},
        Case7606{"aggregator_len", {0xc0, 7, 7, 0, 0, 0, 1, 1, 2, 3}, O::AttributeDiscard},
        Case7606{"aggregator_flags", {0x40, 7, 8, 0, 0, 0, 1, 1, 2, 3, 4}, O::AttributeDiscard},
        Case7606{"communities_len", {0xc0, 8, 5, 0, 0, 0, 1, 2}, O::TreatAsWithdraw},
        Case7606{"communities_empty", {0xc0, 8, 0}, O::TreatAsWithdraw},
        Case7606{"originator_len", {0x80, 9, 5, 1, 2, 3, 4, 5}, O::TreatAsWithdraw},
        Case7606{"cluster_list_empty", {0x80, 10, 0}, O::TreatAsWithdraw},
        Case7606{
            "ext_communities_len", {0xc0, 16, 9, 0, 2, 0, 0, 0, 0, 0, 0, 1}, O::TreatAsWithdraw},
        Case7606{"large_communities_len", Bytes{0xc0, 32, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 3},
                 O::TreatAsWithdraw},
        Case7606{"as4_aggregator_from_new_speaker",
                 {0xc0, 18, 8, 0, 0, 0, 1, 1, 2, 3, 4},
                 O::AttributeDiscard},
        Case7606{"mp_reach_bad_next_hop_len",
                 cat({{0x80, 14, 23, 0, 2, 1, 17}, Bytes(17, 0), {0, 0}}), O::SessionReset,
                 kSubOptionalAttributeError},
        Case7606{"mp_reach_bad_nlri",
                 {0x80, 14, 11, 0, 1, 1, 4, 1, 2, 3, 4, 0, 33, 1},
                 O::SessionReset,
                 kSubOptionalAttributeError},
        Case7606{"mp_reach_flags",
                 {0x40, 14, 9, 0, 1, 1, 4, 1, 2, 3, 4, 0},
                 O::SessionReset,
                 kSubAttributeFlagsError},
        Case7606{"mp_unreach_truncated",
                 {0x80, 15, 2, 0, 1},
                 O::SessionReset,
                 kSubOptionalAttributeError},
        Case7606{"unrecognized_well_known",
                 {0x40, 99, 1, 7},
                 O::SessionReset,
                 kSubUnrecognizedWellKnown},
        Case7606{"attr_overruns_field", {0xc0, 8, 200, 0, 0}, O::TreatAsWithdraw},
        Case7606{"attr_header_truncated", {0xc0, 8}, O::TreatAsWithdraw},
        Case7606{"good_local_pref_ibgp", {0x40, 5, 4, 0, 0, 0, 1}, O::Ok}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Rfc7606Update, DuplicateAttributeKeepsTheFirst) {
  const Bytes c1 = {0xc0, 8, 4, 0, 1, 0, 1};
  const Bytes c2 = {0xc0, 8, 4, 0, 2, 0, 2};
  auto u = decode(body({}, cat({kOrigin, kAsPath4, kNextHop, c1, c2}), kNlri));
  EXPECT_EQ(u.outcome, UpdateOutcome::AttributeDiscard);
  EXPECT_EQ(u.attrs.communities, (std::vector<uint32_t>{0x00010001}));
  EXPECT_EQ(u.nlri.size(), 1u);
}

TEST(Rfc7606Update, DuplicateMpReachResetsTheSession) {
  const Bytes mp = {0x80, 14, 9, 0, 1, 1, 4, 1, 2, 3, 4, 0};
  auto u = decode(body({}, cat({mp, mp, kOrigin, kAsPath4}), {}));
  EXPECT_EQ(u.outcome, UpdateOutcome::SessionReset);
  EXPECT_EQ(u.notification.subcode, kSubMalformedAttributeList);
}

TEST(Rfc7606Update, UnrecognizedWellKnownCarriesTheAttribute) {
  const Bytes bad = {0x40, 99, 2, 7, 8};
  auto u = decode(body({}, cat({kOrigin, kAsPath4, kNextHop, bad}), kNlri));
  ASSERT_EQ(u.outcome, UpdateOutcome::SessionReset);
  EXPECT_EQ(u.notification.subcode, kSubUnrecognizedWellKnown);
  EXPECT_EQ(u.notification.data, bad);
}

TEST(Rfc7606Update, MissingWellKnownWithNlriIsTreatAsWithdraw) {
  auto u = decode(body({}, cat({kOrigin, kAsPath4}), kNlri));  // no NEXT_HOP
  EXPECT_EQ(u.outcome, UpdateOutcome::TreatAsWithdraw);
  EXPECT_EQ(u.withdrawn, (std::vector<Prefix>{P("10.1.1.0/24")}));
  u = decode(body({}, cat({kAsPath4, kNextHop}), kNlri));  // no ORIGIN
  EXPECT_EQ(u.outcome, UpdateOutcome::TreatAsWithdraw);
  u = decode(body({}, {}, kNlri));  // nothing at all
  EXPECT_EQ(u.outcome, UpdateOutcome::TreatAsWithdraw);
  // MP_REACH only: NEXT_HOP is not needed (RFC 4760 §3).
  const Bytes mp = {0x80, 14, 12, 0, 1, 1, 4, 1, 2, 3, 4, 0, 16, 10, 2};
  u = decode(body({}, cat({mp, kOrigin, kAsPath4}), {}));
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
  EXPECT_EQ(u.mp_nlri, (std::vector<Prefix>{P("10.2.0.0/16")}));
  EXPECT_EQ(u.mp_next_hop, A("1.2.3.4"));
  // A pure withdrawal needs no attributes.
  u = decode(body({24, 10, 1, 1}, {}, {}));
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
}

TEST(Rfc7606Update, MostSevereOutcomeWins) {
  const Bytes bad_agg = {0xc0, 7, 1, 0};  // discard
  const Bytes bad_med = {0x80, 4, 1, 0};  // treat-as-withdraw
  auto u = decode(body({}, cat({kOrigin, kAsPath4, kNextHop, bad_med, bad_agg}), kNlri));
  EXPECT_EQ(u.outcome, UpdateOutcome::TreatAsWithdraw);
  EXPECT_EQ(u.issues.size(), 2u);
}

TEST(Rfc7606Update, LengthFieldErrorsResetTheSession) {
  // Withdrawn Routes Length beyond the message.
  auto u = decode({0, 50, 0, 0});
  EXPECT_EQ(u.outcome, UpdateOutcome::SessionReset);
  EXPECT_EQ(u.notification.subcode, kSubMalformedAttributeList);
  // Total Path Attribute Length beyond the message.
  u = decode({0, 0, 0, 50, 0x40, 1, 1, 0});
  EXPECT_EQ(u.outcome, UpdateOutcome::SessionReset);
  EXPECT_EQ(u.notification.subcode, kSubMalformedAttributeList);
  // NLRI prefix length 33 (RFC 7606 §5.3).
  u = decode(body({}, cat({kOrigin, kAsPath4, kNextHop}), {33, 1, 2, 3, 4, 5}));
  EXPECT_EQ(u.outcome, UpdateOutcome::SessionReset);
  EXPECT_EQ(u.notification.subcode, kSubInvalidNetworkField);
  // Truncated NLRI prefix.
  u = decode(body({}, cat({kOrigin, kAsPath4, kNextHop}), {24, 10, 1}));
  EXPECT_EQ(u.outcome, UpdateOutcome::SessionReset);
  // Malformed withdrawn prefix.
  u = decode(body({40, 10}, {}, {}));
  EXPECT_EQ(u.outcome, UpdateOutcome::SessionReset);
  EXPECT_EQ(u.notification.subcode, kSubInvalidNetworkField);
  // Body too short for even the withdrawn length.
  u = decode({0});
  EXPECT_EQ(u.outcome, UpdateOutcome::SessionReset);
}

TEST(Rfc7606Update, EbgpFirstAsMustBeThePeer) {
  CodecOptions o;
  o.ebgp = true;
  o.enforce_first_as = true;
  o.peer_as = 65002;
  auto u = decode(body({}, cat({kOrigin, kAsPath4, kNextHop}), kNlri), o);
  EXPECT_EQ(u.outcome, UpdateOutcome::TreatAsWithdraw);
  o.peer_as = 65001;
  u = decode(body({}, cat({kOrigin, kAsPath4, kNextHop}), kNlri), o);
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
}

TEST(Rfc7606Update, UnknownAfiSafiIsIgnored) {
  // MP_REACH for AFI 1 SAFI 128 (VPN): not ours, skipped without a reset.
  const Bytes mp = {0x80, 14, 9, 0, 1, 128, 4, 1, 2, 3, 4, 0};
  auto u = decode(body({}, cat({mp, kOrigin, kAsPath4, kNextHop}), kNlri));
  EXPECT_EQ(u.outcome, UpdateOutcome::AttributeDiscard);
  EXPECT_EQ(u.nlri.size(), 1u);
  EXPECT_TRUE(u.mp_nlri.empty());
}

TEST(DecodedUpdate, ReuseKeepsCapacity) {
  const Bytes b = body({}, cat({kOrigin, kAsPath4, kNextHop}),
                       {24, 10, 1, 1, 24, 10, 1, 2, 24, 10, 1, 3, 24, 10, 1, 4});
  DecodedUpdate u;
  decode_update(b, four(), u);
  ASSERT_EQ(u.nlri.size(), 4u);
  const Prefix* data = u.nlri.data();
  for (int i = 0; i < 10; ++i) {
    decode_update(b, four(), u);
    EXPECT_EQ(u.nlri.data(), data);  // no reallocation of the prefix vector
    EXPECT_EQ(u.nlri.size(), 4u);
  }
}

TEST(UpdateGolden, ZeroLinkLocalIsDropped) {
  const Bytes mp = cat({{0x80, 14, 42, 0, 2, 1, 32},
                        {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                        Bytes(16, 0),  // link-local slot of zeros
                        {0, 32, 0x20, 0x01, 0x0d, 0xb8}});
  auto u = decode(body({}, cat({mp, kOrigin, kAsPath4}), {}));
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
  EXPECT_EQ(u.mp_next_hop, A("2001:db8::1"));
  EXPECT_FALSE(u.mp_next_hop_ll);
  EXPECT_EQ(u.mp_nlri, (std::vector<Prefix>{P("2001:db8::/32")}));
}
