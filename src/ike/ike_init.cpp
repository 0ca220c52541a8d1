// IKE_SA_INIT and IKE_AUTH (RFC 7296 §1.2), as initiator and responder, with
// shared-key authentication (§2.15), the first CHILD_SA (§1.2, no PFS), the
// INVALID_KE_PAYLOAD retry (§1.2, §3.10.1), cookies echoed (§2.6) and forced
// UDP encapsulation (§2.23): our NAT_DETECTION_SOURCE_IP never matches, so the
// peer sees us "behind a NAT", both ends move to port 4500 and ESP is always
// ESP-in-UDP (RFC 3948), as the data plane requires.
#include <algorithm>

#include "ike/auth.hpp"
#include "ike/engine_impl.hpp"
#include "ike/proposal.hpp"

namespace ferry::ike {
namespace {

constexpr uint16_t kNattPort = 4500;

const Payload* find_payload(const std::vector<Payload>& ps, uint8_t type) {
  for (const auto& p : ps)
    if (p.type == type) return &p;
  return nullptr;
}

std::optional<Notify> find_notify(const std::vector<Payload>& ps, uint16_t type) {
  for (const auto& p : ps)
    if (p.type == kPayloadNotify)
      if (auto n = decode_notify(p.body); n && n->type == type) return *n;
  return std::nullopt;
}

// The first error notify (types below 16384, §3.10.1), if any.
std::optional<Notify> error_notify(const std::vector<Payload>& ps) {
  for (const auto& p : ps)
    if (p.type == kPayloadNotify)
      if (auto n = decode_notify(p.body); n && n->type < 16384) return *n;
  return std::nullopt;
}

bool id_matches(const std::string& want, const IdPayload& got) {
  if (want.empty()) return true;
  IdPayload w = id_from_string(want);
  return w.type == got.type && w.data == got.data;
}

}  // namespace

void Engine::Impl::start_initiator(Peer& p, TimePoint now, uint16_t group) {
  auto dh = dh_generate(group);
  if (!dh) {
    p.last_error = dh.error();
    p.next_attempt = now + kBackoffMax;
    return;
  }
  auto sa = std::make_unique<IkeSa>();
  sa->initiator = true;
  sa->spi_i = new_ike_spi();
  sa->remote = p.cfg.remote;
  sa->ke_group = group;
  sa->dh = std::move(*dh);
  sa->ni = new_nonce();
  sa->created = now;

  std::vector<Payload> ps;
  ps.push_back(make_payload(kPayloadSa, encode_sa(to_proposals(p.ike, kProtoIke, {}, true))));
  ps.push_back(make_payload(kPayloadKe, encode_ke({group, sa->dh->public_value()})));
  ps.push_back(make_payload(kPayloadNonce, sa->ni));
  // §2.23: a source hash that cannot match forces UDP encapsulation (like encap=yes).
  Bytes bogus(20);
  rng(bogus);
  ps.push_back(make_notify(kNatDetectionSourceIp, bogus));
  ps.push_back(make_notify(kNatDetectionDestinationIp,
                           nat_detection_hash(sa->spi_i, 0, sa->remote.addr, sa->remote.port)));

  Header h;
  h.spi_i = sa->spi_i;
  h.exchange = kIkeSaInit;
  h.flags = kFlagInitiator;
  Pending req;
  req.kind = RequestKind::kInit;
  req.wire = encode_message(h, ps);
  req.first_sent = now;
  req.next_retx = now + kRetransmitBase;
  sa->init_request = req.wire;
  sa->next_msg_id = 1;
  send_wire(*sa, req.wire);
  sa->pending = std::move(req);
  p.sas.push_back(std::move(sa));
}

void Engine::Impl::on_init_response(Peer& p, IkeSa& sa, const Message& m,
                                    std::span<const uint8_t> raw, TimePoint now) {
  if (sa.state != IkeState::kInitSent || !sa.pending || m.hdr.msg_id != 0) {
    ++counters.unexpected;
    return;
  }
  const auto& ps = m.payloads;
  if (auto n = find_notify(ps, kInvalidKePayload)) {
    // §1.2: retry with the group the responder asks for, if we offered it.
    ++counters.invalid_ke;
    uint16_t g = n->data.size() == 2 ? static_cast<uint16_t>(n->data[0] << 8 | n->data[1]) : 0;
    bool offered =
        std::any_of(p.ike.begin(), p.ike.end(), [&](const Suite& s) { return s.dh == g; });
    if (!offered || g == sa.ke_group) {
      attempt_failed(p, sa, "INVALID_KE_PAYLOAD asks for group " + std::to_string(g), now);
      return;
    }
    sa.state = IkeState::kDead;  // replaced by the retry
    sa.pending.reset();
    start_initiator(p, now, g);
    return;
  }
  if (auto n = find_notify(ps, kCookie)) {
    // §2.6: the same request again, unchanged, with the cookie as the first payload (the
    // cookie is bound to our SPIi and Ni, so the SA, nonce and KE stay).
    auto first = decode_message(sa.init_request);
    if (n->data.empty() || n->data.size() > 64 || !sa.cookie.empty() || !first) {
      attempt_failed(p, sa, "bad or repeated COOKIE", now);
      return;
    }
    std::vector<Payload> again = {make_notify(kCookie, n->data)};
    again.insert(again.end(), first->payloads.begin(), first->payloads.end());
    sa.cookie = n->data;
    sa.init_request = encode_message(first->hdr, again);
    sa.pending->wire = sa.init_request;
    sa.pending->tries = 0;
    sa.pending->first_sent = now;
    sa.pending->next_retx = now + kRetransmitBase;
    send_wire(sa, sa.init_request);
    return;
  }
  if (auto n = error_notify(ps)) {
    if (n->type == kNoProposalChosen) ++counters.no_proposal;
    attempt_failed(p, sa, "IKE_SA_INIT refused with notify " + std::to_string(n->type), now);
    return;
  }
  const Payload* sap = find_payload(ps, kPayloadSa);
  const Payload* kep = find_payload(ps, kPayloadKe);
  const Payload* np = find_payload(ps, kPayloadNonce);
  if (!sap || !kep || !np || m.hdr.spi_r == 0) {
    ++counters.malformed;
    return;
  }
  auto props = decode_sa(sap->body);
  auto ke = decode_ke(kep->body);
  if (!props || !ke || np->body.size() < 16 || np->body.size() > 256) {
    ++counters.malformed;
    return;
  }
  auto suite = accept_answer(*props, p.ike, kProtoIke, false);
  if (!suite || suite->dh != sa.ke_group || ke->group != sa.ke_group) {
    attempt_failed(p, sa, "responder chose a proposal we did not offer", now);
    return;
  }
  auto shared = sa.dh->shared_secret(ke->data);
  if (!shared) {
    attempt_failed(p, sa, shared.error(), now);
    return;
  }
  sa.spi_r = m.hdr.spi_r;
  sa.nr = np->body;
  sa.keys = derive_ike_keys(*suite, *shared, sa.ni, sa.nr, sa.spi_i, sa.spi_r);
  sa.dh.reset();
  sa.init_response.assign(raw.begin(), raw.end());
  sa.pending.reset();
  // §2.23: float to port 4500 (always: encapsulation is forced).
  sa.natt = true;
  sa.remote.port = kNattPort;

  sa.child_spi_in = new_child_spi();
  Bytes idi = encode_id(p.local_id);
  std::vector<Payload> inner;
  inner.push_back(make_payload(kPayloadIdi, idi));
  if (!p.current()) inner.push_back(make_notify(kInitialContact));  // §2.4
  if (!p.cfg.remote_id.empty())
    inner.push_back(make_payload(kPayloadIdr, encode_id(id_from_string(p.cfg.remote_id))));
  Bytes octets = signed_octets(suite->prf, sa.init_request, sa.nr, sa.keys.sk_pi, idi);
  inner.push_back(
      make_payload(kPayloadAuth, encode_auth({kAuthPsk, psk_auth(suite->prf, p.cfg.psk, octets)})));
  inner.push_back(make_payload(
      kPayloadSa, encode_sa(to_proposals(p.esp, kProtoEsp, be32(sa.child_spi_in), false))));
  inner.push_back(make_payload(kPayloadTsi, encode_ts(ts_any())));
  inner.push_back(make_payload(kPayloadTsr, encode_ts(ts_any())));
  Pending req;
  req.kind = RequestKind::kAuth;
  sa.state = IkeState::kAuthSent;
  send_request(sa, kIkeAuth, inner, std::move(req), now);
}

void Engine::Impl::on_init_request(const Message& m, std::span<const uint8_t> raw,
                                   const tunnel::UdpEndpoint& from, bool natt, TimePoint now) {
  Peer* p = peer_by_address(from.addr);
  if (!p) {
    ++counters.no_peer;
    return;
  }
  for (auto& s : p->sas) {
    if (!s->initiator && s->spi_i == m.hdr.spi_i && s->state == IkeState::kResponderInit &&
        s->remote.addr == from.addr) {
      ++counters.duplicate_requests;  // §2.1: retransmitted IKE_SA_INIT
      out.send_ike(s->init_response, from, natt);
      return;
    }
  }
  const Payload* np = find_payload(m.payloads, kPayloadNonce);
  if (!np || np->body.size() < 16 || np->body.size() > 256) {
    ++counters.malformed;
    return;
  }
  if (half_open() >= kCookieThreshold) {
    // §2.6: under many half-open SAs, state (and a DH computation) only for initiators
    // that prove they receive at their address: the cookie must come back first.
    Bytes want = make_cookie(np->body, from.addr, m.hdr.spi_i);
    bool ok = false;
    if (!m.payloads.empty() && m.payloads[0].type == kPayloadNotify) {
      auto n = decode_notify(m.payloads[0].body);
      ok = n && n->type == kCookie && auth_equal(n->data, want);
    }
    if (!ok) {
      ++counters.cookies_sent;
      Header ch;
      ch.spi_i = m.hdr.spi_i;
      ch.exchange = kIkeSaInit;
      ch.flags = kFlagResponse;
      out.send_ike(encode_message(ch, {make_notify(kCookie, want)}), from, natt);
      return;
    }
  }
  for (auto& s : p->sas) {
    if (!s->initiator || (s->state != IkeState::kInitSent && s->state != IkeState::kAuthSent))
      continue;
    // Both ends initiated at once. Both see both SPIi values, so both agree: the attempt
    // with the lower SPIi goes on, the other is abandoned by its initiator.
    if (s->spi_i < m.hdr.spi_i) {
      ++counters.unexpected;
      return;
    }
    s->state = IkeState::kDead;
    s->pending.reset();
  }
  const auto& ps = m.payloads;
  Header rh;
  rh.spi_i = m.hdr.spi_i;
  rh.exchange = kIkeSaInit;
  rh.flags = kFlagResponse;
  const Payload* sap = find_payload(ps, kPayloadSa);
  const Payload* kep = find_payload(ps, kPayloadKe);
  if (!sap || !kep) {
    ++counters.malformed;
    return;
  }
  auto props = decode_sa(sap->body);
  auto ke = decode_ke(kep->body);
  if (!props || !ke) {
    ++counters.malformed;
    return;
  }
  auto sel = select_proposal(*props, p->ike, kProtoIke, false);
  if (!sel) {
    ++counters.no_proposal;
    out.send_ike(encode_message(rh, {make_notify(kNoProposalChosen)}), from, natt);
    return;
  }
  if (ke->group != sel->suite.dh) {
    // §1.2: tell the initiator which group we selected; no state is kept.
    ++counters.invalid_ke;
    Bytes g = {uint8_t(sel->suite.dh >> 8), uint8_t(sel->suite.dh)};
    out.send_ike(encode_message(rh, {make_notify(kInvalidKePayload, g)}), from, natt);
    return;
  }
  auto dh = dh_generate(sel->suite.dh);
  if (!dh) return;
  auto shared = (*dh)->shared_secret(ke->data);
  if (!shared) {
    ++counters.malformed;
    return;
  }
  auto sa = std::make_unique<IkeSa>();
  sa->initiator = false;
  sa->spi_i = m.hdr.spi_i;
  sa->spi_r = new_ike_spi();
  sa->remote = from;
  sa->natt = natt;
  sa->ni = np->body;
  sa->nr = new_nonce();
  sa->keys = derive_ike_keys(sel->suite, *shared, sa->ni, sa->nr, sa->spi_i, sa->spi_r);
  sa->init_request.assign(raw.begin(), raw.end());
  sa->created = now;
  sa->state = IkeState::kResponderInit;

  rh.spi_r = sa->spi_r;
  Bytes bogus(20);
  rng(bogus);
  std::vector<Payload> rs = {
      make_payload(kPayloadSa, encode_sa({sel->answer})),
      make_payload(kPayloadKe, encode_ke({sel->suite.dh, (*dh)->public_value()})),
      make_payload(kPayloadNonce, sa->nr),
      make_notify(kNatDetectionSourceIp, bogus),  // §2.23: never matches (forced NAT-T)
      make_notify(kNatDetectionDestinationIp,
                  nat_detection_hash(sa->spi_i, sa->spi_r, from.addr, from.port)),
  };
  sa->init_response = encode_message(rh, rs);
  sa->peer_msg_id = 1;
  out.send_ike(sa->init_response, from, natt);
  p->sas.push_back(std::move(sa));
}

size_t Engine::Impl::half_open() const {
  size_t n = 0;
  for (const auto& [_, p] : peers)
    for (const auto& s : p->sas) n += s->state == IkeState::kResponderInit;
  return n;
}

Bytes Engine::Impl::make_cookie(std::span<const uint8_t> ni, const IpAddress& ip, uint64_t spi_i) {
  // §2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>).
  Bytes in(ni.begin(), ni.end());
  in.insert(in.end(), ip.bytes(), ip.bytes() + ip.byte_len());
  Bytes spi = be64(spi_i);
  in.insert(in.end(), spi.begin(), spi.end());
  in.insert(in.end(), cookie_secret.begin(), cookie_secret.end());
  Bytes out = {0};
  Bytes h = prf(kPrfHmacSha256, cookie_secret, in);
  out.insert(out.end(), h.begin(), h.end());
  return out;
}

void Engine::Impl::on_auth_request(Peer& p, IkeSa& sa, const Inbound& in) {
  uint32_t id = in.msg->hdr.msg_id;
  const uint16_t prf_id = sa.keys.suite.prf;
  const Payload* idp = in.find(kPayloadIdi);
  const Payload* ap = in.find(kPayloadAuth);
  const Payload* sap = in.find(kPayloadSa);
  const Payload* tsi = in.find(kPayloadTsi);
  const Payload* tsr = in.find(kPayloadTsr);
  auto idi = idp ? decode_id(idp->body) : Result<IdPayload>(make_error("no IDi"));
  auto auth = ap ? decode_auth(ap->body) : Result<AuthPayload>(make_error("no AUTH"));
  if (!idi || !auth || !sap || !tsi || !tsr) {
    ++counters.malformed;
    send_response(sa, kIkeAuth, id, {make_notify(kInvalidSyntax)});
    kill_sa(p, sa, "malformed IKE_AUTH", in.now);
    return;
  }
  Bytes octets = signed_octets(prf_id, sa.init_request, sa.nr, sa.keys.sk_pi, idp->body);
  if (p.cfg.psk.empty() || auth->method != kAuthPsk || !id_matches(p.cfg.remote_id, *idi) ||
      !auth_equal(auth->data, psk_auth(prf_id, p.cfg.psk, octets))) {
    // §2.21.2: AUTHENTICATION_FAILED in the response, then the SA is gone.
    ++counters.auth_failures;
    send_response(sa, kIkeAuth, id, {make_notify(kAuthenticationFailed)});
    attempt_failed(p, sa, "peer failed authentication (IDi " + id_to_string(*idi) + ")", in.now);
    return;
  }
  sa.peer_id = id_to_string(*idi);
  // Our side of AUTH.
  Bytes idr = encode_id(p.local_id);
  Bytes rocts = signed_octets(prf_id, sa.init_response, sa.ni, sa.keys.sk_pr, idr);
  std::vector<Payload> rs = {
      make_payload(kPayloadIdr, idr),
      make_payload(kPayloadAuth, encode_auth({kAuthPsk, psk_auth(prf_id, p.cfg.psk, rocts)}))};

  auto props = decode_sa(sap->body);
  auto ts_i = decode_ts(tsi->body);
  auto ts_r = decode_ts(tsr->body);
  auto sel = props ? select_proposal(*props, p.esp, kProtoEsp, true) : std::nullopt;
  if (!sel || !ts_i || !ts_r) {
    // §1.2: the IKE SA stands without a CHILD_SA; ferry needs one, so it deletes the SA.
    ++counters.no_proposal;
    rs.push_back(make_notify(sel ? kTsUnacceptable : kNoProposalChosen));
    send_response(sa, kIkeAuth, id, rs);
    attempt_failed(p, sa, "no acceptable CHILD_SA proposal from the peer", in.now);
    return;
  }
  if (in.notify(kInitialContact)) {
    // §2.4: the peer lost all its state; our other SAs with it are stale.
    for (auto& other : p.sas)
      if (other.get() != &sa && other->state == IkeState::kEstablished)
        kill_sa(p, *other, "INITIAL_CONTACT from the peer", in.now);
  }
  sa.child_spi_in = new_child_spi();
  uint32_t spi_out = static_cast<uint32_t>(from_be(sel->peer_spi));
  install_child(p, sa, sel->suite, sa.child_spi_in, spi_out, {}, sa.ni, sa.nr, false, in.now);
  Proposal answer = sel->answer;
  answer.spi = be32(sa.child_spi_in);
  rs.push_back(make_payload(kPayloadSa, encode_sa({answer})));
  // Route-based: we accept the peer's selectors as they are (ours are everything).
  rs.push_back(make_payload(kPayloadTsi, tsi->body));
  rs.push_back(make_payload(kPayloadTsr, tsr->body));
  send_response(sa, kIkeAuth, id, rs);
  established(p, sa, in.now);
}

void Engine::Impl::on_auth_response(Peer& p, IkeSa& sa, const Inbound& in) {
  if (auto n = error_notify(in.payloads)) {
    if (n->type == kAuthenticationFailed) ++counters.auth_failures;
    if (n->type == kNoProposalChosen) ++counters.no_proposal;
    attempt_failed(p, sa, "IKE_AUTH refused with notify " + std::to_string(n->type), in.now);
    return;
  }
  const Payload* idp = in.find(kPayloadIdr);
  const Payload* ap = in.find(kPayloadAuth);
  const Payload* sap = in.find(kPayloadSa);
  auto idr = idp ? decode_id(idp->body) : Result<IdPayload>(make_error("no IDr"));
  auto auth = ap ? decode_auth(ap->body) : Result<AuthPayload>(make_error("no AUTH"));
  if (!idr || !auth || !sap || !in.find(kPayloadTsi) || !in.find(kPayloadTsr)) {
    ++counters.malformed;
    attempt_failed(p, sa, "malformed IKE_AUTH response", in.now);
    return;
  }
  const uint16_t prf_id = sa.keys.suite.prf;
  Bytes octets = signed_octets(prf_id, sa.init_response, sa.ni, sa.keys.sk_pr, idp->body);
  if (auth->method != kAuthPsk || !id_matches(p.cfg.remote_id, *idr) ||
      !auth_equal(auth->data, psk_auth(prf_id, p.cfg.psk, octets))) {
    ++counters.auth_failures;
    attempt_failed(p, sa, "responder failed authentication (IDr " + id_to_string(*idr) + ")",
                   in.now);
    return;
  }
  sa.peer_id = id_to_string(*idr);
  auto props = decode_sa(sap->body);
  auto suite = props ? accept_answer(*props, p.esp, kProtoEsp, true) : std::nullopt;
  if (!suite || (*props)[0].spi.size() != 4) {
    attempt_failed(p, sa, "responder chose a CHILD_SA proposal we did not offer", in.now);
    return;
  }
  uint32_t spi_out = static_cast<uint32_t>(from_be((*props)[0].spi));
  install_child(p, sa, *suite, sa.child_spi_in, spi_out, {}, sa.ni, sa.nr, true, in.now);
  established(p, sa, in.now);
}

void Engine::Impl::established(Peer& p, IkeSa& sa, TimePoint now) {
  sa.state = IkeState::kEstablished;
  sa.established = now;
  sa.last_heard = now;
  sa.expire_at = now + p.cfg.ike_lifetime;
  sa.rekey_at = now + p.cfg.ike_lifetime - p.cfg.rekey_margin - jitter(p.cfg.rekey_margin);
  sa.init_request.clear();
  sa.init_response.clear();
  ++counters.established;
  p.backoff = std::chrono::seconds(1);
  p.last_error.clear();
}

void Engine::Impl::attempt_failed(Peer& p, IkeSa& sa, const std::string& why, TimePoint now) {
  p.last_error = why;
  kill_sa(p, sa, why, now);
  if (p.cfg.initiate) {
    p.next_attempt = now + p.backoff;
    p.backoff = std::min<std::chrono::seconds>(p.backoff * 2, kBackoffMax);
  }
}

}  // namespace ferry::ike
