// liveness::Liveness: the Tracker on the control-plane event loop. It is the
// InputSink the daemon hands to every evidence source (the BFD listener, the
// tunnel's handshake poller, later IPsec DPD): it stamps reports with the
// time, runs the hold-down timer, and tells its listener when a peer's state
// changed. `show` renders one peer's shared state for ferryctl (state, since
// when, why, the back-off and every input).
#pragma once

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include "liveness/tracker.hpp"

namespace ferry::liveness {

class Liveness : public InputSink {
 public:
  Liveness(asio::io_context& io, Options o);
  ~Liveness() override;

  void set_options(const Options& o) { tracker_.set_options(o); }
  void set_listener(Tracker::Listener l) { tracker_.set_listener(std::move(l)); }
  void add_peer(tunnel::PeerIndex peer, const std::string& name);
  void remove_peer(tunnel::PeerIndex peer) { tracker_.remove_peer(peer); }

  // InputSink
  void report(tunnel::PeerIndex peer, const InputId& input, Verdict v,
              const std::string& reason) override;
  void forget(tunnel::PeerIndex peer, const InputId& input) override;

  const Tracker& tracker() const { return tracker_; }
  // One peer's state as JSON: state, since (unix seconds), for_s, reason,
  // hold_down_ms, hold_remaining_ms, failures, inputs[]. null for unknown peers.
  nlohmann::json show(tunnel::PeerIndex peer) const;

 private:
  void rearm();

  asio::io_context& io_;
  Tracker tracker_;
  asio::steady_timer timer_;
};

}  // namespace ferry::liveness
