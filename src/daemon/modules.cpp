#include "daemon/modules.hpp"

#include <net/if.h>

#include "common/log.hpp"
#include "daemon/heap.hpp"
#include "fib/from_config.hpp"
#include "tunnel/tun.hpp"

namespace ferry::daemon {

// The routing layer's view of the tunnel module.
class TunnelAdapter : public TunnelRoutes {
 public:
  TunnelAdapter(tunnel::Tunnel& t, const config::Config& cfg) : t_(t), cfg_(cfg) {}
  std::optional<uint32_t> peer_for_next_hop(const IpAddress& nh) const override {
    if (!cfg_.tunnel) return std::nullopt;
    for (const auto& p : cfg_.tunnel->peers)
      for (const auto& a : p.allowed_ips)
        if (a.contains(nh)) return t_.peer_id(p.name);
    return std::nullopt;
  }
  std::vector<Prefix> static_prefixes() const override {
    std::vector<Prefix> v;
    if (cfg_.tunnel)
      for (const auto& p : cfg_.tunnel->peers)
        v.insert(v.end(), p.allowed_ips.begin(), p.allowed_ips.end());
    return v;
  }
  void apply_learned(std::span<const Change> changes) override {
    for (const auto& c : changes) {
      if (c.add)
        t_.add_learned(c.peer, c.prefix);
      else
        t_.remove_learned(c.peer, c.prefix);
    }
    t_.commit_learned();
  }
  uint32_t ifindex() const override {
    return cfg_.tunnel ? ::if_nametoindex(cfg_.tunnel->interface.c_str()) : 0;
  }
  std::string peer_name(uint32_t peer) const override {
    if (cfg_.tunnel)
      for (const auto& p : cfg_.tunnel->peers)
        if (t_.peer_id(p.name) == peer) return p.name;
    return "?";
  }
  // From the device: the configured endpoint, or the one learned by roaming.
  std::vector<PeerEndpoint> endpoints() const override {
    std::vector<PeerEndpoint> v;
    if (auto* d = t_.device())
      for (const auto& s : d->stats())
        if (s.endpoint && s.endpoint->valid()) v.push_back({s.index, s.endpoint->addr});
    return v;
  }

