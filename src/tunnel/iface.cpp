#include "tunnel/iface.hpp"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ferry::tunnel {

namespace {

std::string errstr(const char* what, int e) {
  return std::string(what) + ": " + std::strerror(e);
}

class LinuxInterfaceConfigurator final : public InterfaceConfigurator {
 public:
  Result<void> set_mtu(const std::string& ifname, uint32_t mtu) override {
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_mtu = static_cast<int>(mtu);
    return ioctl_(SIOCSIFMTU, ifr, "SIOCSIFMTU");
  }

  Result<void> set_up(const std::string& ifname, bool up) override {
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (auto r = ioctl_(SIOCGIFFLAGS, ifr, "SIOCGIFFLAGS"); !r) return r;
    if (up)
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    else
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags & ~IFF_UP);
    return ioctl_(SIOCSIFFLAGS, ifr, "SIOCSIFFLAGS");
  }

  Result<void> add_address(const std::string& ifname, const config::InterfaceAddress& a) override {
    return addr_request(ifname, a, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  }
  Result<void> remove_address(const std::string& ifname,
                              const config::InterfaceAddress& a) override {
    return addr_request(ifname, a, RTM_DELADDR, 0);
  }

 private:
  static Result<void> ioctl_(unsigned long req, struct ifreq& ifr, const char* what) {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return make_error(errstr("socket", errno));
    int rc = ::ioctl(s, req, &ifr);
    int e = errno;
    ::close(s);
    if (rc < 0) return make_error(errstr(what, e));
    return {};
  }

  // rtnetlink(7): nlmsghdr + ifaddrmsg + IFA_LOCAL/IFA_ADDRESS attributes.
  static Result<void> addr_request(const std::string& ifname, const config::InterfaceAddress& a,
                                   uint16_t type, uint16_t extra_flags) {
    unsigned idx = if_nametoindex(ifname.c_str());
    if (idx == 0) return make_error("no interface " + ifname);
    struct {
      nlmsghdr nh;
      ifaddrmsg ifa;
      char attrs[64];
    } req{};
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    req.nh.nlmsg_type = type;
    req.nh.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | extra_flags);
    req.nh.nlmsg_seq = 1;
    req.ifa.ifa_family = a.addr.is_v4() ? AF_INET : AF_INET6;
    req.ifa.ifa_prefixlen = static_cast<uint8_t>(a.len);
    req.ifa.ifa_index = idx;
    req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    auto add_attr = [&](uint16_t t, const void* data, size_t len) {
      auto* rta =
          reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.nh.nlmsg_len));
      rta->rta_type = t;
      rta->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
      std::memcpy(RTA_DATA(rta), data, len);
      req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
    };
    size_t alen = static_cast<size_t>(a.addr.byte_len());
    add_attr(IFA_LOCAL, a.addr.bytes(), alen);
    add_attr(IFA_ADDRESS, a.addr.bytes(), alen);

    int s = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0) return make_error(errstr("netlink socket", errno));
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (::sendto(s, &req, req.nh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
      int e = errno;
      ::close(s);
      return make_error(errstr("netlink send", e));
    }
    alignas(nlmsghdr) char buf[4096];
    ssize_t n = ::recv(s, buf, sizeof(buf), 0);
    int e = errno;
    ::close(s);
    if (n < 0) return make_error(errstr("netlink recv", e));
    if (static_cast<size_t>(n) < NLMSG_LENGTH(sizeof(nlmsgerr)))
      return make_error("netlink: short ack");
    auto* nh = reinterpret_cast<nlmsghdr*>(buf);
    if (nh->nlmsg_type != NLMSG_ERROR) return make_error("netlink: unexpected reply");
    auto* err = reinterpret_cast<nlmsgerr*>(NLMSG_DATA(nh));
    if (err->error == 0) return {};
    if (type == RTM_NEWADDR && err->error == -EEXIST) return {};
    if (type == RTM_DELADDR && err->error == -EADDRNOTAVAIL) return {};
    return make_error(errstr(type == RTM_NEWADDR ? "add address" : "delete address", -err->error));
  }
};

}  // namespace

std::unique_ptr<InterfaceConfigurator> make_linux_interface_configurator() {
  return std::make_unique<LinuxInterfaceConfigurator>();
}

}  // namespace ferry::tunnel
