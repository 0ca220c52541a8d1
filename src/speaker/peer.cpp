#include "speaker/peer.hpp"

#include <spdlog/spdlog.h>

#include "bgp/nlri.hpp"
#include "common/log.hpp"
#include "speaker/speaker.hpp"

namespace ferry::speaker {

namespace {
int fam_index(Family f) {
  return f == Family::V4 ? 0 : 1;
}
Family family_of(const bgp::AfiSafi& af) {
  return af.afi == bgp::kAfiIpv6 ? Family::V6 : Family::V4;
}
}  // namespace

bgp::SessionConfig Peer::session_config(const Options& o, const config::BgpNeighborConfig& n) {
  bgp::SessionConfig s;
  s.name = n.name;
  s.peer = n.address;
  s.port = n.port;
  s.local_address = n.local_address;
  s.local_asn = o.local_asn;
  s.router_id = o.router_id;
  s.remote_asn = n.remote_asn;
  s.passive = n.passive;
  s.hold_time = n.hold_time;
  s.connect_retry = n.connect_retry;
  s.password = n.password;
  s.ttl_security = n.ttl_security;
  s.multihop = n.multihop;
  s.ipv4 = n.ipv4;
  s.ipv6 = n.ipv6;
  s.graceful_restart = n.graceful_restart;
  s.graceful_restart_time = static_cast<uint16_t>(o.graceful_restart_time);
  return s;
}

Peer::Peer(Speaker& sp, const config::BgpNeighborConfig& cfg)
    : sp_(sp), cfg_(cfg), stale_timer_(sp.io()) {
  id_ = sp_.rib().add_peer(rib::PeerConfig::from(cfg_));
  session_ = std::make_unique<bgp::Session>(sp_.io(), make_session_config(), *this);
}

bgp::SessionConfig Peer::make_session_config() const {
  bgp::SessionConfig sc = session_config(sp_.options(), cfg_);
  sp_.fill_restart_state(sc);
  return sc;
}

void Peer::refresh_session_config() {
  bgp::SessionConfig sc = make_session_config();
  if (!session_->config().needs_reset(sc)) session_->set_config(sc);
}

MonitoredPeer Peer::monitored() const {
  MonitoredPeer m;
  m.id = id_;
  m.name = cfg_.name;
  m.address = cfg_.address;
  m.remote_asn = cfg_.remote_asn;
  m.bgp_id = session_->remote_open().bgp_id;
  if (auto l = session_->local_endpoint()) {
    m.local_address = *l;
  } else if (cfg_.local_address) {
    m.local_address = *cfg_.local_address;
  }
  m.local_port = session_->local_port();
  m.remote_port = session_->remote_port();
  m.ibgp = session_->config().ibgp();
  const auto up_for = std::chrono::steady_clock::now() - session_->established_at();
  m.established_at = std::chrono::system_clock::now() -
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(up_for);
  m.open_sent = &session_->open_sent();
  m.open_received = &session_->open_received();
  return m;
}

bool Peer::initial_eor_complete() const {
  if (!session_->established()) return false;
  for (const bgp::AfiSafi& af : session_->negotiated().families)
    if (!eor_seen_[fam_index(family_of(af))]) return false;
  return true;
}

Peer::~Peer() {
  alive_.reset();
  stale_timer_.cancel();
}

void Peer::reconfigure(const config::BgpNeighborConfig& cfg) {
  cfg_ = cfg;
  sp_.rib().update_peer(id_, rib::PeerConfig::from(cfg_));
  bgp::SessionConfig sc = make_session_config();
  if (!session_->config().needs_reset(sc)) {
    session_->set_config(sc);
    return;
  }
  spdlog::info("bgp {}: session parameters changed, resetting", cfg_.name);
  // RFC 4486 §4: Cease / Other Configuration Change.
  session_->stop(bgp::Notification{bgp::kErrCease, bgp::kSubOtherConfigChange, {}});
  session_ = std::make_unique<bgp::Session>(sp_.io(), sc, *this);
  if (gate_open_) session_->start();
}

void Peer::start() {
  started_ = true;
  if (gate_open_) session_->start();
}

void Peer::set_gate(bool open, const std::string& why, bool bfd_cause) {
  if (open == gate_open_) return;
  gate_open_ = open;
  gate_reason_ = why;
  if (open) {
    spdlog::info("bgp {}: path usable again ({}), starting", cfg_.name, why);
    if (started_) session_->start();
    return;
  }
  spdlog::warn("bgp {}: holding the session down: {}", cfg_.name, why);
  // A graceful-restart peer may only have lost its control plane (our BFD runs
  // there: C bit clear, RFC 5882 §4.3.1): drop the connection without a
  // NOTIFICATION so its routes are kept stale (RFC 4724 §4.2); next hops through
  // the dead tunnel peer are unusable meanwhile anyway.
  if (cfg_.graceful_restart && session_->established() && session_->peer_wants_routes_kept()) {
    session_->hold(std::nullopt, "held down: " + why + " (graceful restart: routes kept stale)");
    return;
  }
  // RFC 9384 §2: Cease / BFD Down when BFD detected it; otherwise RFC 9003's
  // Administrative Reset with the reason as shutdown communication.
  session_->hold(bfd_cause ? bgp::Notification{bgp::kErrCease, bgp::kSubBfdDown, {}}
                           : bgp::Notification::shutdown(bgp::kSubAdminReset, why),
                 "held down: " + why);
}

void Peer::schedule_pump() {
  if (pump_scheduled_) return;
  pump_scheduled_ = true;
  asio::post(sp_.io(), [this, w = std::weak_ptr<bool>(alive_)] {
    if (w.expired()) return;
    pump();
  });
}

void Peer::pump() {
  pump_scheduled_ = false;
  // RFC 4724 §4.1: a restarting speaker sends nothing before its route selection.
  if (!session_->established() || sp_.deferring()) return;
  rib::Rib& rib = sp_.rib();
  bgp::UpdateEncoder& enc = session_->encoder();
  // Pull only while the socket queue is short: a slow peer holds back the RIB walk,
  // not our memory.
  while (session_->queued() < bgp::Session::kWriteWatermark) {
    rib::PullResult r = rib.pull_updates(id_, 4096);
    if (Monitor* m = sp_.monitor()) m->sent(monitored(), r);
    std::vector<uint8_t>& out = session_->out();
    size_t msgs = 0;
    if (!r.withdraw.empty()) msgs += enc.withdraw(r.withdraw, out);
    for (const rib::AnnounceBatch& b : r.announce) {
      auto res = enc.announce(*b.attrs, b.prefixes, out);
      if (res) {
        msgs += *res;
      } else if (log_limit_.allow()) {
        spdlog::warn("bgp {}: cannot encode {} prefixes: {}", cfg_.name, b.prefixes.size(),
                     res.error());
      }
    }
    for (Family f : r.end_of_rib) {
      enc.end_of_rib(f, out);
      ++msgs;
    }
    if (!r.more) {
      // RFC 7313 §4: the re-sent table is closed with an End-of-RIB-Refresh.
      for (Family f : {Family::V4, Family::V6}) {
        if (!eorr_due_[fam_index(f)]) continue;
        eorr_due_[fam_index(f)] = false;
        bgp::encode_route_refresh(bgp::RouteRefresh{bgp::AfiSafi{bgp::afi_of(f), bgp::kSafiUnicast},
                                                    bgp::RefreshSubtype::EndOfRibRefresh},
                                  out);
        ++msgs;
      }
    }
    session_->flush(msgs);
    if (!r.more) break;
  }
}

void Peer::session_writable(bgp::Session&) {
  pump();
}

void Peer::session_state(bgp::Session&, bgp::FsmState from, bgp::FsmState to) {
  spdlog::debug("bgp {}: {} -> {}", cfg_.name, bgp::fsm_state_name(from), bgp::fsm_state_name(to));
}

void Peer::session_established(bgp::Session& s) {
  rib::PeerSession ps;
  ps.router_id = s.remote_open().bgp_id;
  for (const bgp::AfiSafi& af : s.negotiated().families) {
    if (af.safi == bgp::kSafiUnicast && (af.afi == bgp::kAfiIpv4 || af.afi == bgp::kAfiIpv6))
      ps.families.push_back(family_of(af));
  }
  if (auto local = s.local_endpoint()) {
    if (local->is_v4()) {
      ps.local_v4 = local;
    } else {
      ps.local_v6 = local;
    }
  }
  if (cfg_.local_address) {
    if (cfg_.local_address->is_v4() && !ps.local_v4) ps.local_v4 = cfg_.local_address;
    if (cfg_.local_address->is_v6() && !ps.local_v6) ps.local_v6 = cfg_.local_address;
  }
  eorr_due_ = {};
  eor_seen_ = {};
  max_prefix_warned_ = false;
  log_event(spdlog::level::info, "bgp_session_established",
            {{"peer", cfg_.name},
             {"peer_address", cfg_.address.str()},
             {"peer_as", cfg_.remote_asn.value()},
             {"hold_time", s.negotiated().hold_time},
             {"router_id", ps.router_id.str()}},
            fmt::format("bgp {}: established (hold {} s, router id {})", cfg_.name,
                        s.negotiated().hold_time, ps.router_id.str()));
  sp_.rib().peer_up(id_, ps);
  if (Monitor* m = sp_.monitor()) m->peer_up(monitored());
  if (stale_active_) {
    // RFC 4724 §4.2: a family the restarted peer no longer lists in its capability,
    // or lists without the Forwarding State bit, lost its forwarding state: its
    // stale routes go now. The others wait for End-of-RIB, bounded by our timer.
    const auto& gr = s.remote_open().caps.graceful_restart;
    size_t swept = 0;
    bool still_stale = false;
    for (Family f : {Family::V4, Family::V6}) {
      bool kept = false;
      if (gr) {
        for (const auto& gf : gr->families)
          kept = kept ||
                 (gf.af.safi == bgp::kSafiUnicast &&
                  (gf.af.afi == bgp::kAfiIpv6) == (f == Family::V6) && gf.forwarding_preserved);
      }
      if (kept) {
        still_stale = true;
      } else {
        swept += sp_.rib().sweep_stale(id_, f);
      }
    }
    if (swept)
      spdlog::info("bgp {}: peer did not preserve forwarding state: removed {} stale routes",
                   cfg_.name, swept);
    if (still_stale) {
      stale_timer_.expires_after(std::chrono::seconds(s.config().graceful_restart_time));
      stale_timer_.async_wait([this, w = std::weak_ptr<bool>(alive_)](asio::error_code ec) {
        if (!ec && !w.expired()) sweep_all_stale();
      });
    } else {
      stale_timer_.cancel();
      stale_active_ = false;
    }
  }
  schedule_pump();
  sp_.check_restart_complete();
}

void Peer::sweep_all_stale() {
  stale_active_ = false;
  size_t n = sp_.rib().sweep_stale(id_, Family::V4) + sp_.rib().sweep_stale(id_, Family::V6);
  if (n) spdlog::info("bgp {}: removed {} stale routes", cfg_.name, n);
}

void Peer::session_down(bgp::Session& s, const std::string& reason, bool graceful) {
  eorr_due_ = {};
  if (Monitor* m = sp_.monitor()) m->peer_down(monitored(), s.down_cause());
  log_event(spdlog::level::info, "bgp_session_down",
            {{"peer", cfg_.name},
             {"peer_address", cfg_.address.str()},
             {"peer_as", cfg_.remote_asn.value()},
             {"reason", reason},
             {"graceful_restart", graceful}},
            fmt::format("bgp {}: session down: {}{}", cfg_.name, reason,
                        graceful ? " (graceful restart: keeping routes as stale)" : ""));
  if (graceful) {
    sp_.rib().peer_down(id_, true);
    stale_active_ = true;
    // RFC 4724 §4.2: keep them for the peer's advertised restart time.
    uint16_t t = s.remote_open().caps.graceful_restart->restart_time;
    stale_timer_.expires_after(std::chrono::seconds(t));
    stale_timer_.async_wait([this, w = std::weak_ptr<bool>(alive_)](asio::error_code ec) {
      if (!ec && !w.expired()) sweep_all_stale();
    });
  } else {
    stale_timer_.cancel();
    stale_active_ = false;
    sp_.rib().peer_down(id_, false);
  }
}

void Peer::session_update(bgp::Session& s, bgp::DecodedUpdate& u) {
  rib::Rib& rib = sp_.rib();
  if (!u.withdrawn.empty()) rib.withdraw(id_, u.withdrawn);
  if (!u.nlri.empty()) rib.announce(id_, u.attrs, u.nlri);
  if (!u.mp_nlri.empty()) rib.announce(id_, u.mp_attrs(), u.mp_nlri);
  if (u.end_of_rib) {
    rib.end_of_rib(id_, *u.end_of_rib);
    eor_seen_[fam_index(*u.end_of_rib)] = true;
    sp_.check_restart_complete();
    if (stale_active_) {
      bool all = true;
      for (const bgp::AfiSafi& af : s.negotiated().families)
        all = all && eor_seen_[fam_index(family_of(af))];
      if (all) {
        stale_active_ = false;
        stale_timer_.cancel();
      }
    }
  }
  if (Monitor* m = sp_.monitor()) m->received(monitored(), u);
  if (cfg_.max_prefixes && (!u.nlri.empty() || !u.mp_nlri.empty())) check_max_prefix();
}

void Peer::check_max_prefix() {
  auto st = sp_.rib().peer_status(id_);
  if (!st || st->counters.received <= *cfg_.max_prefixes) return;
  if (cfg_.max_prefix_action == config::MaxPrefixAction::Warn) {
    if (!max_prefix_warned_) {
      spdlog::warn("bgp {}: {} prefixes received, limit {}", cfg_.name, st->counters.received,
                   *cfg_.max_prefixes);
      max_prefix_warned_ = true;
    }
    return;
  }
  spdlog::warn("bgp {}: {} prefixes exceed the limit {}: closing, retry in {} s", cfg_.name,
               st->counters.received, *cfg_.max_prefixes, cfg_.max_prefix_restart);
  // RFC 4486 §4: data = AFI (2), SAFI (1), upper bound (4).
  std::vector<uint8_t> data;
  ByteWriter w(data);
  w.u16(bgp::kAfiIpv4);
  w.u8(bgp::kSafiUnicast);
  w.u32(*cfg_.max_prefixes);
  session_->restart(bgp::Notification{bgp::kErrCease, bgp::kSubMaxPrefixes, std::move(data)},
                    std::chrono::seconds(cfg_.max_prefix_restart));
}

void Peer::session_route_refresh(bgp::Session& s, const bgp::RouteRefresh& r) {
  Family f = family_of(r.af);
  switch (r.subtype) {
    case bgp::RefreshSubtype::Normal:
      if (s.negotiated().enhanced_route_refresh) {
        // RFC 7313 §4: bracket the re-sent routes with BoRR ... EoRR.
        bgp::encode_route_refresh(bgp::RouteRefresh{r.af, bgp::RefreshSubtype::BeginOfRibRefresh},
                                  s.out());
        s.flush(0);
        eorr_due_[fam_index(f)] = true;
      }
      sp_.rib().route_refresh(id_, f);
      schedule_pump();
      break;
    case bgp::RefreshSubtype::BeginOfRibRefresh:
      // RFC 7313 §4: routes not re-announced before EoRR are stale.
      if (s.negotiated().enhanced_route_refresh) sp_.rib().mark_stale(id_);
      break;
    case bgp::RefreshSubtype::EndOfRibRefresh:
      if (s.negotiated().enhanced_route_refresh) sp_.rib().sweep_stale(id_, f);
      break;
  }
}

void Peer::soft_in() {
  if (session_->established() && session_->negotiated().route_refresh) {
    for (const bgp::AfiSafi& af : session_->negotiated().families)
      session_->send_route_refresh(bgp::RouteRefresh{af, bgp::RefreshSubtype::Normal});
  } else {
    sp_.rib().reapply_policies();
  }
}

void Peer::soft_out() {
  if (!session_->established()) return;
  for (const bgp::AfiSafi& af : session_->negotiated().families)
    sp_.rib().route_refresh(id_, family_of(af));
  schedule_pump();
}

}  // namespace ferry::speaker
