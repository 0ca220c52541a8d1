// Kernel configuration of the tunnel interface (MTU, up/down, addresses),
// behind an interface so Tunnel's start-up logic is testable without root.
//
// The Linux implementation uses ioctl(SIOCSIFMTU/SIOCSIFFLAGS) and one
// rtnetlink RTM_NEWADDR request per address (raw NETLINK_ROUTE socket, acked).
#pragma once

#include <memory>
#include <string>

#include "common/result.hpp"
#include "config/config.hpp"

namespace ferry::tunnel {

class InterfaceConfigurator {
 public:
  virtual ~InterfaceConfigurator() = default;
  virtual Result<void> set_mtu(const std::string& ifname, uint32_t mtu) = 0;
  virtual Result<void> set_up(const std::string& ifname, bool up) = 0;
  // Idempotent: an address that is already present is not an error.
  virtual Result<void> add_address(const std::string& ifname,
                                   const config::InterfaceAddress& a) = 0;
  virtual Result<void> remove_address(const std::string& ifname,
                                      const config::InterfaceAddress& a) = 0;
};

std::unique_ptr<InterfaceConfigurator> make_linux_interface_configurator();

}  // namespace ferry::tunnel
