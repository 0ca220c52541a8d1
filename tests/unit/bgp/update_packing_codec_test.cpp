// UpdateEncoder packing: N prefixes → the expected number of UPDATEs, each
// within the peer's maximum message size, and decoding them gives back
// exactly the input (RFC 4271 §4.3, RFC 4760, RFC 8654).
#include <gtest/gtest.h>

#include <vector>

#include "bgp/update_codec.hpp"

using namespace ferry;
using namespace ferry::bgp;

namespace {

using Bytes = std::vector<uint8_t>;

std::vector<Prefix> v4_prefixes(int n) {
  std::vector<Prefix> out;
  for (int i = 0; i < n; ++i)
    out.emplace_back(IpAddress::v4(0x0a000000u + (static_cast<uint32_t>(i) << 8)), 24);
  return out;
}

std::vector<Prefix> v6_prefixes(int n) {
  std::vector<Prefix> out;
  for (int i = 0; i < n; ++i) {
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    out.emplace_back(IpAddress::v6_bytes(b), 48);
  }
  return out;
}

PathAttributes attrs() {
  PathAttributes a;
  a.origin = Origin::Igp;
  a.as_path = {{SegmentType::Sequence, {65001, 65002}}};
  a.next_hop = *IpAddress::parse("192.0.2.1");
  a.communities = {0xfde90001, 0xfde90002};
  return a;
}

struct Decoded {
  std::vector<Prefix> announced;
  std::vector<Prefix> withdrawn;
  std::vector<size_t> sizes;
  std::vector<PathAttributes> attrs;
};

Decoded decode_stream(const Bytes& stream, const CodecOptions& opt) {
  Decoded d;
  MessageFramer f(opt.max_message_size());
  f.append(stream);
  Frame fr;
  Notification err;
  DecodedUpdate u;
  FrameStatus st;
  while ((st = f.next(fr, err)) == FrameStatus::Ok) {
    EXPECT_EQ(fr.type, MessageType::Update);
    d.sizes.push_back(fr.message.size());
    decode_update(fr.body, opt, u);
    EXPECT_EQ(u.outcome, UpdateOutcome::Ok) << (u.issues.empty() ? "" : u.issues[0].reason);
    d.announced.insert(d.announced.end(), u.nlri.begin(), u.nlri.end());
    d.announced.insert(d.announced.end(), u.mp_nlri.begin(), u.mp_nlri.end());
    d.withdrawn.insert(d.withdrawn.end(), u.withdrawn.begin(), u.withdrawn.end());
    if (!u.nlri.empty()) d.attrs.push_back(u.attrs);
    if (!u.mp_nlri.empty()) d.attrs.push_back(u.mp_attrs());
  }
  EXPECT_EQ(st, FrameStatus::NeedMore);
  EXPECT_EQ(f.buffered(), 0u);
  return d;
}

size_t attr_size(const PathAttributes& a, const CodecOptions& o, bool nh) {
  Bytes b;
  encode_path_attributes(a, o, nh, b);
  return b.size();
}

}  // namespace

TEST(Packing, Ipv4FillsMessagesToTheLimit) {
  CodecOptions o;
  UpdateEncoder enc(o);
  auto pfx = v4_prefixes(3000);
  Bytes out;
  auto n = enc.announce(attrs(), pfx, out);
  ASSERT_TRUE(n.ok());
  // Each /24 takes 4 octets; one message holds floor(room / 4).
  const size_t room = kMaxMessageLen - 23 - attr_size(attrs(), o, true);
  const size_t per = room / 4;
  EXPECT_EQ(*n, (pfx.size() + per - 1) / per);
  auto d = decode_stream(out, o);
  EXPECT_EQ(d.sizes.size(), *n);
  for (size_t s : d.sizes) EXPECT_LE(s, kMaxMessageLen);
  EXPECT_EQ(d.sizes.front(), 23 + attr_size(attrs(), o, true) + per * 4);
  EXPECT_EQ(d.announced, pfx);
  for (const auto& a : d.attrs) EXPECT_EQ(a, attrs());
}

