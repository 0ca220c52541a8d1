// Route sources for redistribution: connected networks and routes other
// daemons put in the kernel, learned from rtnetlink.
//
// Data flow: KernelRoutes subscribes to RTNLGRP_LINK, *_IFADDR and *_ROUTE,
// then dumps links, addresses and routes on the same socket, so dump replies
// and notifications are applied in the order the kernel sent them. Every
// message goes into a RouteSourceTable (pure logic, unit-tested without a
// kernel), which keeps links, addresses and the kernel routes of the watched
// table, picks per (source, prefix) the route to export, and tells the
// listener when that changes: on_route_add is an upsert (new or changed),
// on_route_remove a withdrawal. Connected networks are exported only while
// their interface is up and some connected selector picks the interface;
// kernel routes only if some kernel selector picks their protocol and table
// (never ferry's own). An
// interface going down withdraws its connected networks and the routes
// through it (the kernel drops IPv4 routes on link down without telling
// anyone). On a netlink overrun (ENOBUFS) state is re-dumped from scratch and
// only the differences are reported. The table's changes reach the listener
// through a DeferredRouteListener: in order, from handlers of the io_context,
// a bounded slice per handler, so a burst of routes (another daemon adding a
// table, a re-dump) neither stalls timers nor slows reading the socket into
// an overrun.
#pragma once

// A C++ standard header first: Asio's config must see libstdc++'s macros
// (_GLIBCXX_HAVE_ALIGNED_ALLOC) in every translation unit, or its allocator
// differs between TUs (ASan: alloc-dealloc-mismatch).
#include <cstddef>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "fib/nl_codec.hpp"
#include "fib/nl_socket.hpp"
#include "fib/types.hpp"

namespace ferry::fib {

struct RedistRoute {
  enum class Source : uint8_t { Connected, Kernel };
  Source source = Source::Connected;
  Prefix prefix;
  std::optional<IpAddress> nexthop;  // kernel routes via a gateway
  uint32_t ifindex = 0;
  uint8_t protocol = 0;  // rtm_protocol (connected: 2, "kernel")
  uint32_t metric = 0;
  RouteType type = RouteType::Unicast;
  bool operator==(const RedistRoute&) const = default;
  Json json() const;
};

class RouteSourceListener {
 public:
  virtual ~RouteSourceListener() = default;
  // New route for (source, prefix), or a change of it: replaces the previous one.
  virtual void on_route_add(const RedistRoute& r) = 0;
  virtual void on_route_remove(const RedistRoute& r) = 0;
};

// What to export. Each `redistribute` entry of the configuration is one
// selector, and the selectors of a source are OR-ed: a route is exported if
// ANY of them selects it (a plain "connected" entry next to one limited to
// some interfaces still exports every interface).
struct RouteSourceFilter {
  struct ConnectedSelector {
    // Only these interfaces; empty = all but "lo" and tunnel_interface.
    std::vector<std::string> interfaces;
  };
  struct KernelSelector {
    // Only these protocols; empty = all but "kernel" (2, the connected routes).
    std::vector<uint8_t> protocols;
    uint32_t table = 254;
  };

  // Watch connected networks; with no selectors, all interfaces are selected.
  bool connected = false;
  std::vector<ConnectedSelector> connected_selectors;
  std::string tunnel_interface = "ferry0";
  // Watch kernel routes; with no selectors, all protocols of the main table.
  bool kernel = false;
  std::vector<KernelSelector> kernel_selectors;
  uint8_t own_protocol = 200;  // never exported

  // Protocol names ("ospf", "bird", "zebra", "static", "boot") or numbers.
  static Result<std::vector<uint8_t>> parse_protocols(const std::vector<std::string>& names);
};

class RouteSourceTable {
 public:
  RouteSourceTable(RouteSourceFilter filter, RouteSourceListener& listener);

  // Applies one kernel message (link, address or route; others are ignored).
  void apply(const NlMessage& m);
  void apply_link(const LinkMessage& l);
  void apply_addr(const AddrMessage& a);
  void apply_route(const RouteMessage& r);

