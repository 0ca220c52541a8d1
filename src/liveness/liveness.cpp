#include "liveness/liveness.hpp"

namespace ferry::liveness {

Liveness::Liveness(asio::io_context& io, Options o) : io_(io), tracker_(o), timer_(io) {}

Liveness::~Liveness() {
  timer_.cancel();
}

void Liveness::add_peer(tunnel::PeerIndex peer, const std::string& name) {
  tracker_.add_peer(peer, name, Clock::now());
}

void Liveness::report(tunnel::PeerIndex peer, const InputId& input, Verdict v,
                      const std::string& reason) {
  tracker_.report(peer, input, v, reason, Clock::now());
  rearm();
}

void Liveness::forget(tunnel::PeerIndex peer, const InputId& input) {
  tracker_.forget(peer, input, Clock::now());
  rearm();
}

void Liveness::rearm() {
  auto t = tracker_.next_deadline();
  if (!t) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*t);
  timer_.async_wait([this](const std::error_code& ec) {
    if (ec) return;
    tracker_.tick(Clock::now());
    rearm();
  });
}

nlohmann::json Liveness::show(tunnel::PeerIndex peer) const {
  const PeerStatus* s = tracker_.status(peer);
  if (!s) return nullptr;
  const auto now = Clock::now();
  const auto wall = std::chrono::system_clock::now();
  auto unix_at = [&](TimePoint t) {
    auto w = wall - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - t);
    return std::chrono::duration_cast<std::chrono::seconds>(w.time_since_epoch()).count();
  };
  auto ms = [](auto d) { return std::chrono::duration_cast<Duration>(d).count(); };
  nlohmann::json j;
  j["state"] = state_name(s->state);
  j["since"] = unix_at(s->since);
  j["for_s"] = std::chrono::duration_cast<std::chrono::seconds>(now - s->since).count();
  j["reason"] = s->reason;
  j["failures"] = s->failures;
  j["hold_down_ms"] = s->hold_down.count();
  j["hold_remaining_ms"] =
      s->hold_until && *s->hold_until > now ? ms(*s->hold_until - now) : int64_t{0};
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& [id, in] : s->inputs)
    inputs.push_back({{"kind", input_kind_name(id.kind)},
                      {"name", id.name},
                      {"verdict", verdict_name(in.verdict)},
                      {"since", unix_at(in.since)},
                      {"reason", in.reason}});
  j["inputs"] = std::move(inputs);
  return j;
}

}  // namespace ferry::liveness
