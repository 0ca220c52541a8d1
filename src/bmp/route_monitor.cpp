#include "bmp/route_monitor.hpp"

#include "bgp/update_codec.hpp"

namespace ferry::bmp {

RouteMonitorEncoder::RouteMonitorEncoder() {
  // RFC 7854 §4.2: A clear, so 4-octet AS_PATH; iBGP rules: attributes kept as stored.
  bgp::CodecOptions o;
  o.four_octet_as = true;
  o.ebgp = false;
  enc_.set_options(o);
}

size_t RouteMonitorEncoder::wrap(const PeerHeader& peer, std::vector<uint8_t>& out) {
  // Split the encoder's output at the BGP message boundaries (RFC 4271 §4.1:
  // octets 16-17 of the header hold the message length).
  size_t n = 0;
  std::span<const uint8_t> rest(bgp_);
  while (rest.size() >= bgp::kHeaderLen) {
    const size_t len = static_cast<size_t>((rest[16] << 8) | rest[17]);
    if (len < bgp::kHeaderLen || len > rest.size()) break;  // cannot happen: our own encoder
    encode_route_monitoring(peer, rest.first(len), out);
    rest = rest.subspan(len);
    ++n;
  }
  bgp_.clear();
  return n;
}

size_t RouteMonitorEncoder::announce(const PeerHeader& peer, const bgp::PathAttributes& attrs,
                                     std::span<const Prefix> prefixes, std::vector<uint8_t>& out) {
  bgp_.clear();
  if (prefixes.empty() || !enc_.announce(attrs, prefixes, bgp_)) return 0;
  return wrap(peer, out);
}

size_t RouteMonitorEncoder::withdraw(const PeerHeader& peer, std::span<const Prefix> prefixes,
                                     std::vector<uint8_t>& out) {
  bgp_.clear();
  if (prefixes.empty()) return 0;
  enc_.withdraw(prefixes, bgp_);
  return wrap(peer, out);
}

size_t RouteMonitorEncoder::end_of_rib(const PeerHeader& peer, Family f,
                                       std::vector<uint8_t>& out) {
  bgp_.clear();
  enc_.end_of_rib(f, bgp_);
  return wrap(peer, out);
}

}  // namespace ferry::bmp
