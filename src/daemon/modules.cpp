#include "daemon/modules.hpp"

#include <set>

#include "common/log.hpp"
#include "liveness/wireguard.hpp"
#include "tunnel/timers.hpp"
#include "tunnel/tun.hpp"

namespace ferry::daemon {

// Where Routing's learned prefixes go: the tunnel's cryptokey table.
class TunnelLearned : public routing::LearnedRoutes {
 public:
  explicit TunnelLearned(tunnel::Tunnel& t) : t_(t) {}
  void apply_learned(std::span<const tunnel::LearnedChange> changes) override {
    t_.apply_learned(changes);
  }

 private:
  tunnel::Tunnel& t_;
};

// fib::KernelRoutes as Modules' RouteSource.
class KernelRouteSource : public RouteSource {
 public:
  KernelRouteSource(asio::io_context& io, fib::RouteSourceFilter f, fib::RouteSourceListener& l)
      : k_(io, std::move(f), l) {}
  Result<void> start(std::function<void(int)> done) override { return k_.start(std::move(done)); }
  void stop() override { k_.stop(); }
  std::vector<std::pair<Prefix, uint32_t>> connected_networks() const override {
    return k_.table().connected_networks();
  }
  std::optional<std::string> ifname(uint32_t ifindex) const override {
    return k_.table().ifname(ifindex);
  }

