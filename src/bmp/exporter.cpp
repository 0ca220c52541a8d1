#include "bmp/exporter.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

#include "bmp/station.hpp"

namespace ferry::bmp {

namespace {

// Index of each view's scratch buffer.
constexpr int kPre = 0, kPost = 1, kOut = 2;

// RFC 7854 §4.9 reason and data for a lost session.
std::pair<uint8_t, std::vector<uint8_t>> down_reason(const bgp::DownCause& c) {
  using K = bgp::DownCause::Kind;
  switch (c.kind) {
    case K::LocalNotification:
      return {kDownLocalNotification, c.notification};
    case K::RemoteNotification:
      return {kDownRemoteNotification, c.notification};
    case K::LocalNoNotification:
      // Two zero octets: "no relevant Event code is defined" (§4.9, reason 2).
      return {kDownLocalFsmEvent, {0, 0}};
    case K::RemoteNoNotification:
      break;
  }
  return {kDownRemoteNoData, {}};
}

}  // namespace

void stamp_now(PeerHeader& h) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  h.ts_sec = static_cast<uint32_t>(us / 1000000);
  h.ts_usec = static_cast<uint32_t>(us % 1000000);
}

void peer_up_message(const Exporter::PeerFacts& f, std::vector<uint8_t>& out) {
  PeerHeader h = f.header;
  // §4.10: the timestamp of a Peer Up is when the session became Established.
  h.ts_sec = f.up_sec;
  h.ts_usec = f.up_usec;
  PeerUpInfo info;
  info.local_address = f.local_address;
  info.local_port = f.local_port;
  info.remote_port = f.remote_port;
  info.sent_open = f.open_sent;
  info.received_open = f.open_received;
  encode_peer_up(h, info, out);
}

Exporter::Exporter(asio::io_context& io, rib::Rib& rib, ExporterOptions opts, Connector connector,
                   const PeerLister& established)
    : io_(io), rib_(rib), opts_(std::move(opts)), connector_(std::move(connector)) {
  if (established)
    established([this](const speaker::MonitoredPeer& p) { peers_[p.id] = facts(p); });
  for (const StationOptions& so : opts_.stations) start_station(so);
}

Exporter::~Exporter() {
  stop();
}

void Exporter::start_station(const StationOptions& so) {
  auto st = std::make_unique<Station>(*this, so);
  Station& ref = *st;
  stations_[so.name] = std::move(st);
  ref.start();
}

void Exporter::apply(const ExporterOptions& next) {
  std::map<std::string, const StationOptions*> wanted;
  for (const auto& s : next.stations) wanted[s.name] = &s;
  const bool global_change = next.sys_name != opts_.sys_name || next.sys_descr != opts_.sys_descr;
  opts_ = next;
  for (auto it = stations_.begin(); it != stations_.end();) {
    auto w = wanted.find(it->first);
    if (w != wanted.end() && *w->second == it->second->options() && !global_change) {
      ++it;
      continue;
    }
    spdlog::info("bmp {}: station {}", it->first, w == wanted.end() ? "removed" : "changed");
    it->second->stop();
    it = stations_.erase(it);
  }
  for (const auto& s : opts_.stations)
    if (!stations_.count(s.name)) start_station(s);
}

void Exporter::stop() {
  for (auto& [name, s] : stations_) s->stop();
  stations_.clear();
}

Exporter::PeerFacts Exporter::facts(const speaker::MonitoredPeer& p) const {
  PeerFacts f;
  f.header.address = p.address;
  f.header.asn = p.remote_asn.value();
  f.header.bgp_id = p.bgp_id.value();
  f.local_address = p.local_address;
  f.local_port = p.local_port;
  f.remote_port = p.remote_port;
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(p.established_at.time_since_epoch())
          .count();
  f.up_sec = static_cast<uint32_t>(us / 1000000);
  f.up_usec = static_cast<uint32_t>(us % 1000000);
  if (p.open_sent) f.open_sent = *p.open_sent;
  if (p.open_received) f.open_received = *p.open_received;
  return f;
}

void Exporter::peer_up(const speaker::MonitoredPeer& p) {
  PeerFacts& f = peers_[p.id] = facts(p);
  std::vector<uint8_t> msg;
  peer_up_message(f, msg);
  for (auto& [name, s] : stations_) {
    s->deliver(msg);
    s->peer_up(p.id);
  }
}

