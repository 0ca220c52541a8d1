// Golden-byte tests for BGP framing, KEEPALIVE, NOTIFICATION, ROUTE-REFRESH
// and OPEN (RFC 4271 §4, RFC 5492, RFC 2918, RFC 7313, RFC 9003).
#include "bgp/message.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace ferry;
using namespace ferry::bgp;

namespace {

using Bytes = std::vector<uint8_t>;

// 16-octet marker of all ones (RFC 4271 §4.1).
Bytes marker() {
  return Bytes(16, 0xff);
}

Bytes header(uint16_t len, uint8_t type) {
  Bytes b = marker();
  b.push_back(static_cast<uint8_t>(len >> 8));
  b.push_back(static_cast<uint8_t>(len));
  b.push_back(type);
  return b;
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST(Keepalive, GoldenBytes) {
  Bytes out;
  encode_keepalive(out);
  // §4.4: a KEEPALIVE is the 19-octet header alone, type 4.
  EXPECT_EQ(out, header(19, 4));
}

TEST(Framer, YieldsCompleteMessagesAcrossPartialReads) {
  Bytes stream;
  encode_keepalive(stream);
  Notification n{6, 2, {}};
  encode_notification(n, stream);
  encode_keepalive(stream);

  MessageFramer f;
  Frame fr;
  Notification err;
  // Feed one byte at a time; messages pop out exactly when complete.
  std::vector<MessageType> got;
  for (uint8_t b : stream) {
    f.append(std::span<const uint8_t>(&b, 1));
    while (true) {
      auto st = f.next(fr, err);
      ASSERT_NE(st, FrameStatus::Error);
      if (st == FrameStatus::NeedMore) break;
      got.push_back(fr.type);
      if (fr.type == MessageType::Notification) {
        EXPECT_EQ(fr.body.size(), 2u);
        EXPECT_EQ(fr.message.size(), 21u);
      }
    }
  }
  EXPECT_EQ(got, (std::vector<MessageType>{MessageType::Keepalive, MessageType::Notification,
                                           MessageType::Keepalive}));
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(Framer, PrepareCommitReadsInPlace) {
  Bytes ka;
  encode_keepalive(ka);
  MessageFramer f;
  uint8_t* p = f.prepare(100);
  std::copy(ka.begin(), ka.end(), p);
  f.commit(ka.size());
  Frame fr;
  Notification err;
  EXPECT_EQ(f.next(fr, err), FrameStatus::Ok);
  EXPECT_EQ(fr.type, MessageType::Keepalive);
  EXPECT_EQ(f.next(fr, err), FrameStatus::NeedMore);
}

TEST(Framer, BadMarkerIsConnectionNotSynchronized) {
  Bytes m = header(19, 4);
  m[5] = 0xfe;
  MessageFramer f;
  f.append(m);
  Frame fr;
  Notification err;
  ASSERT_EQ(f.next(fr, err), FrameStatus::Error);
  EXPECT_EQ(err.code, 1);
  EXPECT_EQ(err.subcode, 1);
  // The framer stays failed.
  Notification err2;
  EXPECT_EQ(f.next(fr, err2), FrameStatus::Error);
  EXPECT_EQ(err2, err);
}

TEST(Framer, BadLengthCarriesTheLengthField) {
  struct Case {
    uint16_t len;
    uint8_t type;
  };
  // Too short, too long, KEEPALIVE not 19, OPEN < 29, UPDATE < 23, NOTIFICATION < 21.
  for (auto c : {Case{18, 4}, Case{4097, 2}, Case{20, 4}, Case{28, 1}, Case{22, 2}, Case{20, 3}}) {
    Bytes m = header(c.len, c.type);
    m.resize(std::max<size_t>(m.size(), c.len), 0);
    Frame fr;
    size_t consumed = 0;
    Notification err;
    ASSERT_EQ(parse_frame(m, kMaxMessageLen, fr, consumed, err), FrameStatus::Error) << c.len;
    EXPECT_EQ(err.code, 1);
    EXPECT_EQ(err.subcode, 2);
    EXPECT_EQ(err.data, (Bytes{static_cast<uint8_t>(c.len >> 8), static_cast<uint8_t>(c.len)}));
  }
}

TEST(Framer, ExtendedMessageAllowsLargeUpdateButNotOpen) {
  Bytes upd = header(5000, 2);
  upd.resize(5000, 0);
  Frame fr;
  size_t consumed = 0;
  Notification err;
  EXPECT_EQ(parse_frame(upd, kMaxMessageLen, fr, consumed, err), FrameStatus::Error);
  EXPECT_EQ(parse_frame(upd, kMaxExtendedMessageLen, fr, consumed, err), FrameStatus::Ok);
  EXPECT_EQ(consumed, 5000u);
  // RFC 8654 §4: OPEN stays within 4096 even when extended messages are on.
  Bytes open = header(5000, 1);
  open.resize(5000, 0);
  EXPECT_EQ(parse_frame(open, kMaxExtendedMessageLen, fr, consumed, err), FrameStatus::Error);
  EXPECT_EQ(err.subcode, kSubBadMessageLength);
}

TEST(Framer, BadTypeCarriesTheType) {
  Bytes m = header(19, 9);
  Frame fr;
  size_t consumed = 0;
  Notification err;
  ASSERT_EQ(parse_frame(m, kMaxMessageLen, fr, consumed, err), FrameStatus::Error);
  EXPECT_EQ(err.code, 1);
  EXPECT_EQ(err.subcode, 3);
  EXPECT_EQ(err.data, Bytes{9});
}

TEST(Framer, WaitsForTheWholeMessage) {
  Bytes m = header(23, 2);
  m.resize(22, 0);  // one octet short
  Frame fr;
  size_t consumed = 0;
  Notification err;
  EXPECT_EQ(parse_frame(m, kMaxMessageLen, fr, consumed, err), FrameStatus::NeedMore);
  EXPECT_EQ(parse_frame(std::span<const uint8_t>(m.data(), 10), kMaxMessageLen, fr, consumed, err),
            FrameStatus::NeedMore);
}

TEST(Notification, GoldenBytesAndDecode) {
  Notification n{3, 2, {0x40, 0x99, 0x00}};
  Bytes out;
  encode_notification(n, out);
  // Header (length 24, type 3), Error code 3, subcode 2, data.
  EXPECT_EQ(out, cat(header(24, 3), Bytes{3, 2, 0x40, 0x99, 0x00}));
  EXPECT_EQ(decode_notification(std::span<const uint8_t>(out).subspan(19)), n);
}

TEST(Notification, ShutdownCommunication) {
  auto n = Notification::shutdown(kSubAdminShutdown, "maintenance");
  Bytes out;
  encode_notification(n, out);
  // RFC 9003 §2: Cease (6), Admin Shutdown (2), Length 11, "maintenance".
  Bytes body{6, 2, 11, 'm', 'a', 'i', 'n', 't', 'e', 'n', 'a', 'n', 'c', 'e'};
  EXPECT_EQ(out, cat(header(static_cast<uint16_t>(19 + body.size()), 3), body));
  auto d = decode_notification(std::span<const uint8_t>(out).subspan(19));
  ASSERT_TRUE(d.shutdown_message());
  EXPECT_EQ(*d.shutdown_message(), "maintenance");
  EXPECT_EQ(d.describe(), "Cease/Administrative Shutdown: \"maintenance\"");
}

TEST(Notification, ShutdownCommunicationLimitsAndValidation) {
  // 300 octets are cut to 255 (RFC 9003 raised the limit from 128).
  auto n = Notification::shutdown(kSubAdminReset, std::string(300, 'x'));
  ASSERT_EQ(n.data.size(), 256u);
  EXPECT_EQ(n.data[0], 255);
  EXPECT_EQ(n.shutdown_message()->size(), 255u);
  // A multi-octet character is never split: 127 two-octet characters = 254.
  std::string e;
  for (int i = 0; i < 200; ++i) e += "\xc3\xa9";
  EXPECT_EQ(Notification::shutdown(2, e).data[0], 254);
  // Length beyond the data, or invalid UTF-8: no message.
  Notification bad{6, 2, {5, 'a', 'b'}};
  EXPECT_FALSE(bad.shutdown_message());
  Notification bad_utf8{6, 2, {2, 0xc3, 0x28}};
  EXPECT_FALSE(bad_utf8.shutdown_message());
  // Other subcodes never carry one.
  Notification other{6, 3, {1, 'a'}};
  EXPECT_FALSE(other.shutdown_message());
}

TEST(Notification, Rfc8538HardResetEncapsulates) {
  Notification inner = Notification::shutdown(kSubAdminShutdown, "maint");
  Notification hr = Notification::hard_reset(inner);
  std::vector<uint8_t> out;
  encode_notification(hr, out);
  // Header (19), then Cease 6 / Hard Reset 9, then 6 / 2 / len 5 / "maint".
  const std::vector<uint8_t> body(out.begin() + 19, out.end());
  EXPECT_EQ(body, (std::vector<uint8_t>{6, 9, 6, 2, 5, 'm', 'a', 'i', 'n', 't'}));
  Notification back = decode_notification(body);
  EXPECT_TRUE(back.is_hard_reset());
  ASSERT_TRUE(back.hard_reset_inner());
  EXPECT_EQ(*back.hard_reset_inner(), inner);
  EXPECT_EQ(back.describe(), "Cease/Hard Reset (Cease/Administrative Shutdown: \"maint\")");
  // §5: which Cease subcodes call for a Hard Reset.
  for (uint8_t sub : {1, 2, 3, 4, 9}) {
    Notification n;
    n.code = kErrCease;
    n.subcode = sub;
    EXPECT_TRUE(n.wants_hard_reset()) << int(sub);
  }
  for (uint8_t sub : {5, 6, 7, 8, 10}) {
    Notification n;
    n.code = kErrCease;
    n.subcode = sub;
    EXPECT_FALSE(n.wants_hard_reset()) << int(sub);
  }
  Notification hold;
  hold.code = kErrHoldTimerExpired;
  EXPECT_FALSE(hold.wants_hard_reset());
  Notification short_hr;
  short_hr.code = kErrCease;
  short_hr.subcode = kSubHardReset;
  short_hr.data = {6};
  EXPECT_FALSE(short_hr.hard_reset_inner());  // too short to carry one
}

TEST(Notification, CodeTable) {
  struct Row {
    uint8_t code, sub;
    const char* name;
  };
  const Row rows[] = {
      {1, 1, "Connection Not Synchronized"},
      {1, 2, "Bad Message Length"},
      {1, 3, "Bad Message Type"},
      {2, 0, "Unspecific"},
      {2, 1, "Unsupported Version Number"},
      {2, 2, "Bad Peer AS"},
      {2, 3, "Bad BGP Identifier"},
      {2, 4, "Unsupported Optional Parameter"},
      {2, 5, "Authentication Failure"},
      {2, 6, "Unacceptable Hold Time"},
      {2, 7, "Unsupported Capability"},
      {3, 1, "Malformed Attribute List"},
      {3, 2, "Unrecognized Well-known Attribute"},
      {3, 3, "Missing Well-known Attribute"},
      {3, 4, "Attribute Flags Error"},
      {3, 5, "Attribute Length Error"},
      {3, 6, "Invalid ORIGIN Attribute"},
      {3, 7, "AS Routing Loop"},
      {3, 8, "Invalid NEXT_HOP Attribute"},
      {3, 9, "Optional Attribute Error"},
      {3, 10, "Invalid Network Field"},
      {3, 11, "Malformed AS_PATH"},
      {4, 0, "Unspecific"},
      {5, 0, "Unspecified Error"},
      {5, 1, "Receive Unexpected Message in OpenSent State"},
      {5, 2, "Receive Unexpected Message in OpenConfirm State"},
      {5, 3, "Receive Unexpected Message in Established State"},
      {6, 1, "Maximum Number of Prefixes Reached"},
      {6, 2, "Administrative Shutdown"},
      {6, 3, "Peer De-configured"},
      {6, 4, "Administrative Reset"},
      {6, 5, "Connection Rejected"},
      {6, 6, "Other Configuration Change"},
      {6, 7, "Connection Collision Resolution"},
      {6, 8, "Out of Resources"},
      {6, 9, "Hard Reset"},
      {6, 10, "BFD Down"},
      {7, 1, "Invalid Message Length"},
  };
  for (const auto& r : rows) EXPECT_STREQ(error_subcode_name(r.code, r.sub), r.name);
  EXPECT_STREQ(error_code_name(1), "Message Header Error");
  EXPECT_STREQ(error_code_name(2), "OPEN Message Error");
  EXPECT_STREQ(error_code_name(3), "UPDATE Message Error");
  EXPECT_STREQ(error_code_name(4), "Hold Timer Expired");
  EXPECT_STREQ(error_code_name(5), "Finite State Machine Error");
  EXPECT_STREQ(error_code_name(6), "Cease");
  EXPECT_STREQ(error_code_name(7), "ROUTE-REFRESH Message Error");
  EXPECT_STREQ(error_code_name(99), "Unknown");
  EXPECT_STREQ(error_subcode_name(1, 4), "Unknown");
  EXPECT_EQ((Notification{3, 1, {0xab}}).describe(),
            "UPDATE Message Error/Malformed Attribute List (data ab)");
}

TEST(RouteRefresh, GoldenBytesAndSubtypes) {
  Bytes out;
  encode_route_refresh({{2, 1}, RefreshSubtype::BeginOfRibRefresh}, out);
  // RFC 2918 §3 / RFC 7313 §3.2: AFI 2, subtype 1 (BoRR), SAFI 1.
  EXPECT_EQ(out, cat(header(23, 5), Bytes{0, 2, 1, 1}));
  RouteRefresh rr;
  Notification err;
  ASSERT_EQ(decode_route_refresh(out, rr, err), RefreshDecode::Ok);
  EXPECT_EQ(rr.af, (AfiSafi{2, 1}));
  EXPECT_EQ(rr.subtype, RefreshSubtype::BeginOfRibRefresh);

  // RFC 7313 §5: unknown subtype → ignored.
  Bytes odd = cat(header(23, 5), Bytes{0, 1, 7, 1});
  EXPECT_EQ(decode_route_refresh(odd, rr, err), RefreshDecode::Ignore);
  // Wrong length → 7/1 with the whole message as data.
  Bytes longer = cat(header(24, 5), Bytes{0, 1, 1, 1, 0});
  ASSERT_EQ(decode_route_refresh(longer, rr, err), RefreshDecode::Error);
  EXPECT_EQ(err.code, 7);
  EXPECT_EQ(err.subcode, 1);
  EXPECT_EQ(err.data, longer);
}

// --------------------------------------------------------------------------
// OPEN

namespace {

// OPEN from AS 65001, hold 90, id 10.0.0.1, capabilities MP IPv4 unicast,
// MP IPv6 unicast, route refresh, 4-octet AS 65001, each in its own
// optional parameter (as BIRD and FRR send them).
Bytes golden_open_body() {
  return {
      4,                                    // Version
      0xfd, 0xe9,                           // My AS 65001
      0x00, 0x5a,                           // Hold Time 90
      10,   0,    0,  1,                    // BGP Identifier
      28,                                   // Opt Parm Len
      2,    6,    1,  4, 0, 1, 0,    1,     // Capabilities: MP (1), len 4, AFI 1, res, SAFI 1
      2,    6,    1,  4, 0, 2, 0,    1,     // MP AFI 2 SAFI 1
      2,    2,    2,  0,                    // Route refresh (2), len 0
      2,    6,    65, 4, 0, 0, 0xfd, 0xe9,  // 4-octet AS (65), len 4, 65001
  };
}

OpenMessage golden_open() {
  OpenMessage m;
  m.my_as = 65001;
  m.hold_time = 90;
  m.bgp_id = RouterId(0x0a000001);
  m.caps.multiprotocol = {{1, 1}, {2, 1}};
  m.caps.route_refresh = true;
  m.caps.four_octet_as = 65001;
  return m;
}

}  // namespace

TEST(Open, GoldenEncode) {
  Bytes out;
  encode_open(golden_open(), out);
  const Bytes body = golden_open_body();
  EXPECT_EQ(out, cat(header(static_cast<uint16_t>(19 + body.size()), 1), body));
}

TEST(Open, GoldenDecode) {
  OpenMessage m;
  ASSERT_FALSE(decode_open(golden_open_body(), m));
  EXPECT_EQ(m, golden_open());
  EXPECT_EQ(m.asn(), 65001u);
}

TEST(Open, DecodesSeveralCapabilitiesInOneParameterAndUnknownOnes) {
  const Bytes body{4,  0x5b, 0xa0, 0,    180,  192,
                   0,  2,    1,    16,   2,    14,    // one parameter, 14 octets
                   65, 4,    0x00, 0x01, 0x86, 0xa0,  // 4-octet AS 100000
                   70, 0,                             // enhanced route refresh
                   73, 4,    1,    'r',  0,    0};    // FQDN: kept raw
  OpenMessage m;
  ASSERT_FALSE(decode_open(body, m));
  EXPECT_EQ(m.my_as, 23456);
  EXPECT_EQ(m.asn(), 100000u);
  EXPECT_TRUE(m.caps.enhanced_route_refresh);
  ASSERT_EQ(m.caps.unknown.size(), 1u);
  EXPECT_EQ(m.caps.unknown[0].code, 73);
  EXPECT_EQ(m.caps.unknown[0].value, (Bytes{1, 'r', 0, 0}));
}

TEST(Open, RoundTripWithGracefulRestartAndExtendedMessage) {
  OpenMessage m = golden_open();
  m.my_as = 23456;
  m.caps.four_octet_as = 4200000001u;
  m.caps.extended_message = true;
  m.caps.enhanced_route_refresh = true;
  GracefulRestartCap gr;
  gr.restart_state = true;
  gr.notification = true;
  gr.restart_time = 120;
  gr.families = {{{1, 1}, true}, {{2, 1}, false}};
  m.caps.graceful_restart = gr;
  m.caps.unknown.push_back({69, {0, 1, 1, 1}});
  Bytes out;
  encode_open(m, out);
  Frame fr;
  size_t consumed = 0;
  Notification err;
  ASSERT_EQ(parse_frame(out, kMaxMessageLen, fr, consumed, err), FrameStatus::Ok);
  OpenMessage back;
  ASSERT_FALSE(decode_open(fr.body, back));
  EXPECT_EQ(back, m);
}

TEST(Open, GracefulRestartGoldenBytes) {
  // RFC 4724 §3: R=1, time 120 → 0x8078; IPv4 unicast with F bit.
  const Bytes caps{64, 6, 0x80, 0x78, 0, 1, 1, 0x80};
  Capabilities c;
  ASSERT_TRUE(decode_capabilities(ByteReader(caps), c));
  ASSERT_TRUE(c.graceful_restart);
  EXPECT_TRUE(c.graceful_restart->restart_state);
  EXPECT_FALSE(c.graceful_restart->notification);
  EXPECT_EQ(c.graceful_restart->restart_time, 120);
  ASSERT_EQ(c.graceful_restart->families.size(), 1u);
  EXPECT_TRUE(c.graceful_restart->families[0].forwarding_preserved);
  Bytes out;
  ByteWriter w(out);
  encode_capabilities(c, w);
  EXPECT_EQ(out, caps);
}

TEST(Open, ErrorsGiveTheRightSubcode) {
  auto decode = [](Bytes body) {
    OpenMessage m;
    return decode_open(body, m);
  };
  Bytes ok = golden_open_body();
  EXPECT_FALSE(decode(ok));

  Bytes v3 = ok;
  v3[0] = 3;
  auto e = decode(v3);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 2);
  EXPECT_EQ(e->subcode, 1);
  EXPECT_EQ(e->data, (Bytes{0, 4}));  // §6.2: highest supported version

  for (uint8_t h : {1, 2}) {
    Bytes b = ok;
    b[4] = h;
    e = decode(b);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->subcode, kSubUnacceptableHoldTime);
  }
  Bytes zero_hold = ok;
  zero_hold[4] = 0;
  EXPECT_FALSE(decode(zero_hold));

  Bytes zero_id = ok;
  zero_id[5] = zero_id[6] = zero_id[7] = zero_id[8] = 0;
  e = decode(zero_id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->subcode, kSubBadBgpIdentifier);

  // Optional parameter type 1 (authentication, deprecated) → 2/4.
  Bytes auth{4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 3, 1, 1, 0};
  e = decode(auth);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->subcode, kSubUnsupportedOptionalParam);