 private:
  fib::KernelRoutes k_;
};

Modules::Modules(asio::io_context& io, ModulesOptions opts, ModulesIo kio)
    : io_(io),
      opts_(std::move(opts)),
      kio_(std::move(kio)),
      rib_(opts_.rib, [this](const IpAddress& nh) {
        return routing_ ? routing_->resolve(nh) : rib::NextHopInfo{};
      }) {
  if (!kio_.route_source)
    kio_.route_source = [this](fib::RouteSourceFilter f, fib::RouteSourceListener& l) {
      return std::unique_ptr<RouteSource>(
          std::make_unique<KernelRouteSource>(io_, std::move(f), l));
    };
  if (!kio_.tunnel)
    kio_.tunnel = [](bool persistent) {
      tunnel::TunnelIo tio;
      tio.open_tun = [persistent](const std::string& name, size_t q) {
        return tunnel::open_linux_tun(name, q, true, persistent);
      };
      return tio;
    };
  if (!kio_.tun_exists) kio_.tun_exists = tunnel::linux_interface_exists;
  if (!kio_.remove_tun) kio_.remove_tun = tunnel::remove_persistent_tun;
}

Modules::~Modules() {
  if (speaker_) speaker_->set_monitor(nullptr);  // bmp_ goes first
}

Result<void> Modules::start() {
  rib_.set_policies(opts_.policies);
  if (opts_.fib_install) {
    if (kio_.route_kernel) {
      kernel_ = kio_.route_kernel(opts_.kernel_fib);
    } else {
      nl_ = std::make_unique<fib::NetlinkClient>(io_);
      if (auto r = nl_->open(); !r.ok()) return make_error("netlink: " + r.error());
      kernel_ = std::make_unique<fib::KernelFib>(*nl_, opts_.kernel_fib);
    }
    fib_ = std::make_unique<fib::Fib>(io_, *kernel_, opts_.fib);
  }
  gr_preserve_ = opts_.graceful_restart;
  if (fib_) {
    // Graceful restart: a previous run's routes are kept as stale (not deleted)
    // for at most the restart time; BGP starts once the dump told us whether
    // forwarding state survived (the R/F bits of its OPENs).
    std::chrono::milliseconds hold{};
    if (gr_preserve_) hold = std::chrono::seconds(opts_.graceful_restart_time);
    fib_->start(hold, [this](int err) {
      if (err) spdlog::warn("fib: initial kernel dump failed ({}), will retry", err);
      if (!gr_preserve_) return;
      const size_t found = fib_->routes_at_start();
      if (found)
        spdlog::info(
            "graceful restart: {} routes of the previous run kept as stale until BGP "
            "re-converges",
            found);
      start_speaker(found > 0);
    });
  }
  if (opts_.tunnel) {
    if (gr_preserve_) {
      // Persistent: the interface and the routes through it outlive this process.
      const bool existed = kio_.tun_exists(opts_.tunnel->interface);
      spdlog::info("tunnel {}: persistent for graceful restart{}", opts_.tunnel->interface,
                   existed ? " (re-attached to the existing interface)" : "");
      persistent_tun_ = opts_.tunnel->interface;
    }
    tunnel_ = std::make_unique<tunnel::Tunnel>(*opts_.tunnel, kio_.tunnel(gr_preserve_));
    if (auto r = tunnel_->start(); !r.ok()) return make_error("tunnel: " + r.error());
    tunnel_learned_ = std::make_unique<TunnelLearned>(*tunnel_);
  }
  if (opts_.ipsec) {
    ipsec_ = std::make_unique<ipsec::IpsecTunnel>(*opts_.ipsec,
                                                  kio_.ipsec ? kio_.ipsec() : ipsec::IpsecIo{});
    const std::string ifname = opts_.ipsec->interface;
    ipsec_->set_liveness_listener([ifname](const std::string& peer, bool up,
                                           const std::string& reason) {
      // The same events as the WireGuard peers' (docs/logging.md), kind ipsec.
      if (up)
        log_event(spdlog::level::info, "tunnel_peer_up",
                  {{"interface", ifname}, {"peer", peer}, {"kind", "ipsec"}},
                  fmt::format("ipsec {}: peer {} up ({})", ifname, peer, reason));
      else
        log_event(spdlog::level::warn, "tunnel_peer_down",
                  {{"interface", ifname}, {"peer", peer}, {"kind", "ipsec"}, {"reason", reason}},
                  fmt::format("ipsec {}: peer {} down ({})", ifname, peer, reason));
    });
    if (auto r = ipsec_->start(); !r.ok()) return make_error(r.error());
    ipsec_->drive(io_);
  }
  routing_ = std::make_unique<routing::Routing>(rib_, fib_.get(), tunnel_learned_.get());
  routing_->apply(opts_.routing);
  if (tunnel_) {
    // One liveness state per tunnel peer (fate sharing, docs/liveness.md).
    liveness_ = std::make_unique<liveness::Liveness>(io_, opts_.liveness.tracker);
    liveness_->set_listener(
        [this](tunnel::PeerIndex peer, liveness::State from, const liveness::PeerStatus& now) {
          on_liveness_change(peer, from, now);
        });
    // From now on the tunnel tells routing whenever its view changes.
    routing_->set_tunnel(tunnel_->view());
    sync_liveness_peers();
    tunnel_->set_view_listener([this](const tunnel::View& v) {
      routing_->set_tunnel(v);
      sync_liveness_peers();
      update_gates();  // a neighbour may now be reached through another peer
    });
    watch_endpoints();
  }

  fib::RouteSourceFilter filter = opts_.route_sources;
  // Connected networks are always watched: next-hop resolution needs them.
  filter.connected = true;
  kernel_routes_ = kio_.route_source(std::move(filter), *this);
  if (auto r = kernel_routes_->start([this](int err) {
        if (err) spdlog::warn("kernel routes: initial dump failed ({})", err);
        refresh_connected();  // the tunnel's own subnets are known now
      });
      !r.ok())
    return make_error("kernel routes: " + r.error());

  if (opts_.speaker) {
    speaker_ = std::make_unique<speaker::Speaker>(io_, *opts_.speaker, rib_);
    speaker_->set_restart_complete_callback([this](const std::string& why) {
      gr_complete_reason_ = why;
      // Posted: the routes learned before the End-of-RIB are in the FIB by then.
      asio::post(io_, [this] {
        if (fib_) fib_->purge_stale();
      });
    });
    // Gates first: strict mode keeps a session Idle from the very start.
    update_gates();
    speaker_->set_health_source([this](const std::string& n) { return health_ && health_->up(n); });
    apply_health_checks();
    bmp_ = std::make_unique<bmp::Exporter>(
        io_, rib_, opts_.bmp, kio_.bmp_connector ? kio_.bmp_connector : bmp::tcp_connector(io_),
        [this](const auto& fn) { speaker_->for_each_established(fn); });
    speaker_->set_monitor(bmp_.get());
    // With graceful restart the FIB's start callback starts BGP.
    if (!gr_preserve_ || !fib_) start_speaker(false);
    bfd_ = std::make_unique<bfd::Bfd>(io_, kio_.bfd_port, kio_.bfd_port ? kio_.bfd_port : 3784);
    if (opts_.bfd.any()) {
      if (auto r = bfd_->start(); !r.ok()) return r;
      bfd_->set_listener([this](const IpAddress& peer, bfd::State from, bfd::State to,
                                bfd::Diag why) { on_bfd_change(peer, from, to, why); });
      sync_bfd_peers();
    }
  }
  return {};
}

void Modules::watch_endpoints() {
  // The data plane learns endpoints by roaming and has no callback for it; a
  // cheap once-a-second look lets the loop guard follow them.
  if (!endpoint_timer_) endpoint_timer_ = std::make_unique<asio::steady_timer>(io_);
  endpoint_timer_->expires_after(std::chrono::seconds(1));
  endpoint_timer_->async_wait([this](const std::error_code& ec) {
    if (ec || !tunnel_) return;
    tunnel_->poll();  // publishes a new view to routing if an endpoint moved
    track_tunnel_peers();
    watch_endpoints();
  });
}

void Modules::track_tunnel_peers() {
  // WireGuard has no session state on the wire: a peer counts as up while its
  // latest handshake is younger than Reject-After-Time (180 s, WireGuard paper
  // §6.1), after which its keys may no longer be used.
  constexpr int64_t kRejectAfterTime = 180;
  auto* d = tunnel_ ? tunnel_->device() : nullptr;
  if (!d) return;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string& ifname = tunnel_->config().interface;
  tunnel::TimerConfig timers;
  timers.scale = tunnel_->config().timer_scale;
  const auto ms = [](auto x) { return std::chrono::duration_cast<liveness::Duration>(x); };
  std::map<std::string, bool> seen;
  for (const auto& s : d->stats()) {
    if (liveness_) {
      liveness::HandshakeSnapshot snap;
      if (s.since_handshake) snap.since_handshake = ms(*s.since_handshake);
      snap.in_flight = s.handshake_in_flight;
      snap.retries = s.handshake_retries;
      const auto r = liveness::wireguard_verdict(
          snap, ms(timers.reject_after_time()), ms(timers.rekey_timeout()),
          static_cast<int>(opts_.liveness.handshake_timeouts));
      liveness_->report(s.index, {liveness::InputKind::WireGuard, "handshake"}, r.verdict,
                        r.reason);
    }
    const bool up = s.last_handshake_unix && now - *s.last_handshake_unix < kRejectAfterTime;
    seen[s.name] = up;
    auto it = tunnel_peer_up_.find(s.name);
    const bool was = it != tunnel_peer_up_.end() && it->second;
    if (up == was) continue;
    const std::string endpoint = s.endpoint ? s.endpoint->str() : "";
    if (up)
      log_event(spdlog::level::info, "tunnel_peer_up",
                {{"interface", ifname}, {"peer", s.name}, {"endpoint", endpoint}},
                fmt::format("tunnel {}: peer {} up (handshake with {})", ifname, s.name, endpoint));
    else
      log_event(spdlog::level::warn, "tunnel_peer_down",
                {{"interface", ifname},
                 {"peer", s.name},
                 {"endpoint", endpoint},
                 {"reason", "no handshake within 180 s"}},
                fmt::format("tunnel {}: peer {} down (no handshake within {} s)", ifname, s.name,
                            kRejectAfterTime));
  }
  for (const auto& [name, was] : tunnel_peer_up_)
    if (was && !seen.count(name))
      log_event(
          spdlog::level::info, "tunnel_peer_down",
          {{"interface", ifname}, {"peer", name}, {"endpoint", ""}, {"reason", "removed"}},
          fmt::format("tunnel {}: peer {} down (removed from the configuration)", ifname, name));
  tunnel_peer_up_ = std::move(seen);
}

ctl::Json Modules::loop_guard_json() const {
  ctl::Json j;
  j["withheld_total"] = routing_ ? routing_->withheld_total() : 0;
  ctl::Json list = ctl::Json::array();
  auto add = [&](const Prefix& p, const routing::Routing::Withheld& w, const char* kind) {
    const std::string peer = routing_->peer_name(w.peer);
    list.push_back({{"prefix", p.str()},
                    {"kind", kind},
                    {"peer", peer},
                    {"endpoint", w.endpoint.str()},
                    {"status", "not installed: covers tunnel endpoint " + w.endpoint.str() +
                                   " of peer " + peer}});
  };
  if (routing_) {
    for (const auto& [p, w] : routing_->withheld()) add(p, w, "route");
    for (const auto& [p, w] : routing_->withheld_allowed_ips()) add(p, w, "allowed-ip");
  }
  j["withheld"] = std::move(list);
  ctl::Json kept = ctl::Json::array();
  if (routing_)
    for (const auto& [p, k] : routing_->kept_by_static())
      kept.push_back({{"prefix", p.str()},
                      {"static_owner", routing_->peer_name(k.owner)},
                      {"status", "not learned by another peer: inside a static allowed-ip of " +
                                     routing_->peer_name(k.owner)}});
  j["kept_by_static_allowed_ips"] = std::move(kept);
  return j;
}

void Modules::start_speaker(bool restarting) {
  if (!speaker_ || speaker_started_) return;
  speaker_started_ = true;
  speaker_->set_restart_state(gr_preserve_, restarting);
  if (auto r = speaker_->start(); !r.ok()) spdlog::error("bgp: {}", r.error());
}

ctl::Json Modules::graceful_restart_json() const {
  ctl::Json j;
  j["enabled"] = gr_preserve_;
  j["persistent_interface"] = persistent_tun_;
  j["restarting"] = speaker_ && speaker_->restarting();
  j["deferring"] = speaker_ && speaker_->deferring();
  j["selection_deferred"] = rib_.selection_deferred();  // RFC 4724 §4.1
  j["complete"] = gr_complete_reason_.empty() ? ctl::Json(nullptr) : ctl::Json(gr_complete_reason_);
  j["routes_at_start"] = fib_ ? fib_->routes_at_start() : 0;
  j["stale_routes"] = fib_ ? fib_->stale_count() : 0;
  return j;
}

void Modules::refresh_connected() {
  if (!routing_ || !kernel_routes_) return;
  routing_->set_connected(kernel_routes_->connected_networks());
}

bool Modules::redistributes(const fib::RedistRoute& r) const {
  for (const auto& d : opts_.redistribute) {
    if (r.source == fib::RedistRoute::Source::Connected &&
        d.source == config::RedistributeConfig::Source::Connected) {
      if (d.interfaces.empty()) return true;
      auto name = kernel_routes_->ifname(r.ifindex);
      for (const auto& i : d.interfaces)
        if (name && *name == i) return true;
    }
    if (r.source == fib::RedistRoute::Source::Kernel &&
        d.source == config::RedistributeConfig::Source::Kernel)
      return true;  // protocol and table are filtered by KernelRoutes
  }
  return false;
}

static rib::RouteSource rib_source(const fib::RedistRoute& r) {
  return r.source == fib::RedistRoute::Source::Connected ? rib::RouteSource::Connected
                                                         : rib::RouteSource::Kernel;
}

void Modules::on_route_add(const fib::RedistRoute& r) {
  // Only connected networks change next-hop resolution; kernel routes (possibly
  // a full table from another daemon) must not re-sort the list per prefix.
  if (r.source == fib::RedistRoute::Source::Connected) refresh_connected();
  if (!redistributes(r)) return;
  bgp::PathAttributes a;
  a.origin = bgp::Origin::Incomplete;
  rib_.originate(rib_source(r), r.prefix, a);
}

void Modules::on_route_remove(const fib::RedistRoute& r) {
  if (r.source == fib::RedistRoute::Source::Connected) refresh_connected();
  rib_.unoriginate(rib_source(r), r.prefix);
}

void Modules::sync_bfd_peers() {
  if (!bfd_) return;
  for (const auto& n : opts_.bfd.peers) {
    if (n.enabled) {
      if (auto r = bfd_->add_peer(n.address, n.local_address, opts_.bfd.timers); !r.ok())
        spdlog::error("bfd: neighbor {}: {}", n.name, r.error());
    } else if (bfd_->has_peer(n.address)) {
      bfd_->remove_peer(n.address);
      // A removed session is no evidence any more.
      if (auto peer = liveness_ ? routing_->tunnel_peer_of(n.address) : std::nullopt)
        liveness_->forget(*peer, {liveness::InputKind::Bfd, n.address.str()});
    }
  }
}

void Modules::on_bfd_change(const IpAddress& addr, bfd::State from, bfd::State to, bfd::Diag why) {
  auto peer = liveness_ ? routing_->tunnel_peer_of(addr) : std::nullopt;
  if (!peer) {
    // Not across a tunnel: the session alone shares the path's fate. Only a
    // session that was up and then failed tears BGP down; one that never came
    // up says nothing about the path (RFC 5882 §3.2). AdminDown is our own
    // doing (shutdown, neighbor removed), not a failure.
    if (from == bfd::State::Up && to == bfd::State::Down && speaker_) speaker_->bfd_down(addr);
    return;
  }
  // Across a tunnel: evidence about the tunnel peer, shared by every session
  // and route through it (both families).
  const liveness::InputId id{liveness::InputKind::Bfd, addr.str()};
  if (to == bfd::State::Up)
    liveness_->report(*peer, id, liveness::Verdict::Up, "session up");
  else if (from == bfd::State::Up && to == bfd::State::Down &&
           bfd_->remote_state(addr) == bfd::State::AdminDown)
    // RFC 5882 §3.2: the remote taking its session administratively down (a
    // shutdown) is not a path failure; its BGP session says goodbye itself.
    liveness_->report(*peer, id, liveness::Verdict::Unknown, "peer administratively down");
  else if (from == bfd::State::Up && to == bfd::State::Down)
    liveness_->report(*peer, id, liveness::Verdict::Down, bfd::diag_name(why));
  else if (to == bfd::State::AdminDown)
    liveness_->report(*peer, id, liveness::Verdict::Unknown, "administratively down");
  // Down -> Init and the like: a failed session stays Down until it is Up again.
}

void Modules::sync_liveness_peers() {
  if (!liveness_) return;
  const tunnel::View& v = routing_->tunnel();
  std::set<tunnel::PeerIndex> now;
  for (const auto& p : v.peers) {
    now.insert(p.id);
    liveness_->add_peer(p.id, p.name);
  }
  for (tunnel::PeerIndex id : liveness_->tracker().peer_ids())
    if (!now.count(id)) liveness_->remove_peer(id);
  routing_->set_unusable_peers(liveness_->tracker().unusable_peers());
}

void Modules::on_liveness_change(tunnel::PeerIndex, liveness::State from,
                                 const liveness::PeerStatus& now) {
  const std::string& ifname = tunnel_->config().interface;
  const auto level = now.state == liveness::State::Down ? spdlog::level::warn : spdlog::level::info;
  log_event(level, "tunnel_peer_liveness",
            {{"interface", ifname},
             {"peer", now.name},
             {"from", liveness::state_name(from)},
             {"state", liveness::state_name(now.state)},
             {"reason", now.reason}},
            fmt::format("tunnel {}: peer {} liveness {} -> {} ({})", ifname, now.name,
                        liveness::state_name(from), liveness::state_name(now.state), now.reason));
  // Routes first (posted work is not needed: both are synchronous and batched),
  // then the sessions: every route and session across the peer, both families.
  routing_->set_unusable_peers(liveness_->tracker().unusable_peers());
  update_gates();
}

void Modules::update_gates() {
  if (!speaker_ || !liveness_ || !opts_.speaker) return;
  const liveness::Tracker& t = liveness_->tracker();
  for (const auto& n : opts_.speaker->neighbors) {
    auto peer = routing_->tunnel_peer_of(n.address);
    if (!peer) {
      speaker_->set_gate(n.name, true, "not reached through a tunnel peer", false);
      continue;
    }
    const liveness::InputId bfd_id{liveness::InputKind::Bfd, n.address.str()};
    const bool open = t.usable(*peer, n.bfd_strict ? &bfd_id : nullptr);
    const liveness::PeerStatus* st = t.status(*peer);
    const std::string state = st ? liveness::state_name(st->state) : "unknown";
    const std::string name = st ? st->name : routing_->peer_name(*peer);
    std::string why = "tunnel peer " + name + " " + state;
    if (st && !st->reason.empty()) why += " (" + st->reason + ")";
    if (!open && n.bfd_strict &&
        (!st || st->state == liveness::State::Up || st->state == liveness::State::Unknown))
      why = "strict mode: waiting for BFD " + n.address.str() + " to be up; " + why;
    bool bfd_cause = false;
    if (st)
      for (const auto& [id, in] : st->inputs)
        bfd_cause |= id.kind == liveness::InputKind::Bfd && in.verdict == liveness::Verdict::Down;
    speaker_->set_gate(n.name, open, why, bfd_cause);
  }
}

ctl::Json Modules::liveness_of(const IpAddress& a) const {
  auto peer = liveness_ ? routing_->tunnel_peer_of(a) : std::nullopt;
  if (!peer) return nullptr;
  ctl::Json j = liveness_->show(*peer);
  if (j.is_null()) return j;
  j["peer"] = routing_->peer_name(*peer);
  return j;
}

Result<void> Modules::apply(const ModulesOptions& next) {
  if (next.rib.local_asn != opts_.rib.local_asn || next.rib.router_id != opts_.rib.router_id)
    return make_error("router asn and router-id changes need a restart");
  if (next.kernel_fib.keys.table != opts_.kernel_fib.keys.table ||
      next.kernel_fib.keys.protocol != opts_.kernel_fib.keys.protocol)
    return make_error("fib table and protocol changes need a restart");
  if (next.speaker.has_value() != opts_.speaker.has_value())
    return make_error("adding or removing the [bgp] section needs a restart");
  if (next.ipsec != opts_.ipsec) return make_error("changing the [ipsec] section needs a restart");
  if (tunnel_ && next.tunnel) {
    if (auto r = tunnel_->apply(*next.tunnel); !r.ok()) return make_error("tunnel: " + r.error());
  } else if (next.tunnel.has_value() != opts_.tunnel.has_value()) {
    return make_error("adding or removing the [tunnel] section needs a restart");
  }
  opts_ = next;
  rib_.set_options(opts_.rib);
  routing_->apply(opts_.routing);  // the tunnel's apply() above published its view
  if (liveness_) liveness_->set_options(opts_.liveness.tracker);
  apply_health_checks();
  if (speaker_) speaker_->apply(*opts_.speaker);  // policies, neighbors, networks; soft refresh
  update_gates();                                 // new neighbours, bfd-strict changes
  if (bmp_) bmp_->apply(opts_.bmp);               // stations added, removed, restarted
  sync_bfd_peers();
  return {};
}

// Conditional advertisement: the checker runs while checks are configured;
// each change makes the speaker re-evaluate what depends on checks.
void Modules::apply_health_checks() {
  const auto& checks =
      opts_.speaker ? opts_.speaker->health_checks : std::vector<config::HealthCheckConfig>{};
  if (checks.empty() && !health_) return;
  if (!health_) {
    prober_ = kio_.prober ? kio_.prober() : health::make_socket_prober(io_);
    health_ = std::make_unique<health::Checker>(io_, *prober_);
    health_->set_listener([this](const std::string&, bool, const std::string&) {
      if (speaker_) speaker_->health_changed();
    });
  }
  health_->apply(checks);
}

void Modules::stop(const std::string& reason, std::function<void()> done) {
  // BMP stations get their Termination first (RFC 7854 §4.5); then BGP (Cease with
  // the reason), BFD AdminDown, the kernel routes.
  if (bmp_) {
    if (speaker_) speaker_->set_monitor(nullptr);
    bmp_->stop();
  }
  auto finish = [this, done = std::move(done)]() mutable {
    if (endpoint_timer_) endpoint_timer_->cancel();
    if (health_) health_->stop();
    if (bfd_) bfd_->stop();
    if (kernel_routes_) kernel_routes_->stop();
    if (tunnel_) tunnel_->stop();
    if (ipsec_) ipsec_->stop();  // Delete to every IPsec peer (RFC 7296 §1.4.1)
    // A clean stop that does not keep forwarding state removes the persistent interface.
    auto remove_tun = [this] {
      if (persistent_tun_.empty() || opts_.fib.keep_on_shutdown) return;
      if (auto r = kio_.remove_tun(persistent_tun_); !r.ok()) spdlog::warn("tunnel: {}", r.error());
    };
    if (fib_) {
      fib_->shutdown([this, remove_tun, done = std::move(done)] {
        remove_tun();
        if (nl_) nl_->close();
        if (done) done();
      });
    } else {
      remove_tun();
      if (done) done();
    }
  };
  if (speaker_)
    speaker_->stop(reason, std::move(finish));
  else
    finish();
}

ctl::Json Modules::metrics_snapshot() const {
  ctl::Json j = ctl::Json::object();
  if (speaker_) j["bgp"] = speaker_->show_neighbors();
  if (bfd_) j["bfd"] = bfd_->show();
  if (bmp_) j["bmp"] = bmp_->show();
  if (fib_) j["fib"] = fib_->stats();
  j["rib"] = {{"prefixes", rib_.prefix_count()}, {"paths", rib_.path_count()}};
  if (tunnel_ && tunnel_->device()) {
    // The per-peer counters of `show tunnels`, without its allowed/learned prefix lists.
    const auto* d = tunnel_->device();
    ctl::Json t;
    t["interface"] = tunnel_->config().interface;
    ctl::Json drops = ctl::Json::object();
    for (size_t i = 0; i < static_cast<size_t>(tunnel::Drop::kCount); ++i)
      drops[tunnel::drop_name(static_cast<tunnel::Drop>(i))] = d->device_drops().v[i].load();
    t["drops"] = std::move(drops);
    t["cookie_sent"] = d->cookie_replies_sent();
    ctl::Json peers = ctl::Json::array();
    for (const auto& s : d->stats()) {
      ctl::Json p;
      p["name"] = s.name;
      p["latest_handshake"] = s.last_handshake_unix ? *s.last_handshake_unix : 0;
      p["rx_bytes"] = s.rx_bytes;
      p["tx_bytes"] = s.tx_bytes;
      p["rx_packets"] = s.rx_packets;
      p["tx_packets"] = s.tx_packets;
      ctl::Json pd = ctl::Json::object();
      for (size_t i = 0; i < s.drops.size(); ++i)
        pd[tunnel::drop_name(static_cast<tunnel::Drop>(i))] = s.drops[i];
      p["drops"] = std::move(pd);
      peers.push_back(std::move(p));
    }
    t["peers"] = std::move(peers);
    j["tunnel"] = std::move(t);
  }
  if (ipsec_) {
    // `show tunnels`' IPsec part reduced to counters and SA counts (metrics/collect.hpp).
    const ctl::Json full = ipsec_->show(ike::Clock::now());
    ctl::Json t{{"interface", full.value("interface", std::string())},
                {"drops", full.value("drops", ctl::Json::object())}};
    ctl::Json peers = ctl::Json::array();
    for (const auto& p : full.value("peers", ctl::Json::array())) {
      ctl::Json m{{"name", p.value("name", std::string())},
                  {"up", p.value("up", false)},
                  {"rx_bytes", p.value("rx_bytes", uint64_t{0})},
                  {"tx_bytes", p.value("tx_bytes", uint64_t{0})},
                  {"rx_packets", p.value("rx_packets", uint64_t{0})},
                  {"tx_packets", p.value("tx_packets", uint64_t{0})}};
      ctl::Json states = ctl::Json::object();
      uint64_t children = 0;
      if (p.contains("ike") && p["ike"].contains("ike_sas"))
        for (const auto& sa : p["ike"]["ike_sas"]) {
          const std::string st = sa.value("state", std::string("unknown"));
          states[st] = states.value(st, 0) + 1;
          if (sa.contains("child_sas")) children += sa["child_sas"].size();
        }
      m["ike_sas"] = std::move(states);
      m["child_sas"] = children;
      peers.push_back(std::move(m));
    }
    t["peers"] = std::move(peers);
    j["ipsec"] = std::move(t);
  }
  return j;
}

void Modules::register_commands(ctl::Registry& r) {
  if (speaker_) speaker_->register_commands(r);
  if (tunnel_) tunnel_->register_commands(r);
  if (ipsec_) {
    // IPsec peers next to the WireGuard ones (replaces the tunnel's own command).
    r.add(
        "show tunnels",
        [this](const ctl::Json&) -> Result<ctl::Json> {
          ctl::Json j = tunnel_ ? tunnel_->show()
                                : ctl::Json{{"running", false}, {"peers", ctl::Json::array()}};
          j["ipsec"] = ipsec_->show(ike::Clock::now());
          return j;
        },
        false, "WireGuard and IPsec peers: endpoints, SAs, transfer, allowed/learned IPs, drops");
    r.add(
        "clear tunnel",
        [this](const ctl::Json& a) -> Result<ctl::Json> {
          const std::string name = a.value("name", std::string());
          if (auto res = ipsec_->clear(name, a.value("hard", false)); !res.ok())
            return make_error(res.error());
          return ctl::Json{{"cleared", name}};
        },
        true, "IPsec peer: rekey its CHILD_SA, or re-establish (args: name, hard: bool)");
  }
  // The shared liveness state goes next to the tunnel peers and the neighbours.
  if (liveness_) {
    if (const ctl::Command* c = r.find("show tunnels")) {
      ctl::Command inner = *c;
      r.add(
          "show tunnels",
          [this, h = inner.handler](const ctl::Json& a) -> Result<ctl::Json> {
            auto res = h(a);
            if (!res.ok() || !res->contains("peers")) return res;
            for (auto& p : (*res)["peers"]) {
              auto id = tunnel_->peer_id(p.value("name", ""));
              if (id) p["liveness"] = liveness_->show(*id);
            }
            return res;
          },
          inner.mutating, inner.help);
    }
    if (const ctl::Command* c = r.find("show neighbors")) {
      ctl::Command inner = *c;
      r.add(
          "show neighbors",
          [this, h = inner.handler](const ctl::Json& a) -> Result<ctl::Json> {
            auto res = h(a);
            if (!res.ok() || !res->contains("neighbors")) return res;
            for (auto& n : (*res)["neighbors"]) {
              auto addr = IpAddress::parse(n.value("address", ""));
              n["liveness"] = addr ? liveness_of(*addr) : ctl::Json(nullptr);
            }
            return res;
          },
          inner.mutating, inner.help);
    }
  }
  r.add(
      "show fib",
      [this](const ctl::Json&) -> Result<ctl::Json> {
        if (!fib_) return ctl::Json{{"enabled", false}};
        ctl::Json j = fib_->stats();
        j["enabled"] = true;
        j["graceful_restart"] = graceful_restart_json();
        j["routes"] = fib_->routes();
        // Routes the tunnel loop guard keeps out of the tunnel (they cover a peer's endpoint).
        j["tunnel_loop_guard"] = loop_guard_json();
        return j;
      },
      false, "kernel routes ferry installed, pending operations, failures");
  r.add(
      "show bmp",
      [this](const ctl::Json&) -> Result<ctl::Json> {
        if (!bmp_) return ctl::Json{{"stations", ctl::Json::array()}, {"monitored_peers", 0}};
        return bmp_->show();
      },
      false, "BMP monitoring stations (RFC 7854): state, messages sent, queue, drops");
  r.add(
      "show bfd",
      [this](const ctl::Json&) -> Result<ctl::Json> {
        if (!bfd_) return ctl::Json{{"sessions", ctl::Json::array()}};
        return bfd_->show();
      },
      false, "BFD sessions");
  r.add(
      "show health",
      [this](const ctl::Json&) -> Result<ctl::Json> {
        if (!health_) return ctl::Json{{"health_checks", ctl::Json::array()}};
        return health_->show();
      },
      false, "health checks for conditional advertisement: state, probes, what depends on them");
}

}  // namespace ferry::daemon
