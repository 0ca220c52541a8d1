#include "bgp/capabilities.hpp"

#include <algorithm>

namespace ferry::bgp {

bool Capabilities::supports(AfiSafi af) const {
  return std::find(multiprotocol.begin(), multiprotocol.end(), af) != multiprotocol.end();
}

bool decode_capabilities(ByteReader r, Capabilities& caps) {
  while (!r.empty()) {
    // RFC 5492 §4: Capability Code (1), Capability Length (1), Value.
    auto code = r.u8();
    auto len = r.u8();
    if (!code || !len) return false;
    auto v = r.sub(*len);
    if (!v) return false;
    switch (*code) {
      case kCapMultiprotocol: {
        // RFC 4760 §8: AFI (2), Reserved (1), SAFI (1).
        if (*len != 4) return false;
        AfiSafi af;
        af.afi = *v->u16();
        v->skip(1);
        af.safi = *v->u8();
        if (!caps.supports(af)) caps.multiprotocol.push_back(af);
        break;
      }
      case kCapRouteRefresh:  // RFC 2918 §2: length 0
        if (*len != 0) return false;
        caps.route_refresh = true;
        break;
      case kCapEnhancedRouteRefresh:  // RFC 7313 §3: length 0
        if (*len != 0) return false;
        caps.enhanced_route_refresh = true;
        break;
      case kCapExtendedMessage:  // RFC 8654 §3: length 0
        if (*len != 0) return false;
        caps.extended_message = true;
        break;
      case kCapFourOctetAs:  // RFC 6793 §3: the 4-octet ASN
        if (*len != 4) return false;
        caps.four_octet_as = *v->u32();
        break;
      case kCapGracefulRestart: {
        // RFC 4724 §3: Restart Flags (4 bits) + Restart Time (12 bits), then
        // per family AFI (2), SAFI (1), Flags for Address Family (1).
        if (*len < 2 || (*len - 2) % 4 != 0) return false;
        GracefulRestartCap gr;
        const uint16_t head = *v->u16();
        gr.restart_state = head & 0x8000;
        gr.notification = head & 0x4000;  // RFC 8538 §2
        gr.restart_time = head & 0x0fff;
        while (!v->empty()) {
          GracefulRestartCap::Family fam;
          fam.af.afi = *v->u16();
          fam.af.safi = *v->u8();
          fam.forwarding_preserved = *v->u8() & 0x80;
          gr.families.push_back(fam);
        }
        caps.graceful_restart = std::move(gr);
        break;
      }
      default: {
        RawCapability raw;
        raw.code = *code;
        auto bytes = v->rest();
        raw.value.assign(bytes.begin(), bytes.end());
        caps.unknown.push_back(std::move(raw));
        break;
      }
    }
  }
  return true;
}

void encode_capabilities(const Capabilities& caps, ByteWriter& w) {
  for (const auto& af : caps.multiprotocol) {
    w.u8(kCapMultiprotocol);
    w.u8(4);
    w.u16(af.afi);
    w.u8(0);
    w.u8(af.safi);
  }
  if (caps.route_refresh) {
    w.u8(kCapRouteRefresh);
    w.u8(0);
  }
  if (caps.enhanced_route_refresh) {
    w.u8(kCapEnhancedRouteRefresh);
    w.u8(0);
  }
  if (caps.extended_message) {
    w.u8(kCapExtendedMessage);
    w.u8(0);
  }
  if (caps.graceful_restart) {
    const auto& gr = *caps.graceful_restart;
    w.u8(kCapGracefulRestart);
    w.u8(static_cast<uint8_t>(2 + 4 * std::min<size_t>(gr.families.size(), 63)));
    w.u16(static_cast<uint16_t>((gr.restart_state ? 0x8000 : 0) | (gr.notification ? 0x4000 : 0) |
                                (gr.restart_time & 0x0fff)));
    for (size_t i = 0; i < gr.families.size() && i < 63; ++i) {
      const auto& f = gr.families[i];
      w.u16(f.af.afi);
      w.u8(f.af.safi);
      w.u8(f.forwarding_preserved ? 0x80 : 0);
    }
  }
  if (caps.four_octet_as) {
    w.u8(kCapFourOctetAs);
    w.u8(4);
    w.u32(*caps.four_octet_as);
  }
  for (const auto& raw : caps.unknown) {
    const size_t n = std::min<size_t>(raw.value.size(), 255);
    w.u8(raw.code);
    w.u8(static_cast<uint8_t>(n));
    w.bytes(raw.value.data(), n);
  }
}

}  // namespace ferry::bgp
