// rtnetlink message codec: builders for the requests ferry sends and a
// bounded parser for what the kernel sends back.
//
// Layout references: RFC 3549 §2.3 (netlink header, attributes) and the
// kernel UAPI headers linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h,
// linux/if_link.h. Netlink integers are in host byte order, attributes are
// {u16 len, u16 type, value} padded to 4 bytes.
//
// Builders write into a caller-provided span (a slot of an mnl_nlmsg_batch)
// and return the message length, or 0 if it did not fit. The parser reads a
// datagram received from the kernel; every read is bounds-checked, malformed
// messages are counted and skipped, and nothing it is given can make it read
// outside the buffer (it has a fuzz target, tests/fuzz/fib).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/ip.hpp"
#include "fib/types.hpp"

namespace ferry::fib {

// Bounded writer of host-order netlink messages into a fixed span. Writes
// past the end set a sticky overflow flag instead of touching memory.
class NlWriter {
 public:
  explicit NlWriter(std::span<uint8_t> buf) : buf_(buf) {}

  // struct nlmsghdr: len (patched by end_message), type, flags, seq, pid=0.
  void begin_message(uint16_t type, uint16_t flags, uint32_t seq);
  // Returns the finished message's length, or 0 on overflow.
  size_t end_message();

  void u8(uint8_t v) { raw(&v, 1); }
  void u16(uint16_t v) { raw(&v, 2); }
  void u32(uint32_t v) { raw(&v, 4); }
  void raw(const void* p, size_t n);
  void zeros(size_t n);
  void align4();

  void attr(uint16_t type, const void* data, size_t n);
  void attr_u32(uint16_t type, uint32_t v) { attr(type, &v, 4); }
  void attr_addr(uint16_t type, const IpAddress& a) { attr(type, a.bytes(), a.byte_len()); }
  void attr_str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  // Nested attribute; returns the offset to pass to nest_end.
  size_t nest_begin(uint16_t type);
  void nest_end(size_t at);
  // struct rtnexthop inside RTA_MULTIPATH; rtnh_len patched by rtnh_end.
  size_t rtnh_begin(uint8_t flags, uint8_t hops, uint32_t ifindex);
  void rtnh_end(size_t at);

  bool overflow() const { return overflow_; }
  size_t size() const { return pos_; }

 private:
  void patch_u16(size_t at, uint16_t v);
  void patch_u32(size_t at, uint32_t v);
  std::span<uint8_t> buf_;
  size_t pos_ = 0;
  size_t msg_start_ = 0;
  bool overflow_ = false;
};

// The kernel keys of ferry's routes: which table, protocol and metric.
struct RouteKeys {
  uint32_t table = 254;
  uint8_t protocol = 200;
  uint32_t metric = 20;
};

// Largest message the builders produce (64 IPv6 next hops fit comfortably).
constexpr size_t kMaxRouteMsg = 4096;
constexpr size_t kMaxNextHops = 64;

// RTM_NEWROUTE with NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_REPLACE.
size_t build_route_replace(std::span<uint8_t> out, const Prefix& prefix, const RouteTarget& target,
                           const RouteKeys& keys, uint32_t seq);
// RTM_DELROUTE of (prefix, table, protocol, metric), any next hop.
size_t build_route_delete(std::span<uint8_t> out, const Prefix& prefix, const RouteKeys& keys,
                          uint32_t seq);
// RTM_GETROUTE / RTM_GETADDR / RTM_GETLINK dumps; family 0 = AF_UNSPEC (all).
size_t build_route_dump(std::span<uint8_t> out, uint8_t family, uint32_t seq);
size_t build_addr_dump(std::span<uint8_t> out, uint8_t family, uint32_t seq);
size_t build_link_dump(std::span<uint8_t> out, uint32_t seq);
// RTM_GETLINK of one interface by name.
size_t build_link_get(std::span<uint8_t> out, const std::string& ifname, uint32_t seq);
// RTM_NEWLINK changing IFF_UP and/or the MTU of ifindex.
size_t build_link_set(std::span<uint8_t> out, uint32_t ifindex, std::optional<bool> up,
                      std::optional<uint32_t> mtu, uint32_t seq);
// RTM_NEWADDR (add=true, with NLM_F_CREATE|NLM_F_REPLACE) or RTM_DELADDR.
size_t build_addr_change(std::span<uint8_t> out, bool add, uint32_t ifindex, const IpAddress& addr,
                         int prefixlen, uint32_t seq);

// ---- parsed messages ---------------------------------------------------------

struct NlAck {
  int error = 0;        // 0: ACK; negative errno: the request failed
  std::string message;  // NLMSGERR_ATTR_MSG extended ack text, if any
};
struct NlDone {
  int error = 0;  // a dump's final status (negative errno on failure)
};
struct RouteMessage {
  bool is_new = true;  // RTM_NEWROUTE vs RTM_DELROUTE
  KernelRoute route;
};
struct AddrMessage {
  bool is_new = true;
  uint32_t ifindex = 0;
  IpAddress address;              // IFA_LOCAL if present, else IFA_ADDRESS
  std::optional<IpAddress> peer;  // IFA_ADDRESS when it differs from IFA_LOCAL (point-to-point)
  uint8_t prefixlen = 0;
  uint32_t flags = 0;  // IFA_F_* (IFA_FLAGS attribute overrides ifa_flags)
  uint8_t scope = 0;
  std::string label;
  // The connected network: the peer's network on point-to-point links.
  Prefix network() const { return Prefix(peer ? *peer : address, prefixlen); }
};
struct LinkMessage {
  bool is_new = true;
  uint32_t ifindex = 0;
  uint32_t flags = 0;  // IFF_*
  std::string name;
  uint32_t mtu = 0;
};

struct NlMessage {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  uint32_t pid = 0;
  std::variant<std::monostate, NlAck, NlDone, RouteMessage, AddrMessage, LinkMessage> body;
};

struct ParseResult {
  std::vector<NlMessage> messages;
  uint32_t malformed = 0;  // messages (or trailing garbage) that failed bounds checks
};

// Parses every netlink message in one received datagram, appending to out.
void parse_netlink(std::span<const uint8_t> data, ParseResult& out);

}  // namespace ferry::fib
