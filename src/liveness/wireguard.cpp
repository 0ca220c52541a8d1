#include "liveness/wireguard.hpp"

namespace ferry::liveness {

InputReport wireguard_verdict(const HandshakeSnapshot& s, Duration reject_after_time,
                              Duration rekey_timeout, int timeouts) {
  if (s.in_flight && s.retries >= timeouts)
    return {Verdict::Down, std::to_string(s.retries) + " handshake initiations unanswered (" +
                               std::to_string(rekey_timeout.count()) + " ms each)"};
  const bool fresh = s.since_handshake && *s.since_handshake < reject_after_time;
  if (fresh) return {Verdict::Up, "handshake completed"};
  if (s.since_handshake && s.in_flight)
    return {Verdict::Down, "session expired (REJECT_AFTER_TIME) and no handshake completes"};
  return {Verdict::Unknown,
          s.since_handshake ? "session expired, tunnel idle" : "no handshake yet"};
}

}  // namespace ferry::liveness
