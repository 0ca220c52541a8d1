#include "fib/fib.hpp"

#include <algorithm>
#include <asio/post.hpp>
#include <cerrno>
#include <cstring>

namespace ferry::fib {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds backoff_delay(const FibOptions& o, unsigned failures) {
  if (failures == 0) return std::chrono::milliseconds(0);
  auto d = o.backoff_initial;
  for (unsigned i = 1; i < failures && d < o.backoff_max; ++i) d *= 2;
  return std::min(d, o.backoff_max);
}

size_t RouteTargetHash::operator()(const RouteTarget& t) const noexcept {
  size_t h = static_cast<size_t>(t.type);
  for (const auto& nh : t.nexthops) {
    size_t x = nh.gateway ? std::hash<IpAddress>{}(*nh.gateway) : 0x51ed27;
    x ^=
        (static_cast<size_t>(nh.ifindex) << 16) ^ (static_cast<size_t>(nh.weight) << 8) ^ nh.onlink;
    h = h * 1000003u ^ x;
  }
  return h;
}

Fib::Fib(asio::io_context& io, RouteKernel& kernel, FibOptions opts)
    : io_(io), kernel_(kernel), opts_(opts), retry_timer_(io), stale_timer_(io), dump_timer_(io) {}

Fib::~Fib() {
  *alive_ = false;
}

Fib::TargetRef Fib::intern(RouteTarget t) {
  t.canonicalize();
  auto it = interned_.find(t);
  if (it != interned_.end()) {
    if (auto sp = it->second.lock()) return sp;
  }
  auto sp = std::make_shared<const RouteTarget>(t);
  interned_[std::move(t)] = sp;
  if (interned_.size() >= intern_sweep_at_) {
    std::erase_if(interned_, [](const auto& kv) { return kv.second.expired(); });
    intern_sweep_at_ = std::max<size_t>(1024, interned_.size() * 2);
  }
  return sp;
}

void Fib::set(const Prefix& prefix, RouteTarget target) {
  Entry& e = entries_[prefix];
  e.desired = intern(std::move(target));
  e.stale = false;
  mark(prefix, e);
}

void Fib::remove(const Prefix& prefix) {
  auto it = entries_.find(prefix);
  if (it == entries_.end()) return;
  it->second.desired.reset();
  mark(prefix, it->second);
}

void Fib::mark(const Prefix& p, Entry& e) {
  if (!e.queued && !e.in_flight && !e.waiting) {
    e.queued = true;
    dirty_.push_back(p);
  }
  schedule_flush();
}

void Fib::schedule_flush() {
  if (flush_posted_ || !started_ || program_in_flight_ || resyncing_) return;
  flush_posted_ = true;
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive]() {
    if (alive.expired()) return;
    flush_posted_ = false;
    flush();
  });
}

void Fib::flush() {
  if (!started_ || program_in_flight_ || resyncing_) return;
  if (resync_wanted_ && !shutting_down_) {
    resync_wanted_ = false;
    do_dump(false);
    return;
  }
  batch_.clear();
  const auto now = Clock::now();
  if (!foreign_held_) {
    while (!foreign_.empty() && batch_.size() < opts_.max_ops_per_program) {
      batch_.push_back(std::move(foreign_.back()));
      foreign_.pop_back();
    }
  }
  while (!dirty_.empty() && batch_.size() < opts_.max_ops_per_program) {
    const Prefix p = dirty_.front();
    dirty_.pop_front();
    auto it = entries_.find(p);
    if (it == entries_.end()) continue;
    Entry& e = it->second;
    e.queued = false;
    if (e.in_flight) continue;
    if (auto r = retry_.find(p); r != retry_.end() && r->second.at > now && !shutting_down_) {
      e.waiting = true;  // the retry timer re-queues it
      continue;
    }
    if (e.desired && e.desired != e.installed) {
      batch_.push_back(RouteOp{RouteOp::Kind::Replace, p, *e.desired, std::nullopt});
    } else if (!e.desired && e.installed && !e.stale) {
      batch_.push_back(RouteOp{RouteOp::Kind::Delete, p, {}, std::nullopt});
    } else {
      retry_.erase(p);  // nothing to do any more
      maybe_erase(p);
      continue;
    }
    e.in_flight = true;
  }
  if (batch_.empty()) {
    arm_retry_timer();
    check_idle();
    return;
  }
  ++counters_.flushes;
  program_in_flight_ = true;
  std::weak_ptr<bool> alive = alive_;
  kernel_.program(batch_, [this, alive](std::vector<NlAck> acks) {
    if (alive.expired()) return;
    on_programmed(std::move(acks));
  });
}

