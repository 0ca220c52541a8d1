#include "speaker/speaker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "bgp/tcp_link.hpp"
#include "bgp/transport.hpp"
#include "common/log.hpp"
#include "speaker/peer.hpp"

namespace ferry::speaker {

Speaker::Speaker(asio::io_context& io, Options opts, rib::Rib& rib)
    : io_(io), opts_(std::move(opts)), rib_(rib), gr_timer_(io) {
  rib_.set_policies(opts_.policies);
  rib_.set_pending_callback([this](rib::PeerId id) {
    if (Peer* p = find(id)) p->schedule_pump();
  });
  rib_.set_budget_listener([this](rib::PeerId id, const rib::BudgetStatus& b) {
    Peer* p = find(id);
    if (!p) return;
    log_event(spdlog::level::warn, "bgp_export_budget",
              {{"peer", p->cfg().name},
               {"used", b.used},
               {"max", b.max},
               {"held", b.held},
               {"aggregated", b.aggregated}},
              fmt::format("bgp {}: export budget {}/{} prefixes ({} held back, {} aggregated)",
                          p->cfg().name, b.used, b.max, b.held, b.aggregated));
  });
  for (const auto& n : opts_.neighbors) {
    auto p = std::make_unique<Peer>(*this, n);
    by_id_[rib::to_int(p->id())] = p.get();
    peers_[n.name] = std::move(p);
  }
}

Speaker::~Speaker() {
  alive_.reset();
  gr_timer_.cancel();
  rib_.set_pending_callback({});
  rib_.set_budget_listener({});
  for (auto& a : acceptors_) {
    asio::error_code ec;
    a->close(ec);
  }
  peers_.clear();
}

Peer* Speaker::find(const std::string& name) {
  auto it = peers_.find(name);
  return it == peers_.end() ? nullptr : it->second.get();
}

Peer* Speaker::find(const IpAddress& address) {
  for (auto& [name, p] : peers_)
    if (p->cfg().address == address) return p.get();
  return nullptr;
}

Peer* Speaker::find(rib::PeerId id) {
  auto it = by_id_.find(rib::to_int(id));
  return it == by_id_.end() ? nullptr : it->second;
}

size_t Speaker::established_count() const {
  size_t n = 0;
  for (auto& [name, p] : peers_) n += p->session().established();
  return n;
}

void Speaker::for_each_established(const std::function<void(const MonitoredPeer&)>& fn) const {
  for (auto& [name, p] : peers_)
    if (p->session().established()) fn(p->monitored());
}

Result<void> Speaker::start() {
  Result<void> r = listen();
  if (!r) spdlog::error("bgp: {}", r.error());
  // RFC 4724 §4.1 selection deferral: bounded by the restart time we advertise.
  // The RIB stores what arrives meanwhile and decides nothing, so the
  // forwarding state kept from before the restart stays as it is.
  if (gr_restarting_) rib_.set_selection_deferred(true);
  health_changed();
  const uint32_t defer = opts_.graceful_restart_time;
  if (gr_restarting_)
    spdlog::info(
        "bgp: graceful restart: forwarding state preserved, deferring route "
        "selection up to {} s until End-of-RIB from every peer",
        defer);
  gr_timer_.expires_after(std::chrono::seconds(defer));
  gr_timer_.async_wait([this, w = std::weak_ptr<bool>(alive_)](asio::error_code ec) {
    if (!ec && !w.expired()) finish_restart("timer");
  });
  for (auto& [name, p] : peers_) p->start();
  started_ = true;
  check_restart_complete();
  return r;
}

void Speaker::set_restart_state(bool preserve, bool restarting) {
  gr_preserve_ = preserve;
  gr_restarting_ = preserve && restarting;
  for (auto& [name, p] : peers_) p->refresh_session_config();
}

void Speaker::fill_restart_state(bgp::SessionConfig& sc) const {
  sc.gr_preserve = gr_preserve_;
  sc.gr_restarting = gr_restarting_ && !gr_complete_;
  // F: the previous restart kept forwarding state (restarting), or we never
  // restarted since the initial convergence (a session flap keeps our FIB).
  sc.gr_forwarding_preserved = gr_preserve_ && (gr_restarting_ || gr_complete_);
}

void Speaker::check_restart_complete() {
  if (gr_complete_ || !started_) return;
  for (auto& [name, p] : peers_) {
    if (!p->cfg().graceful_restart) continue;  // not a GR peer: not waited for
    const bgp::Session& s = p->session();
    if (!s.established()) return;  // may still come back: wait (bounded by the timer)
    const auto& gr = s.remote_open().caps.graceful_restart;
    // §4.1: peers without the capability, or restarting themselves (R bit), are not
    // waited for (two restarting speakers would otherwise wait for each other).
    if (!gr || gr->restart_state) continue;
    if (!p->initial_eor_complete()) return;
  }
  finish_restart("end-of-rib");
}

void Speaker::finish_restart(const std::string& why) {
  if (gr_complete_) return;
  gr_complete_ = true;
  gr_timer_.cancel();
  if (gr_restarting_) spdlog::info("bgp: graceful restart complete ({})", why);
  rib_.set_selection_deferred(false);
  for (auto& [name, p] : peers_) {
    p->refresh_session_config();
    p->schedule_pump();  // deferred output: our table and End-of-RIB
  }
  if (on_restart_complete_) on_restart_complete_(why);
}

Result<void> Speaker::listen() {
  for (auto& a : acceptors_) {
    asio::error_code ec;
    a->close(ec);
  }
  acceptors_.clear();
  bound_port_ = 0;
  uint16_t port = opts_.listen_port;
  auto try_bind = [&](const asio::ip::address& addr, bool dual) -> std::string {
    auto acc = std::make_shared<asio::ip::tcp::acceptor>(io_);
    asio::error_code ec;
    asio::ip::tcp::endpoint ep(addr, port);
    acc->open(ep.protocol(), ec);
    if (!ec && dual) acc->set_option(asio::ip::v6_only(false), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      // GTSM neighbours' SYNs are checked at accept (Session::accept).
      auto r = bgp::set_save_syn(acc->native_handle());
      if (!r) spdlog::warn("bgp: listener: {}", r.error());
    }
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return ec.message();
    bound_port_ = acc->local_endpoint(ec).port();
    acceptors_.push_back(acc);
    accept_loop(acc);
    return {};
  };
  std::string err;
  if (opts_.listen_address) {
    err = try_bind(bgp::to_asio(*opts_.listen_address), false);
  } else {
    err = try_bind(asio::ip::address_v6::any(), true);
    if (!err.empty()) err = try_bind(asio::ip::address_v4::any(), false);
  }
  if (!err.empty())
    return make_error("cannot listen on BGP port " + std::to_string(port) + ": " + err);
  set_listener_keys();
  return {};
}

void Speaker::set_listener_keys() {
  // RFC 2385: the listening socket needs every neighbour's key before the SYN arrives.
  for (auto& acc : acceptors_) {
    bool v6 = acc->local_endpoint().address().is_v6();
    for (auto& [name, p] : peers_) {
      if (p->cfg().password.empty()) continue;
      auto r = bgp::set_tcp_md5(acc->native_handle(), p->cfg().address, p->cfg().password, v6);
      if (!r) spdlog::warn("bgp {}: listener: {}", name, r.error());
    }
  }
}

void Speaker::accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acc) {
  acc->async_accept([this, acc, w = std::weak_ptr<bool>(alive_)](asio::error_code ec,
                                                                 asio::ip::tcp::socket sock) {
    if (w.expired() || !acc->is_open()) return;
    if (!ec) {
      asio::error_code ec2;
      auto remote = sock.remote_endpoint(ec2);
      Peer* p = ec2 ? nullptr : find(bgp::from_asio(remote.address()));
      if (!p || stopping_) {
        if (!ec2 && log_limit_.allow()) {
          spdlog::info("bgp: refused connection from unknown {}", remote.address().to_string());
        }
        sock.close(ec2);
      } else {
        p->session().accept(std::move(sock));
      }
    } else if (ec != asio::error::operation_aborted && log_limit_.allow()) {
      spdlog::warn("bgp: accept: {}", ec.message());
    }
    accept_loop(acc);
  });
}

