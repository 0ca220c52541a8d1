#include "bfd/packet.hpp"

#include "common/bytes.hpp"

namespace ferry::bfd {

const char* state_name(State s) {
  switch (s) {
    case State::AdminDown:
      return "admin_down";
    case State::Down:
      return "down";
    case State::Init:
      return "init";
    case State::Up:
      return "up";
  }
  return "?";
}

const char* diag_name(Diag d) {
  switch (d) {
    case Diag::None:
      return "none";
    case Diag::ControlDetectionTimeExpired:
      return "control_detection_time_expired";
    case Diag::EchoFailed:
      return "echo_failed";
    case Diag::NeighborSignaledDown:
      return "neighbor_signaled_down";
    case Diag::ForwardingPlaneReset:
      return "forwarding_plane_reset";
    case Diag::PathDown:
      return "path_down";
    case Diag::ConcatenatedPathDown:
      return "concatenated_path_down";
    case Diag::AdministrativelyDown:
      return "administratively_down";
    case Diag::ReverseConcatenatedPathDown:
      return "reverse_concatenated_path_down";
  }
  return "unknown";
}

static std::optional<ControlPacket> reject(std::string* why, const char* reason) {
  if (why) *why = reason;
  return std::nullopt;
}

std::optional<ControlPacket> decode(std::span<const uint8_t> data, std::string* why) {
  ByteReader r(data);
  ControlPacket p;
  auto b0 = r.u8();     // §4.1: Vers (3 bits) | Diag (5 bits)
  auto b1 = r.u8();     // §4.1: Sta (2) | P | F | C | A | D | M
  auto mult = r.u8();   // §4.1: Detect Mult
  auto len = r.u8();    // §4.1: Length of the whole packet in bytes
  auto my = r.u32();    // §4.1: My Discriminator
  auto your = r.u32();  // §4.1: Your Discriminator
  auto tx = r.u32();    // §4.1: Desired Min TX Interval (microseconds)
  auto rx = r.u32();    // §4.1: Required Min RX Interval
  auto echo = r.u32();  // §4.1: Required Min Echo RX Interval
  if (!echo) return reject(why, "short packet");
  p.version = *b0 >> 5;
  const uint8_t diag = *b0 & 0x1f;
  p.diag = diag <= 8 ? static_cast<Diag>(diag) : Diag::None;
  p.state = static_cast<State>(*b1 >> 6);
  p.poll = *b1 & 0x20;
  p.final = *b1 & 0x10;
  p.control_plane_independent = *b1 & 0x08;
  p.auth_present = *b1 & 0x04;
  p.demand = *b1 & 0x02;
  p.multipoint = *b1 & 0x01;
  p.detect_mult = *mult;
  p.my_discriminator = *my;
  p.your_discriminator = *your;
  p.desired_min_tx_us = *tx;
  p.required_min_rx_us = *rx;
  p.required_min_echo_rx_us = *echo;
  // §6.8.6 reception checks.
  if (p.version != 1) return reject(why, "version is not 1");
  if (*len < (p.auth_present ? 26 : kMinPacketLen)) return reject(why, "length field too small");
  if (*len > data.size()) return reject(why, "length field exceeds the datagram");
  if (p.detect_mult == 0) return reject(why, "detect mult is zero");
  if (p.multipoint) return reject(why, "multipoint bit set");
  if (p.my_discriminator == 0) return reject(why, "my discriminator is zero");
  if (p.auth_present) return reject(why, "authentication is not configured");
  return p;
}

void encode(const ControlPacket& p, std::vector<uint8_t>& out) {
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>((p.version << 5) | (static_cast<uint8_t>(p.diag) & 0x1f)));
  w.u8(static_cast<uint8_t>((static_cast<uint8_t>(p.state) << 6) | (p.poll ? 0x20 : 0) |
                            (p.final ? 0x10 : 0) | (p.control_plane_independent ? 0x08 : 0) |
                            (p.auth_present ? 0x04 : 0) | (p.demand ? 0x02 : 0) |
                            (p.multipoint ? 0x01 : 0)));
  w.u8(p.detect_mult);
  w.u8(static_cast<uint8_t>(kMinPacketLen));
  w.u32(p.my_discriminator);
  w.u32(p.your_discriminator);
  w.u32(p.desired_min_tx_us);
  w.u32(p.required_min_rx_us);
  w.u32(p.required_min_echo_rx_us);
}

}  // namespace ferry::bfd
