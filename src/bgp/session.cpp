#include "bgp/session.hpp"

#include "bgp/nlri.hpp"
#include "bgp/transport.hpp"

namespace ferry::bgp {

namespace {

FsmNotify to_fsm(const Notification& n) {
  return FsmNotify{n.code, n.subcode, n.data};
}
Notification from_fsm(const FsmNotify& n) {
  return Notification{n.code, n.subcode, n.data};
}

}  // namespace

bool SessionConfig::needs_reset(const SessionConfig& o) const {
  return peer != o.peer || port != o.port || local_address != o.local_address ||
         local_asn != o.local_asn || router_id != o.router_id || remote_asn != o.remote_asn ||
         passive != o.passive || password != o.password || ttl_security != o.ttl_security ||
         multihop != o.multihop || ipv4 != o.ipv4 || ipv6 != o.ipv6 ||
         graceful_restart != o.graceful_restart || hold_time != o.hold_time;
}

// One connection slot: an FSM and the TCP link it drives.
struct Session::Slot : FsmHooks, LinkOwner {
  Session& s;
  Fsm fsm;
  std::shared_ptr<TcpLink> link;
  std::shared_ptr<asio::ip::tcp::socket> connecting;  // outgoing connect in progress
  bool outgoing = false;                              // link was initiated by us
  OpenMessage open;                                   // the peer's OPEN on this link
  std::vector<uint8_t> open_bytes_in;                 // ... as received (header included)
  std::vector<uint8_t> open_bytes_out;                // our OPEN on this link, as sent
  std::shared_ptr<bool> token = std::make_shared<bool>(true);

  Slot(Session& sess, const FsmConfig& c) : s(sess), fsm(*this, c) {}
  ~Slot() override {
    if (link) link->close();
    if (connecting) {
      asio::error_code ec;
      connecting->close(ec);
    }
  }
  bool is_primary() const { return s.primary_.get() == this; }

  void fsm_connect() override { s.connect(*this); }
  void fsm_disconnect() override {
    if (connecting) {
      asio::error_code ec;
      connecting->close(ec);
      connecting.reset();
      // The connect got no answer at all before ConnectRetry: the kernel drops
      // segments with a wrong TCP-MD5 signature silently (RFC 2385 §2), so say so.
      if (is_primary() && !s.admin_stop_)
        s.last_error_ = s.cfg_.password.empty()
                            ? "connect: no answer (peer down or filtered)"
                            : "connect: no answer (peer down, filtered, or TCP-MD5 key mismatch)";
    }
    if (link) {
      link->close();
      link.reset();
    }
  }
  void fsm_send_open() override { s.send_open(*this); }
  void fsm_send_keepalive() override {
    if (!link) return;
    encode_keepalive(link->out());
    link->flush();
    ++s.counters_.messages_out;
  }
  void fsm_send_notification(const FsmNotify& fn) override {
    Notification n = from_fsm(fn);
    // RFC 8538 §3: with the N bit on both sides, a NOTIFICATION meant as a
    // full reset goes out as Cease/Hard Reset carrying it.
    const bool established = fsm.state() == FsmState::Established;
    if (established && s.notification_gr() && n.wants_hard_reset() && !n.is_hard_reset())
      n = Notification::hard_reset(n);
    std::vector<uint8_t> bytes;
    encode_notification(n, bytes);
    if (is_primary()) {
      s.last_error_ = "sent " + n.describe();
      s.notification_out_ = true;
      if (n.is_hard_reset()) s.hard_reset_ = true;
      s.notification_bytes_ = bytes;
    }
    ++s.counters_.notifications_out;
    if (!link) return;
    link->close_with(std::move(bytes));
    link.reset();
  }
  void fsm_established() override { s.established(*this); }
  void fsm_session_down(const std::string& reason) override { s.went_down(*this, reason); }
  void fsm_state_changed(FsmState from, FsmState to) override {
    if (is_primary()) s.listener_.session_state(s, from, to);
  }

