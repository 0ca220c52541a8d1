#include "fib/kernel_routes.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/post.hpp>

namespace ferry::fib {

namespace {
constexpr uint8_t kProtoKernel = 2;  // RTPROT_KERNEL: routes the kernel made from addresses
}

Json RedistRoute::json() const {
  Json j;
  j["source"] = source == Source::Connected ? "connected" : "kernel";
  j["prefix"] = prefix.str();
  if (nexthop) j["nexthop"] = nexthop->str();
  if (ifindex) j["ifindex"] = ifindex;
  j["protocol"] = route_protocol_name(protocol);
  j["metric"] = metric;
  j["type"] = route_type_name(type);
  return j;
}

Result<std::vector<uint8_t>> RouteSourceFilter::parse_protocols(
    const std::vector<std::string>& names) {
  std::vector<uint8_t> out;
  for (const auto& n : names) {
    auto p = parse_route_protocol(n);
    if (!p) return make_error("unknown route protocol '" + n + "'");
    out.push_back(*p);
  }
  return out;
}

// ---- RouteSourceTable ----------------------------------------------------------------

RouteSourceTable::RouteSourceTable(RouteSourceFilter filter, RouteSourceListener& listener)
    : filter_(std::move(filter)), listener_(listener) {}

void RouteSourceTable::apply(const NlMessage& m) {
  if (auto* l = std::get_if<LinkMessage>(&m.body)) {
    apply_link(*l);
  } else if (auto* a = std::get_if<AddrMessage>(&m.body)) {
    apply_addr(*a);
  } else if (auto* r = std::get_if<RouteMessage>(&m.body)) {
    apply_route(*r);
  }
}

bool RouteSourceTable::link_up(uint32_t ifindex) const {
  auto it = links_.find(ifindex);
  if (it == links_.end()) return false;
  // Operative: administratively up and running (carrier).
  return (it->second.flags & IFF_UP) && (it->second.flags & IFF_RUNNING);
}

bool RouteSourceTable::interface_selected(uint32_t ifindex) const {
  auto it = links_.find(ifindex);
  if (it == links_.end()) return false;
  const std::string& name = it->second.name;
  auto selects = [&](const std::vector<std::string>& interfaces) {
    if (interfaces.empty()) return name != "lo" && name != filter_.tunnel_interface;
    return std::find(interfaces.begin(), interfaces.end(), name) != interfaces.end();
  };
  if (filter_.connected_selectors.empty()) return selects({});
  return std::any_of(filter_.connected_selectors.begin(), filter_.connected_selectors.end(),
                     [&](const auto& sel) { return selects(sel.interfaces); });
}

std::optional<std::string> RouteSourceTable::ifname(uint32_t ifindex) const {
  auto it = links_.find(ifindex);
  if (it == links_.end()) return std::nullopt;
  return it->second.name;
}

std::vector<std::pair<Prefix, uint32_t>> RouteSourceTable::connected_networks() const {
  std::vector<std::pair<Prefix, uint32_t>> out;
  for (const auto& [ifindex, set] : addrs_) {
    if (!link_up(ifindex)) continue;
    for (const auto& a : set) out.emplace_back(a.network, ifindex);
  }
  return out;
}

void RouteSourceTable::apply_link(const LinkMessage& l) {
  if (!l.is_new) {
    links_.erase(l.ifindex);
    addrs_.erase(l.ifindex);
    std::erase_if(routes_, [&](const auto& kv) {
      const auto& nhs = kv.second.target.nexthops;
      return !nhs.empty() && std::all_of(nhs.begin(), nhs.end(),
                                         [&](const NextHop& n) { return n.ifindex == l.ifindex; });
    });
    recompute_link(l.ifindex);
    return;
  }
  const bool was_up = link_up(l.ifindex);
  Link& link = links_[l.ifindex];
  if (!l.name.empty()) link.name = l.name;
  link.flags = l.flags;
  if (was_up && !(l.flags & IFF_UP)) {
    // Admin down: the kernel flushed routes through this interface (for IPv4
    // without sending RTM_DELROUTE), so forget them too.
    std::erase_if(routes_, [&](const auto& kv) {
      const auto& nhs = kv.second.target.nexthops;
      return !nhs.empty() && std::all_of(nhs.begin(), nhs.end(),
                                         [&](const NextHop& n) { return n.ifindex == l.ifindex; });
    });
  }
  recompute_link(l.ifindex);
}

void RouteSourceTable::apply_addr(const AddrMessage& a) {
  if (a.address.is_v6_link_local()) return;
  Addr addr{a.address, a.prefixlen, a.network()};
  // Like routes, a NEWADDR for an address we hold replaces it: one whose
  // duplicate address detection failed is announced as a NEWADDR with
  // IFA_F_DADFAILED, and must withdraw its network.
  if (a.is_new && !(a.flags & IFA_F_DADFAILED)) {
    if (!addrs_[a.ifindex].insert(addr).second) return;  // refresh (lifetimes, flags)
  } else if (auto it = addrs_.find(a.ifindex); it != addrs_.end() && it->second.erase(addr)) {
    if (it->second.empty()) addrs_.erase(it);
  } else {
    return;
  }
  recompute(RedistRoute::Source::Connected, addr.network);
}

bool RouteSourceTable::route_wanted(const KernelRoute& kr) const {
  // Never ferry's own routes, which may be a full table in a watched table.
  if (kr.protocol == filter_.own_protocol) return false;
  auto selects = [&](const RouteSourceFilter::KernelSelector& sel) {
    if (kr.table != sel.table) return false;
    if (sel.protocols.empty()) return kr.protocol != kProtoKernel;
    return std::find(sel.protocols.begin(), sel.protocols.end(), kr.protocol) !=
           sel.protocols.end();
  };
  const bool selected =
      filter_.kernel_selectors.empty()
          ? selects(RouteSourceFilter::KernelSelector{})
          : std::any_of(filter_.kernel_selectors.begin(), filter_.kernel_selectors.end(), selects);
  if (!selected) return false;
  switch (kr.target.type) {
    case RouteType::Unicast:
    case RouteType::Blackhole:
    case RouteType::Unreachable:
    case RouteType::Prohibit:
      break;
    default:
      return false;  // local, broadcast, multicast ...: not routes to redistribute
  }
  return !kr.prefix.addr().is_v6_link_local();
}

void RouteSourceTable::apply_route(const RouteMessage& r) {
  const KernelRoute& kr = r.route;
  if (!filter_.kernel || (kr.rtm_flags & RTM_F_CLONED)) return;
  // A NEWROUTE for a key we hold replaces that route: `ip route replace` (and
  // `change`) sends only RTM_NEWROUTE with NLM_F_REPLACE, no RTM_DELROUTE for
  // the old one, also when the protocol or type changed. So a new route that
  // is filtered out still withdraws what we had under its key.
  const RouteKey key{kr.prefix, kr.metric, kr.table, kr.tos};
  if (r.is_new && route_wanted(kr)) {
    routes_[key] = kr;
  } else if (routes_.erase(key) == 0) {
    return;  // nothing of ours changed
  }
  recompute(RedistRoute::Source::Kernel, kr.prefix);
}

void RouteSourceTable::recompute_link(uint32_t ifindex) {
  std::set<std::pair<RedistRoute::Source, Prefix>> keys;
  if (auto it = addrs_.find(ifindex); it != addrs_.end()) {
    for (const auto& a : it->second) keys.emplace(RedistRoute::Source::Connected, a.network);
  }
  for (const auto& [k, kr] : routes_) {
    for (const auto& nh : kr.target.nexthops) {
      if (nh.ifindex == ifindex) keys.emplace(RedistRoute::Source::Kernel, k.prefix);
    }
  }
  for (const auto& [k, r] : exported_) {
    if (r.ifindex == ifindex) keys.insert(k);
  }
  for (const auto& [s, p] : keys) recompute(s, p);
}

void RouteSourceTable::recompute(RedistRoute::Source s, const Prefix& p) {
  if (resyncing_) return;  // end_resync() recomputes everything
  std::optional<RedistRoute> best;
  if (s == RedistRoute::Source::Connected) {
    if (filter_.connected) {
      for (const auto& [ifindex, set] : addrs_) {
        if (!link_up(ifindex) || !interface_selected(ifindex)) continue;
        for (const auto& a : set) {
          if (a.network != p) continue;
          best = RedistRoute{s, p, std::nullopt, ifindex, kProtoKernel, 0, RouteType::Unicast};
          break;
        }
        if (best) break;  // lowest ifindex wins
      }
    }
  } else if (filter_.kernel) {
    auto it = routes_.lower_bound(RouteKey{p, 0, 0, 0});
    for (; it != routes_.end() && it->first.prefix == p; ++it) {
      const KernelRoute& kr = it->second;  // selected when it was stored
      const auto& nhs = kr.target.nexthops;
      // Skip routes whose every interface is down (the kernel keeps IPv6 ones).
      if (!nhs.empty() && std::none_of(nhs.begin(), nhs.end(), [&](const NextHop& n) {
            return n.ifindex == 0 || link_up(n.ifindex);
          })) {
        continue;
      }
      RedistRoute rr{s, p, std::nullopt, 0, kr.protocol, kr.metric, kr.target.type};
      if (!nhs.empty()) {
        rr.nexthop = nhs.front().gateway;
        rr.ifindex = nhs.front().ifindex;
      }
      best = rr;
      break;  // ordered by metric (then table): the lowest wins, as in the kernel
    }
  }
  emit(s, p, best);
}

void RouteSourceTable::emit(RedistRoute::Source s, const Prefix& p,
                            std::optional<RedistRoute> now) {
  auto key = std::make_pair(s, p);
  auto it = exported_.find(key);
  if (now) {
    if (it != exported_.end() && it->second == *now) return;
    exported_[key] = *now;
    listener_.on_route_add(*now);
  } else if (it != exported_.end()) {
    RedistRoute old = it->second;
    exported_.erase(it);
    listener_.on_route_remove(old);
  }
}

void RouteSourceTable::begin_resync() {
  resyncing_ = true;
  links_.clear();
  addrs_.clear();
  routes_.clear();
}

void RouteSourceTable::end_resync() {
  resyncing_ = false;
  std::set<std::pair<RedistRoute::Source, Prefix>> keys;
  for (const auto& [k, r] : exported_) keys.insert(k);
  for (const auto& [ifindex, set] : addrs_) {
    for (const auto& a : set) keys.emplace(RedistRoute::Source::Connected, a.network);
  }
  for (const auto& [k, kr] : routes_) keys.emplace(RedistRoute::Source::Kernel, k.prefix);
  for (const auto& [s, p] : keys) recompute(s, p);
}

// ---- DeferredRouteListener -----------------------------------------------------------

DeferredRouteListener::DeferredRouteListener(asio::io_context& io, RouteSourceListener& out,
                                             size_t slice, std::chrono::microseconds time)
    : io_(io), out_(out), slice_(slice ? slice : 1), time_(time) {}

DeferredRouteListener::~DeferredRouteListener() {
  *alive_ = false;
}

void DeferredRouteListener::on_route_add(const RedistRoute& r) {
  queue_.emplace_back(true, r);
  schedule();
}

void DeferredRouteListener::on_route_remove(const RedistRoute& r) {
  queue_.emplace_back(false, r);
  schedule();
}

void DeferredRouteListener::when_idle(std::function<void()> f) {
  idle_.push_back(std::move(f));
  schedule();
}

void DeferredRouteListener::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive]() {
    if (alive.expired()) return;
    scheduled_ = false;
    flush();
  });
}

