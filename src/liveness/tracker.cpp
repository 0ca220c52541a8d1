#include "liveness/tracker.hpp"

#include <algorithm>

namespace ferry::liveness {

const char* state_name(State s) {
  switch (s) {
    case State::Unknown:
      return "unknown";
    case State::Up:
      return "up";
    case State::Down:
      return "down";
    case State::HoldDown:
      return "hold-down";
  }
  return "?";
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Unknown:
      return "unknown";
    case Verdict::Up:
      return "up";
    case Verdict::Down:
      return "down";
  }
  return "?";
}

const char* input_kind_name(InputKind k) {
  switch (k) {
    case InputKind::Bfd:
      return "bfd";
    case InputKind::WireGuard:
      return "wireguard";
    case InputKind::Ipsec:
      return "ipsec";
  }
  return "?";
}

namespace {
std::string describe(const InputId& in) {  // "bfd 169.254.12.2"
  return std::string(input_kind_name(in.kind)) + " " + in.name;
}
}  // namespace

void Tracker::add_peer(tunnel::PeerIndex peer, const std::string& name, TimePoint now) {
  auto [it, added] = peers_.try_emplace(peer);
  it->second.st.name = name;
  if (!added) return;
  it->second.st.since = now;
  it->second.st.reason = "configured";
  it->second.stable_since = now;
}

void Tracker::remove_peer(tunnel::PeerIndex peer) {
  peers_.erase(peer);
}

std::vector<tunnel::PeerIndex> Tracker::peer_ids() const {
  std::vector<tunnel::PeerIndex> out;
  for (const auto& [id, p] : peers_) out.push_back(id);
  return out;
}

void Tracker::report(tunnel::PeerIndex peer, const InputId& input, Verdict v,
                     const std::string& reason, TimePoint now) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  auto [in_it, added] = p.st.inputs.try_emplace(input);
  InputStatus& in = in_it->second;
  if (!added && in.verdict == v) return;  // nothing new (the reason of the change is kept)
  in.verdict = v;
  in.since = now;
  in.reason = reason;
  evaluate(peer, p, now,
           describe(input) + " " + verdict_name(v) + (reason.empty() ? "" : ": ") + reason);
}

void Tracker::forget(tunnel::PeerIndex peer, const InputId& input, TimePoint now) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.st.inputs.erase(input)) return;
  evaluate(peer, it->second, now, describe(input) + " removed");
}

void Tracker::tick(TimePoint now) {
  for (auto& [id, p] : peers_)
    if (p.st.state == State::HoldDown && p.st.hold_until && *p.st.hold_until <= now)
      evaluate(id, p, now, "");
}

std::optional<TimePoint> Tracker::next_deadline() const {
  std::optional<TimePoint> t;
  for (const auto& [id, p] : peers_)
    if (p.st.state == State::HoldDown && p.st.hold_until && (!t || *p.st.hold_until < *t))
      t = p.st.hold_until;
  return t;
}

const PeerStatus* Tracker::status(tunnel::PeerIndex peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second.st;
}

bool Tracker::usable(tunnel::PeerIndex peer, const InputId* strict_bfd) const {
  const PeerStatus* s = status(peer);
  if (!strict_bfd) return !s || s->state == State::Unknown || s->state == State::Up;
  // Strict: BFD must be Up, and the peer past any hold-down (stable).
  if (!s || s->state != State::Up) return false;
  auto in = s->inputs.find(*strict_bfd);
  return in != s->inputs.end() && in->second.verdict == Verdict::Up;
}

std::vector<tunnel::PeerIndex> Tracker::unusable_peers() const {
  std::vector<tunnel::PeerIndex> out;
  for (const auto& [id, p] : peers_)
    if (p.st.state == State::Down || p.st.state == State::HoldDown) out.push_back(id);
  return out;
}

void Tracker::evaluate(tunnel::PeerIndex id, Peer& p, TimePoint now, const std::string& why) {
  bool any_down = false, any_up = false;
  for (const auto& [in, st] : p.st.inputs) {
    any_down |= st.verdict == Verdict::Down;
    any_up |= st.verdict == Verdict::Up;
  }
  const State cur = p.st.state;
  if (any_down) {
    if (cur == State::Down) return;
    // A failure soon after the last one (within reset_after of stability, or
    // during its hold-down) doubles the next hold-down; a long stable period resets it.
    if (p.st.failures == 0 || (cur != State::HoldDown && now - p.stable_since >= opts_.reset_after))
      p.level = 0;
    else if (p.level < 30)
      ++p.level;
    Duration h = opts_.hold_down;
    for (uint32_t i = 0; i < p.level && h < opts_.hold_down_max; ++i) h *= 2;
    p.st.hold_down = std::min(h, opts_.hold_down_max);
    ++p.st.failures;
    p.st.hold_until.reset();
    set_state(id, p, State::Down, now, why);
    return;
  }
  if (cur == State::Down && p.st.hold_down.count() > 0) {
    p.st.hold_until = now + p.st.hold_down;
    set_state(id, p, State::HoldDown, now,
              why + "; holding down " + std::to_string(p.st.hold_down.count()) + " ms");
    return;
  }
  if (cur == State::HoldDown && p.st.hold_until && now < *p.st.hold_until) return;
  const State want = any_up ? State::Up : State::Unknown;
  if (cur == State::HoldDown || cur == State::Down) {
    p.st.hold_until.reset();
    p.stable_since = now;
    set_state(id, p, want, now,
              cur == State::HoldDown
                  ? "hold-down of " + std::to_string(p.st.hold_down.count()) + " ms over"
                  : why);
    return;
  }
  if (want != cur) set_state(id, p, want, now, why);
}

void Tracker::set_state(tunnel::PeerIndex id, Peer& p, State s, TimePoint now, std::string why) {
  const State from = p.st.state;
  p.st.state = s;
  p.st.since = now;
  p.st.reason = std::move(why);
  if (listener_) listener_(id, from, p.st);
}

}  // namespace ferry::liveness
