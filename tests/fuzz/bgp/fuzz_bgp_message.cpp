// libFuzzer target: a byte stream from a BGP peer goes through the framer and
// every message decoder. FERRY_FUZZ_AS2 selects a 2-octet AS session,
// FERRY_FUZZ_EXT extended messages (RFC 8654). Besides "never crash or read
// out of bounds" it checks a property: a 4-octet UPDATE that decodes cleanly
// re-encodes (UpdateEncoder) into messages that decode to the same routes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bgp/message.hpp"
#include "bgp/update_codec.hpp"

using namespace ferry;
using namespace ferry::bgp;

namespace {

CodecOptions options() {
  CodecOptions o;
#ifdef FERRY_FUZZ_AS2
  o.four_octet_as = false;
#endif
#ifdef FERRY_FUZZ_EXT
  o.extended_message = true;
#endif
  return o;
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool same_raw(const PathAttributes& a, const PathAttributes& b) {
  // Re-sent optional transitive attributes gain the Partial bit.
  if (a.unknown.size() != b.unknown.size()) return false;
  for (size_t i = 0; i < a.unknown.size(); ++i) {
    if (a.unknown[i].type != b.unknown[i].type || a.unknown[i].value != b.unknown[i].value)
      return false;
  }
  return true;
}

[[maybe_unused]] void round_trip(const DecodedUpdate& u, const CodecOptions& o) {
  if (u.outcome != UpdateOutcome::Ok || u.nlri.empty() == u.mp_nlri.empty()) return;
  const bool v4 = !u.nlri.empty();
  PathAttributes attrs = v4 ? u.attrs : u.mp_attrs();
  const auto& pfx = v4 ? u.nlri : u.mp_nlri;
  if (!v4 && !std::all_of(pfx.begin(), pfx.end(),
                          [&](const Prefix& p) { return p.family() == pfx.front().family(); }))
    return;
  static std::vector<uint8_t> out;
  out.clear();
  CodecOptions eo = o;
  eo.send_link_local = true;
  UpdateEncoder enc(eo);
  auto n = enc.announce(attrs, pfx, out);
  if (!n.ok()) return;  // e.g. a decoded next hop family the encoder cannot use
  MessageFramer f(o.max_message_size());
  f.append(out);
  Frame fr;
  Notification err;
  DecodedUpdate back;
  std::vector<Prefix> got;
  while (f.next(fr, err) == FrameStatus::Ok) {
    decode_update(fr.body, o, back);
    check(back.outcome == UpdateOutcome::Ok);
    // IPv4 routes that came in MP_REACH go back out with a NEXT_HOP attribute.
    PathAttributes ba = back.nlri.empty() ? back.mp_attrs() : back.attrs;
    check(same_raw(ba, attrs));
    ba.unknown = attrs.unknown;
    check(ba == attrs);
    got.insert(got.end(), back.nlri.begin(), back.nlri.end());
    got.insert(got.end(), back.mp_nlri.begin(), back.mp_nlri.end());
  }
  check(f.buffered() == 0);
  check(got == pfx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const CodecOptions o = options();
  MessageFramer framer(o.max_message_size());
  framer.append(std::span<const uint8_t>(data, size));
  Frame fr;
  Notification err;
  static DecodedUpdate u;  // reused like a session does
  while (framer.next(fr, err) == FrameStatus::Ok) {
    switch (fr.type) {
      case MessageType::Open: {
        OpenMessage m;
        if (!decode_open(fr.body, m)) {
          OpenPolicy p;
          (void)validate_open(m, p);
          std::vector<uint8_t> out;
          encode_open(m, out);
          OpenMessage back;
          check(!decode_open(std::span<const uint8_t>(out).subspan(kHeaderLen), back));
          check(back.caps == m.caps);
        }
        break;
      }
      case MessageType::Update:
        decode_update(fr.body, o, u);
        if (u.outcome == UpdateOutcome::SessionReset) check(u.notification.code == kErrUpdate);
#ifndef FERRY_FUZZ_AS2
        round_trip(u, o);
#endif
        break;
      case MessageType::Notification: {
        auto n = decode_notification(fr.body);
        (void)n.describe();
        break;
      }
      case MessageType::RouteRefresh: {
        RouteRefresh rr;
        (void)decode_route_refresh(fr.message, rr, err);
        break;
      }
      case MessageType::Keepalive:
        break;
    }
  }
  return 0;
}