  // Full re-dump: forget links/addresses/routes (keeping what was exported),
  // apply the dump, then end_resync() reports only the differences.
  void begin_resync();
  void end_resync();

  const std::map<std::pair<RedistRoute::Source, Prefix>, RedistRoute>& exported() const {
    return exported_;
  }
  std::optional<std::string> ifname(uint32_t ifindex) const;
  // Connected networks of up interfaces (all of them, unfiltered): input for the next-hop resolver.
  std::vector<std::pair<Prefix, uint32_t>> connected_networks() const;

 private:
  struct Link {
    std::string name;
    uint32_t flags = 0;
  };
  struct Addr {
    IpAddress address;
    uint8_t prefixlen;
    Prefix network;
    auto operator<=>(const Addr&) const = default;
  };
  // How the kernel tells routes apart: (table, prefix, tos, metric). Ordered
  // by prefix, then metric, so a prefix's routes are adjacent, best first.
  struct RouteKey {
    Prefix prefix;
    uint32_t metric = 0;
    uint32_t table = 0;
    uint8_t tos = 0;
    auto operator<=>(const RouteKey&) const = default;
  };

  bool link_up(uint32_t ifindex) const;
  bool interface_selected(uint32_t ifindex) const;
  bool route_wanted(const KernelRoute& kr) const;
  void recompute(RedistRoute::Source s, const Prefix& p);
  void recompute_link(uint32_t ifindex);
  void emit(RedistRoute::Source s, const Prefix& p, std::optional<RedistRoute> now);

  RouteSourceFilter filter_;
  RouteSourceListener& listener_;
  std::map<uint32_t, Link> links_;
  std::map<uint32_t, std::set<Addr>> addrs_;
  std::map<RouteKey, KernelRoute> routes_;
  std::map<std::pair<RedistRoute::Source, Prefix>, RedistRoute> exported_;
  bool resyncing_ = false;
};

// Queues route changes and hands them, in order, to another listener from
// io_context handlers: at most `slice` changes (and about `time` of work) per
// handler, then the rest goes behind whatever else is ready.
class DeferredRouteListener : public RouteSourceListener {
 public:
  DeferredRouteListener(asio::io_context& io, RouteSourceListener& out, size_t slice = 256,
                        std::chrono::microseconds time = std::chrono::microseconds(2000));
  ~DeferredRouteListener() override;
  DeferredRouteListener(const DeferredRouteListener&) = delete;
  DeferredRouteListener& operator=(const DeferredRouteListener&) = delete;

  void on_route_add(const RedistRoute& r) override;
  void on_route_remove(const RedistRoute& r) override;
  size_t pending() const { return queue_.size(); }
  // Runs f from a handler once everything queued so far was delivered.
  void when_idle(std::function<void()> f);

 private:
  void schedule();
  void flush();

  asio::io_context& io_;
  RouteSourceListener& out_;
  size_t slice_;
  std::chrono::microseconds time_;
  std::deque<std::pair<bool, RedistRoute>> queue_;  // (add?, route)
  std::vector<std::function<void()>> idle_;
  bool scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class KernelRoutes {
 public:
  KernelRoutes(asio::io_context& io, RouteSourceFilter filter, RouteSourceListener& listener);
  ~KernelRoutes();

  // Subscribes and starts the initial dump; done(0) once it was applied and
  // delivered to the listener.
  Result<void> start(std::function<void(int)> done = {});
  void stop();

  const RouteSourceTable& table() const { return table_; }
  bool synced() const { return synced_; }
  Json stats() const;

 private:
  void resync();
  void dump_step(int step);
  void schedule_resync();

  bool kernel_enabled_;
  DeferredRouteListener deferred_;
  RouteSourceTable table_;
  NetlinkClient client_;
  asio::steady_timer timer_;
  std::function<void(int)> start_done_;
  bool synced_ = false;
  bool dumping_ = false;
  unsigned resync_failures_ = 0;
  uint64_t resyncs_ = 0;
  uint64_t notifications_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ferry::fib
