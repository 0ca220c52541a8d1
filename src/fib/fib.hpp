// Desired-state FIB: what ferry wants in the kernel, and the loop that makes
// the kernel agree.
//
// Data flow: the RIB calls set()/remove() for each best-path change. These
// only record the desired target and queue the prefix (a prefix changed ten
// times before the next flush is programmed once). A flush, posted to the
// event loop, compares desired with installed for each queued prefix and
// hands only the difference to the RouteKernel (KernelFib in the daemon, a
// fake in tests) as one program() call, at most max_ops_per_program ops, one
// call in flight. Each op's ACK updates `installed`; a failed op is counted,
// remembered as the last error, and retried with exponential backoff (never
// silently lost). Outcomes that leave the kernel state unknown (lost replies,
// ENOBUFS) mark the FIB dirty: it re-dumps the kernel and reconciles.
//
// Start-up: start() dumps the kernel's routes with our protocol in our table.
// Routes that match desired state are adopted as installed; the others are
// stale: deleted right away, or, for graceful restart, kept for stale_hold (or
// until purge_stale()) so forwarding continues while BGP re-converges.
// During that hold a stale route is never deleted: set() re-claims it (a
// Replace only if the next hops changed), remove() of a re-claimed route
// deletes it, resyncs leave it alone, and purge_stale() (all End-of-RIBs in,
// or the hold ran out) deletes whatever nobody re-claimed. routes_at_start()
// tells the daemon whether a previous run left forwarding state behind (the
// graceful-restart capability's F bit, RFC 4724 §3).
// Shutdown removes what we installed unless keep_on_shutdown.
//
// Route targets are interned: routes sharing next hops (most of a BGP table)
// share one RouteTarget, so an entry costs a few words.
//
// Errors: throughout src/fib an `int` error is 0 for success or a NEGATIVE
// errno (-ENOBUFS, -ESRCH, ...), the way the kernel reports it in struct
// nlmsgerr (netlink(7)): NlAck::error, dump results, start() callbacks,
// NetlinkSocket::send() and its error handler alike. Print with strerror(-err).
#pragma once

// A C++ standard header first: Asio's config must see libstdc++'s macros
// (_GLIBCXX_HAVE_ALIGNED_ALLOC) in every translation unit, or its allocator
// differs between TUs (ASan: alloc-dealloc-mismatch).
#include <cstddef>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/log.hpp"
#include "fib/kernel_fib.hpp"
#include "fib/types.hpp"

namespace ferry::fib {

struct FibOptions {
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{30000};
  size_t max_ops_per_program = 16384;
  bool keep_on_shutdown = false;
  // Must equal the RouteKernel's keys: the metric tells our routes from ones
  // a previous run left with another metric (those are deleted).
  RouteKeys keys;
};

// Delay before the retry after `failures` consecutive failures (>= 1):
// initial * 2^(failures-1), capped at max.
std::chrono::milliseconds backoff_delay(const FibOptions& o, unsigned failures);

struct RouteTargetHash {
  size_t operator()(const RouteTarget& t) const noexcept;
};

class Fib {
 public:
  using TargetRef = std::shared_ptr<const RouteTarget>;

  Fib(asio::io_context& io, RouteKernel& kernel, FibOptions opts);
  ~Fib();
  Fib(const Fib&) = delete;
  Fib& operator=(const Fib&) = delete;

  // Desired state. Cheap: records and queues; programming happens in a flush.
  void set(const Prefix& prefix, RouteTarget target);
  void set(const Prefix& prefix, std::vector<NextHop> nexthops) {
    set(prefix, RouteTarget::via(std::move(nexthops)));
  }
  void set_blackhole(const Prefix& prefix) { set(prefix, RouteTarget::blackhole()); }
  void remove(const Prefix& prefix);