TEST(Packing, Ipv6InMpReach) {
  CodecOptions o;
  o.next_hop = *IpAddress::parse("2001:db8::1");
  o.next_hop_ll = *IpAddress::parse("fe80::1");
  UpdateEncoder enc(o);
  auto pfx = v6_prefixes(2000);
  Bytes out;
  auto n = enc.announce(attrs(), pfx, out);
  ASSERT_TRUE(n.ok()) << n.error();
  // /48 = 7 octets; MP_REACH header 4 + AFI/SAFI 3 + NH len 1 + 32 + reserved 1.
  const size_t room = kMaxMessageLen - 23 - attr_size(attrs(), o, false) - 41;
  const size_t per = room / 7;
  EXPECT_EQ(*n, (pfx.size() + per - 1) / per);
  auto d = decode_stream(out, o);
  for (size_t s : d.sizes) EXPECT_LE(s, kMaxMessageLen);
  EXPECT_EQ(d.announced, pfx);
  PathAttributes want = attrs();
  want.next_hop = o.next_hop;
  want.next_hop_ll = o.next_hop_ll;
  for (const auto& a : d.attrs) EXPECT_EQ(a, want);
}

TEST(Packing, MixedFamiliesAndExtendedMessages) {
  CodecOptions o;
  o.extended_message = true;
  UpdateEncoder enc(o);
  auto pfx = v4_prefixes(20000);
  auto six = v6_prefixes(10000);
  pfx.insert(pfx.end(), six.begin(), six.end());
  PathAttributes a = attrs();
  a.next_hop = *IpAddress::parse("2001:db8::9");  // IPv4 prefixes then need...
  // ...an IPv4 next hop from the per-peer option; IPv6 uses the attribute's.
  o.next_hop = *IpAddress::parse("192.0.2.77");
  enc.set_options(o);
  Bytes out;
  auto n = enc.announce(a, pfx, out);
  ASSERT_TRUE(n.ok()) << n.error();
  auto d = decode_stream(out, o);
  for (size_t s : d.sizes) EXPECT_LE(s, kMaxExtendedMessageLen);
  EXPECT_GT(d.sizes.front(), kMaxMessageLen);  // actually uses the larger size
  EXPECT_LT(*n, 10u);
  EXPECT_EQ(d.announced, pfx);
  EXPECT_EQ(d.attrs.front().next_hop, IpAddress::parse("192.0.2.77"));
  EXPECT_EQ(d.attrs.back().next_hop, IpAddress::parse("2001:db8::9"));
}

TEST(Packing, WithdrawalsBothFamilies) {
  CodecOptions o;
  UpdateEncoder enc(o);
  auto pfx = v4_prefixes(2500);
  auto six = v6_prefixes(1500);
  pfx.insert(pfx.end(), six.begin(), six.end());
  Bytes out;
  const size_t n = enc.withdraw(pfx, out);
  // IPv4: (4096 - 23) / 4 per message; IPv6 in MP_UNREACH: (4096-23-7) / 7.
  const size_t per4 = (kMaxMessageLen - 23) / 4;
  const size_t per6 = (kMaxMessageLen - 23 - 7) / 7;
  EXPECT_EQ(n, (2500 + per4 - 1) / per4 + (1500 + per6 - 1) / per6);
  auto d = decode_stream(out, o);
  for (size_t s : d.sizes) EXPECT_LE(s, kMaxMessageLen);
  EXPECT_EQ(d.withdrawn, pfx);
  EXPECT_TRUE(d.announced.empty());
}

TEST(Packing, TwoOctetPeerKeepsFullPathViaAs4Path) {
  CodecOptions o;
  o.four_octet_as = false;
  UpdateEncoder enc(o);
  PathAttributes a = attrs();
  a.as_path = {{SegmentType::Sequence, {4200000001u, 65002, 4200000003u}}};
  auto pfx = v4_prefixes(1500);
  Bytes out;
  ASSERT_TRUE(enc.announce(a, pfx, out).ok());
  auto d = decode_stream(out, o);
  EXPECT_EQ(d.announced, pfx);
  for (const auto& got : d.attrs) EXPECT_EQ(got, a);
}

