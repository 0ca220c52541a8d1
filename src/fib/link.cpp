#include "fib/link.hpp"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace ferry::fib {

namespace {
struct MnlCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
}  // namespace

Result<std::vector<NlMessage>> LinkControl::transact(std::span<const uint8_t> req, uint32_t seq,
                                                     bool get) {
  std::unique_ptr<mnl_socket, MnlCloser> nl(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
  if (!nl) return make_error(std::string("netlink socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(mnl_socket_get_fd(nl.get()), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(mnl_socket_get_fd(nl.get()), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  timeval tv{5, 0};
  setsockopt(mnl_socket_get_fd(nl.get()), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return make_error(std::string("netlink bind: ") + std::strerror(errno));
  }
  if (mnl_socket_sendto(nl.get(), req.data(), req.size()) < 0) {
    return make_error(std::string("netlink send: ") + std::strerror(errno));
  }
  std::vector<NlMessage> out;
  std::vector<uint8_t> buf(32 * 1024);
  for (int i = 0; i < 64; ++i) {
    const ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) return make_error(std::string("netlink recv: ") + std::strerror(errno));
    ParseResult pr;
    parse_netlink(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)), pr);
    for (auto& m : pr.messages) {
      if (m.seq != seq) continue;
      const bool final =
          std::holds_alternative<NlAck>(m.body) || std::holds_alternative<NlDone>(m.body);
      out.push_back(std::move(m));
      if (final || get) return out;
    }
  }
  return make_error("netlink: no reply");
}

namespace {
std::string describe(const NlAck& a) {
  std::string s = std::strerror(-a.error);
  if (!a.message.empty()) s += " (" + a.message + ")";
  return s;
}
}  // namespace

Result<void> LinkControl::ack_only(std::span<const uint8_t> req, uint32_t seq,
                                   const std::string& what) {
  auto r = transact(req, seq, false);
  if (!r) return make_error(what + ": " + r.error());
  for (const auto& m : *r) {
    if (auto* a = std::get_if<NlAck>(&m.body); a && a->error != 0) {
      return make_error(what + ": " + describe(*a));
    }
  }
  return {};
}

Result<uint32_t> LinkControl::ifindex(const std::string& name) {
  uint8_t buf[256];
  const uint32_t seq = seq_++;
  const size_t len = build_link_get(buf, name, seq);
  if (len == 0) return make_error("invalid interface name '" + name + "'");
  auto r = transact(std::span<const uint8_t>(buf, len), seq, true);
  if (!r) return make_error(r.error());
  for (const auto& m : *r) {
    if (auto* l = std::get_if<LinkMessage>(&m.body)) return l->ifindex;
    if (auto* a = std::get_if<NlAck>(&m.body); a && a->error != 0) {
      return make_error("interface " + name + ": " + describe(*a));
    }
  }
  return make_error("interface " + name + ": no answer");
}

Result<void> LinkControl::set_up(const std::string& name, bool up) {
  auto idx = ifindex(name);
  if (!idx) return make_error(idx.error());
  uint8_t buf[256];
  const uint32_t seq = seq_++;
  const size_t len = build_link_set(buf, *idx, up, std::nullopt, seq);
  return ack_only(std::span<const uint8_t>(buf, len), seq, "set " + name + (up ? " up" : " down"));
}

Result<void> LinkControl::set_mtu(const std::string& name, uint32_t mtu) {
  auto idx = ifindex(name);
  if (!idx) return make_error(idx.error());
  uint8_t buf[256];
  const uint32_t seq = seq_++;
  const size_t len = build_link_set(buf, *idx, std::nullopt, mtu, seq);
  return ack_only(std::span<const uint8_t>(buf, len), seq,
                  "set " + name + " mtu " + std::to_string(mtu));
}

Result<void> LinkControl::add_address(const std::string& name, const IpAddress& addr,
                                      int prefixlen) {
  auto idx = ifindex(name);
  if (!idx) return make_error(idx.error());
  uint8_t buf[256];
  const uint32_t seq = seq_++;
  const size_t len = build_addr_change(buf, true, *idx, addr, prefixlen, seq);
  return ack_only(std::span<const uint8_t>(buf, len), seq,
                  "add " + addr.str() + "/" + std::to_string(prefixlen) + " to " + name);
}

Result<void> LinkControl::del_address(const std::string& name, const IpAddress& addr,
                                      int prefixlen) {
  auto idx = ifindex(name);
  if (!idx) return make_error(idx.error());
  uint8_t buf[256];
  const uint32_t seq = seq_++;
  const size_t len = build_addr_change(buf, false, *idx, addr, prefixlen, seq);
  return ack_only(std::span<const uint8_t>(buf, len), seq,
                  "delete " + addr.str() + "/" + std::to_string(prefixlen) + " from " + name);
}

}  // namespace ferry::fib
