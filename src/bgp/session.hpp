// A BGP session with one neighbour: FSM + TCP connection(s) + codec.
//
// Role: turns bytes on a TCP connection into decoded messages and FSM events,
// and FSM outputs into bytes; knows nothing about the RIB. The owner (the
// speaker's Peer) gets decoded UPDATEs, route refreshes, up/down and
// "writable" callbacks through SessionListener, and writes UPDATEs into
// out() (packed with encoder()) while queued() stays under the watermark.
//
// Connections. The primary slot carries the peer's FSM (Idle/Connect/Active
// and timers). An incoming connection (accept(), from the speaker's
// listener) is adopted by the primary when it is in Connect/Active; when the
// primary is already in OpenSent/OpenConfirm it gets a second slot with its
// own FSM, and when an OPEN arrives the §6.8 collision rule picks the
// survivor (the loser is closed with Cease 6/7; if the survivor is the second
// slot it becomes the primary). While Established, new connections are
// refused.
//
// Time: one asio steady_timer armed at the earliest FSM deadline.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bgp/fsm.hpp"
#include "bgp/message.hpp"
#include "bgp/tcp_link.hpp"
#include "bgp/update_codec.hpp"
#include "common/ip.hpp"
#include "common/log.hpp"
#include "common/types.hpp"

namespace ferry::bgp {

struct SessionConfig {
  std::string name;
  IpAddress peer;
  uint16_t port = 179;
  std::optional<IpAddress> local_address;
  Asn local_asn;
  RouterId router_id;
  Asn remote_asn;
  bool passive = false;
  uint16_t hold_time = 90;
  uint16_t connect_retry = 5;
  std::string password;  // TCP-MD5
  bool ttl_security = false;
  uint8_t multihop = 1;
  bool ipv4 = true;
  bool ipv6 = true;
  bool graceful_restart = false;
  uint16_t graceful_restart_time = 120;
  // Graceful restart, restarting-speaker role (RFC 4724 §3, §4.1); only with
  // graceful_restart. gr_preserve: we can keep forwarding across a restart, so
  // the capability lists our families (without it: helper role only).
  // gr_restarting: the R bit (we restarted and are re-converging).
  // gr_forwarding_preserved: the F bit of every listed family (the forwarding
  // state survived the previous restart). Changing them needs no reset: they
  // go into the next OPEN.
  bool gr_preserve = false;
  bool gr_restarting = false;
  bool gr_forwarding_preserved = false;
  bool ibgp() const { return local_asn == remote_asn; }
  // Fields whose change needs the session to be reset.
  bool needs_reset(const SessionConfig& o) const;
};

struct SessionCounters {
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  uint64_t updates_in = 0;
  uint64_t updates_out = 0;
  uint64_t update_errors = 0;  // RFC 7606 non-fatal outcomes (counted, session kept)
  uint64_t notifications_in = 0;
  uint64_t notifications_out = 0;
  uint64_t established_count = 0;
  uint64_t gtsm_refused = 0;  // incoming connections whose SYN failed RFC 5082 §3
};

// Why an Established session went down, as a monitoring station is told
// (RFC 7854 §4.9 reasons 1-4). Set before SessionListener::session_down.
struct DownCause {
  enum class Kind : uint8_t {
    LocalNotification = 1,    // we sent a NOTIFICATION (it is in `notification`)
    LocalNoNotification = 2,  // we closed without one (BFD, admin)
    RemoteNotification = 3,   // the peer sent a NOTIFICATION (in `notification`)
    RemoteNoNotification = 4  // the connection failed or the peer closed it
  };
  Kind kind = Kind::RemoteNoNotification;
  std::vector<uint8_t> notification;  // the whole message, header included
};

class Session;

class SessionListener {
 public:
  virtual ~SessionListener() = default;
  virtual void session_established(Session& s) = 0;
  // graceful: the peer negotiated graceful restart and the loss was not a
  // NOTIFICATION/admin stop, so its routes may be kept as stale (RFC 4724 §4.2).
  virtual void session_down(Session& s, const std::string& reason, bool graceful) = 0;
  // One UPDATE (RFC 7606 treat-as-withdraw already moved its NLRI to withdrawn).
  virtual void session_update(Session& s, DecodedUpdate& u) = 0;
  virtual void session_route_refresh(Session& s, const RouteRefresh& r) = 0;
  // The output queue drained below the watermark: more UPDATEs may be written.
  virtual void session_writable(Session& s) = 0;
  virtual void session_state(Session& s, FsmState from, FsmState to) {
    (void)s, (void)from, (void)to;
  }
};

class Session {
 public:
  Session(asio::io_context& io, SessionConfig cfg, SessionListener& listener);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const SessionConfig& config() const { return cfg_; }
  // Applies a config that does not need a reset (hold time etc. take effect next time).
  void set_config(const SessionConfig& cfg);

