// Minimal BGP-4 wire codec for the load generator (bench only).
//
// The generator must not depend on the code it measures, so it carries its
// own tiny encoder: OPEN with the two capabilities it needs, KEEPALIVE, and
// IPv4 unicast UPDATEs (announce with ORIGIN/AS_PATH/NEXT_HOP/COMMUNITIES,
// or withdraw). On the receive side FrameSplitter cuts a TCP byte stream into
// messages and scan_update() extracts only what the monitor needs: the IPv4
// unicast prefixes announced and withdrawn (classic fields and MP_REACH /
// MP_UNREACH for AFI 1 SAFI 1). Everything else is skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ferry::bench {

// RFC 4271 §4.1 message types.
enum class MsgType : uint8_t { Open = 1, Update = 2, Notification = 3, Keepalive = 4, Refresh = 5 };

constexpr size_t kHeaderLen = 19;     // RFC 4271 §4.1
constexpr size_t kMaxMessage = 4096;  // RFC 4271 §4.1 (no RFC 8654 extended messages)

// An IPv4 prefix packed as (address << 8) | length; address host order, host bits zero.
using PrefixKey = uint64_t;
inline PrefixKey make_key(uint32_t addr, uint8_t len) {
  return (uint64_t{addr} << 8) | len;
}
inline uint32_t key_addr(PrefixKey k) {
  return static_cast<uint32_t>(k >> 8);
}
inline uint8_t key_len(PrefixKey k) {
  return static_cast<uint8_t>(k & 0xff);
}
std::string key_str(PrefixKey k);

struct OpenParams {
  uint32_t asn = 0;
  uint16_t hold_time = 180;
  uint32_t router_id = 0;  // host order
};

// Appends one complete message to out.
void encode_open(std::vector<uint8_t>& out, const OpenParams& p);
void encode_keepalive(std::vector<uint8_t>& out);
void encode_notification(std::vector<uint8_t>& out, uint8_t code, uint8_t subcode);

struct RouteAttrs {
  std::vector<uint32_t> as_path;  // one AS_SEQUENCE, 4-octet ASNs
  uint32_t next_hop = 0;          // host order
  std::vector<uint32_t> communities;
};

// An UPDATE announcing prefixes with attrs. The caller keeps the NLRI small
// enough to fit kMaxMessage (returns false, appending nothing, if not).
bool encode_announce(std::vector<uint8_t>& out, const RouteAttrs& attrs,
                     std::span<const PrefixKey> prefixes);
// UPDATEs withdrawing all prefixes, split across as many messages as needed.
void encode_withdraw(std::vector<uint8_t>& out, std::span<const PrefixKey> prefixes);

// Parsed message header plus its body.
struct Frame {
  MsgType type;
  std::span<const uint8_t> body;
};

// Accumulates stream bytes and yields whole messages. A bad marker or length
// sets error() and stops; the session must then be torn down.
class FrameSplitter {
 public:
  void feed(std::span<const uint8_t> data);
  // Next complete message, valid until the next feed()/next() call.
  std::optional<Frame> next();
  const std::string& error() const { return error_; }

 private:
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  std::string error_;
};

struct OpenInfo {
  uint32_t asn = 0;  // 4-octet AS from the capability if present
  uint16_t hold_time = 0;
  uint32_t router_id = 0;
};
std::optional<OpenInfo> parse_open(std::span<const uint8_t> body);

// Calls on_withdraw / on_announce for every IPv4 unicast prefix in an UPDATE
// body. Returns false if the body is malformed.
template <typename W, typename A>
bool scan_update(std::span<const uint8_t> body, W&& on_withdraw, A&& on_announce);

}  // namespace ferry::bench

#include "wire_scan.inl"
