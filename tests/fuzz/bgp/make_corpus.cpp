// Writes the seed corpus for the BGP fuzzers (run from this directory):
//   g++ -std=c++20 -I../../../src make_corpus.cpp ../../../src/bgp/{message,capabilities,nlri,
//     attributes,update_codec,update_encoder}.cpp ../../../src/common/{ip,types}.cpp -o /tmp/mk
//   /tmp/mk
// Each seed is one realistic message (or a short session stream) built with
// the codec itself, plus a few hand-written edge cases. The captured_* seeds
// are real GoBGP/BIRD messages recorded with record_peer.py.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bgp/message.hpp"
#include "bgp/update_codec.hpp"

using namespace ferry;
using namespace ferry::bgp;
using Bytes = std::vector<uint8_t>;

static void write(const std::string& dir, const std::string& name, const Bytes& b) {
  std::filesystem::create_directories(dir);
  FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
  std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
}

static std::vector<Prefix> v4(int n, int len = 24) {
  std::vector<Prefix> out;
  for (int i = 0; i < n; ++i)
    out.emplace_back(IpAddress::v4(0x0a000000u + (static_cast<uint32_t>(i) << 8)), len);
  return out;
}

static std::vector<Prefix> v6(int n) {
  std::vector<Prefix> out;
  for (int i = 0; i < n; ++i) {
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, static_cast<uint8_t>(i)};
    out.emplace_back(IpAddress::v6_bytes(b), 48);
  }
  return out;
}

static PathAttributes rich() {
  PathAttributes a;
  a.origin = Origin::Igp;
  a.as_path = {{SegmentType::Sequence, {65001, 4200000001u, 65003}},
               {SegmentType::Set, {64600, 64601}}};
  a.next_hop = *IpAddress::parse("192.0.2.1");
  a.next_hop_ll = *IpAddress::parse("fe80::1");
  a.med = 10;
  a.local_pref = 100;
  a.atomic_aggregate = true;
  a.aggregator = Aggregator{4200000001u, *IpAddress::parse("192.0.2.9")};
  a.communities = {0xfde90064, kNoExport};
  a.ext_communities = {0x0002fde900000064ULL};
  a.large_communities = {{4200000001u, 1, 2}};
  a.originator_id = 0x0a000001;
  a.cluster_list = {0x0a000002};
  a.unknown = {{0xc0, 99, {1, 2, 3, 4}}};
  return a;
}

static void seeds(const std::string& dir, CodecOptions o) {
  Bytes b;
  OpenMessage m;
  m.my_as = open_my_as(4200000001u);
  m.hold_time = 90;
  m.bgp_id = RouterId(0x0a000001);
  m.caps.multiprotocol = {{1, 1}, {2, 1}};
  m.caps.route_refresh = true;
  m.caps.four_octet_as = 4200000001u;
  encode_open(m, b);
  write(dir, "open_basic", b);

  b.clear();
  m.caps.extended_message = true;
  m.caps.enhanced_route_refresh = true;
  m.caps.graceful_restart = GracefulRestartCap{true, false, 120, {{{1, 1}, true}, {{2, 1}, false}}};
  m.caps.unknown = {{69, {0, 1, 1, 1}}, {73, {3, 'r', 't', 'r', 0}}};
  encode_open(m, b);
  write(dir, "open_full", b);

  b.clear();
  encode_keepalive(b);
  write(dir, "keepalive", b);

  b.clear();
  encode_notification(Notification::shutdown(kSubAdminShutdown, "maintenance window"), b);
  write(dir, "notification_shutdown", b);

  b.clear();
  encode_notification(Notification{3, 2, {0x40, 99, 1, 7}}, b);
  write(dir, "notification_update_error", b);

  b.clear();
  encode_route_refresh({{2, 1}, RefreshSubtype::BeginOfRibRefresh}, b);
  write(dir, "route_refresh", b);

  UpdateEncoder enc(o);
  b.clear();
  (void)enc.announce(rich(), v4(5), b);
  write(dir, "update_v4_rich", b);

  b.clear();
  PathAttributes a6 = rich();
  a6.next_hop = *IpAddress::parse("2001:db8::1");
  (void)enc.announce(a6, v6(5), b);
  write(dir, "update_v6_mp_reach", b);

  b.clear();
  auto mixed = v4(3);
  for (auto& p : v6(3)) mixed.push_back(p);
  enc.withdraw(mixed, b);
  write(dir, "update_withdraw_both", b);

  b.clear();
  enc.end_of_rib(Family::V4, b);
  enc.end_of_rib(Family::V6, b);
  write(dir, "update_end_of_rib", b);

  b.clear();
  (void)enc.announce(rich(), v4(1500, 24), b);
  write(dir, "update_packed_many", b);

  // A session: OPEN, KEEPALIVE, UPDATEs, NOTIFICATION.
  Bytes s;
  m.caps.unknown.clear();
  encode_open(m, s);
  encode_keepalive(s);
  (void)enc.announce(rich(), v4(2, 16), s);
  enc.withdraw(v4(1, 16), s);
  encode_notification(Notification{6, 4, {}}, s);
  write(dir, "session_stream", s);

  // Hand-written edge cases: attribute overrun (treat-as-withdraw) and an
  // unrecognized well-known attribute (session reset).
  const Bytes hdr(16, 0xff);
  Bytes over = hdr;
  for (uint8_t x : {0, 32, 2, 0, 0, 0, 9, 0x40, 1, 1, 0, 0xc0, 8, 200, 0, 24, 10, 1, 1})
    over.push_back(x);
  write(dir, "update_attr_overrun", over);
  Bytes wk = hdr;
  for (uint8_t x : {0, 31, 2, 0, 0, 0, 8, 0x40, 1, 1, 0, 0x40, 99, 1, 7}) wk.push_back(x);
  write(dir, "update_unknown_well_known", wk);
}

int main() {
  CodecOptions four;
  seeds("corpus/fuzz_bgp_message", four);
  CodecOptions two;
  two.four_octet_as = false;
  seeds("corpus/fuzz_bgp_message_as2", two);
  CodecOptions ext;
  ext.extended_message = true;
  seeds("corpus/fuzz_bgp_message_ext", ext);
  return 0;
}
