// BFD control packet codec (RFC 5880 §4.1), without authentication sections.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ferry::bfd {

// RFC 5880 §4.1 "State (Sta)".
enum class State : uint8_t { AdminDown = 0, Down = 1, Init = 2, Up = 3 };
const char* state_name(State s);

// RFC 5880 §4.1 "Diagnostic (Diag)".
enum class Diag : uint8_t {
  None = 0,
  ControlDetectionTimeExpired = 1,
  EchoFailed = 2,
  NeighborSignaledDown = 3,
  ForwardingPlaneReset = 4,
  PathDown = 5,
  ConcatenatedPathDown = 6,
  AdministrativelyDown = 7,
  ReverseConcatenatedPathDown = 8,
};
const char* diag_name(Diag d);

struct ControlPacket {
  uint8_t version = 1;
  Diag diag = Diag::None;
  State state = State::Down;
  bool poll = false;
  bool final = false;
  bool control_plane_independent = false;
  bool auth_present = false;
  bool demand = false;
  bool multipoint = false;
  uint8_t detect_mult = 3;
  uint32_t my_discriminator = 0;
  uint32_t your_discriminator = 0;
  uint32_t desired_min_tx_us = 0;
  uint32_t required_min_rx_us = 0;
  uint32_t required_min_echo_rx_us = 0;

  bool operator==(const ControlPacket&) const = default;
};

constexpr size_t kMinPacketLen = 24;

// Parses and applies the reception checks of RFC 5880 §6.8.6 that need no
// session state (version, length, detect mult, multipoint, discriminators).
// Returns nullopt with the reason in *why on a packet that must be discarded.
std::optional<ControlPacket> decode(std::span<const uint8_t> data, std::string* why = nullptr);
void encode(const ControlPacket& p, std::vector<uint8_t>& out);

}  // namespace ferry::bfd
