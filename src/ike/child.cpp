// CHILD_SAs and the exchanges after IKE_AUTH: CREATE_CHILD_SA to rekey a
// CHILD_SA with PFS (RFC 7296 §1.3.3) or the IKE SA (§1.3.2, §2.18), and
// INFORMATIONAL for Delete (§1.4.1) and liveness checks (§1.4, §2.4).
//
// Make-before-break. A CHILD rekey installs the new pair (ChildSaSink::install:
// its inbound SA accepts at once, its outbound SA carries our traffic at once)
// and only then deletes the old pair with a Delete exchange; the old pair is
// removed from the data plane when that exchange completes (both sides have
// then moved to the new SAs, §2.8), so packets in flight under the old SPI
// are still accepted until the peer has confirmed.
//
// Simultaneous CHILD rekeys (§2.8.1): when both ends rekey the same CHILD_SA,
// the pair created with the lowest of the four nonces is redundant and is
// deleted by the end that initiated it (which never installs it, so the
// winner's pair stays its current outbound SA); the other end deletes the old
// pair as usual.
#include <algorithm>

#include "ike/engine_impl.hpp"
#include "ike/proposal.hpp"

namespace ferry::ike {
namespace {

ipsec::EspCipher esp_cipher(const Suite& s) {
  if (s.aead())
    return s.key_bits == 128 ? ipsec::EspCipher::kAesGcm16_128 : ipsec::EspCipher::kAesGcm16_256;
  return s.key_bits == 128 ? ipsec::EspCipher::kAesCbc128 : ipsec::EspCipher::kAesCbc256;
}
ipsec::EspInteg esp_integ(const Suite& s) {
  switch (s.integ) {
    case kIntegHmacSha256_128:
      return ipsec::EspInteg::kHmacSha256_128;
    case kIntegHmacSha384_192:
      return ipsec::EspInteg::kHmacSha384_192;
    case kIntegHmacSha512_256:
      return ipsec::EspInteg::kHmacSha512_256;
  }
  return ipsec::EspInteg::kNone;
}

ChildSa* child_by_in(IkeSa& sa, uint32_t spi) {
  for (auto& c : sa.children)
    if (c.spi_in == spi) return &c;
  return nullptr;
}
ChildSa* child_by_out(IkeSa& sa, uint32_t spi) {
  for (auto& c : sa.children)
    if (c.spi_out == spi) return &c;
  return nullptr;
}

const Bytes& min_nonce(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end()) ? a : b;
}
bool nonce_less(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

uint16_t group_of(const std::vector<Suite>& ss) {
  for (const auto& s : ss)
    if (s.dh) return s.dh;
  return 0;
}

}  // namespace

ChildSa Engine::Impl::install_child(Peer& p, IkeSa& sa, const Suite& s, uint32_t spi_in,
                                    uint32_t spi_out, std::span<const uint8_t> shared,
                                    std::span<const uint8_t> ni, std::span<const uint8_t> nr,
                                    bool we_initiated, TimePoint now) {
  ChildKeys k = derive_child_keys(sa.keys.suite.prf, sa.keys.sk_d, s, shared, ni, nr);
  ipsec::ChildSaPair pair;
  pair.peer = p.cfg.peer;
  // §2.17: the "i" keys protect traffic from the initiator of this exchange.
  pair.in = {spi_in, esp_cipher(s), esp_integ(s), we_initiated ? k.encr_r : k.encr_i,
             we_initiated ? k.integ_r : k.integ_i};
  pair.out = {spi_out, esp_cipher(s), esp_integ(s), we_initiated ? k.encr_i : k.encr_r,
              we_initiated ? k.integ_i : k.integ_r};
  pair.esn = s.esn;
  pair.remote = sa.remote;
  pair.replay_window = p.cfg.replay_window;
  sink.install(pair);
  ++counters.child_installs;
  ChildSa c;
  c.spi_in = spi_in;
  c.spi_out = spi_out;
  c.suite = s;
  c.established = now;
  c.expire_at = now + p.cfg.child_lifetime;
  c.rekey_at = now + p.cfg.child_lifetime - p.cfg.rekey_margin - jitter(p.cfg.rekey_margin);
  sa.children.push_back(c);
  if (!p.up) set_up(p, true, "CHILD_SA installed");
  return c;
}

void Engine::Impl::remove_child(Peer& p, uint32_t spi_in) {
  for (auto& sa : p.sas) {
    auto it = std::find_if(sa->children.begin(), sa->children.end(),
                           [&](const ChildSa& c) { return c.spi_in == spi_in; });
    if (it == sa->children.end()) continue;
    sa->children.erase(it);
    sink.remove(p.cfg.peer, spi_in);
    ++counters.child_removes;
    return;
  }
}

void Engine::Impl::start_child_rekey(Peer& p, IkeSa& sa, ChildSa& c, TimePoint now) {
  Pending req;
  req.kind = RequestKind::kChildRekey;
  req.nonce = new_nonce();
  req.old_spi_in = c.spi_in;
  req.new_spi_in = new_child_spi();
  uint16_t group = group_of(p.esp);  // PFS (§1.3.1) when the ESP proposals name a group
  if (group) {
    auto dh = dh_generate(group);
    if (!dh) return;
    req.dh = std::move(*dh);
  }
  std::vector<Payload> inner = {
      // §1.3.3: REKEY_SA names the SA being rekeyed (our inbound SPI, like strongSwan).
      make_notify(kRekeySa, {}, kProtoEsp, be32(c.spi_in)),
      make_payload(kPayloadSa,
                   encode_sa(to_proposals(p.esp, kProtoEsp, be32(req.new_spi_in), true))),
      make_payload(kPayloadNonce, req.nonce)};
  if (req.dh) inner.push_back(make_payload(kPayloadKe, encode_ke({group, req.dh->public_value()})));
  inner.push_back(make_payload(kPayloadTsi, encode_ts(ts_any())));
  inner.push_back(make_payload(kPayloadTsr, encode_ts(ts_any())));
  c.rekeying = true;
  send_request(sa, kCreateChildSa, inner, std::move(req), now);
}

void Engine::Impl::start_ike_rekey(Peer& p, IkeSa& sa, TimePoint now) {
  Pending req;
  req.kind = RequestKind::kIkeRekey;
  req.nonce = new_nonce();
  req.new_ike_spi = new_ike_spi();
  uint16_t group = sa.keys.suite.dh;  // the group that worked
  auto dh = dh_generate(group);
  if (!dh) return;
  req.dh = std::move(*dh);
  // §1.3.2: SA (protocol IKE, SPI = our new SPI), Ni, KEi.
  std::vector<Suite> ordered = {sa.keys.suite};
  for (const auto& s : p.ike)
    if (s.str() != sa.keys.suite.str()) ordered.push_back(s);
  std::vector<Payload> inner = {
      make_payload(kPayloadSa,
                   encode_sa(to_proposals(ordered, kProtoIke, be64(req.new_ike_spi), true))),
      make_payload(kPayloadNonce, req.nonce),
      make_payload(kPayloadKe, encode_ke({group, req.dh->public_value()}))};
  sa.rekey_at = now + p.cfg.rekey_margin;  // retry point if this attempt fails
  send_request(sa, kCreateChildSa, inner, std::move(req), now);
}

void Engine::Impl::start_delete_child(IkeSa& sa, uint32_t spi_in, TimePoint now) {
  Pending req;
  req.kind = RequestKind::kDeleteChild;
  req.old_spi_in = spi_in;
  if (ChildSa* c = child_by_in(sa, spi_in)) c->deleting = true;
  // §3.11: ESP SAs are named by the SPI the sender expects in inbound packets.
  send_request(sa, kInformational,
               {make_payload(kPayloadDelete, encode_delete({kProtoEsp, 4, {be32(spi_in)}}))},
               std::move(req), now);
}

void Engine::Impl::start_delete_ike(Peer& p, IkeSa& sa, TimePoint now) {
  (void)p;
  Pending req;
  req.kind = RequestKind::kDeleteIke;
  sa.state = IkeState::kDeleting;
  send_request(sa, kInformational,
               {make_payload(kPayloadDelete, encode_delete({kProtoIke, 0, {}}))}, std::move(req),
               now);
}

void Engine::Impl::start_dpd(IkeSa& sa, TimePoint now) {
  Pending req;
  req.kind = RequestKind::kDpd;
  send_request(sa, kInformational, {}, std::move(req), now);  // §1.4: empty INFORMATIONAL
}

void Engine::Impl::on_create_child_request(Peer& p, IkeSa& sa, const Inbound& in) {
  uint32_t id = in.msg->hdr.msg_id;
  const Payload* sap = in.find(kPayloadSa);
  const Payload* np = in.find(kPayloadNonce);
  const Payload* kep = in.find(kPayloadKe);
  auto props = sap ? decode_sa(sap->body) : Result<std::vector<Proposal>>(make_error("no SA"));
  if (!props || !np || np->body.size() < 16 || np->body.size() > 256) {
    ++counters.malformed;
    send_response(sa, kCreateChildSa, id, {make_notify(kInvalidSyntax)});
    return;
  }
  std::optional<KePayload> ke;
  if (kep) {
    auto k = decode_ke(kep->body);
    if (!k) {
      send_response(sa, kCreateChildSa, id, {make_notify(kInvalidSyntax)});
      return;
    }
    ke = *k;
  }
  const bool ike_rekey = (*props)[0].protocol == kProtoIke;
  const auto& ours = ike_rekey ? p.ike : p.esp;
  auto sel = select_proposal(*props, ours, ike_rekey ? kProtoIke : kProtoEsp, false);
  if (!sel) {
    ++counters.no_proposal;
    send_response(sa, kCreateChildSa, id, {make_notify(kNoProposalChosen)});
    return;
  }
  std::unique_ptr<DhKey> dh;
  Bytes shared;
  if (sel->suite.dh) {
    if (!ke || ke->group != sel->suite.dh) {
      ++counters.invalid_ke;  // §1.3: INVALID_KE_PAYLOAD names the group we want
      Bytes g = {uint8_t(sel->suite.dh >> 8), uint8_t(sel->suite.dh)};
      send_response(sa, kCreateChildSa, id, {make_notify(kInvalidKePayload, g)});
      return;
    }
    auto k = dh_generate(sel->suite.dh);
    if (!k) return;
    dh = std::move(*k);
    auto s = dh->shared_secret(ke->data);
    if (!s) {
      send_response(sa, kCreateChildSa, id, {make_notify(kInvalidSyntax)});
      return;
    }
    shared = std::move(*s);
  }
  Bytes nr = new_nonce();
  Proposal answer = sel->answer;
  std::vector<Payload> rs;
  if (ike_rekey) {
    // §1.3.2 / §2.18: the new IKE SA; the rekey's initiator becomes its initiator.
    if (sel->peer_spi.size() != 8 || !dh) {
      send_response(sa, kCreateChildSa, id, {make_notify(kInvalidSyntax)});
      return;
    }
    auto fresh = std::make_unique<IkeSa>();
    fresh->initiator = false;
    fresh->spi_i = from_be(sel->peer_spi);
    fresh->spi_r = new_ike_spi();
    fresh->remote = sa.remote;
    fresh->natt = sa.natt;
    fresh->ni = np->body;
    fresh->nr = nr;
    fresh->peer_id = sa.peer_id;
    fresh->keys = derive_ike_keys(sel->suite, shared, fresh->ni, fresh->nr, fresh->spi_i,
                                  fresh->spi_r, sa.keys.sk_d, sa.keys.suite.prf);
    fresh->children = std::move(sa.children);  // CHILD_SAs move to the new IKE SA
    sa.children.clear();
    sa.rekeyed_away = true;
    answer.spi = be64(fresh->spi_r);
    rs = {make_payload(kPayloadSa, encode_sa({answer})), make_payload(kPayloadNonce, nr),
          make_payload(kPayloadKe, encode_ke({sel->suite.dh, dh->public_value()}))};
    send_response(sa, kCreateChildSa, id, rs);
    established(p, *fresh, in.now);
    p.sas.push_back(std::move(fresh));
    return;
  }
  auto rekey = in.notify(kRekeySa);
  if (!rekey) {
    send_response(sa, kCreateChildSa, id, {make_notify(kNoAdditionalSas)});  // one CHILD_SA
    return;
  }
  uint32_t named = rekey->spi.size() == 4 ? static_cast<uint32_t>(from_be(rekey->spi)) : 0;
  ChildSa* old = child_by_out(sa, named);
  if (!old) old = child_by_in(sa, named);
  const Payload* tsi = in.find(kPayloadTsi);
  const Payload* tsr = in.find(kPayloadTsr);
  if (!old || old->deleting || sel->peer_spi.size() != 4 || !tsi || !tsr) {
    send_response(sa, kCreateChildSa, id,
                  {make_notify(kChildSaNotFound, {}, kProtoEsp, rekey->spi)});
    return;
  }
  uint32_t old_in = old->spi_in;
  bool collision = old->rekeying;  // our own rekey of it is in flight (§2.8.1)
  uint32_t new_in = new_child_spi();
  answer.spi = be32(new_in);
  uint32_t spi_out = static_cast<uint32_t>(from_be(sel->peer_spi));
  install_child(p, sa, sel->suite, new_in, spi_out, shared, np->body, nr, false, in.now);
  if (ChildSa* o = child_by_in(sa, old_in)) {
    o->rekeying = true;  // replaced: the peer deletes it; no rekey of our own from now on
    if (collision) {
      // Remember the peer's exchange for the lowest-nonce rule once our response arrives.
      o->peer_rekey_nonce = min_nonce(np->body, nr);
    }
  }
  rs = {make_payload(kPayloadSa, encode_sa({answer})), make_payload(kPayloadNonce, nr)};
  if (dh) rs.push_back(make_payload(kPayloadKe, encode_ke({sel->suite.dh, dh->public_value()})));
  rs.push_back(make_payload(kPayloadTsi, tsi->body));
  rs.push_back(make_payload(kPayloadTsr, tsr->body));
  send_response(sa, kCreateChildSa, id, rs);
}

void Engine::Impl::on_create_child_response(Peer& p, IkeSa& sa, Pending& req, const Inbound& in) {
  bool ike = req.kind == RequestKind::kIkeRekey;
  ChildSa* old = ike ? nullptr : child_by_in(sa, req.old_spi_in);
  auto retry_later = [&](const std::string& why) {
    p.last_error = why;
    if (old) {
      old->rekeying = false;
      old->rekey_at = in.now + std::chrono::seconds(10);
    }
  };
  if (auto n = in.notify(kInvalidKePayload); n && !ike && old) {
    ++counters.invalid_ke;
    retry_later("rekey refused: INVALID_KE_PAYLOAD");
    return;
  }
  for (const auto& n : in.notifies()) {
    if (n.type < 16384) {
      retry_later("rekey refused with notify " + std::to_string(n.type));
      return;
    }
  }
  const Payload* sap = in.find(kPayloadSa);
  const Payload* np = in.find(kPayloadNonce);
  const Payload* kep = in.find(kPayloadKe);
  auto props = sap ? decode_sa(sap->body) : Result<std::vector<Proposal>>(make_error("no SA"));
  auto suite = props
                   ? accept_answer(*props, ike ? p.ike : p.esp, ike ? kProtoIke : kProtoEsp, false)
                   : std::nullopt;
  if (!suite || !np || np->body.size() < 16 || np->body.size() > 256) {
    ++counters.malformed;
    retry_later("malformed CREATE_CHILD_SA response");
    return;
  }
  Bytes shared;
  if (suite->dh) {
    auto ke = kep ? decode_ke(kep->body) : Result<KePayload>(make_error("no KE"));
    if (!ke || !req.dh || ke->group != req.dh->group()) {
      retry_later("CREATE_CHILD_SA response without the KE we asked for");
      return;
    }
    auto s = req.dh->shared_secret(ke->data);
    if (!s) {
      retry_later(s.error());
      return;
    }
    shared = std::move(*s);
  }
  const Bytes& nr = np->body;
  if (ike) {
    if ((*props)[0].spi.size() != 8) {
      retry_later("IKE rekey answer without an 8-octet SPI");
      return;
    }
    auto fresh = std::make_unique<IkeSa>();
    fresh->initiator = true;
    fresh->spi_i = req.new_ike_spi;
    fresh->spi_r = from_be((*props)[0].spi);
    fresh->remote = sa.remote;
    fresh->natt = sa.natt;
    fresh->ni = req.nonce;
    fresh->nr = nr;
    fresh->peer_id = sa.peer_id;
    fresh->keys = derive_ike_keys(*suite, shared, fresh->ni, fresh->nr, fresh->spi_i, fresh->spi_r,
                                  sa.keys.sk_d, sa.keys.suite.prf);
    fresh->children = std::move(sa.children);
    sa.children.clear();
    sa.rekeyed_away = true;
    established(p, *fresh, in.now);
    p.sas.push_back(std::move(fresh));
    start_delete_ike(p, sa, in.now);  // §1.4.1: the old IKE SA goes
    return;
  }
  if (!old || (*props)[0].spi.size() != 4) {
    retry_later("rekeyed CHILD_SA vanished");
    return;
  }
  uint32_t spi_out = static_cast<uint32_t>(from_be((*props)[0].spi));
  Bytes peer_nonce = old->peer_rekey_nonce;
  uint32_t old_in = old->spi_in;
  if (!peer_nonce.empty() && nonce_less(min_nonce(req.nonce, nr), peer_nonce)) {
    // §2.8.1: both ends rekeyed and our exchange had the lowest nonce: our new pair is
    // redundant and ours to delete; the peer deletes the old one. It never reaches the
    // data plane, so the pair the peer created stays the current outbound SA here.
    start_delete_child(sa, req.new_spi_in, in.now);
    return;
  }
  install_child(p, sa, *suite, req.new_spi_in, spi_out, shared, req.nonce, nr, true, in.now);
  start_delete_child(sa, old_in, in.now);  // make-before-break: the new pair is in place
}

void Engine::Impl::on_informational_request(Peer& p, IkeSa& sa, const Inbound& in) {
  uint32_t id = in.msg->hdr.msg_id;
  std::vector<Bytes> ours;
  bool delete_ike = false;
  for (const auto& pl : in.payloads) {
    if (pl.type != kPayloadDelete) continue;
    auto d = decode_delete(pl.body);
    if (!d) continue;
    if (d->protocol == kProtoIke) delete_ike = true;
    if (d->protocol != kProtoEsp || d->spi_size != 4) continue;
    for (const auto& spi : d->spis) {
      // §1.4.1: the peer names its inbound SPIs (our outbound); we answer with ours.
      if (ChildSa* c = child_by_out(sa, static_cast<uint32_t>(from_be(spi))))
        ours.push_back(be32(c->spi_in));
    }
  }
  if (delete_ike) {
    send_response(sa, kInformational, id, {});
    if (sa.rekeyed_away) {
      sa.state = IkeState::kDead;  // its successor carries on
      sa.pending.reset();
    } else {
      kill_sa(p, sa, "IKE SA deleted by the peer", in.now);
    }
    return;
  }
  std::vector<Payload> rs;
  if (!ours.empty())
    rs.push_back(make_payload(kPayloadDelete, encode_delete({kProtoEsp, 4, ours})));
  send_response(sa, kInformational, id, rs);
  for (const auto& spi : ours) remove_child(p, static_cast<uint32_t>(from_be(spi)));
  if (!ours.empty() && sa.children.empty() && !sa.pending) {
    // Our one CHILD_SA is gone without a replacement: re-establish from scratch.
    p.last_error = "CHILD_SA deleted by the peer";
    start_delete_ike(p, sa, in.now);
  }
}

void Engine::Impl::on_informational_response(Peer& p, IkeSa& sa, Pending& req, const Inbound& in) {
  switch (req.kind) {
    case RequestKind::kDeleteChild:
      // The peer confirmed (§1.4.1): now the old pair leaves the data plane.
      remove_child(p, req.old_spi_in);
      break;
    case RequestKind::kDeleteIke:
      if (sa.rekeyed_away) {
        sa.state = IkeState::kDead;
      } else {
        kill_sa(p, sa, p.last_error.empty() ? "IKE SA deleted" : p.last_error, in.now);
      }
      break;
    default:
      break;  // DPD: last_heard is already updated
  }
}

}  // namespace ferry::ike