void Fib::on_programmed(std::vector<NlAck> acks) {
  program_in_flight_ = false;
  const auto now = Clock::now();
  for (size_t i = 0; i < batch_.size(); ++i) {
    const RouteOp& op = batch_[i];
    const NlAck& fack = i < acks.size() ? acks[i] : NlAck{-ECANCELED, "no reply"};
    if (op.metric) {
      // A foreign-metric leftover: not tracked per prefix, retried at the next resync.
      if (fack.error == 0 || fack.error == -ESRCH || fack.error == -ENOENT) {
        ++counters_.programmed;
        ++counters_.stale_removed;
      } else {
        ++counters_.failures;
        last_error_ = "delete " + op.prefix.str() + " metric " + std::to_string(*op.metric) + ": " +
                      std::strerror(-fack.error);
        resync_wanted_ = true;
      }
      continue;
    }
    auto it = entries_.find(op.prefix);
    if (it == entries_.end()) continue;
    Entry& e = it->second;
    e.in_flight = false;
    const NlAck ack = i < acks.size() ? acks[i] : NlAck{-ECANCELED, "no reply"};
    const bool del = op.kind == RouteOp::Kind::Delete;
    // Deleting a route that is already gone is success.
    if (ack.error == 0 || (del && (ack.error == -ESRCH || ack.error == -ENOENT))) {
      ++counters_.programmed;
      if (del) {
        e.installed.reset();
      } else {
        e.installed = intern(op.target);
      }
      retry_.erase(op.prefix);
    } else {
      ++counters_.failures;
      last_error_ = std::string(del ? "delete " : "replace ") + op.prefix.str() + ": " +
                    std::strerror(-ack.error) +
                    (ack.message.empty() ? "" : " (" + ack.message + ")");
      if (log_limit_.allow()) {
        const uint64_t suppressed = log_limit_.take_suppressed();
        log_event(spdlog::level::warn, "fib_route_failure",
                  {{"operation", del ? "delete" : "replace"},
                   {"prefix", op.prefix.str()},
                   {"error", std::strerror(-ack.error)},
                   {"kernel_message", ack.message},
                   {"suppressed", suppressed}},
                  fmt::format("fib: {} (suppressed {})", last_error_, suppressed));
      }
      // A lost reply leaves the kernel state unknown: re-dump before retrying.
      if (ack.error == -ENOBUFS || ack.error == -ECANCELED || ack.error == -EBADF) {
        resync_wanted_ = true;
      }
      if (!shutting_down_) {
        RetryState& r = retry_[op.prefix];
        r.failures = std::min(r.failures + 1, 64u);
        r.error = ack.error;
        r.at = now + backoff_delay(opts_, r.failures);
        e.waiting = true;
      }
      continue;  // during shutdown a failure is counted, not retried
    }
    if (e.desired != e.installed && !(e.stale && !e.desired)) {
      // Desired state moved on while the op was in flight (or shutdown began).
      mark(op.prefix, e);
    } else {
      maybe_erase(op.prefix);
    }
  }
  batch_.clear();
  arm_retry_timer();
  if (!dirty_.empty() || resync_wanted_ || (!foreign_.empty() && !foreign_held_)) {
    schedule_flush();
  } else {
    check_idle();
  }
}

void Fib::maybe_erase(const Prefix& p) {
  auto it = entries_.find(p);
  if (it == entries_.end()) return;
  const Entry& e = it->second;
  if (!e.desired && !e.installed && !e.queued && !e.in_flight && !e.waiting) {
    retry_.erase(p);
    entries_.erase(it);
  }
}

void Fib::arm_retry_timer() {
  if (retry_.empty()) return;
  auto earliest = Clock::time_point::max();
  for (const auto& [p, r] : retry_) earliest = std::min(earliest, r.at);
  if (retry_armed_for_ != Clock::time_point{} && retry_armed_for_ <= earliest) return;
  retry_armed_for_ = earliest;
  retry_timer_.expires_at(earliest);
  std::weak_ptr<bool> alive = alive_;
  retry_timer_.async_wait([this, alive](asio::error_code ec) {
    if (alive.expired() || ec) return;
    retry_armed_for_ = {};
    on_retry_timer();
  });
}