void Speaker::originate_networks(const std::vector<Prefix>& old_networks) {
  const std::vector<Prefix>& now = opts_.networks;
  for (const Prefix& p : old_networks)
    if (std::find(now.begin(), now.end(), p) == now.end())
      rib_.unoriginate(rib::RouteSource::Network, p);
  bgp::PathAttributes a;
  a.origin = bgp::Origin::Igp;
  for (const Prefix& p : now) {
    if (network_healthy(p))
      rib_.originate(rib::RouteSource::Network, p, a);
    else
      rib_.unoriginate(rib::RouteSource::Network, p);
  }
}

bool Speaker::network_healthy(const Prefix& p) const {
  for (const auto& h : opts_.health_checks)
    if (std::find(h.networks.begin(), h.networks.end(), p) != h.networks.end() &&
        !(health_up_ && health_up_(h.name)))
      return false;
  return true;
}

bool Speaker::neighbor_healthy(const std::string& name) const {
  for (const auto& h : opts_.health_checks)
    if (std::find(h.neighbors.begin(), h.neighbors.end(), name) != h.neighbors.end() &&
        !(health_up_ && health_up_(h.name)))
      return false;
  return true;
}

void Speaker::health_changed() {
  originate_networks({});
  suspend_unhealthy_neighbors();
}

