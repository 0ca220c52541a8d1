// IkeSender over the tunnel's UDP sockets: IKE messages leave from port 500
// as they are, or from the shared port-4500 socket with the four-byte zero
// non-ESP marker in front (RFC 3948 §2.2), which tells the peer's
// demultiplexer that an IKE message, not ESP, follows (RFC 7296 §2.23).
// Called on the control-plane thread; the 4500 socket is also used by a
// worker, which the kernel allows (sendmmsg on one socket from two threads).
#pragma once

#include <vector>

#include "ipsec/sa.hpp"
#include "tunnel/udp.hpp"

namespace ferry::ipsec {

class IkeSocketSender : public IkeSender {
 public:
  // `port500` may be null (NAT-T only); both outlive this object.
  IkeSocketSender(tunnel::UdpSocket* port500, tunnel::UdpSocket& port4500)
      : s500_(port500), s4500_(port4500) {}

  void send_ike(std::span<const uint8_t> msg, const tunnel::UdpEndpoint& to, bool natt) override;
  uint64_t failures() const { return failures_; }

 private:
  tunnel::UdpSocket* s500_;
  tunnel::UdpSocket& s4500_;
  std::vector<uint8_t> buf_;
  uint64_t failures_ = 0;
};

}  // namespace ferry::ipsec