TEST(Packing, LongAsPathIsSplitIntoSegments) {
  CodecOptions o;
  UpdateEncoder enc(o);
  PathAttributes a = attrs();
  a.as_path[0].asns.assign(300, 65001);  // more than 255: two segments on the wire
  Bytes out;
  ASSERT_TRUE(enc.announce(a, v4_prefixes(1), out).ok());
  auto d = decode_stream(out, o);
  ASSERT_EQ(d.attrs.size(), 1u);
  EXPECT_EQ(d.attrs[0].as_path_length(), 300);
  ASSERT_EQ(d.attrs[0].as_path.size(), 2u);
  EXPECT_EQ(d.attrs[0].as_path[0].asns.size(), 255u);
}

TEST(Packing, ErrorsAreReported) {
  UpdateEncoder enc;
  PathAttributes a = attrs();
  a.communities.assign(1100, 1);  // 4400 octets of attributes
  Bytes out;
  EXPECT_FALSE(enc.announce(a, v4_prefixes(1), out).ok());
  PathAttributes no_v6 = attrs();  // IPv4 next hop only
  EXPECT_FALSE(enc.announce(no_v6, v6_prefixes(1), out).ok());
  // A failure in the second family leaves nothing behind from the first.
  out.clear();
  auto mixed = v4_prefixes(3);
  auto six = v6_prefixes(3);
  mixed.insert(mixed.end(), six.begin(), six.end());
  EXPECT_FALSE(enc.announce(no_v6, mixed, out).ok());
  EXPECT_TRUE(out.empty());
  // Nothing to send → no message.
  out.clear();
  EXPECT_EQ(*enc.announce(attrs(), {}, out), 0u);
  EXPECT_EQ(enc.withdraw({}, out), 0u);
  EXPECT_TRUE(out.empty());
}

TEST(Packing, EbgpDropsIbgpOnlyAttributes) {
  CodecOptions o;
  o.ebgp = true;
  UpdateEncoder enc(o);
  PathAttributes a = attrs();
  a.local_pref = 100;
  a.originator_id = 7;
  a.cluster_list = {1};
  Bytes out;
  ASSERT_TRUE(enc.announce(a, v4_prefixes(1), out).ok());
  CodecOptions ibgp;
  auto d = decode_stream(out, ibgp);
  ASSERT_EQ(d.attrs.size(), 1u);
  EXPECT_FALSE(d.attrs[0].local_pref);
  EXPECT_FALSE(d.attrs[0].originator_id);
  EXPECT_TRUE(d.attrs[0].cluster_list.empty());
}

TEST(Packing, Ipv4WithOnlyAnIpv6NextHopUsesMpReachRfc8950) {
  CodecOptions o;
  o.send_link_local = false;
  UpdateEncoder enc(o);
  PathAttributes a = attrs();
  a.next_hop = *IpAddress::parse("2001:db8::5");
  auto pfx = v4_prefixes(3);
  Bytes out;
  ASSERT_TRUE(enc.announce(a, pfx, out).ok());
  DecodedUpdate u;
  decode_update(std::span<const uint8_t>(out).subspan(kHeaderLen), o, u);
  EXPECT_EQ(u.outcome, UpdateOutcome::Ok);
  EXPECT_TRUE(u.nlri.empty());
  EXPECT_EQ(u.mp_nlri, pfx);
  EXPECT_EQ(u.mp_reach_af, (AfiSafi{1, 1}));
  EXPECT_EQ(u.mp_next_hop, IpAddress::parse("2001:db8::5"));
  // With an IPv4 next hop available (here the per-peer one) it is preferred.
  o.next_hop = *IpAddress::parse("192.0.2.50");
  enc.set_options(o);
  out.clear();
  ASSERT_TRUE(enc.announce(a, pfx, out).ok());
  decode_update(std::span<const uint8_t>(out).subspan(kHeaderLen), o, u);
  EXPECT_EQ(u.nlri, pfx);
  EXPECT_EQ(u.attrs.next_hop, IpAddress::parse("192.0.2.50"));
}