void Speaker::suspend_unhealthy_neighbors() {
  for (auto& [name, p] : peers_) rib_.set_export_suspended(p->id(), !neighbor_healthy(name));
}

void Speaker::stop(std::string reason, std::function<void()> done) {
  stopping_ = true;
  for (auto& a : acceptors_) {
    asio::error_code ec;
    a->close(ec);
  }
  // RFC 8203/9003: say why in the Cease.
  auto n = bgp::Notification::shutdown(bgp::kSubAdminShutdown, reason);
  for (auto& [name, p] : peers_) p->session().stop(n);
  if (!done) return;
  // The NOTIFICATIONs are queued on lingering sockets; give them a moment to leave.
  auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(200));
  t->async_wait([t, done = std::move(done)](asio::error_code) { done(); });
}

void Speaker::apply(const Options& opts) {
  std::vector<Prefix> old_networks = opts_.networks;
  bool relisten =
      opts_.listen_port != opts.listen_port || opts_.listen_address != opts.listen_address;
  opts_ = opts;
  rib_.set_policies(opts_.policies);

  std::map<std::string, const config::BgpNeighborConfig*> wanted;
  for (const auto& n : opts_.neighbors) wanted[n.name] = &n;

  // Removed neighbours (or moved to another address: removed and added again).
  for (auto it = peers_.begin(); it != peers_.end();) {
    auto w = wanted.find(it->first);
    if (w != wanted.end() && w->second->address == it->second->cfg().address) {
      ++it;
      continue;
    }
    Peer& p = *it->second;
    spdlog::info("bgp {}: neighbour removed", it->first);
    p.session().stop(bgp::Notification{bgp::kErrCease, bgp::kSubPeerDeconfigured, {}});
    for (auto& acc : acceptors_) {
      if (p.cfg().password.empty()) continue;
      (void)bgp::set_tcp_md5(acc->native_handle(), p.cfg().address, "",
                             acc->local_endpoint().address().is_v6());
    }
    rib_.remove_peer(p.id());
    by_id_.erase(rib::to_int(p.id()));
    it = peers_.erase(it);
  }
  // Modified and added ones.
  for (auto& [name, n] : wanted) {
    if (Peer* p = find(name)) {
      p->reconfigure(*n);
      continue;
    }
    spdlog::info("bgp {}: neighbour added", name);
    auto p = std::make_unique<Peer>(*this, *n);
    by_id_[rib::to_int(p->id())] = p.get();
    Peer* raw = p.get();
    peers_[name] = std::move(p);
    if (started_ && !stopping_) raw->start();
  }
  for (auto& [name, p] : peers_) p->refresh_session_config();
  if (started_ && !stopping_) {
    if (relisten) {
      if (auto r = listen(); !r) spdlog::error("bgp: {}", r.error());
    } else {
      set_listener_keys();
    }
    originate_networks(old_networks);
  }
  suspend_unhealthy_neighbors();
  // Policy edits take effect as a soft refresh: only differences are sent.
  rib_.reapply_policies();
}

void Speaker::bfd_down(const IpAddress& neighbor) {
  if (Peer* p = find(neighbor)) p->session().bfd_down();
}

void Speaker::set_gate(const std::string& neighbor, bool open, const std::string& why,
                       bool bfd_cause) {
  if (stopping_) return;  // stop() ended every session; nothing may start one again
  if (Peer* p = find(neighbor)) p->set_gate(open, why, bfd_cause);
}

std::string Speaker::peer_name(rib::PeerId id) const {
  auto it = by_id_.find(rib::to_int(id));
  return it == by_id_.end() ? std::string() : it->second->cfg().name;
}

void Speaker::register_commands(ctl::Registry& registry) {
  registry.add(
      "show neighbors",
      [this](const ctl::Json& a) -> Result<ctl::Json> { return show_neighbors(a); }, false,
      "BGP neighbours: state, uptime, prefix counts, last error");
  registry.add(
      "show routes", [this](const ctl::Json& a) { return show_routes(a); }, false,
      "routes; args: prefix, neighbor, received|advertised, family, limit");
  registry.add(
      "show route", [this](const ctl::Json& a) { return show_route(a); }, false,
      "every path of one prefix with the decision result; args: prefix");
  registry.add(
      "dump routes", [this](const ctl::Json& a) { return dump_routes(a); }, false,
      "the Loc-RIB as an MRT TABLE_DUMP_V2 file (base64); args: format");
  registry.add(
      "clear neighbor", [this](const ctl::Json& a) { return clear_neighbor(a); }, true,
      "reset a session (args: name|all, soft: true|\"in\"|\"out\")");
}

}  // namespace ferry::speaker