void Fib::on_retry_timer() {
  const auto now = Clock::now();
  for (auto& [p, r] : retry_) {
    if (r.at > now) continue;
    auto it = entries_.find(p);
    if (it == entries_.end()) continue;
    if (it->second.waiting) {
      it->second.waiting = false;
      ++counters_.retries;
      mark(p, it->second);
    }
  }
  arm_retry_timer();
}

void Fib::start(std::chrono::milliseconds stale_hold, std::function<void(int)> done) {
  if (started_ || starting_) return;
  starting_ = true;
  stale_hold_ = stale_hold;
  start_done_ = std::move(done);
  do_dump(true);
}

void Fib::do_dump(bool initial) {
  resyncing_ = true;
  std::weak_ptr<bool> alive = alive_;
  kernel_.dump([this, alive, initial](int err, std::vector<KernelRoute> routes) {
    if (alive.expired()) return;
    if (err != 0) {
      // Interrupted or failed dump: try again after a backoff.
      ++dump_failures_;
      last_error_ = std::string("route dump: ") + std::strerror(-err);
      if (log_limit_.allow()) spdlog::warn("fib: {}", last_error_);
      dump_timer_.expires_after(backoff_delay(opts_, dump_failures_));
      dump_timer_.async_wait([this, alive, initial](asio::error_code ec) {
        if (alive.expired() || ec) return;
        do_dump(initial);
      });
      return;
    }
    dump_failures_ = 0;
    resyncing_ = false;
    reconcile(std::move(routes), initial);
  });
}

void Fib::reconcile(std::vector<KernelRoute> routes, bool initial) {
  if (!initial) ++counters_.resyncs;
  std::unordered_map<Prefix, const KernelRoute*> seen;
  seen.reserve(routes.size());
  foreign_.clear();
  for (const auto& kr : routes) {
    if (kr.metric != opts_.keys.metric) {
      // Ours, but from a run configured with another metric: delete it.
      foreign_.push_back(RouteOp{RouteOp::Kind::Delete, kr.prefix, {}, kr.metric});
      continue;
    }
    seen.emplace(kr.prefix, &kr);
  }
  if (initial) routes_at_start_ = seen.size();
  if (initial && stale_hold_.count() > 0 && !foreign_.empty()) foreign_held_ = true;
  // What we believe installed but the kernel lost (link down, someone else deleted it).
  for (auto& [p, e] : entries_) {
    if (e.installed && !seen.count(p) && !e.in_flight) {
      e.installed.reset();
      if (e.desired) mark(p, e);
    }
  }
  for (const auto& [p, kr] : seen) {
    Entry& e = entries_[p];
    if (e.in_flight) continue;
    if (e.desired && target_matches_kernel(*e.desired, kr->target)) {
      if (initial && e.installed != e.desired) ++counters_.adopted;
      e.installed = e.desired;  // adopt: nothing to program
      retry_.erase(p);
      continue;
    }
    e.installed = intern(kr->target);
    if (!e.desired && initial && stale_hold_.count() > 0) {
      e.stale = true;
      continue;
    }
    mark(p, e);
  }
  if (initial) {
    started_ = true;
    starting_ = false;
    if (stale_hold_.count() > 0) {
      std::weak_ptr<bool> alive = alive_;
      stale_timer_.expires_after(stale_hold_);
      stale_timer_.async_wait([this, alive](asio::error_code ec) {
        if (!alive.expired() && !ec) purge_stale();
      });
    }
    if (start_done_) {
      auto cb = std::move(start_done_);
      cb(0);
    }
  }
  // Whatever was queued meanwhile (set() before start, changes during a resync).
  schedule_flush();
  if (dirty_.empty()) check_idle();
}

void Fib::purge_stale() {
  stale_timer_.cancel();
  foreign_held_ = false;
  for (auto& [p, e] : entries_) {
    if (!e.stale) continue;
    e.stale = false;
    ++counters_.stale_removed;
    mark(p, e);
  }
  schedule_flush();
}

void Fib::request_resync() {
  resync_wanted_ = true;
  schedule_flush();
}