  // Reconciles with the kernel, then starts programming. Until then set() and
  // remove() only accumulate. done(0) once the first dump was reconciled.
  void start(std::chrono::milliseconds stale_hold = {}, std::function<void(int)> done = {});
  // Deletes routes left by a previous run that nobody re-added (end of graceful restart).
  // Idempotent; also cancels the stale-hold timer.
  void purge_stale();
  // Routes of ours (our table, protocol and metric) the initial dump found: a
  // previous run's forwarding state. 0 before start completed.
  size_t routes_at_start() const { return routes_at_start_; }
  // Routes from a previous run still kept (not re-claimed, not purged yet).
  size_t stale_count() const;
  // Re-dump the kernel and fix any difference (e.g. after an interface came back).
  void request_resync();
  // Removes what we installed (unless keep_on_shutdown) then calls done.
  // Failures during shutdown are counted, not retried.
  void shutdown(std::function<void()> done);

  // Optional ifindex -> name lookup used in routes() output.
  void set_ifname_lookup(std::function<std::string(uint32_t)> f) { ifname_ = std::move(f); }

  // Introspection.
  bool started() const { return started_; }
  bool idle() const;
  // idle and no failed route waiting for a retry, no stale route left.
  bool converged() const;
  size_t size() const { return entries_.size(); }
  size_t installed_count() const;
  size_t pending_count() const;
  const RouteTarget* desired(const Prefix& p) const;
  const RouteTarget* installed(const Prefix& p) const;

  struct Counters {
    uint64_t programmed = 0;  // ops acknowledged
    uint64_t failures = 0;    // ops failed
    uint64_t retries = 0;
    uint64_t flushes = 0;
    uint64_t resyncs = 0;
    uint64_t adopted = 0;  // routes of a previous run that matched desired state
    uint64_t stale_removed = 0;
  };
  const Counters& counters() const { return counters_; }
  const std::string& last_error() const { return last_error_; }

  // JSON for "show fib": counters and state, and the route list.
  Json stats() const;
  // Sorted by prefix; only prefixes inside `within` if given; at most `limit`.
  Json routes(const std::optional<Prefix>& within = std::nullopt, size_t limit = 100000) const;

 private:
  struct Entry {
    TargetRef desired;    // null: should not be in the kernel
    TargetRef installed;  // null: not in the kernel (as far as we know)
    bool queued = false;
    bool in_flight = false;
    bool stale = false;    // from a previous run, kept until purge_stale()
    bool waiting = false;  // in retry_ (backoff)
  };
  struct RetryState {
    unsigned failures = 0;
    std::chrono::steady_clock::time_point at{};
    int error = 0;
  };

  TargetRef intern(RouteTarget t);
  void mark(const Prefix& p, Entry& e);
  void schedule_flush();
  void flush();
  void on_programmed(std::vector<NlAck> acks);
  void do_dump(bool initial);
  void reconcile(std::vector<KernelRoute> routes, bool initial);
  void arm_retry_timer();
  void on_retry_timer();
  void maybe_erase(const Prefix& p);
  void check_idle();

  asio::io_context& io_;
  RouteKernel& kernel_;
  FibOptions opts_;
  std::unordered_map<Prefix, Entry> entries_;
  std::deque<Prefix> dirty_;
  std::unordered_map<Prefix, RetryState> retry_;
  std::vector<RouteOp> batch_;  // ops of the program() call in flight
  // Deletes of our routes with a foreign metric (not in entries_); held until
  // purge_stale() during a graceful restart.
  std::vector<RouteOp> foreign_;
  bool foreign_held_ = false;
  std::unordered_map<RouteTarget, std::weak_ptr<const RouteTarget>, RouteTargetHash> interned_;
  size_t intern_sweep_at_ = 1024;

  bool started_ = false;
  bool starting_ = false;
  bool flush_posted_ = false;
  bool program_in_flight_ = false;
  bool resync_wanted_ = false;
  bool resyncing_ = false;
  bool shutting_down_ = false;
  unsigned dump_failures_ = 0;
  std::chrono::milliseconds stale_hold_{};
  size_t routes_at_start_ = 0;
  std::function<void(int)> start_done_;
  std::function<void()> shutdown_done_;
  std::function<std::string(uint32_t)> ifname_;

  asio::steady_timer retry_timer_;
  asio::steady_timer stale_timer_;
  asio::steady_timer dump_timer_;
  std::chrono::steady_clock::time_point retry_armed_for_{};
  Counters counters_;
  std::string last_error_;
  RateLimitedLog log_limit_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ferry::fib