  // Malformed capability (MP with length 3) → 2/0.
  Bytes badcap{4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 7, 2, 5, 1, 3, 0, 1, 0};
  e = decode(badcap);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->subcode, kSubOpenUnspecific);

  // Opt Parm Len overruns the message.
  Bytes overrun = ok;
  overrun[9] = 40;
  e = decode(overrun);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 2);
}

TEST(Open, ExtendedOptionalParametersRfc9072) {
  // Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Length 7, then one
  // capabilities parameter with a 2-octet length of 4: route refresh + ERR.
  const Bytes body{4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 255, 255, 0, 7, 2, 0, 4, 2, 0, 70, 0};
  OpenMessage m;
  ASSERT_FALSE(decode_open(body, m));
  EXPECT_TRUE(m.caps.route_refresh);
  EXPECT_TRUE(m.caps.enhanced_route_refresh);
  // A huge capability set is encoded in the extended form and decodes back.
  OpenMessage big = golden_open();
  for (int i = 0; i < 30; ++i) big.caps.unknown.push_back({200, Bytes(8, static_cast<uint8_t>(i))});
  Bytes out;
  encode_open(big, out);
  EXPECT_EQ(out[19 + 9], 255);
  EXPECT_EQ(out[19 + 10], 255);
  OpenMessage back;
  ASSERT_FALSE(decode_open(std::span<const uint8_t>(out).subspan(19), back));
  EXPECT_EQ(back, big);
}

