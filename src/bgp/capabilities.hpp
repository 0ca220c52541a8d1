// BGP capabilities advertisement (RFC 5492), carried in OPEN optional
// parameter type 2. Decodes the capabilities this speaker uses into typed
// fields and keeps every other capability raw, so the session can log or
// echo them. Encoding writes them back in a stable order.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/bytes.hpp"

namespace ferry::bgp {

// IANA capability codes.
enum CapabilityCode : uint8_t {
  kCapMultiprotocol = 1,          // RFC 4760 §8
  kCapRouteRefresh = 2,           // RFC 2918 §2
  kCapExtendedMessage = 6,        // RFC 8654 §3
  kCapGracefulRestart = 64,       // RFC 4724 §3
  kCapFourOctetAs = 65,           // RFC 6793 §3
  kCapAddPath = 69,               // RFC 7911 (kept raw)
  kCapEnhancedRouteRefresh = 70,  // RFC 7313 §3
  kCapFqdn = 73,                  // draft-walton-bgp-hostname (kept raw)
};

struct AfiSafi {
  uint16_t afi = 0;
  uint8_t safi = 0;
  auto operator<=>(const AfiSafi&) const = default;
};

// RFC 4724 §3 Graceful Restart capability.
struct GracefulRestartCap {
  bool restart_state = false;  // R bit: the sender has restarted
  bool notification = false;   // N bit (RFC 8538): GR also covers NOTIFICATION
  uint16_t restart_time = 0;   // seconds, 12 bits
  struct Family {
    AfiSafi af;
    bool forwarding_preserved = false;  // F bit
    bool operator==(const Family&) const = default;
  };
  std::vector<Family> families;
  bool operator==(const GracefulRestartCap&) const = default;
};

struct RawCapability {
  uint8_t code = 0;
  std::vector<uint8_t> value;
  bool operator==(const RawCapability&) const = default;
};

struct Capabilities {
  std::vector<AfiSafi> multiprotocol;  // one per MP capability
  bool route_refresh = false;
  bool enhanced_route_refresh = false;
  bool extended_message = false;
  std::optional<uint32_t> four_octet_as;  // the speaker's real ASN
  std::optional<GracefulRestartCap> graceful_restart;
  std::vector<RawCapability> unknown;  // everything else, byte-exact

  bool supports(AfiSafi af) const;
  bool operator==(const Capabilities&) const = default;
};

// Decodes the capability list of one optional parameter (type 2) into caps,
// adding to what is there (a speaker may send several parameters). Returns
// false if a capability is truncated or a known one has a bad length.
bool decode_capabilities(ByteReader r, Capabilities& caps);

// Appends the capability TLVs (code, length, value) without the optional
// parameter header.
void encode_capabilities(const Capabilities& caps, ByteWriter& w);

}  // namespace ferry::bgp
