// liveness::Tracker: ONE liveness state per tunnel peer, and the only owner
// of it. Pure logic: inputs arrive with an explicit `now`, the owner asks
// next_deadline() when to tick() again; no clock, no socket, no asio.
//
// Fate sharing. Every BGP session and every route whose next hop resolves
// through a tunnel peer shares that peer's fate: the daemon tears them down
// (both address families at once) when the peer leaves Up/Unknown, however
// the death was noticed. The evidence comes from several inputs per peer:
//   - Bfd        one per BFD session across the peer (IPv4 and IPv6 neighbor
//                addresses; RFC 5882 §4.3 BFD for BGP, §3.2 what Down means);
//   - WireGuard  the tunnel's own handshake state (whitepaper §6: unanswered
//                initiations for n * REKEY_TIMEOUT, or keys past
//                REJECT_AFTER_TIME while a handshake is wanted);
//   - Ipsec      IKEv2 liveness / DPD (RFC 7296 §2.4) once that tunnel kind
//                feeds InputSink.
// Each input says Up, Down or Unknown (no evidence either way: a BFD session
// that never came up, a tunnel that is idle). The peer's state:
//
//   Unknown  no input says Up or Down (BGP may try: it is what makes traffic)
//   Up       some input Up, none Down, not holding down
//   Down     some input Down (one witness is enough: fate sharing)
//   HoldDown no input Down any more, but the peer was Down; it stays
//            unusable until the hold-down ends (then Up, or Unknown)
//
// Flap damping (RFC 5882 §3.3 asks BFD clients to damp; the exponential
// back-off mirrors RFC 5880 §6.8.3's "back off" of timers and BGP's own
// IdleHold, RFC 4271 §8.1.1 DampPeerOscillations): the hold-down starts at
// Options::hold_down and doubles each time the peer fails again before it
// has been Up for Options::reset_after, up to Options::hold_down_max. A peer
// Up for reset_after starts again at hold_down.
//
// Strict mode (draft-ietf-idr-bgp-bfd-strict-mode §4): a neighbour configured
// strict may only establish while the peer is Up (so past any hold-down) AND
// its own BFD session input is Up; usable() answers both questions.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tunnel/peer_index.hpp"

namespace ferry::liveness {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

enum class State : uint8_t { Unknown, Up, Down, HoldDown };
const char* state_name(State s);

// What one input says about the peer.
enum class Verdict : uint8_t { Unknown, Up, Down };
const char* verdict_name(Verdict v);

// The kind of evidence.
enum class InputKind : uint8_t { Bfd, WireGuard, Ipsec };
const char* input_kind_name(InputKind k);

// One input of one peer: its kind and which instance (a BFD session's remote
// address, "handshake" for WireGuard, an IKE SA name for IPsec).
struct InputId {
  InputKind kind = InputKind::Bfd;
  std::string name;
  auto operator<=>(const InputId&) const = default;
  bool operator==(const InputId&) const = default;
};

// The generic input hook: how any tunnel kind (WireGuard today, IPsec DPD
// later) or BFD reports evidence about a peer. Implemented by the daemon's
// Liveness driver (which supplies the time) and by fakes in tests.
class InputSink {
 public:
  virtual ~InputSink() = default;
  // Unknown peers are ignored. reason: why (for `show tunnels` and logs).
  virtual void report(tunnel::PeerIndex peer, const InputId& input, Verdict v,
                      const std::string& reason) = 0;
  // The input no longer exists (BFD session removed): it stops counting.
  virtual void forget(tunnel::PeerIndex peer, const InputId& input) = 0;
};

struct Options {
  Duration hold_down{1000};       // first hold-down after a failure
  Duration hold_down_max{30000};  // ceiling of the doubling
  Duration reset_after{60000};    // Up this long: the back-off starts again at hold_down
  bool operator==(const Options&) const = default;
};

struct InputStatus {
  Verdict verdict = Verdict::Unknown;
  TimePoint since{};
  std::string reason;
};

struct PeerStatus {
  std::string name;
  State state = State::Unknown;
  TimePoint since{};   // when state last changed
  std::string reason;  // why it last changed
  // Hold-down of the latest failure (zero before the first); in force until hold_until.
  Duration hold_down{0};
  std::optional<TimePoint> hold_until;  // set while HoldDown
  uint64_t failures = 0;                // transitions into Down
  std::map<InputId, InputStatus> inputs;
};

class Tracker {
 public:
  // A peer's state changed (not called for input changes that keep the state).
  using Listener = std::function<void(tunnel::PeerIndex peer, State from, const PeerStatus& now)>;

  explicit Tracker(Options o = {}) : opts_(o) {}
  void set_options(const Options& o) { opts_ = o; }
  void set_listener(Listener l) { listener_ = std::move(l); }

  // A peer starts Unknown with no inputs; adding an existing one renames it.
  void add_peer(tunnel::PeerIndex peer, const std::string& name, TimePoint now);
  void remove_peer(tunnel::PeerIndex peer);

  void report(tunnel::PeerIndex peer, const InputId& input, Verdict v, const std::string& reason,
              TimePoint now);
  void forget(tunnel::PeerIndex peer, const InputId& input, TimePoint now);
  // Ends hold-downs that are due.
  void tick(TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  const PeerStatus* status(tunnel::PeerIndex peer) const;
  // May a BGP session across this peer run? Unknown or Up; with strict_bfd, only
  // Up and with that BFD input Up (strict mode). Unknown peers: true.
  bool usable(tunnel::PeerIndex peer, const InputId* strict_bfd = nullptr) const;
  // Peers whose next hops must not be used (Down or HoldDown).
  std::vector<tunnel::PeerIndex> unusable_peers() const;
  std::vector<tunnel::PeerIndex> peer_ids() const;

 private:
  struct Peer {
    PeerStatus st;
    // Since when the peer has not been Down or HoldDown (the back-off resets
    // after reset_after of it).
    TimePoint stable_since{};
    uint32_t level = 0;  // back-off doublings of the current hold-down
  };
  void evaluate(tunnel::PeerIndex id, Peer& p, TimePoint now, const std::string& why);
  void set_state(tunnel::PeerIndex id, Peer& p, State s, TimePoint now, std::string why);

  Options opts_;
  Listener listener_;
  std::map<tunnel::PeerIndex, Peer> peers_;
};

}  // namespace ferry::liveness
