// Request/response transport of an IKE SA (RFC 7296 §2.1-§2.3): message IDs
// with window size 1, retransmission of our request with exponential backoff,
// and answering a retransmitted request from the cached response without
// processing it again.
#include "ike/engine_impl.hpp"

namespace ferry::ike {

const Payload* Inbound::find(uint8_t type) const {
  for (const auto& p : payloads)
    if (p.type == type) return &p;
  return nullptr;
}

std::vector<Notify> Inbound::notifies() const {
  std::vector<Notify> out;
  for (const auto& p : payloads)
    if (p.type == kPayloadNotify)
      if (auto n = decode_notify(p.body)) out.push_back(std::move(*n));
  return out;
}

std::optional<Notify> Inbound::notify(uint16_t type) const {
  for (auto& n : notifies())
    if (n.type == type) return n;
  return std::nullopt;
}

void Engine::Impl::send_wire(IkeSa& sa, const Bytes& wire) {
  out.send_ike(wire, sa.remote, sa.natt);
}

void Engine::Impl::send_request(IkeSa& sa, Exchange x, const std::vector<Payload>& inner, Pending p,
                                TimePoint now) {
  Header h;
  h.spi_i = sa.spi_i;
  h.spi_r = sa.spi_r;
  h.exchange = x;
  h.flags = sa.initiator ? kFlagInitiator : 0;  // §3.1 I flag: sent by the original initiator
  h.msg_id = sa.next_msg_id++;
  p.msg_id = h.msg_id;
  p.wire = sk_seal(sa.send_keys(), h, inner, rng);
  p.tries = 0;
  p.first_sent = now;
  p.next_retx = now + kRetransmitBase;
  send_wire(sa, p.wire);
  sa.pending = std::move(p);
}

void Engine::Impl::send_response(IkeSa& sa, Exchange x, uint32_t msg_id,
                                 const std::vector<Payload>& inner) {
  Header h;
  h.spi_i = sa.spi_i;
  h.spi_r = sa.spi_r;
  h.exchange = x;
  h.flags = kFlagResponse | (sa.initiator ? kFlagInitiator : 0);
  h.msg_id = msg_id;
  Bytes wire = sk_seal(sa.send_keys(), h, inner, rng);
  sa.peer_msg_id = msg_id + 1;
  // §2.1: keep the response; a retransmitted request gets it again, unprocessed.
  sa.cached_id = msg_id;
  sa.cached_response = wire;
  sa.cached_natt = sa.natt;
  send_wire(sa, wire);
}

void Engine::Impl::retransmit(Peer& p, IkeSa& sa, TimePoint now) {
  if (!sa.pending || now < sa.pending->next_retx) return;
  Pending& r = *sa.pending;
  if (now - r.first_sent >= p.cfg.dpd_timeout) {
    // §2.4: no answer after retransmitting: the peer is considered dead.
    if (r.kind == RequestKind::kDpd || sa.state == IkeState::kEstablished) ++counters.dpd_dead;
    std::string why =
        r.kind == RequestKind::kDpd ? "DPD timeout: peer not answering" : "retransmits exhausted";
    if (sa.state == IkeState::kEstablished || sa.state == IkeState::kDeleting)
      kill_sa(p, sa, why, now);
    else
      attempt_failed(p, sa, why, now);
    return;
  }
  ++r.tries;
  ++counters.retransmits;
  auto wait = kRetransmitBase * (1 << std::min(r.tries, 3));
  r.next_retx = now + std::min<std::chrono::seconds>(wait, kRetransmitMax);
  send_wire(sa, r.wire);
}

bool Engine::Impl::accept_request(IkeSa& sa, const Message& m) {
  uint32_t id = m.hdr.msg_id;
  if (sa.cached_id && id == *sa.cached_id) {
    // §2.1: a retransmission; the same response goes out again (the peer may have
    // floated to port 4500 meanwhile, so it goes where the SA now talks).
    ++counters.duplicate_requests;
    send_wire(sa, sa.cached_response);
    return false;
  }
  if (id != sa.peer_msg_id) {
    ++counters.unexpected;  // §2.3: outside the window; dropped
    return false;
  }
  return true;
}

std::optional<Inbound> Engine::Impl::open(IkeSa& sa, const Message& m, std::span<const uint8_t> raw,
                                          TimePoint now) {
  if (!m.sk_offset || m.sk_type != kPayloadSk) {
    ++counters.malformed;  // after IKE_SA_INIT everything is inside SK (§3.14)
    return std::nullopt;
  }
  auto plain = sk_decrypt(sa.recv_keys(), m, raw);
  if (!plain) {
    ++counters.bad_integrity;  // §2.21.2: dropped silently, never answered
    return std::nullopt;
  }
  auto chain = decode_chain(m.sk_first, *plain);
  if (!chain) {
    ++counters.malformed;
    return std::nullopt;
  }
  sa.last_heard = now;
  Inbound in;
  in.msg = &m;
  in.payloads = std::move(*chain);
  in.now = now;
  return in;
}

}  // namespace ferry::ike
