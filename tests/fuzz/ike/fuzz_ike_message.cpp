// Untrusted UDP input to the IKEv2 codec and engine: decode the message and
// every payload body it carries (RFC 7296 §3), check that what decodes
// re-encodes to something that decodes the same, then hand the datagram to a
// responder Engine configured for the sender (IKE_SA_INIT processing, SPI
// lookup, message-ID window) with a clock that advances so half-open SAs expire.
#include <cstddef>
#include <cstdint>

#include "ike/engine.hpp"
#include "ike/message.hpp"

namespace {

using namespace ferry;

class NullSink final : public ipsec::ChildSaSink {
 public:
  void install(const ipsec::ChildSaPair&) override {}
  void remove(tunnel::PeerIndex, uint32_t) override {}
  void set_endpoint(tunnel::PeerIndex, const tunnel::UdpEndpoint&) override {}
  ipsec::EspSaStats stats(uint32_t, bool) const override { return {}; }
};
class NullSender final : public ipsec::IkeSender {
 public:
  void send_ike(std::span<const uint8_t>, const tunnel::UdpEndpoint&, bool) override {}
};

void decode_bodies(const std::vector<ike::Payload>& ps) {
  using namespace ferry::ike;
  for (const auto& p : ps) {
    switch (p.type) {
      case kPayloadSa: {
        auto sa = decode_sa(p.body);
        if (sa) {
          auto again = decode_sa(encode_sa(*sa));
          if (!again || again->size() != sa->size()) __builtin_trap();
        }
        break;
      }
      case kPayloadKe:
        (void)decode_ke(p.body);
        break;
      case kPayloadIdi:
      case kPayloadIdr:
        if (auto id = decode_id(p.body)) (void)id_to_string(*id);
        break;
      case kPayloadAuth:
        (void)decode_auth(p.body);
        break;
      case kPayloadCert:
      case kPayloadCertReq:
        (void)decode_cert(p.body);
        break;
      case kPayloadNotify:
        (void)decode_notify(p.body);
        break;
      case kPayloadDelete:
        (void)decode_delete(p.body);
        break;
      case kPayloadTsi:
      case kPayloadTsr:
        if (auto ts = decode_ts(p.body)) {
          auto again = decode_ts(encode_ts(*ts));
          if (!again || *again != *ts) __builtin_trap();
        }
        break;
      case kPayloadSkf:
        (void)decode_fragment_header(p.body);
        break;
      default:
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::ike;
  std::span<const uint8_t> in(data, size);
  auto m = decode_message(in);
  if (m) {
    decode_bodies(m->payloads);
    if (!m->sk_offset) {
      Bytes again = encode_message(m->hdr, m->payloads);
      auto m2 = decode_message(again);
      if (!m2 || m2->payloads.size() != m->payloads.size()) __builtin_trap();
    } else if (auto inner = decode_chain(m->sk_first, in.subspan(*m->sk_offset + 4))) {
      decode_bodies(*inner);  // as if the SK payload were plaintext
    }
  }
  static NullSink sink;
  static NullSender sender;
  static Engine* engine = [] {
    auto* e = new Engine(sink, sender, [](std::span<uint8_t> b) {
      for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7 + 1);
    });
    PeerSettings p;
    p.name = "fuzz";
    p.peer = tunnel::PeerIndex(0);
    p.remote = {*IpAddress::parse("192.0.2.1"), 500};
    p.local_id = "ferry.example";
    p.psk = {'k'};
    p.ike_proposals = {"aes128-sha256-ecp256", "aes256gcm16-prfsha256-curve25519"};
    p.esp_proposals = {"aes128gcm16"};
    p.initiate = false;
    (void)e->add_peer(p);
    return e;
  }();
  static TimePoint now{};
  now += std::chrono::seconds(1);
  engine->on_datagram(in, {*IpAddress::parse("192.0.2.1"), 500}, size % 2 == 0, now);
  engine->tick(now);
  return 0;
}