TEST(Open, ValidatePeerAsIdentifierHoldAndCapabilities) {
  OpenMessage m = golden_open();
  OpenPolicy p;
  p.local_as = 65000;
  p.local_id = RouterId(0x0a000002);
  p.peer_as = 65001;
  EXPECT_FALSE(validate_open(m, p));

  p.peer_as = 65002;
  auto e = validate_open(m, p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->subcode, kSubBadPeerAs);
  p.peer_as = 65001;

  // iBGP with our own identifier → 2/3.
  OpenPolicy ibgp = p;
  ibgp.local_as = 65001;
  ibgp.local_id = m.bgp_id;
  e = validate_open(m, ibgp);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->subcode, kSubBadBgpIdentifier);

  OpenPolicy strict = p;
  strict.min_hold_time = 120;
  e = validate_open(m, strict);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->subcode, kSubUnacceptableHoldTime);

  // Requiring a family the peer lacks → 2/7 with that MP capability as data.
  OpenPolicy need = p;
  need.required_families = {{1, 1}, {2, 128}};
  e = validate_open(m, need);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->subcode, kSubUnsupportedCapability);
  EXPECT_EQ(e->data, (Bytes{1, 4, 0, 2, 0, 128}));

  // 4-octet capability of AS 0 → bad peer AS (RFC 7607).
  OpenMessage zero = m;
  zero.caps.four_octet_as = 0;
  OpenPolicy any = p;
  any.peer_as.reset();
  e = validate_open(zero, any);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->subcode, kSubBadPeerAs);
}

TEST(Open, Negotiate) {
  OpenMessage a = golden_open();
  OpenMessage b = golden_open();
  b.hold_time = 30;
  b.caps.multiprotocol = {{2, 1}};
  b.caps.four_octet_as.reset();
  b.caps.extended_message = true;
  auto n = negotiate(a, b);
  EXPECT_FALSE(n.four_octet_as);
  EXPECT_FALSE(n.extended_message);
  EXPECT_TRUE(n.route_refresh);
  EXPECT_EQ(n.hold_time, 30);
  EXPECT_EQ(n.families, (std::vector<AfiSafi>{{2, 1}}));
  // Neither side sent MP: IPv4 unicast is implied.
  a.caps.multiprotocol.clear();
  b.caps.multiprotocol.clear();
  EXPECT_EQ(negotiate(a, b).families, (std::vector<AfiSafi>{{1, 1}}));
}
