// The WireGuard input of a tunnel peer's liveness: what the tunnel's own
// handshake state says, as a pure function of a snapshot (the daemon polls
// the device once a second and reports the result to the InputSink).
//
// WireGuard has no session on the wire (whitepaper §6): a peer is alive while
// its handshakes complete. So:
//   Down     an initiation is outstanding and `timeouts` retries of it already
//            went unanswered (each after REKEY_TIMEOUT, §6.4), or the keys are
//            past REJECT_AFTER_TIME (§6.1: they may not be used) while a
//            handshake is being attempted;
//   Up       a handshake completed within REJECT_AFTER_TIME;
//   Unknown  otherwise: no handshake yet, or an expired session with no
//            handshake wanted (an idle tunnel is not a dead one; the next
//            packet starts a handshake and that decides).
#pragma once

#include <optional>
#include <string>

#include "liveness/tracker.hpp"

namespace ferry::liveness {

struct HandshakeSnapshot {
  std::optional<Duration> since_handshake;  // since the last completed handshake
  bool in_flight = false;                   // an initiation awaits its response
  int retries = 0;                          // retransmissions of it so far
};

struct InputReport {
  Verdict verdict = Verdict::Unknown;
  std::string reason;
  bool operator==(const InputReport&) const = default;
};

// reject_after_time and rekey_timeout as the tunnel runs them (scaled in tests).
InputReport wireguard_verdict(const HandshakeSnapshot& s, Duration reject_after_time,
                              Duration rekey_timeout, int timeouts);

}  // namespace ferry::liveness
