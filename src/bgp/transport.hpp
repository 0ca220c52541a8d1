// Socket options for BGP transport connections (kernel access kept small).
//
// The session and the speaker's listener call these on raw file descriptors
// of Asio sockets: TCP-MD5 signatures (RFC 2385, Linux TCP_MD5SIG with one key
// per peer address, set on the listening socket for every neighbour and on
// each active socket), GTSM (RFC 5082: send with TTL 255 and accept only TTL
// >= 254, IPV6_MINHOPCOUNT for IPv6) and the eBGP multihop TTL. Every call
// returns an error string instead of throwing, so a failure is logged and
// counted by the caller.
#pragma once

#include <string>

#include "common/ip.hpp"
#include "common/result.hpp"

namespace ferry::bgp {

// Installs (key non-empty) or removes (key empty) the TCP-MD5 key for peer on fd.
// v6_socket: fd is an AF_INET6 (dual-stack) socket, so an IPv4 peer is keyed by its
// IPv4-mapped address.
Result<void> set_tcp_md5(int fd, const IpAddress& peer, const std::string& key,
                         bool v6_socket = false);
// Outgoing TTL / hop limit for the socket's family.
Result<void> set_ttl(int fd, Family f, int ttl);
// Minimum accepted TTL (IP_MINTTL / IPV6_MINHOPCOUNT); 0 disables.
Result<void> set_min_ttl(int fd, Family f, int min_ttl);
// GTSM (RFC 5082 §3): send TTL 255 and drop segments with TTL < 255 - hops + 1.
Result<void> set_gtsm(int fd, Family f, int hops = 1);
// Disables Nagle and sets SO_KEEPALIVE off (BGP has its own keepalives).
Result<void> set_bgp_socket_defaults(int fd);

}  // namespace ferry::bgp
