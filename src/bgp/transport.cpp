#include "bgp/transport.hpp"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "common/bytes.hpp"

namespace ferry::bgp {

namespace {
Result<void> sys_err(const char* what) {
  return make_error(std::string(what) + ": " + std::strerror(errno));
}
}  // namespace

Result<void> set_tcp_md5(int fd, const IpAddress& peer, const std::string& key, bool v6_socket) {
  // RFC 2385 on Linux: one struct tcp_md5sig per peer address; keylen 0 deletes.
  if (key.size() > TCP_MD5SIG_MAXKEYLEN) return make_error("TCP-MD5 key longer than 80 bytes");
  struct tcp_md5sig sig {};
  if (peer.is_v4() && v6_socket) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&sig.tcpm_addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&sin6->sin6_addr.s6_addr[12], peer.bytes(), 4);
  } else if (peer.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&sig.tcpm_addr);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, peer.bytes(), 4);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&sig.tcpm_addr);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, peer.bytes(), 16);
  }
  sig.tcpm_keylen = static_cast<uint16_t>(key.size());
  std::memcpy(sig.tcpm_key, key.data(), key.size());
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof(sig)) != 0) {
    return sys_err("setsockopt(TCP_MD5SIG)");
  }
  return {};
}

Result<void> set_ttl(int fd, Family f, int ttl) {
  int rc = f == Family::V4 ? setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl))
                           : setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl));
  if (rc != 0) return sys_err("setsockopt(TTL)");
  return {};
}

Result<void> set_min_ttl(int fd, Family f, int min_ttl) {
  int rc = f == Family::V4
               ? setsockopt(fd, IPPROTO_IP, IP_MINTTL, &min_ttl, sizeof(min_ttl))
               : setsockopt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, &min_ttl, sizeof(min_ttl));
  if (rc != 0) return sys_err("setsockopt(MINTTL)");
  return {};
}

Result<void> set_gtsm(int fd, Family f, int hops) {
  if (auto r = set_ttl(fd, f, 255); !r) return r;
  return set_min_ttl(fd, f, 256 - hops);
}

Result<void> set_save_syn(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_SAVE_SYN, &one, sizeof(one)) != 0) {
    return sys_err("setsockopt(TCP_SAVE_SYN)");
  }
  return {};
}

std::optional<int> ip_header_ttl(std::span<const uint8_t> header) {
  ByteReader r(header);
  auto first = r.u8();
  if (!first) return std::nullopt;
  const int version = *first >> 4;
  if (version == 4) {
    // RFC 791 §3.1: version/IHL, TOS, total length (2), identification (2),
    // flags/fragment offset (2), then Time to Live.
    if (!r.skip(7)) return std::nullopt;
    auto ttl = r.u8();
    return ttl ? std::optional<int>(*ttl) : std::nullopt;
  }
  if (version == 6) {
    // RFC 8200 §3: version/traffic class/flow label (4), payload length (2), next
    // header (1), then Hop Limit.
    if (!r.skip(6)) return std::nullopt;
    auto hops = r.u8();
    return hops ? std::optional<int>(*hops) : std::nullopt;
  }
  return std::nullopt;
}

Result<int> saved_syn_ttl(int fd) {
  std::array<uint8_t, 512> buf{};
  socklen_t len = buf.size();
  if (getsockopt(fd, IPPROTO_TCP, TCP_SAVED_SYN, buf.data(), &len) != 0) {
    return make_error(std::string("getsockopt(TCP_SAVED_SYN): ") + std::strerror(errno));
  }
  auto ttl = ip_header_ttl(std::span<const uint8_t>(buf.data(), std::min<size_t>(len, buf.size())));
  if (!ttl) return make_error("no SYN headers saved for this connection");
  return *ttl;
}

Result<void> set_bgp_socket_defaults(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    return sys_err("setsockopt(TCP_NODELAY)");
  }
  return {};
}

}  // namespace ferry::bgp