void DeferredRouteListener::flush() {
  const auto deadline = std::chrono::steady_clock::now() + time_;
  for (size_t i = 0; i < slice_ && !queue_.empty(); ++i) {
    if (i > 0 && std::chrono::steady_clock::now() >= deadline) break;
    auto [add, r] = std::move(queue_.front());
    queue_.pop_front();
    if (add) {
      out_.on_route_add(r);
    } else {
      out_.on_route_remove(r);
    }
  }
  if (!queue_.empty()) {
    schedule();
    return;
  }
  auto idle = std::move(idle_);
  idle_.clear();
  for (auto& f : idle) f();
}

// ---- KernelRoutes --------------------------------------------------------------------

KernelRoutes::KernelRoutes(asio::io_context& io, RouteSourceFilter filter,
                           RouteSourceListener& listener)
    : kernel_enabled_(filter.kernel),
      deferred_(io, listener),
      table_(std::move(filter), deferred_),
      client_(io),
      timer_(io) {}

KernelRoutes::~KernelRoutes() {
  *alive_ = false;
  stop();
}

Result<void> KernelRoutes::start(std::function<void(int)> done) {
  // Route notifications only when kernel routes are wanted: ferry's own
  // installs would otherwise flood this socket.
  std::vector<unsigned> groups = {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR};
  if (kernel_enabled_) {
    groups.push_back(RTNLGRP_IPV4_ROUTE);
    groups.push_back(RTNLGRP_IPV6_ROUTE);
  }
  auto r = client_.open(groups);
  if (!r) return r;
  client_.set_notify_handler([this](const NlMessage& m) {
    ++notifications_;
    table_.apply(m);
  });
  client_.set_overrun_handler([this]() { schedule_resync(); });
  start_done_ = std::move(done);
  resync();
  return {};
}

