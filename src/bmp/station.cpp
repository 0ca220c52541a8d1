#include "bmp/station.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace ferry::bmp {

namespace {

// BMP messages in a buffer of whole messages (RFC 7854 §4.1 Message Length).
size_t count_messages(const std::vector<uint8_t>& b) {
  size_t n = 0;
  for (size_t at = 0; at + kCommonHeaderLen <= b.size(); ++n) {
    const uint32_t len = (uint32_t{b[at + 1]} << 24) | (uint32_t{b[at + 2]} << 16) |
                         (uint32_t{b[at + 3]} << 8) | b[at + 4];
    if (len < kCommonHeaderLen) break;
    at += len;
  }
  return n;
}

const char* view_name(rib::PeerView v) {
  switch (v) {
    case rib::PeerView::AdjInPre:
      return "pre-policy";
    case rib::PeerView::AdjInPost:
      return "post-policy";
    case rib::PeerView::AdjOut:
      return "adj-rib-out";
  }
  return "?";
}

}  // namespace

Station::Station(Exporter& ex, StationOptions opts)
    : ex_(ex),
      opts_(std::move(opts)),
      retry_timer_(ex.io()),
      stats_timer_(ex.io()),
      backoff_(ex.options().min_backoff) {}

Station::~Station() {
  alive_.reset();
  retry_timer_.cancel();
  stats_timer_.cancel();
}

void Station::start() {
  connect();
}

void Station::connect() {
  state_ = State::Connecting;
  conn_ = ex_.connector()(opts_.address, opts_.port, *this);
}

void Station::stop() {
  if (conn_) {
    std::vector<uint8_t> term;
    if (state_ == State::Up) encode_termination(kTermAdminClose, "ferryd: station stopped", term);
    conn_->close(term);
    conn_.reset();
  }
  state_ = State::Stopped;
  walks_.clear();
  retry_timer_.cancel();
  stats_timer_.cancel();
}

void Station::connected() {
  state_ = State::Up;
  ++connects_;
  backoff_ = ex_.options().min_backoff;
  up_since_ = std::chrono::system_clock::now();
  last_error_.clear();
  pending_.clear();
  inflight_ = 0;
  walks_.clear();
  spdlog::info("bmp {}: connected to {}:{}", opts_.name, opts_.address.str(), opts_.port);
  // RFC 7854 §4.3: Initiation first, then (§3.3) a Peer Up for every session that is up
  // and the initial dump of its tables (§5).
  encode_initiation(ex_.options().sys_name, ex_.options().sys_descr, pending_);
  for (const auto& [id, f] : ex_.peers()) {
    peer_up_message(f, pending_);
    add_walks(id);
  }
  arm_stats();
  kick();
}

void Station::written() {
  messages_sent_ += inflight_msgs_;
  bytes_sent_ += inflight_;
  inflight_ = 0;
  inflight_msgs_ = 0;
  kick();
}

void Station::failed(const std::string& why) {
  lost(why, false);
}

void Station::lost(const std::string& why, bool overflow) {
  if (overflow) ++drops_;
  last_error_ = why;
  spdlog::warn("bmp {}: {}; reconnecting in {} ms", opts_.name, why, backoff_.count());
  state_ = State::Backoff;
  walks_.clear();
  pending_.clear();
  pending_.shrink_to_fit();  // a dropped queue may have been large
  inflight_ = 0;
  inflight_msgs_ = 0;
  stats_timer_.cancel();
  // We may be inside the connection's own callback: let it go from the loop.
  if (conn_) asio::post(ex_.io(), [c = std::shared_ptr<Connection>(std::move(conn_))] {});
  retry_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, ex_.options().max_backoff);
  retry_timer_.async_wait([this, w = std::weak_ptr<bool>(alive_)](asio::error_code ec) {
    if (ec || w.expired() || state_ != State::Backoff) return;
    connect();
  });
}

void Station::deliver(const std::vector<uint8_t>& bytes) {
  if (!up() || bytes.empty()) return;
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  if (queued() > opts_.queue_limit) {
    // The station does not keep up: BGP must not wait for it, and neither may our memory
    // grow. Drop the connection; the next one starts over with a full dump.
    conn_->close({});
    lost("send queue over " + std::to_string(opts_.queue_limit) +
             " bytes (station too slow): connection dropped, full resync on reconnect",
         true);
    return;
  }
  kick();
}

void Station::peer_up(rib::PeerId id) {
  if (!up()) return;
  // Routes the RIB already holds for a new session (graceful restart's stale ones).
  auto st = ex_.rib().peer_status(id);
  if (st && st->counters.received > 0) add_walks(id);
  kick();
}

void Station::peer_down(rib::PeerId id) {
  std::erase_if(walks_, [id](const Walk& w) { return w.peer == id; });
}

void Station::add_walks(rib::PeerId id) {
  auto add = [&](rib::PeerView v) {
    for (Family f : {Family::V4, Family::V6}) {
      Walk w;
      w.peer = id;
      w.walk.family = f;
      w.walk.view = v;
      walks_.push_back(w);
    }
  };
  if (opts_.pre_policy) add(rib::PeerView::AdjInPre);
  if (opts_.post_policy) add(rib::PeerView::AdjInPost);
  if (opts_.adj_rib_out) add(rib::PeerView::AdjOut);
}

