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

#include <cstdint>
#include <optional>
#include <span>
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
// Keeps the headers of each connection's SYN (TCP_SAVE_SYN) on a listening socket, so
// GTSM can be checked for the SYN itself: IP_MINTTL set on an accepted socket comes too
// late for the handshake and for data the peer queued before accept().
Result<void> set_save_syn(int fd);
// The TTL / hop limit of the SYN that opened an accepted connection (TCP_SAVED_SYN;
// the listener needs set_save_syn). The kernel hands the headers out once.
Result<int> saved_syn_ttl(int fd);
// IPv4 TTL (RFC 791 §3.1, octet 8) or IPv6 Hop Limit (RFC 8200 §3, octet 7) of an IP
// header; nullopt when the bytes are too short or not IPv4/IPv6.
std::optional<int> ip_header_ttl(std::span<const uint8_t> header);
// Disables Nagle and sets SO_KEEPALIVE off (BGP has its own keepalives).
Result<void> set_bgp_socket_defaults(int fd);

}  // namespace ferry::bgp
