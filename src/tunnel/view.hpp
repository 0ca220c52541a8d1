// tunnel::View: the tunnel as the routing layer sees it, a plain value.
//
// Tunnel builds it and hands a copy to its view listener whenever a field
// changes: at start(), after a successful apply() (reload: peers, allowed-ips,
// endpoints), and from poll() when the data plane learned a new endpoint by
// roaming (WireGuard whitepaper §2.1, "Endpoints & Roaming"). Consumers keep
// their copy and never call
// back into the tunnel to answer a per-prefix question: no syscall, no config
// scan, no lock per next hop.
//
// LearnedChange is the one thing the routing layer writes back: a learned
// prefix gains or loses a peer in its ECMP set (Tunnel::apply_learned).
//
// Header-only, depends on common/ only, so the routing module can use it
// without linking the tunnel's data path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.hpp"

namespace ferry::tunnel {

struct PeerView {
  uint32_t id = 0;                    // the peer's index in the device (LearnedChange::peer)
  std::string name;                   // as configured; for logs and `show fib`
  std::vector<Prefix> allowed_ips;    // static allowed-ips, in configuration order
  std::optional<IpAddress> endpoint;  // underlay address now: configured or learned by roaming
  bool operator==(const PeerView&) const = default;
};

struct View {
  uint32_t ifindex = 0;         // the TUN interface; 0 while the tunnel is not running
  size_t max_ecmp_peers = 0;    // most peers one learned prefix can hold (cryptokey table)
  std::vector<PeerView> peers;  // in configuration order
  bool operator==(const View&) const = default;
};

// add: `peer` joins the learned peer set of `prefix`; !add: it leaves it.
struct LearnedChange {
  bool add = true;
  uint32_t peer = 0;
  Prefix prefix;
  bool operator==(const LearnedChange&) const = default;
};

}  // namespace ferry::tunnel