void KernelRoutes::stop() {
  timer_.cancel();
  client_.close();
}

void KernelRoutes::resync() {
  dumping_ = true;
  ++resyncs_;
  table_.begin_resync();
  dump_step(0);
}

void KernelRoutes::dump_step(int step) {
  if (step == 3) {
    table_.end_resync();
    dumping_ = false;
    synced_ = true;
    resync_failures_ = 0;
    if (start_done_) {
      std::weak_ptr<bool> alive = alive_;
      deferred_.when_idle([alive, cb = std::move(start_done_)]() {
        if (!alive.expired()) cb(0);
      });
      start_done_ = nullptr;
    }
    return;
  }
  // One dump at a time per socket: links, then addresses, then routes.
  uint8_t buf[64];
  const uint32_t seq = client_.alloc_seq(1);
  if (step == 2 && !kernel_enabled_) {
    dump_step(3);
    return;
  }
  const size_t len = step == 0   ? build_link_dump(buf, seq)
                     : step == 1 ? build_addr_dump(buf, AF_UNSPEC, seq)
                                 : build_route_dump(buf, AF_UNSPEC, seq);
  std::weak_ptr<bool> alive = alive_;
  client_.dump(
      std::span<const uint8_t>(buf, len), seq,
      [this, alive, step](int err, std::vector<NlMessage>) {
        if (alive.expired()) return;
        if (err != 0) {
          // Overrun or inconsistent dump: start over (the table stays in resync mode).
          schedule_resync();
          return;
        }
        dump_step(step + 1);
      },
      [this](const NlMessage& m) { table_.apply(m); });
}

void KernelRoutes::schedule_resync() {
  synced_ = false;
  ++resync_failures_;
  const auto delay = std::chrono::milliseconds(10) * (1 << std::min(resync_failures_, 9u));
  std::weak_ptr<bool> alive = alive_;
  timer_.expires_after(delay);
  timer_.async_wait([this, alive](asio::error_code ec) {
    if (alive.expired() || ec) return;
    resync();
  });
}

Json KernelRoutes::stats() const {
  Json j;
  j["synced"] = synced_;
  j["resyncs"] = resyncs_;
  j["notifications"] = notifications_;
  j["exported"] = table_.exported().size();
  j["pending"] = deferred_.pending();
  j["read_yields"] = client_.socket().yields();
  j["overruns"] = client_.counters().overruns;
  j["malformed"] = client_.counters().malformed;
  Json routes = Json::array();
  for (const auto& [k, r] : table_.exported()) routes.push_back(r.json());
  j["routes"] = std::move(routes);
  return j;
}

}  // namespace ferry::fib
