// tunnel::PeerIndex: a peer's dense index inside one device (the cryptokey
// table's values, the peer list's slots, the routing layer's handle for a
// tunnel peer). A strong type: it never converts back to an integer, so it
// cannot be used as a receiver index, an interface index, a rib::PeerId or a
// vector subscript by accident (slot() says so explicitly). It is built from
// its raw value implicitly, as peers are numbered densely. Header-only, no
// dependencies: the routing module names tunnel peers without linking the
// data path.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>

namespace ferry::tunnel {

struct PeerIndex {
  static constexpr uint32_t kNone = 0xffffffffu;
  uint32_t value = kNone;

  constexpr PeerIndex() = default;
  constexpr PeerIndex(uint32_t v) : value(v) {}  // NOLINT: implicit from the raw index
  constexpr bool valid() const { return value != kNone; }
  // The slot in a dense per-device array.
  constexpr size_t slot() const { return value; }
  constexpr auto operator<=>(const PeerIndex&) const = default;
};

inline constexpr PeerIndex kNoPeer{};

inline std::ostream& operator<<(std::ostream& os, PeerIndex p) {
  return p.valid() ? os << "peer#" << p.value : os << "no-peer";
}

}  // namespace ferry::tunnel

template <>
struct std::hash<ferry::tunnel::PeerIndex> {
  size_t operator()(ferry::tunnel::PeerIndex p) const noexcept {
    return std::hash<uint32_t>{}(p.value);
  }
};