 private:
  tunnel::Tunnel& t_;
  const config::Config& cfg_;
};

rib::RibOptions Modules::rib_options(const config::Config& c) {
  rib::RibOptions o;
  o.local_asn = c.router.asn;
  o.router_id = c.router.router_id;
  o.heap_trim = trim_heap;
  if (c.bgp) {
    o.cluster_id = c.bgp->cluster_id;
    o.max_paths = c.bgp->max_paths;
    o.always_compare_med = c.bgp->always_compare_med;
  }
  return o;
}

Modules::Modules(asio::io_context& io, const config::Config& cfg)
    : io_(io), cfg_(cfg), rib_(rib_options(cfg), [this](const IpAddress& nh) {
        return routing_ ? routing_->resolve(nh) : rib::NextHopInfo{};
      }) {}

Modules::~Modules() = default;

Result<void> Modules::start() {
  rib_.set_policies(cfg_.policies);
  if (cfg_.fib.install) {
    nl_ = std::make_unique<fib::NetlinkClient>(io_);
    if (auto r = nl_->open(); !r.ok()) return make_error("netlink: " + r.error());
    fib::KernelFibOptions ko;
    ko.keys = fib::RouteKeys{cfg_.fib.table, cfg_.fib.protocol, cfg_.fib.metric};
    kfib_ = std::make_unique<fib::KernelFib>(*nl_, ko);
    fib::FibOptions fo;
    fo.keep_on_shutdown = cfg_.fib.keep_on_shutdown;
    fo.keys = ko.keys;
    fib_ = std::make_unique<fib::Fib>(io_, *kfib_, fo);
  }
  gr_preserve_ = graceful_restart_preserve();
  if (fib_) {
    // Graceful restart: a previous run's routes are kept as stale (not deleted)
    // for at most the restart time; BGP starts once the dump told us whether
    // forwarding state survived (the R/F bits of its OPENs).
    std::chrono::milliseconds hold{};
    if (gr_preserve_) hold = std::chrono::seconds(cfg_.bgp->graceful_restart_time);
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
  if (cfg_.tunnel) {
    tunnel::TunnelIo tio;
    if (gr_preserve_) {
      // Persistent: the interface and the routes through it outlive this process.
      const bool existed = tunnel::linux_interface_exists(cfg_.tunnel->interface);
      spdlog::info("tunnel {}: persistent for graceful restart{}", cfg_.tunnel->interface,
                   existed ? " (re-attached to the existing interface)" : "");
      persistent_tun_ = cfg_.tunnel->interface;
    }
    tio.open_tun = [persist = gr_preserve_](const std::string& name, size_t q) {
      return tunnel::open_linux_tun(name, q, true, persist);
    };
    tunnel_ = std::make_unique<tunnel::Tunnel>(*cfg_.tunnel, std::move(tio));
    if (auto r = tunnel_->start(); !r.ok()) return make_error("tunnel: " + r.error());
    tunnel_adapter_ = std::make_unique<TunnelAdapter>(*tunnel_, cfg_);
  }
  routing_ = std::make_unique<Routing>(rib_, fib_.get(), tunnel_adapter_.get());
  routing_->set_static_routes(cfg_.static_routes);
  routing_->tunnel_changed();
  if (tunnel_adapter_) watch_endpoints();

  auto filter = fib::route_source_filter(cfg_);
  if (!filter.ok()) return make_error(filter.error());
  // Connected networks are always watched: next-hop resolution needs them.
  if (!filter->connected) filter->connected = true;
  kernel_routes_ = std::make_unique<fib::KernelRoutes>(io_, *filter, *this);
  if (auto r = kernel_routes_->start([this](int err) {
        if (err) spdlog::warn("kernel routes: initial dump failed ({})", err);
        refresh_connected();
        routing_->tunnel_changed();  // the tunnel's own subnets are known now
      });
      !r.ok())
    return make_error("kernel routes: " + r.error());

  if (cfg_.bgp) {
    speaker_ = std::make_unique<speaker::Speaker>(io_, cfg_, rib_);
    speaker_->set_restart_complete_callback([this](const std::string& why) {
      gr_complete_reason_ = why;
      // Posted: the routes learned before the End-of-RIB are in the FIB by then.
      asio::post(io_, [this] {
        if (fib_) fib_->purge_stale();
      });
    });
    // With graceful restart the FIB's start callback starts BGP.
    if (!gr_preserve_ || !fib_) start_speaker(false);
    bfd_ = std::make_unique<bfd::Bfd>(io_);
    bool any_bfd = false;
    for (const auto& n : cfg_.bgp->neighbors) any_bfd |= n.bfd;
    if (any_bfd) {
      if (auto r = bfd_->start(); !r.ok()) return r;
      bfd_->set_listener([this](const IpAddress& peer, bfd::State from, bfd::State to, bfd::Diag) {
        // Only a session that was up and then failed tears BGP down; a
        // session that never came up says nothing about the path.
        // AdminDown is our own doing (shutdown, neighbor removed), not a failure.
        if (from == bfd::State::Up && to == bfd::State::Down && speaker_) speaker_->bfd_down(peer);
      });
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
    if (ec || !routing_) return;
    routing_->endpoints_changed();
    watch_endpoints();
  });
}

ctl::Json Modules::loop_guard_json() const {
  ctl::Json j;
  j["withheld_total"] = routing_ ? routing_->withheld_total() : 0;
  ctl::Json list = ctl::Json::array();
  auto add = [&](const Prefix& p, const Routing::Withheld& w, const char* kind) {
    const std::string peer = tunnel_adapter_ ? tunnel_adapter_->peer_name(w.peer) : "?";
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
  return j;
}

bool Modules::graceful_restart_preserve() const {
  if (!cfg_.bgp || !cfg_.fib.install) return false;
  for (const auto& n : cfg_.bgp->neighbors)
    if (n.graceful_restart) return true;
  return false;
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
  j["complete"] = gr_complete_reason_.empty() ? ctl::Json(nullptr) : ctl::Json(gr_complete_reason_);
  j["routes_at_start"] = fib_ ? fib_->routes_at_start() : 0;
  j["stale_routes"] = fib_ ? fib_->stale_count() : 0;
  return j;
}

void Modules::refresh_connected() {
  if (!routing_ || !kernel_routes_) return;
  routing_->set_connected(kernel_routes_->table().connected_networks());
}

bool Modules::redistributes(const fib::RedistRoute& r) const {
  if (!cfg_.bgp) return false;
  for (const auto& d : cfg_.bgp->redistribute) {
    if (r.source == fib::RedistRoute::Source::Connected &&
        d.source == config::RedistributeConfig::Source::Connected) {
      if (d.interfaces.empty()) return true;
      auto name = kernel_routes_->table().ifname(r.ifindex);
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
  if (!bfd_ || !cfg_.bgp) return;
  const auto& b = *cfg_.bgp;
  bfd::Timers t{b.bfd.min_tx_ms * 1000, b.bfd.min_rx_ms * 1000,
                static_cast<uint8_t>(b.bfd.multiplier)};
  for (const auto& n : b.neighbors) {
    if (n.bfd) {
      if (auto r = bfd_->add_peer(n.address, n.local_address, t); !r.ok())
        spdlog::error("bfd: neighbor {}: {}", n.name, r.error());
    } else if (bfd_->has_peer(n.address)) {
      bfd_->remove_peer(n.address);
    }
  }
}

Result<void> Modules::apply(const config::Config& cfg) {
  if (cfg.router.asn != cfg_.router.asn || cfg.router.router_id != cfg_.router.router_id)
    return make_error("router asn and router-id changes need a restart");
  if (cfg.fib.table != cfg_.fib.table || cfg.fib.protocol != cfg_.fib.protocol)
    return make_error("fib table and protocol changes need a restart");
  if (cfg.bgp.has_value() != cfg_.bgp.has_value())
    return make_error("adding or removing the [bgp] section needs a restart");
  if (tunnel_ && cfg.tunnel) {
    if (auto r = tunnel_->apply(*cfg.tunnel); !r.ok()) return make_error("tunnel: " + r.error());
  } else if (cfg.tunnel.has_value() != cfg_.tunnel.has_value()) {
    return make_error("adding or removing the [tunnel] section needs a restart");
  }
  cfg_ = cfg;
  rib_.set_options(rib_options(cfg_));
  routing_->set_static_routes(cfg_.static_routes);
  routing_->tunnel_changed();
  if (speaker_) speaker_->apply(cfg_);  // policies, neighbors, networks; soft refresh
  sync_bfd_peers();
  return {};
}

void Modules::stop(const std::string& reason, std::function<void()> done) {
  // BGP first (Cease with the reason), then BFD AdminDown, then the kernel routes.
  auto finish = [this, done = std::move(done)]() mutable {
    if (endpoint_timer_) endpoint_timer_->cancel();
    if (bfd_) bfd_->stop();
    if (kernel_routes_) kernel_routes_->stop();
    if (tunnel_) tunnel_->stop();
    // A clean stop that does not keep forwarding state removes the persistent interface.
    auto remove_tun = [this] {
      if (persistent_tun_.empty() || cfg_.fib.keep_on_shutdown) return;
      if (auto r = tunnel::remove_persistent_tun(persistent_tun_); !r.ok())
        spdlog::warn("tunnel: {}", r.error());
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

void Modules::register_commands(ctl::Registry& r) {
  if (speaker_) speaker_->register_commands(r);
  if (tunnel_) tunnel_->register_commands(r);
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
      "show bfd",
      [this](const ctl::Json&) -> Result<ctl::Json> {
        if (!bfd_) return ctl::Json{{"sessions", ctl::Json::array()}};
        return bfd_->show();
      },
      false, "BFD sessions");
}

}  // namespace ferry::daemon
