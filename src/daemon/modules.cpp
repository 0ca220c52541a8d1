#include "daemon/modules.hpp"

#include "common/log.hpp"

namespace ferry::daemon {

rib::RibOptions Modules::rib_options(const config::Config& c) {
  rib::RibOptions o;
  o.local_asn = c.router.asn;
  o.router_id = c.router.router_id;
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
    fib_->start({}, [](int err) {
      if (err) spdlog::warn("fib: initial kernel dump failed ({}), will retry", err);
    });
  }
  routing_ = std::make_unique<Routing>(rib_, fib_.get(), nullptr);
  routing_->set_static_routes(cfg_.static_routes);

  if (cfg_.bgp) {
    speaker_ = std::make_unique<speaker::Speaker>(io_, cfg_, rib_);
    if (auto r = speaker_->start(); !r.ok()) spdlog::error("bgp: {}", r.error());
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
  cfg_ = cfg;
  rib_.set_options(rib_options(cfg_));
  routing_->set_static_routes(cfg_.static_routes);
  if (speaker_) speaker_->apply(cfg_);  // policies, neighbors, networks; soft refresh
  sync_bfd_peers();
  return {};
}

void Modules::stop(const std::string& reason, std::function<void()> done) {
  // BGP first (Cease with the reason), then BFD AdminDown, then the kernel routes.
  auto finish = [this, done = std::move(done)]() mutable {
    if (bfd_) bfd_->stop();
    if (fib_) {
      fib_->shutdown([this, done = std::move(done)] {
        if (nl_) nl_->close();
        if (done) done();
      });
    } else if (done) {
      done();
    }
  };
  if (speaker_)
    speaker_->stop(reason, std::move(finish));
  else
    finish();
}

void Modules::register_commands(ctl::Registry& r) {
  if (speaker_) speaker_->register_commands(r);
  r.add(
      "show fib",
      [this](const ctl::Json&) -> Result<ctl::Json> {
        if (!fib_) return ctl::Json{{"enabled", false}};
        ctl::Json j = fib_->stats();
        j["enabled"] = true;
        j["routes"] = fib_->routes();
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
