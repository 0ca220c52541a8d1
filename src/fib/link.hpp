// Interface helpers over rtnetlink: ifindex lookup by name, link up/down,
// MTU, address add/delete. Used on set-up paths (the tunnel module brings up
// its TUN device with them) and by tests; each call is one short synchronous
// request/ACK exchange on its own socket with a receive timeout, so it never
// blocks the event loop for long and never hangs.
//
// InterfaceControl is the interface callers depend on, so their logic can be
// unit-tested with a fake; LinkControl is the netlink implementation.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ip.hpp"
#include "common/result.hpp"
#include "fib/nl_codec.hpp"

namespace ferry::fib {

class InterfaceControl {
 public:
  virtual ~InterfaceControl() = default;
  virtual Result<uint32_t> ifindex(const std::string& name) = 0;
  virtual Result<void> set_up(const std::string& name, bool up = true) = 0;
  virtual Result<void> set_mtu(const std::string& name, uint32_t mtu) = 0;
  virtual Result<void> add_address(const std::string& name, const IpAddress& addr,
                                   int prefixlen) = 0;
  virtual Result<void> del_address(const std::string& name, const IpAddress& addr,
                                   int prefixlen) = 0;
};

class LinkControl : public InterfaceControl {
 public:
  Result<uint32_t> ifindex(const std::string& name) override;
  Result<void> set_up(const std::string& name, bool up = true) override;
  Result<void> set_mtu(const std::string& name, uint32_t mtu) override;
  Result<void> add_address(const std::string& name, const IpAddress& addr, int prefixlen) override;
  Result<void> del_address(const std::string& name, const IpAddress& addr, int prefixlen) override;

 private:
  // Sends one request and collects replies with its sequence number until an
  // ACK/error (or, for a plain GET, the answer itself).
  Result<std::vector<NlMessage>> transact(std::span<const uint8_t> req, uint32_t seq, bool get);
  Result<void> ack_only(std::span<const uint8_t> req, uint32_t seq, const std::string& what);
  uint32_t seq_ = 1;
};

}  // namespace ferry::fib