  void start();  // ManualStart (passive if configured)
  // ManualStop with a Cease NOTIFICATION (e.g. Notification::shutdown(2, "maintenance")).
  void stop(const Notification& n);
  // AutomaticStop: NOTIFICATION, then reconnect after restart_after (or the idle-hold backoff).
  void restart(const Notification& n, std::optional<std::chrono::seconds> restart_after = {});
  // BFD says the path is down: drop the connection now (no NOTIFICATION can get through).
  void bfd_down();
  // Held down from outside (the path's shared liveness is down, or strict mode waits
  // for BFD): ManualStop with n (RFC 9384 §2: Cease / BFD Down when BFD said so), no
  // reconnect and incoming connections refused until start(). Without n the
  // connection is dropped as bfd_down() does (no NOTIFICATION: a graceful-restart
  // peer's routes are kept stale, RFC 4724 §4.2, RFC 5882 §4.3.1). why becomes last_error().
  void hold(const std::optional<Notification>& n, const std::string& why);
  // An incoming TCP connection from this neighbour; false if it was refused (then closed).
  bool accept(asio::ip::tcp::socket sock);

  FsmState state() const;
  bool established() const { return state() == FsmState::Established; }
  std::chrono::steady_clock::time_point established_at() const { return established_at_; }
  const std::string& last_error() const { return last_error_; }
  const Negotiated& negotiated() const { return negotiated_; }
  const OpenMessage& remote_open() const { return remote_open_; }
  UpdateEncoder& encoder() { return encoder_; }
  // Address of our end of the established connection (next-hop-self).
  std::optional<IpAddress> local_endpoint() const { return local_ep_; }
  const SessionCounters& counters() const { return counters_; }
  bool peer_graceful_restart() const { return remote_open_.caps.graceful_restart.has_value(); }
  // RFC 4724 §4.2: routes are retained only for the families the peer listed, for its
  // Restart Time; a capability with neither (GR-aware only) asks for nothing.
  bool peer_wants_routes_kept() const {
    const auto& gr = remote_open_.caps.graceful_restart;
    return gr && gr->restart_time > 0 && !gr->families.empty();
  }
  // RFC 8538 §2: both sides set the N bit, so a NOTIFICATION (other than a
  // Hard Reset) is handled as a graceful restart.
  bool notification_gr() const {
    const auto& gr = remote_open_.caps.graceful_restart;
    return cfg_.graceful_restart && gr && gr->notification;
  }

  // Output: only valid while established.
  std::vector<uint8_t>& out();
  // Hands out() to the socket; counts the UPDATEs (updates_written) and restarts the keepalive
  // timer.
  void flush(size_t updates_written = 0);
  size_t queued() const;
  void send_route_refresh(const RouteRefresh& r);

  static constexpr size_t kWriteWatermark = 512 * 1024;

  // The OPEN we send with the current config (capabilities incl. graceful restart).
  OpenMessage local_open() const;

  // The two OPEN messages of the established session, header included, as they
  // went over the wire, and the TCP ports of its connection (for monitoring,
  // RFC 7854 §4.10). Kept until the next session is established.
  const std::vector<uint8_t>& open_sent() const { return open_sent_; }
  const std::vector<uint8_t>& open_received() const { return open_received_; }
  uint16_t local_port() const { return local_port_; }
  uint16_t remote_port() const { return remote_port_; }
  // Why the last Established session went down (valid in session_down and after).
  const DownCause& down_cause() const { return down_cause_; }

 private:
  struct Slot;
  friend struct Slot;

  std::unique_ptr<Slot> make_slot(bool primary_role);
  void on_frame(Slot& s, const Frame& f);
  void on_open(Slot& s, const Frame& f);
  void on_update(Slot& s, const Frame& f);
  void on_notification(Slot& s, const Frame& f);
  void on_route_refresh(Slot& s, const Frame& f);
  void connect(Slot& s);
  void established(Slot& s);
  void went_down(Slot& s, const std::string& reason);
  void send_open(Slot& s);
  void drop_slot(std::unique_ptr<Slot> s);
  void rearm();
  void on_timer();
  FsmTime now() const { return FsmClock::now(); }

  asio::io_context& io_;
  SessionConfig cfg_;
  SessionListener& listener_;
  std::unique_ptr<Slot> primary_;
  std::unique_ptr<Slot> secondary_;  // collision candidate (incoming)
  asio::steady_timer timer_;
  OpenMessage remote_open_;
  Negotiated negotiated_;
  CodecOptions codec_opts_;
  UpdateEncoder encoder_;
  DecodedUpdate decoded_;  // reused: no allocation per UPDATE once warm
  std::optional<IpAddress> local_ep_;
  std::chrono::steady_clock::time_point established_at_{};
  std::string last_error_;
  std::vector<uint8_t> open_sent_;  // of the established session (see open_sent())
  std::vector<uint8_t> open_received_;
  uint16_t local_port_ = 0;
  uint16_t remote_port_ = 0;
  DownCause down_cause_;
  std::vector<uint8_t> notification_bytes_;  // the last NOTIFICATION sent or received
  bool local_close_ = false;                 // we dropped the connection without a NOTIFICATION
  bool notification_in_ = false;             // a NOTIFICATION came in since Established
  bool notification_out_ = false;            // we sent one since Established
  bool hard_reset_ = false;  // ... and it was a Hard Reset (RFC 8538 §3), either way
  bool timer_armed_ = false;
  FsmTime armed_at_{};
  std::vector<uint8_t> scratch_;  // out() when there is no connection (discarded)
  bool admin_stop_ = false;
  bool hold_down_ = false;  // restart() with an explicit delay: refuse incoming until then
  SessionCounters counters_;
  RateLimitedLog log_limit_;
  std::shared_ptr<bool> alive_;  // guards posted callbacks after destruction
};

}  // namespace ferry::bgp