  void link_frame(const Frame& f) override { s.on_frame(*this, f); }
  void link_framing_error(const Notification& n) override {
    fsm.message_error(FsmEvent::BgpHeaderErr, to_fsm(n), s.now());
    s.rearm();
  }
  void link_failed(const std::string& reason) override {
    if (is_primary() && fsm.state() >= FsmState::OpenSent) s.last_error_ = reason;
    fsm.handle(FsmEvent::TcpConnectionFails, s.now());
    s.rearm();
  }
  void link_drained() override {
    if (is_primary() && fsm.state() == FsmState::Established) s.listener_.session_writable(s);
  }
};

Session::Session(asio::io_context& io, SessionConfig cfg, SessionListener& listener)
    : io_(io),
      cfg_(std::move(cfg)),
      listener_(listener),
      timer_(io),
      alive_(std::make_shared<bool>(true)) {
  primary_ = make_slot(true);
}

Session::~Session() {
  timer_.cancel();
  secondary_.reset();
  primary_.reset();
}

std::unique_ptr<Session::Slot> Session::make_slot(bool primary_role) {
  FsmConfig c;
  c.hold_time = cfg_.hold_time;
  c.connect_retry = std::chrono::seconds(cfg_.connect_retry);
  c.passive = cfg_.passive;
  c.auto_restart = primary_role;
  return std::make_unique<Slot>(*this, c);
}

void Session::set_config(const SessionConfig& cfg) {
  cfg_ = cfg;
  FsmConfig c = primary_->fsm.config();
  c.hold_time = cfg_.hold_time;
  c.connect_retry = std::chrono::seconds(cfg_.connect_retry);
  c.passive = cfg_.passive;
  primary_->fsm.set_config(c);
}

FsmState Session::state() const {
  return primary_->fsm.state();
}

void Session::start() {
  admin_stop_ = false;
  hold_down_ = false;
  primary_->fsm.handle(cfg_.passive ? FsmEvent::ManualStartPassive : FsmEvent::ManualStart, now());
  rearm();
}

void Session::stop(const Notification& n) {
  admin_stop_ = true;
  if (secondary_) {
    secondary_->fsm.stop(true, to_fsm(n), now());
    drop_slot(std::move(secondary_));
  }
  primary_->fsm.stop(true, to_fsm(n), now());
  rearm();
}

void Session::restart(const Notification& n, std::optional<std::chrono::seconds> restart_after) {
  if (secondary_) {
    secondary_->fsm.stop(true, to_fsm(n), now());
    drop_slot(std::move(secondary_));
  }
  hold_down_ = restart_after.has_value();
  std::optional<FsmDuration> after;
  if (restart_after) after = std::chrono::duration_cast<FsmDuration>(*restart_after);
  primary_->fsm.stop(false, to_fsm(n), now(), after);
  rearm();
}

void Session::hold(const std::optional<Notification>& n, const std::string& why) {
  if (!n) bfd_down();  // the connection is gone; stop() below has nothing left to send on
  stop(n.value_or(Notification{kErrCease, kSubBfdDown, {}}));
  last_error_ = why;  // after stop(): it records the NOTIFICATION it sent
}

void Session::bfd_down() {
  if (secondary_) drop_slot(std::move(secondary_));
  if (primary_->fsm.state() == FsmState::Idle) return;
  last_error_ = "BFD session down";
  local_close_ = true;
  primary_->fsm.handle(FsmEvent::TcpConnectionFails, now());
  // TcpConnectionFails leaves Established for Idle, but from OpenSent it goes to Active;
  // either way the connection is gone now.
  rearm();
}

namespace {
void apply_socket_options(const SessionConfig& cfg, asio::ip::tcp::socket& sock,
                          RateLimitedLog& limit) {
  int fd = sock.native_handle();
  Family f = cfg.peer.family();
  auto warn = [&](const Result<void>& r) {
    if (!r && limit.allow()) spdlog::warn("bgp {}: {}", cfg.name, r.error());
  };
  warn(set_bgp_socket_defaults(fd));
  if (cfg.ttl_security) {
    warn(set_gtsm(fd, f, cfg.ibgp() ? 1 : cfg.multihop));
  } else if (!cfg.ibgp()) {
    // eBGP: TTL 1 unless multihop (RFC 4271 does not say; every implementation does this).
    warn(set_ttl(fd, f, cfg.multihop == 0 ? 1 : cfg.multihop));
  }
}
}  // namespace

bool Session::accept(asio::ip::tcp::socket sock) {
  asio::error_code ec;
  if (cfg_.ttl_security) {
    // First, before a connection can affect the session state (e.g. replace a GR
    // peer's established session). RFC 5082 §3: accept only what was sent with TTL 255 from at most
    // `hops` away. The SYN's own TTL (saved by the listener) is checked, since IP_MINTTL applied to
    // this socket below covers only the segments that arrive from now on.
    const int hops = cfg_.ibgp() ? 1 : cfg_.multihop;
    Result<int> ttl = saved_syn_ttl(sock.native_handle());
    if (!ttl || *ttl < 256 - hops) {
      ++counters_.gtsm_refused;
      last_error_ = ttl ? "GTSM: refused a connection whose SYN arrived with TTL " +
                              std::to_string(*ttl) + " (need >= " + std::to_string(256 - hops) + ")"
                        : "GTSM: refused a connection: " + ttl.error();
      if (log_limit_.allow()) spdlog::warn("bgp {}: {}", cfg_.name, last_error_);
      sock.close(ec);
      return false;
    }
  }
  FsmState st = primary_->fsm.state();
  // A peer that just lost its session (e.g. restarted) reconnects at once; do not make it
  // wait out our idle-hold backoff (its own retry timer may be minutes). An explicit
  // hold-down (max-prefix) or an administrative stop still refuses.
  if (st == FsmState::Established && cfg_.graceful_restart && peer_graceful_restart()) {
    // RFC 4724 §4.2: a new connection while Established means the peer restarted; the old
    // session is dead (its routes become stale, not withdrawn) and the new one proceeds.
    last_error_ = "peer restarted (new connection while established)";
    primary_->fsm.handle(FsmEvent::TcpConnectionFails, now());
    st = primary_->fsm.state();
  }
  if (st == FsmState::Idle && primary_->fsm.idle_hold_running() && !hold_down_ && !admin_stop_) {
    primary_->fsm.handle(FsmEvent::IdleHoldTimerExpires, now());
    st = primary_->fsm.state();
  }
  auto refuse = [&] {
    sock.close(ec);
    return false;
  };
  if (st == FsmState::Idle || st == FsmState::Established) return refuse();
  apply_socket_options(cfg_, sock, log_limit_);
  // While our own connect is in flight, the peer may be accepting it right now: killing it
  // would kill the connection the peer keeps (both sides doing so loses both). Keep it and
  // let the incoming one be the collision candidate instead (§6.8 decides on OPEN).
  bool connect_in_flight = st == FsmState::Connect && primary_->connecting;
  if ((st == FsmState::Connect || st == FsmState::Active) && !connect_in_flight) {
    Slot& p = *primary_;
    p.link = std::make_shared<TcpLink>(std::move(sock), &p);
    p.outgoing = false;
    p.fsm.handle(FsmEvent::TcpConnectionConfirmed, now());
    rearm();
    return true;
  }
  // OpenSent / OpenConfirm (or Connect in flight): a second connection; §6.8 decides once
  // an OPEN arrives.
  if (secondary_) return refuse();
  secondary_ = make_slot(false);
  Slot& s = *secondary_;
  s.link = std::make_shared<TcpLink>(std::move(sock), &s);
  s.outgoing = false;
  s.fsm.handle(FsmEvent::ManualStartPassive, now());
  s.fsm.handle(FsmEvent::TcpConnectionConfirmed, now());
  rearm();
  return true;
}

void Session::connect(Slot& slot) {
  auto sock = std::make_shared<asio::ip::tcp::socket>(io_);
  asio::error_code ec;
  asio::ip::tcp::endpoint remote(to_asio(cfg_.peer), cfg_.port);
  sock->open(remote.protocol(), ec);
  if (!ec && cfg_.local_address) {
    sock->bind(asio::ip::tcp::endpoint(to_asio(*cfg_.local_address), 0), ec);
  }
  if (ec) {
    last_error_ = "connect: " + ec.message();
    // Report the failure asynchronously: we are inside an FSM hook.
    asio::post(io_, [this, w = std::weak_ptr<bool>(slot.token), &slot] {
      if (w.expired()) return;
      slot.fsm.handle(FsmEvent::TcpConnectionFails, now());
      rearm();
    });
    return;
  }
  apply_socket_options(cfg_, *sock, log_limit_);
  if (!cfg_.password.empty()) {
    if (auto r = set_tcp_md5(sock->native_handle(), cfg_.peer, cfg_.password); !r) {
      if (log_limit_.allow()) spdlog::warn("bgp {}: {}", cfg_.name, r.error());
    }
  }
  slot.connecting = sock;
  sock->async_connect(
      remote, [this, w = std::weak_ptr<bool>(slot.token), &slot, sock](asio::error_code ec) {
        if (w.expired() || slot.connecting != sock) return;  // cancelled or superseded
        slot.connecting.reset();
        if (ec) {
          if (slot.is_primary()) last_error_ = "connect: " + ec.message();
          slot.fsm.handle(FsmEvent::TcpConnectionFails, now());
        } else {
          slot.link = std::make_shared<TcpLink>(std::move(*sock), &slot);
          slot.outgoing = true;
          slot.fsm.handle(FsmEvent::TcpCrAcked, now());
        }
        rearm();
      });
}

OpenMessage Session::local_open() const {
  OpenMessage m;
  m.my_as = open_my_as(cfg_.local_asn.value());
  m.hold_time = cfg_.hold_time;
  m.bgp_id = cfg_.router_id;
  if (cfg_.ipv4) m.caps.multiprotocol.push_back(AfiSafi{kAfiIpv4, kSafiUnicast});
  if (cfg_.ipv6) m.caps.multiprotocol.push_back(AfiSafi{kAfiIpv6, kSafiUnicast});
  m.caps.route_refresh = true;
  m.caps.enhanced_route_refresh = true;
  m.caps.extended_message = true;
  m.caps.four_octet_as = cfg_.local_asn.value();
  if (cfg_.graceful_restart) {
    // RFC 4724 §3: no families listed = we act as the receiving speaker (helper) only.
    GracefulRestartCap gr;
    gr.notification = true;  // RFC 8538 §2: N bit
    gr.restart_time = static_cast<uint16_t>(std::min<uint32_t>(cfg_.graceful_restart_time, 4095));
    if (cfg_.gr_preserve) {
      // §3: Restart State (R) while we re-converge after a restart; one <AFI, SAFI,
      // Flags> per family we preserve forwarding state for, Forwarding State (F) set
      // when it was indeed preserved across the previous restart.
      gr.restart_state = cfg_.gr_restarting;
      for (const AfiSafi& af : m.caps.multiprotocol)
        gr.families.push_back(GracefulRestartCap::Family{af, cfg_.gr_forwarding_preserved});
    }
    m.caps.graceful_restart = gr;
  } else {
    // RFC 4724 §3: the capability with no <AFI, SAFI> says only that we understand
    // End-of-RIB (§2); restart time 0 asks nobody to keep our routes. Peers such as
    // FRR send End-of-RIB only to speakers that advertise the capability, and hold a
    // ROUTE-REFRESH that arrives "before EoR" until they have sent it, so without it
    // our refresh requests were never answered.
    m.caps.graceful_restart = GracefulRestartCap{};
  }
  return m;
}

void Session::send_open(Slot& slot) {
  if (!slot.link) return;
  std::vector<uint8_t>& out = slot.link->out();
  const size_t at = out.size();
  encode_open(local_open(), out);
  slot.open_bytes_out.assign(out.begin() + static_cast<std::ptrdiff_t>(at), out.end());
  slot.link->flush();
  slot.link->start_reading();
  ++counters_.messages_out;
}

void Session::drop_slot(std::unique_ptr<Slot> s) {
  if (!s) return;
  // We may be inside one of its callbacks: destroy it from the event loop.
  Slot* raw = s.release();
  asio::post(io_, [raw] { delete raw; });
}

void Session::on_frame(Slot& slot, const Frame& f) {
  ++counters_.messages_in;
  switch (f.type) {
    case MessageType::Open:
      on_open(slot, f);
      break;
    case MessageType::Update:
      on_update(slot, f);
      break;
    case MessageType::Notification:
      on_notification(slot, f);
      break;
    case MessageType::Keepalive:
      slot.fsm.handle(FsmEvent::KeepAliveMsg, now());
      break;
    case MessageType::RouteRefresh:
      on_route_refresh(slot, f);
      break;
  }
  rearm();
}

void Session::on_open(Slot& slot, const Frame& f) {
  OpenMessage m;
  if (auto err = decode_open(f.body, m)) {
    slot.fsm.message_error(FsmEvent::BgpOpenMsgErr, to_fsm(*err), now());
    return;
  }
  OpenPolicy pol;
  pol.local_as = cfg_.local_asn.value();
  pol.local_id = cfg_.router_id;
  pol.peer_as = cfg_.remote_asn.value();
  if (auto err = validate_open(m, pol)) {
    slot.fsm.message_error(FsmEvent::BgpOpenMsgErr, to_fsm(*err), now());
    return;
  }
  Slot* other = &slot == primary_.get() ? secondary_.get() : primary_.get();
  auto opening = [](const Slot* s) {
    return s && (s->fsm.state() == FsmState::OpenSent || s->fsm.state() == FsmState::OpenConfirm);
  };
  if (other && opening(other)) {
    // RFC 4271 §6.8: the connection opened by the side with the higher BGP ID survives.
    bool close_outgoing = collision_close_outgoing(cfg_.router_id, m.bgp_id);
    Slot* loser;
    if (slot.outgoing != other->outgoing) {
      loser = slot.outgoing == close_outgoing ? &slot : other;
    } else {
      loser = secondary_.get();
    }
    loser->fsm.handle(FsmEvent::OpenCollisionDump, now());
    if (loser == primary_.get()) {
      auto old = std::move(primary_);
      primary_ = std::move(secondary_);
      primary_->fsm.adopt(old->fsm.config(), cfg_.passive);
      drop_slot(std::move(old));
    } else {
      drop_slot(std::move(secondary_));
    }
    if (loser == &slot) return;
  } else if (&slot == secondary_.get()) {
    // The primary lost its connection meanwhile: this one takes over.
    auto old = std::move(primary_);
    primary_ = std::move(secondary_);
    primary_->fsm.adopt(old->fsm.config(), cfg_.passive);
    old->fsm.stop(true, FsmNotify{kNotifyCease, kCeaseCollision, {}}, now());
    drop_slot(std::move(old));
  }
  slot.open = std::move(m);
  slot.open_bytes_in.assign(f.message.begin(), f.message.end());
  slot.fsm.open_received(slot.open.hold_time, now());
}

void Session::established(Slot& slot) {
  remote_open_ = slot.open;
  negotiated_ = negotiate(local_open(), remote_open_);
  codec_opts_ = CodecOptions{};
  codec_opts_.four_octet_as = negotiated_.four_octet_as;
  codec_opts_.extended_message = negotiated_.extended_message;
  codec_opts_.ebgp = !cfg_.ibgp();
  codec_opts_.enforce_first_as = !cfg_.ibgp();
  codec_opts_.peer_as = cfg_.remote_asn.value();
  encoder_.set_options(codec_opts_);
  if (slot.link) {
    slot.link->set_max_message(codec_opts_.max_message_size());
    asio::error_code ec;
    auto ep = slot.link->socket().local_endpoint(ec);
    if (!ec) local_ep_ = from_asio(ep.address());
    local_port_ = ec ? 0 : ep.port();
    auto rep = slot.link->socket().remote_endpoint(ec);
    remote_port_ = ec ? 0 : rep.port();
  }
  open_sent_ = slot.open_bytes_out;
  open_received_ = slot.open_bytes_in;
  local_close_ = false;
  notification_bytes_.clear();
  established_at_ = std::chrono::steady_clock::now();
  notification_in_ = false;
  notification_out_ = false;
  hard_reset_ = false;
  hold_down_ = false;
  last_error_.clear();
  ++counters_.established_count;
  listener_.session_established(*this);
}

void Session::went_down(Slot& slot, const std::string& reason) {
  (void)slot;
  // RFC 4724 §4.2: the helper keeps routes when the session drops without a NOTIFICATION.
  bool graceful = cfg_.graceful_restart && peer_wants_routes_kept() && !admin_stop_;
  if (notification_gr())
    graceful = graceful && !hard_reset_;  // RFC 8538 §4: only a Hard Reset flushes
  else
    graceful = graceful && !notification_in_ && !notification_out_;
  if (last_error_.empty()) last_error_ = reason;
  // RFC 7854 §4.9: who closed the session and with which NOTIFICATION, if any.
  down_cause_ = DownCause{};
  if (notification_out_) {
    down_cause_.kind = DownCause::Kind::LocalNotification;
    down_cause_.notification = notification_bytes_;
  } else if (notification_in_) {
    down_cause_.kind = DownCause::Kind::RemoteNotification;
    down_cause_.notification = notification_bytes_;
  } else if (local_close_ || admin_stop_) {
    down_cause_.kind = DownCause::Kind::LocalNoNotification;
  }
  local_ep_.reset();
  listener_.session_down(*this, last_error_.empty() ? reason : last_error_, graceful);
}

void Session::on_update(Slot& slot, const Frame& f) {
  if (slot.fsm.state() != FsmState::Established) {
    slot.fsm.handle(FsmEvent::UpdateMsg, now());
    return;
  }
  ++counters_.updates_in;
  decode_update(f.body, codec_opts_, decoded_);
  if (decoded_.outcome == UpdateOutcome::SessionReset) {
    slot.fsm.message_error(FsmEvent::UpdateMsgErr, to_fsm(decoded_.notification), now());
    return;
  }
  if (decoded_.outcome != UpdateOutcome::Ok) {
    // RFC 7606: the session stays up; count and log at a sane rate.
    ++counters_.update_errors;
    if (log_limit_.allow()) {
      const char* why = decoded_.issues.empty() ? "" : decoded_.issues.front().reason;
      spdlog::warn("bgp {}: UPDATE error handled as {} ({}), {} suppressed", cfg_.name,
                   outcome_name(decoded_.outcome), why, log_limit_.take_suppressed());
    }
  }
  slot.fsm.handle(FsmEvent::UpdateMsg, now());
  listener_.session_update(*this, decoded_);
}

void Session::on_notification(Slot& slot, const Frame& f) {
  Notification n = decode_notification(f.body);
  ++counters_.notifications_in;
  if (&slot == primary_.get()) {
    last_error_ = "received " + n.describe();
    notification_in_ = true;
    if (n.is_hard_reset()) hard_reset_ = true;
    notification_bytes_.assign(f.message.begin(), f.message.end());
  }
  bool version = n.code == kErrOpen && n.subcode == kSubUnsupportedVersion;
  slot.fsm.handle(version ? FsmEvent::NotifMsgVerErr : FsmEvent::NotifMsg, now());
}

void Session::on_route_refresh(Slot& slot, const Frame& f) {
  if (slot.fsm.state() != FsmState::Established) return;
  RouteRefresh rr;
  Notification err;
  switch (decode_route_refresh(f.message, rr, err)) {
    case RefreshDecode::Error:
      slot.fsm.message_error(FsmEvent::UpdateMsgErr, to_fsm(err), now());
      return;
    case RefreshDecode::Ignore:
      return;
    case RefreshDecode::Ok:
      break;
  }
  // RFC 2918 §4: a refresh for a family not negotiated is ignored.
  bool known = false;
  for (auto& af : negotiated_.families) known |= af == rr.af;
  if (known) listener_.session_route_refresh(*this, rr);
}

std::vector<uint8_t>& Session::out() {
  if (primary_->link) return primary_->link->out();
  scratch_.clear();
  return scratch_;
}

void Session::flush(size_t updates_written) {
  if (!primary_->link) return;
  counters_.updates_out += updates_written;
  counters_.messages_out += updates_written;
  primary_->link->flush();
  if (updates_written) {
    primary_->fsm.message_sent(now());
    rearm();
  }
}

size_t Session::queued() const {
  return primary_->link ? primary_->link->queued() : 0;
}

void Session::send_route_refresh(const RouteRefresh& r) {
  if (!established() || !primary_->link) return;
  encode_route_refresh(r, primary_->link->out());
  ++counters_.messages_out;
  primary_->link->flush();
}

void Session::rearm() {
  // A second connection that lost its TCP connection has nothing left to offer.
  if (secondary_ && secondary_->fsm.state() < FsmState::OpenSent) drop_slot(std::move(secondary_));
  std::optional<FsmTime> next = primary_->fsm.next_deadline();
  if (secondary_) {
    auto d = secondary_->fsm.next_deadline();
    if (d && (!next || *d < *next)) next = d;
  }
  if (!next) return;
  // Re-arming costs a syscall; only do it when the deadline moves earlier. A timer that
  // fires early (the hold timer was pushed back) just finds nothing due and re-arms.
  if (timer_armed_ && armed_at_ <= *next) return;
  timer_armed_ = true;
  armed_at_ = *next;
  timer_.expires_at(*next);
  timer_.async_wait([this, w = std::weak_ptr<bool>(alive_), at = *next](asio::error_code ec) {
    if (ec || w.expired()) return;
    if (!timer_armed_ || armed_at_ != at) return;
    timer_armed_ = false;
    on_timer();
  });
}

void Session::on_timer() {
  FsmTime t = now();
  primary_->fsm.on_timer(t);
  if (secondary_) secondary_->fsm.on_timer(t);
  rearm();
}

}  // namespace ferry::bgp