void Exporter::peer_down(const speaker::MonitoredPeer& p, const bgp::DownCause& cause) {
  auto it = peers_.find(p.id);
  if (it == peers_.end()) return;
  PeerHeader h = it->second.header;
  stamp_now(h);
  auto [reason, data] = down_reason(cause);
  std::vector<uint8_t> msg;
  encode_peer_down(h, reason, data, msg);
  peers_.erase(it);
  for (auto& [name, s] : stations_) {
    s->peer_down(p.id);
    s->deliver(msg);
  }
}

void Exporter::received(const speaker::MonitoredPeer& p, const bgp::DecodedUpdate& u) {
  auto it = peers_.find(p.id);
  if (it == peers_.end() || stations_.empty()) return;
  bool pre = false, post = false;
  for (auto& [name, s] : stations_) {
    pre |= s->up() && s->options().pre_policy;
    post |= s->up() && s->options().post_policy;
  }
  if (!pre && !post) return;
  PeerHeader h = it->second.header;
  stamp_now(h);
  for (auto& b : scratch_) b.clear();
  if (pre) {
    // Pre-policy Adj-RIB-In: the UPDATE as received (re-encoded, see route_monitor.hpp).
    enc_.withdraw(h, u.withdrawn, scratch_[kPre]);
    enc_.announce(h, u.attrs, u.nlri, scratch_[kPre]);
    if (!u.mp_nlri.empty()) enc_.announce(h, u.mp_attrs(), u.mp_nlri, scratch_[kPre]);
    if (u.end_of_rib) enc_.end_of_rib(h, *u.end_of_rib, scratch_[kPre]);
  }
  if (post) {
    // Post-policy: what import policy made of each prefix, as the RIB now holds it; a
    // rejected prefix is a withdrawal.
    h.post_policy = true;
    std::vector<Prefix> gone = u.withdrawn;
    std::unordered_map<const void*, size_t> index;
    std::vector<std::pair<rib::AttrRef, std::vector<Prefix>>> groups;
    for (const auto* list : {&u.nlri, &u.mp_nlri}) {
      for (const Prefix& pfx : *list) {
        rib::AttrRef a = rib_.peer_route(p.id, rib::PeerView::AdjInPost, pfx);
        if (!a) {
          gone.push_back(pfx);
          continue;
        }
        auto [gi, fresh] = index.emplace(a.id(), groups.size());
        if (fresh) groups.emplace_back(a, std::vector<Prefix>{});
        groups[gi->second].second.push_back(pfx);
      }
    }
    enc_.withdraw(h, gone, scratch_[kPost]);
    for (const auto& [a, prefixes] : groups) enc_.announce(h, *a, prefixes, scratch_[kPost]);
    if (u.end_of_rib) enc_.end_of_rib(h, *u.end_of_rib, scratch_[kPost]);
  }
  for (auto& [name, s] : stations_) {
    if (s->options().pre_policy) s->deliver(scratch_[kPre]);
    if (s->options().post_policy) s->deliver(scratch_[kPost]);
  }
}

void Exporter::sent(const speaker::MonitoredPeer& p, const rib::PullResult& r) {
  auto it = peers_.find(p.id);
  if (it == peers_.end()) return;
  bool want = false;
  for (auto& [name, s] : stations_) want |= s->up() && s->options().adj_rib_out;
  if (!want) return;
  // RFC 8671 §4: post-policy Adj-RIB-Out, O and L set.
  PeerHeader h = it->second.header;
  h.post_policy = true;
  h.adj_rib_out = true;
  stamp_now(h);
  std::vector<uint8_t>& out = scratch_[kOut];
  out.clear();
  enc_.withdraw(h, r.withdraw, out);
  for (const rib::AnnounceBatch& b : r.announce) enc_.announce(h, *b.attrs, b.prefixes, out);
  for (Family f : r.end_of_rib) enc_.end_of_rib(h, f, out);
  for (auto& [name, s] : stations_)
    if (s->options().adj_rib_out) s->deliver(out);
}

ctl::Json Exporter::show() const {
  ctl::Json list = ctl::Json::array();
  for (const auto& [name, s] : stations_) list.push_back(s->show());
  return ctl::Json{{"stations", std::move(list)}, {"monitored_peers", peers_.size()}};
}

}  // namespace ferry::bmp
