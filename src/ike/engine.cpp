// ike::Engine: peers, datagram dispatch to the right IKE SA (RFC 7296 §2.2:
// our SPI is SPIi when we are the original initiator, SPIr otherwise), the
// periodic timers (retransmission §2.1, rekeying §2.8, liveness §2.4) and
// show(). The exchanges themselves live in ike_init.cpp and child.cpp.
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>

#include "ike/engine_impl.hpp"
#include "ike/proposal.hpp"

namespace ferry::ike {
namespace {

std::string hex64(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}
std::string hex32(uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}
int64_t secs_until(TimePoint t, TimePoint now) {
  return std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
}

Result<std::unique_ptr<Peer>> make_peer(const PeerSettings& cfg) {
  auto p = std::make_unique<Peer>();
  p->cfg = cfg;
  auto ike = parse_proposals(cfg.ike_proposals, kProtoIke);
  if (!ike) return make_error("peer " + cfg.name + ": ike proposals: " + ike.error());
  auto esp = parse_proposals(cfg.esp_proposals, kProtoEsp);
  if (!esp) return make_error("peer " + cfg.name + ": esp proposals: " + esp.error());
  if (cfg.psk.empty())
    return make_error("peer " + cfg.name +
                      ": certificate authentication is not implemented; set a PSK");
  if (cfg.local_id.empty()) return make_error("peer " + cfg.name + ": local id is empty");
  if (!cfg.remote.valid()) return make_error("peer " + cfg.name + ": remote endpoint unset");
  if (cfg.rekey_margin >= cfg.child_lifetime || cfg.rekey_margin >= cfg.ike_lifetime)
    return make_error("peer " + cfg.name + ": rekey margin not below the lifetimes");
  p->ike = std::move(*ike);
  p->esp = std::move(*esp);
  p->local_id = id_from_string(cfg.local_id);
  return p;
}

}  // namespace

const char* state_name(IkeState s) {
  switch (s) {
    case IkeState::kInitSent:
      return "IKE_SA_INIT sent";
    case IkeState::kAuthSent:
      return "IKE_AUTH sent";
    case IkeState::kResponderInit:
      return "half-open";
    case IkeState::kEstablished:
      return "established";
    case IkeState::kDeleting:
      return "deleting";
    case IkeState::kDead:
      return "dead";
  }
  return "?";
}

IkeSa* Peer::current() const {
  IkeSa* best = nullptr;
  for (const auto& s : sas)
    if (s->state == IkeState::kEstablished && !s->rekeyed_away &&
        (!best || s->established >= best->established))
      best = s.get();
  return best;
}

Engine::Impl::Impl(ipsec::ChildSaSink& s, ipsec::IkeSender& o, Rng r)
    : sink(s), out(o), rng(std::move(r)) {
  if (!rng)
    rng = [](std::span<uint8_t> b) {
      if (!b.empty()) RAND_bytes(b.data(), static_cast<int>(b.size()));
    };
  cookie_secret.resize(32);
  rng(cookie_secret);
}

uint64_t Engine::Impl::new_ike_spi() {
  uint64_t v = 0;
  while (v == 0) {
    Bytes b(8);
    rng(b);
    v = from_be(b);
  }
  return v;
}

uint32_t Engine::Impl::new_child_spi() {
  // RFC 4303 §2.1: 1-255 are reserved; also avoid reusing a live inbound SPI.
  for (;;) {
    Bytes b(4);
    rng(b);
    uint32_t v = static_cast<uint32_t>(from_be(b));
    if (v < 256) continue;
    bool used = false;
    for (const auto& [_, p] : peers)
      for (const auto& sa : p->sas)
        for (const auto& c : sa->children) used |= c.spi_in == v;
    if (!used) return v;
  }
}

Bytes Engine::Impl::new_nonce() {
  Bytes n(32);  // §2.10: at least 16 octets and half the PRF key size
  rng(n);
  return n;
}

std::chrono::seconds Engine::Impl::jitter(std::chrono::seconds margin) {
  // Up to a third of the margin, so the two ends rarely rekey at once (§2.8.1).
  uint32_t span = static_cast<uint32_t>(margin.count() / 3);
  if (span == 0) return std::chrono::seconds(0);
  Bytes b(4);
  rng(b);
  return std::chrono::seconds(from_be(b) % span);
}

Peer* Engine::Impl::peer_by_address(const IpAddress& a) {
  for (auto& [_, p] : peers)
    if (p->cfg.remote.addr == a) return p.get();
  return nullptr;
}

IkeSa* Engine::Impl::find_sa(const Header& h, Peer** owner) {
  // §2.2: the I flag says whether the sender is the original initiator.
  bool we_initiated = !h.from_initiator();
  uint64_t ours = we_initiated ? h.spi_i : h.spi_r;
  for (auto& [_, p] : peers)
    for (auto& sa : p->sas) {
      if (sa->initiator != we_initiated || sa->our_spi() != ours || sa->state == IkeState::kDead)
        continue;
      // The IKE_SA_INIT response is where we learn the responder's SPI.
      if (!(sa->state == IkeState::kInitSent && h.exchange == kIkeSaInit) &&
          sa->peer_spi() != (we_initiated ? h.spi_r : h.spi_i))
        continue;
      *owner = p.get();
      return sa.get();
    }
  return nullptr;
}

void Engine::Impl::set_up(Peer& p, bool up, const std::string& reason) {
  if (p.up == up) return;
  p.up = up;
  if (listener) listener(p.cfg.name, up, reason);
}

void Engine::Impl::kill_sa(Peer& p, IkeSa& sa, const std::string& reason, TimePoint now) {
  for (const auto& c : sa.children) {
    sink.remove(p.cfg.peer, c.spi_in);
    ++counters.child_removes;
  }
  sa.children.clear();
  sa.state = IkeState::kDead;
  sa.pending.reset();
  if (!p.current() && p.up) {
    set_up(p, false, reason);
    if (p.cfg.initiate) p.next_attempt = now;  // re-establish at the next tick
  }
}

void Engine::Impl::on_datagram(std::span<const uint8_t> raw, const tunnel::UdpEndpoint& from,
                               bool natt, TimePoint now) {
  auto m = decode_message(raw);
  if (!m) {
    ++counters.malformed;
    return;
  }
  const Header& h = m->hdr;
  if (h.exchange == kIkeSaInit && !h.is_response() && h.spi_r == 0 && h.msg_id == 0) {
    on_init_request(*m, raw, from, natt, now);
    return;
  }
  Peer* p = nullptr;
  IkeSa* sa = find_sa(h, &p);
  if (!sa) {
    ++counters.unknown_spi;  // §2.21.4 would allow INVALID_IKE_SPI; unauthenticated, so drop
    return;
  }
  if (sa->remote.addr != from.addr) {
    ++counters.unexpected;  // no MOBIKE: an SA talks to one address
    return;
  }
  if (h.exchange == kIkeSaInit) {
    if (h.is_response())
      on_init_response(*p, *sa, *m, raw, now);
    else
      ++counters.unexpected;
    return;
  }
  if (sa->state == IkeState::kInitSent) {
    ++counters.unexpected;
    return;
  }
  if (h.is_response()) {
    if (!sa->pending || sa->pending->msg_id != h.msg_id ||
        sa->pending->kind == RequestKind::kInit) {
      ++counters.unexpected;  // §2.3: not the answer to our outstanding request
      return;
    }
    auto in = open(*sa, *m, raw, now);
    if (!in) return;
    Pending req = std::move(*sa->pending);
    sa->pending.reset();
    if (natt && !sa->natt) sa->natt = true;
    switch (req.kind) {
      case RequestKind::kAuth:
        if (h.exchange == kIkeAuth) on_auth_response(*p, *sa, *in);
        break;
      case RequestKind::kChildRekey:
      case RequestKind::kIkeRekey:
        if (h.exchange == kCreateChildSa) on_create_child_response(*p, *sa, req, *in);
        break;
      default:
        if (h.exchange == kInformational) on_informational_response(*p, *sa, req, *in);
        break;
    }
    return;
  }
  // A request. Replayed or stale message IDs are handled before decryption is trusted
  // only for the cached answer; new requests must decrypt.
  if (!accept_request(*sa, *m)) return;
  auto in = open(*sa, *m, raw, now);
  if (!in) return;
  if (natt && !sa->natt) {
    // §2.23: the initiator floated to 4500; answer there from now on.
    sa->natt = true;
    sa->remote.port = from.port;
  }
  switch (h.exchange) {
    case kIkeAuth:
      if (sa->state == IkeState::kResponderInit)
        on_auth_request(*p, *sa, *in);
      else
        ++counters.unexpected;
      break;
    case kCreateChildSa:
      if (sa->state == IkeState::kEstablished)
        on_create_child_request(*p, *sa, *in);
      else
        send_response(*sa, kCreateChildSa, h.msg_id, {make_notify(kTemporaryFailure)});
      break;
    case kInformational:
      on_informational_request(*p, *sa, *in);
      break;
    default:
      ++counters.unexpected;
  }
}

void Engine::Impl::tick_sa(Peer& p, IkeSa& sa, TimePoint now) {
  retransmit(p, sa, now);
  if (sa.state == IkeState::kDead) return;
  if (sa.state == IkeState::kResponderInit && now - sa.created >= kHalfOpenTimeout) {
    sa.state = IkeState::kDead;  // half-open, never authenticated
    return;
  }
  if (sa.state != IkeState::kEstablished) return;
  if (now >= sa.expire_at && !sa.rekeyed_away) {
    kill_sa(p, sa, "IKE SA lifetime expired", now);
    return;
  }
  for (size_t i = 0; i < sa.children.size();) {
    if (now >= sa.children[i].expire_at) {
      remove_child(p, sa.children[i].spi_in);  // hard lifetime: gone
      continue;
    }
    ++i;
  }
  if (sa.pending) return;  // §2.3 window size 1
  if (sa.rekeyed_away) {
    // The rekey's responder waits for the peer's Delete (§2.18); at most the DPD timeout.
    if (now - sa.last_heard >= p.cfg.dpd_timeout) sa.state = IkeState::kDead;
    return;
  }
  if (now >= sa.rekey_at) {
    start_ike_rekey(p, sa, now);
    return;
  }
  for (auto& c : sa.children) {
    if (!c.rekeying && !c.deleting && now >= c.rekey_at) {
      start_child_rekey(p, sa, c, now);
      return;
    }
  }
  if (sa.children.empty()) {
    start_delete_ike(p, sa, now);
    return;
  }
  // §2.4 liveness: an empty INFORMATIONAL when nothing arrived for dpd_interval.
  TimePoint heard = sa.last_heard;
  for (const auto& c : sa.children) {
    uint64_t ns = sink.stats(c.spi_in, false).last_used_ns;
    if (ns) heard = std::max(heard, TimePoint(std::chrono::nanoseconds(ns)));
  }
  if (now - heard >= p.cfg.dpd_interval) start_dpd(sa, now);
}

void Engine::Impl::tick(TimePoint now) {
  for (auto& [_, pp] : peers) {
    Peer& p = *pp;
    for (size_t i = 0; i < p.sas.size(); ++i) tick_sa(p, *p.sas[i], now);
    std::erase_if(p.sas, [](const auto& s) { return s->state == IkeState::kDead; });
    // Any SA with the peer, ours or its (half-open included), means no new attempt.
    bool busy = std::any_of(p.sas.begin(), p.sas.end(), [](const auto& s) {
      return s->state != IkeState::kDead && !s->rekeyed_away;
    });
    if (p.cfg.initiate && !busy && now >= p.next_attempt && !p.ike.empty())
      start_initiator(p, now, p.ike.front().dh);
  }
}

nlohmann::json Engine::Impl::show_peer(const Peer& p, TimePoint now) const {
  nlohmann::json j;
  j["name"] = p.cfg.name;
  j["remote"] = p.cfg.remote.str();
  j["up"] = p.up;
  j["initiate"] = p.cfg.initiate;
  if (!p.last_error.empty()) j["last_error"] = p.last_error;
  j["ike_sas"] = nlohmann::json::array();
  for (const auto& sa : p.sas) {
    if (sa->state == IkeState::kDead) continue;  // reaped at the next tick
    nlohmann::json s;
    s["state"] = sa->rekeyed_away ? "rekeyed" : state_name(sa->state);
    s["initiator"] = sa->initiator;
    s["spi_i"] = hex64(sa->spi_i);
    s["spi_r"] = hex64(sa->spi_r);
    s["remote"] = sa->remote.str();
    s["natt"] = sa->natt;
    if (sa->state == IkeState::kEstablished) {
      s["algorithms"] = sa->keys.suite.str();
      s["peer_id"] = sa->peer_id;
      s["established_s"] = -secs_until(sa->established, now);
      s["rekey_in_s"] = secs_until(sa->rekey_at, now);
    }
    s["child_sas"] = nlohmann::json::array();
    for (const auto& c : sa->children) {
      s["child_sas"].push_back({{"spi_in", hex32(c.spi_in)},
                                {"spi_out", hex32(c.spi_out)},
                                {"algorithms", c.suite.str()},
                                {"state", c.deleting   ? "deleting"
                                          : c.rekeying ? "rekeying"
                                                       : "installed"},
                                {"rekey_in_s", secs_until(c.rekey_at, now)},
                                {"expire_in_s", secs_until(c.expire_at, now)}});
    }
    j["ike_sas"].push_back(s);
  }
  return j;
}

// ---- Engine ----------------------------------------------------------------

Engine::Engine(ipsec::ChildSaSink& sa, ipsec::IkeSender& out,
               std::function<void(std::span<uint8_t>)> rng)
    : impl_(std::make_unique<Impl>(sa, out, std::move(rng))) {}
Engine::~Engine() = default;

Result<void> Engine::add_peer(const PeerSettings& cfg) {
  if (impl_->peers.count(cfg.name)) return make_error("peer " + cfg.name + " exists");
  auto p = make_peer(cfg);
  if (!p) return make_error(p.error());
  impl_->peers[cfg.name] = std::move(*p);
  return {};
}

void Engine::remove_peer(const std::string& name) {
  auto it = impl_->peers.find(name);
  if (it == impl_->peers.end()) return;
  Peer& p = *it->second;
  for (auto& sa : p.sas) {
    if (sa->state == IkeState::kEstablished) {
      // One Delete, not retransmitted: the peer's DPD cleans up if it is lost (§1.4.1).
      Header h;
      h.spi_i = sa->spi_i;
      h.spi_r = sa->spi_r;
      h.exchange = kInformational;
      h.flags = sa->initiator ? kFlagInitiator : 0;
      h.msg_id = sa->next_msg_id++;
      impl_->send_wire(
          *sa,
          sk_seal(sa->send_keys(), h,
                  {make_payload(kPayloadDelete, encode_delete({kProtoIke, 0, {}}))}, impl_->rng));
    }
    impl_->kill_sa(p, *sa, "peer removed", TimePoint{});
  }
  impl_->set_up(p, false, "peer removed");
  impl_->peers.erase(it);
}

Result<void> Engine::update_peer(const PeerSettings& cfg) {
  auto it = impl_->peers.find(cfg.name);
  if (it == impl_->peers.end()) return add_peer(cfg);
  auto fresh = make_peer(cfg);
  if (!fresh) return make_error(fresh.error());
  const PeerSettings& old = it->second->cfg;
  bool same = old.remote == cfg.remote && old.local_id == cfg.local_id &&
              old.remote_id == cfg.remote_id && old.psk == cfg.psk &&
              old.ike_proposals == cfg.ike_proposals && old.esp_proposals == cfg.esp_proposals &&
              old.peer == cfg.peer;
  if (same) {
    it->second->cfg = cfg;  // lifetimes, DPD and initiate apply from the next timer
    return {};
  }
  remove_peer(cfg.name);
  return add_peer(cfg);
}

void Engine::on_datagram(std::span<const uint8_t> msg, const tunnel::UdpEndpoint& from, bool natt,
                         TimePoint now) {
  impl_->on_datagram(msg, from, natt, now);
}

void Engine::tick(TimePoint now) {
  impl_->tick(now);
}

Result<void> Engine::clear(const std::string& name, bool hard) {
  auto it = impl_->peers.find(name);
  if (it == impl_->peers.end()) return make_error("no IPsec peer " + name);
  Peer& p = *it->second;
  IkeSa* sa = p.current();
  if (!sa) return make_error("peer " + name + " has no established IKE SA");
  if (hard) {
    p.last_error = "cleared by operator";
    if (!sa->pending) {
      impl_->start_delete_ike(p, *sa, sa->last_heard);
    } else {
      impl_->kill_sa(p, *sa, "cleared by operator", sa->last_heard);
    }
    p.next_attempt = {};
    return {};
  }
  for (auto& c : sa->children) c.rekey_at = {};  // rekeyed at the next tick
  return {};
}

void Engine::set_liveness_listener(
    std::function<void(const std::string&, bool, const std::string&)> fn) {
  impl_->listener = std::move(fn);
}

nlohmann::json Engine::show(TimePoint now) const {
  nlohmann::json j;
  j["peers"] = nlohmann::json::array();
  for (const auto& [_, p] : impl_->peers) j["peers"].push_back(impl_->show_peer(*p, now));
  const Counters& c = impl_->counters;
  j["counters"] = {{"malformed", c.malformed},
                   {"unknown_spi", c.unknown_spi},
                   {"bad_integrity", c.bad_integrity},
                   {"unexpected", c.unexpected},
                   {"no_peer", c.no_peer},
                   {"retransmits", c.retransmits},
                   {"duplicate_requests", c.duplicate_requests},
                   {"auth_failures", c.auth_failures},
                   {"no_proposal", c.no_proposal},
                   {"invalid_ke", c.invalid_ke},
                   {"cookies_sent", c.cookies_sent},
                   {"dpd_dead", c.dpd_dead},
                   {"established", c.established},
                   {"child_installs", c.child_installs},
                   {"child_removes", c.child_removes}};
  return j;
}

nlohmann::json Engine::show_peer(const std::string& name, TimePoint now) const {
  auto it = impl_->peers.find(name);
  if (it == impl_->peers.end()) return nullptr;
  return impl_->show_peer(*it->second, now);
}

}  // namespace ferry::ike