PeerHeader Station::header(rib::PeerId id, rib::PeerView view) const {
  PeerHeader h = ex_.peers().at(id).header;
  h.post_policy = view != rib::PeerView::AdjInPre;
  h.adj_rib_out = view == rib::PeerView::AdjOut;
  return h;  // timestamp 0: when a dumped route arrived is not known (§4.2)
}

void Station::step(Walk& w) {
  // Group the step's routes by attribute set: one UPDATE per set, not per route.
  std::unordered_map<const void*, size_t> index;
  std::vector<std::pair<rib::AttrRef, std::vector<Prefix>>> groups;
  ex_.rib().walk_peer(w.peer, w.walk, kWalkBudget, [&](const Prefix& p, const rib::AttrRef& a) {
    auto [it, fresh] = index.emplace(a.id(), groups.size());
    if (fresh) groups.emplace_back(a, std::vector<Prefix>{});
    groups[it->second].second.push_back(p);
  });
  const PeerHeader h = header(w.peer, w.walk.view);
  for (const auto& [attrs, prefixes] : groups)
    if (!enc_.announce(h, *attrs, prefixes, pending_)) ++encode_errors_;
  // RFC 7854 §5: the initial dump of a table ends with End-of-RIB.
  if (w.walk.done) enc_.end_of_rib(h, w.walk.family, pending_);
}

void Station::refill() {
  // Half the limit at most: incremental messages still fit on top of a dump step.
  const size_t low = std::min(kLowWater, opts_.queue_limit / 2);
  while (up() && queued() < low && !walks_.empty()) {
    Walk& w = walks_.front();
    if (!ex_.peers().count(w.peer)) {
      walks_.pop_front();
      continue;
    }
    step(w);
    if (w.walk.done) walks_.pop_front();
  }
}

void Station::kick() {
  if (!up()) return;
  refill();
  if (inflight_ || pending_.empty()) return;
  inflight_ = pending_.size();
  inflight_msgs_ = count_messages(pending_);
  std::vector<uint8_t> out;
  out.swap(pending_);
  conn_->write(std::move(out));
}

void Station::arm_stats() {
  if (!opts_.stats_interval) return;
  stats_timer_.expires_after(std::chrono::seconds(opts_.stats_interval));
  stats_timer_.async_wait([this, w = std::weak_ptr<bool>(alive_)](asio::error_code ec) {
    if (ec || w.expired() || !up()) return;
    send_stats();
    arm_stats();
  });
}

void Station::send_stats() {
  std::vector<uint8_t> out;
  for (const auto& [id, f] : ex_.peers()) {
    auto st = ex_.rib().peer_status(id);
    if (!st) continue;
    const rib::PeerCounters& c = st->counters;
    std::vector<Stat> stats;
    // RFC 7854 §4.8. Type 0: routes of this peer that import policy rejects, now.
    stats.push_back({kStatRejected, false, c.received - std::min(c.accepted, c.received)});
    // Types 3 / 4: updates ignored as loops (iBGP: CLUSTER_LIST / ORIGINATOR_ID; eBGP: AS_PATH).
    stats.push_back({st->ibgp ? kStatClusterLoop : kStatAsPathLoop, false, c.loops_rejected});
    stats.push_back({kStatAdjRibIn, true, c.received});                                // type 7
    stats.push_back({kStatLocRib, true, ex_.rib().prefix_count()});                    // type 8
    if (opts_.adj_rib_out) stats.push_back({kStatAdjRibOutPost, true, c.advertised});  // RFC 8671
    PeerHeader h = f.header;
    stamp_now(h);
    encode_stats_report(h, stats, out);
  }
  deliver(out);
}

ctl::Json Station::show() const {
  ctl::Json j;
  j["name"] = opts_.name;
  j["station"] = (opts_.address.is_v6() ? "[" + opts_.address.str() + "]" : opts_.address.str()) +
                 ":" + std::to_string(opts_.port);
  const char* state = "stopped";
  switch (state_) {
    case State::Connecting:
      state = "connecting";
      break;
    case State::Up:
      state = "up";
      break;
    case State::Backoff:
      state = "backoff";
      break;
    case State::Stopped:
      break;
  }
  j["state"] = state;
  ctl::Json views = ctl::Json::array();
  if (opts_.pre_policy) views.push_back(view_name(rib::PeerView::AdjInPre));
  if (opts_.post_policy) views.push_back(view_name(rib::PeerView::AdjInPost));
  if (opts_.adj_rib_out) views.push_back(view_name(rib::PeerView::AdjOut));
  j["route_monitoring"] = std::move(views);
  j["stats_interval"] = opts_.stats_interval;
  j["queue_limit"] = opts_.queue_limit;
  j["up_since"] =
      up() ? std::chrono::duration_cast<std::chrono::seconds>(up_since_.time_since_epoch()).count()
           : 0;
  j["messages_sent"] = messages_sent_;
  j["bytes_sent"] = bytes_sent_;
  j["queue_bytes"] = queued();
  j["dump_walks_pending"] = walks_.size();
  j["connects"] = connects_;
  j["drops"] = drops_;
  j["encode_errors"] = encode_errors_;
  j["last_error"] = last_error_;
  return j;
}

}  // namespace ferry::bmp
