// One configured neighbour inside the speaker: owns its bgp::Session and its
// RIB peer id, and moves routes between them.
//
// In: session_update() hands each decoded UPDATE's withdrawals, IPv4 NLRI and
// MP_REACH NLRI to the RIB in one call each (one interned attribute set per
// UPDATE), enforces the max-prefix limit, and handles End-of-RIB and
// enhanced route refresh markers (RFC 7313 BoRR/EoRR: mark stale / sweep).
// Out: pump() pulls changes from the RIB while the socket's queue is under
// the watermark. Graceful restart helper (RFC 4724 §4.2): on a graceful loss
// the RIB marks the peer's routes stale; they are swept by End-of-RIB or when
// the restart timer runs out.
#pragma once

#include <asio.hpp>

#include <array>
#include <memory>
#include <string>

#include "bgp/session.hpp"
#include "config/config.hpp"
#include "rib/rib.hpp"
#include "speaker/monitor.hpp"
#include "speaker/options.hpp"

namespace ferry::speaker {

class Speaker;

class Peer : public bgp::SessionListener {
 public:
  Peer(Speaker& sp, const config::BgpNeighborConfig& cfg);
  ~Peer() override;

  const config::BgpNeighborConfig& cfg() const { return cfg_; }
  rib::PeerId id() const { return id_; }
  bgp::Session& session() { return *session_; }
  const bgp::Session& session() const { return *session_; }

  // Starts the session unless the gate is closed (then set_gate(true) starts it).
  void start();
  // Fate sharing (docs/liveness.md): the daemon closes the gate while the tunnel
  // peer this session runs across is down or holding down, or, in strict mode,
  // until its BFD session is Up and stable. Closing tears an established session
  // down at once (Cease: BFD Down when bfd_cause, else Administrative Reset with
  // `why` as RFC 8203 text) and keeps it Idle; opening starts it again.
  void set_gate(bool open, const std::string& why, bool bfd_cause);
  bool gate_open() const { return gate_open_; }
  // Why the gate last changed ("" while it never closed).
  const std::string& gate_reason() const { return gate_reason_; }
  // Replaces the neighbour's config; resets the session only when needed.
  void reconfigure(const config::BgpNeighborConfig& cfg);
  // RIB has something for us: pull soon (posted, so never re-entrant with the RIB).
  void schedule_pump();
  // Soft reset in: ask the peer to resend (ROUTE-REFRESH) or re-run import policy.
  void soft_in();
  // Soft reset out: resend our whole table.
  void soft_out();
  bool max_prefix_warned() const { return max_prefix_warned_; }
  bool stale_pending() const { return stale_active_; }
  // End-of-RIB received for every negotiated family since the session came up.
  bool initial_eor_complete() const;
  // Re-applies the speaker's graceful restart state (R/F bits) to the session config.
  void refresh_session_config();

  // This neighbour as a monitor sees it (valid while the session is Established).
  MonitoredPeer monitored() const;

  static bgp::SessionConfig session_config(const Options& o, const config::BgpNeighborConfig& n);

  // bgp::SessionListener
  void session_established(bgp::Session& s) override;
  void session_down(bgp::Session& s, const std::string& reason, bool graceful) override;
  void session_update(bgp::Session& s, bgp::DecodedUpdate& u) override;
  void session_route_refresh(bgp::Session& s, const bgp::RouteRefresh& r) override;
  void session_writable(bgp::Session& s) override;
  void session_state(bgp::Session& s, bgp::FsmState from, bgp::FsmState to) override;

 private:
  void pump();
  void check_max_prefix();
  void sweep_all_stale();
  bgp::SessionConfig make_session_config() const;

  Speaker& sp_;
  config::BgpNeighborConfig cfg_;
  rib::PeerId id_;
  std::unique_ptr<bgp::Session> session_;
  bool started_ = false;  // start() was called (the speaker runs)
  bool gate_open_ = true;
  std::string gate_reason_;
  bool pump_scheduled_ = false;
  bool max_prefix_warned_ = false;
  // RFC 7313: families whose refresh we are re-sending (EoRR due when drained).
  std::array<bool, 2> eorr_due_{};
  // Graceful restart: stale routes kept until End-of-RIB or the timer.
  bool stale_active_ = false;
  std::array<bool, 2> eor_seen_{};  // End-of-RIB received since Established, per family
  asio::steady_timer stale_timer_;
  RateLimitedLog log_limit_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ferry::speaker
