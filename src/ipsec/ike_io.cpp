#include "ipsec/ike_io.hpp"

namespace ferry::ipsec {

void IkeSocketSender::send_ike(std::span<const uint8_t> msg, const tunnel::UdpEndpoint& to,
                               bool natt) {
  tunnel::UdpSocket* s = natt ? &s4500_ : s500_;
  if (s == nullptr) {
    ++failures_;
    return;
  }
  std::span<const uint8_t> out = msg;
  if (natt) {
    buf_.assign(4, 0);  // RFC 3948 §2.2 non-ESP marker
    buf_.insert(buf_.end(), msg.begin(), msg.end());
    out = buf_;
  }
  tunnel::UdpSend send{out, 0, to};
  if (s->send_batch({&send, 1}) != 1) ++failures_;
}

}  // namespace ferry::ipsec
