// The UDP side of the data path, behind an interface (fakes in unit tests).
//
// Data flow: encrypted WireGuard messages leave through send_batch (sendmmsg;
// several equal-size datagrams to one endpoint can go as one UDP GSO buffer,
// `segment` > 0) and arrive through recv_batch (recvmmsg; with UDP GRO the
// kernel may coalesce consecutive datagrams of one flow into one buffer and
// reports the segment size). Each worker owns one UdpSocket; all sockets of a
// transport share the listen port (SO_REUSEPORT), so the kernel hashes a
// peer's flow to one socket and one worker, keeping its packets in order.
// One dual-stack AF_INET6 socket per worker carries IPv4 (as v4-mapped) and IPv6.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/ip.hpp"
#include "common/result.hpp"

namespace ferry::tunnel {

struct UdpEndpoint {
  IpAddress addr;
  uint16_t port = 0;
  bool valid() const { return port != 0; }
  std::string str() const;  // "1.2.3.4:51820", "[2001:db8::1]:51820"
  bool operator==(const UdpEndpoint&) const = default;
};

struct UdpRecv {
  std::span<uint8_t> buf;  // filled by the caller: where to receive
  size_t len = 0;          // bytes received
  uint16_t segment = 0;  // GRO: datagrams of this size back to back (last may be shorter); 0 = one
  UdpEndpoint from;
};

struct UdpSend {
  std::span<const uint8_t> data;
  uint16_t segment = 0;  // GSO: split data into datagrams of this size; 0 = one datagram
  UdpEndpoint to;
};

class UdpSocket {
 public:
  virtual ~UdpSocket() = default;
  // Fills up to msgs.size() entries. Returns the count, 0 if none pending, -1 if dead.
  virtual int recv_batch(std::span<UdpRecv> msgs) = 0;
  // Sends in order; returns how many entries went out (the rest were dropped).
  virtual int send_batch(std::span<const UdpSend> msgs) = 0;
  virtual int fd() const = 0;  // pollable, or -1
};

class UdpTransport {
 public:
  virtual ~UdpTransport() = default;
  virtual uint16_t port() const = 0;
  virtual size_t socket_count() const = 0;
  virtual UdpSocket& socket(size_t i) = 0;
  virtual bool gso() const = 0;  // send_batch accepts segment > 0
  virtual bool gro() const = 0;  // recv_batch may return coalesced buffers (need 64 KiB each)
};

// `sockets` non-blocking dual-stack sockets bound to [::]:port (0 = pick one), with
// SO_REUSEPORT; detects UDP GSO (kernel >= 4.18). With gro, enables UDP GRO (kernel >= 5.0):
// then every UdpRecv buffer must hold 65535 bytes, or coalesced datagrams are truncated.
Result<std::unique_ptr<UdpTransport>> open_linux_udp(uint16_t port, size_t sockets, bool gro);

}  // namespace ferry::tunnel