void Fib::shutdown(std::function<void()> done) {
  shutting_down_ = true;
  retry_timer_.cancel();
  stale_timer_.cancel();
  retry_.clear();
  if (opts_.keep_on_shutdown || !started_) {
    asio::post(io_, std::move(done));
    return;
  }
  shutdown_done_ = std::move(done);
  foreign_held_ = false;
  for (auto& [p, e] : entries_) {
    e.desired.reset();
    e.stale = false;
    e.waiting = false;
    if (e.installed) mark(p, e);
  }
  schedule_flush();
  if (dirty_.empty() && !program_in_flight_) check_idle();
}

bool Fib::idle() const {
  return started_ && !program_in_flight_ && dirty_.empty() && !resyncing_ && !flush_posted_ &&
         !resync_wanted_ && (foreign_.empty() || foreign_held_);
}

bool Fib::converged() const {
  if (!idle() || !retry_.empty() || !foreign_.empty()) return false;
  for (const auto& [p, e] : entries_) {
    if (e.stale || e.desired != e.installed) return false;
  }
  return true;
}

void Fib::check_idle() {
  if (!idle()) return;
  if (shutting_down_ && shutdown_done_) {
    auto cb = std::move(shutdown_done_);
    cb();
  }
}

size_t Fib::stale_count() const {
  size_t n = 0;
  for (const auto& [p, e] : entries_) n += e.stale;
  return n;
}

size_t Fib::installed_count() const {
  size_t n = 0;
  for (const auto& [p, e] : entries_) n += e.installed != nullptr;
  return n;
}

size_t Fib::pending_count() const {
  size_t n = 0;
  for (const auto& [p, e] : entries_) n += (e.desired != e.installed && !e.stale) || e.in_flight;
  return n;
}

const RouteTarget* Fib::desired(const Prefix& p) const {
  auto it = entries_.find(p);
  return it == entries_.end() ? nullptr : it->second.desired.get();
}

const RouteTarget* Fib::installed(const Prefix& p) const {
  auto it = entries_.find(p);
  return it == entries_.end() ? nullptr : it->second.installed.get();
}

Json Fib::stats() const {
  Json j;
  j["table"] = opts_.keys.table;
  j["protocol"] = opts_.keys.protocol;
  j["metric"] = opts_.keys.metric;
  j["state"] = !started_        ? "starting"
               : shutting_down_ ? "shutting-down"
               : converged()    ? "synced"
                                : "pending";
  size_t desired = 0, stale = 0;
  for (const auto& [p, e] : entries_) {
    desired += e.desired != nullptr;
    stale += e.stale;
  }
  j["desired"] = desired;
  j["installed"] = installed_count();
  j["pending"] = pending_count();
  j["retrying"] = retry_.size();
  j["stale"] = stale;
  j["failures"] = counters_.failures;
  j["programmed"] = counters_.programmed;
  j["retries"] = counters_.retries;
  j["flushes"] = counters_.flushes;
  j["resyncs"] = counters_.resyncs;
  j["adopted"] = counters_.adopted;
  j["stale_removed"] = counters_.stale_removed;
  j["routes_at_start"] = routes_at_start_;
  j["next_hop_groups"] = interned_.size();
  j["last_error"] = last_error_;
  return j;
}

Json Fib::routes(const std::optional<Prefix>& within, size_t limit) const {
  Json arr = Json::array();
  std::vector<const std::pair<const Prefix, Entry>*> sorted;
  for (const auto& kv : entries_) {
    if (!within || within->contains(kv.first)) sorted.push_back(&kv);
  }
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  if (sorted.size() > limit) sorted.resize(limit);
  for (const auto* kv : sorted) {
    const Entry& e = kv->second;
    Json r;
    r["prefix"] = kv->first.str();
    const TargetRef& t = e.desired ? e.desired : e.installed;
    if (t) {
      Json tj = t->json();
      if (ifname_) {
        for (auto& nh : tj["nexthops"]) {
          if (nh.contains("ifindex")) nh["dev"] = ifname_(nh["ifindex"].get<uint32_t>());
        }
      }
      r.update(tj);
    }
    std::string state = e.stale                         ? "stale"
                        : e.in_flight                   ? "in-flight"
                        : e.desired == e.installed      ? "installed"
                        : retry_.count(kv->first) != 0u ? "failed"
                        : e.desired                     ? "pending"
                                                        : "removing";
    r["state"] = state;
    if (auto it = retry_.find(kv->first); it != retry_.end()) {
      r["failures"] = it->second.failures;
      r["error"] = std::strerror(-it->second.error);
    }
    arr.push_back(std::move(r));
  }
  return arr;
}

}  // namespace ferry::fib
