#include "ipsec/sad.hpp"

#include <fmt/format.h>

namespace ferry::ipsec {

const char* esp_drop_name(EspDrop d) {
  static constexpr const char* kNames[] = {"unknown_spi", "replay", "auth_failed",
                                           "malformed",   "no_sa",  "seq_exhausted"};
  return kNames[static_cast<size_t>(d)];
}

nlohmann::json EspDropCounters::json() const {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < static_cast<size_t>(EspDrop::kCount); ++i)
    j[esp_drop_name(static_cast<EspDrop>(i))] = v[i].load(std::memory_order_relaxed);
  return j;
}

const char* cipher_name(EspCipher c) {
  switch (c) {
    case EspCipher::kAesGcm16_128:
      return "aes128gcm16";
    case EspCipher::kAesGcm16_256:
      return "aes256gcm16";
    case EspCipher::kAesCbc128:
      return "aes128";
    case EspCipher::kAesCbc256:
      return "aes256";
  }
  return "?";
}

const char* integ_name(EspInteg i) {
  switch (i) {
    case EspInteg::kNone:
      return "";
    case EspInteg::kHmacSha256_128:
      return "sha256";
    case EspInteg::kHmacSha384_192:
      return "sha384";
    case EspInteg::kHmacSha512_256:
      return "sha512";
  }
  return "?";
}

EspSaStats SaCounters::load() const {
  EspSaStats s;
  s.bytes = bytes.load(std::memory_order_relaxed);
  s.packets = packets.load(std::memory_order_relaxed);
  s.replayed = replayed.load(std::memory_order_relaxed);
  s.auth_failed = auth_failed.load(std::memory_order_relaxed);
  s.last_used_ns = last_used_ns.load(std::memory_order_relaxed);
  return s;
}

Sad::Sad(size_t workers)
    : workers_(std::max<size_t>(1, workers)), snap_(std::make_shared<const Snapshot>()) {}

Sad::~Sad() = default;

void Sad::publish(Snapshot next) {
  snap_.store(std::make_shared<const Snapshot>(std::move(next)), std::memory_order_release);
  gen_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<PeerSad> Sad::peer_locked(Snapshot& next, tunnel::PeerIndex peer) {
  if (next.peers.size() <= peer.slot()) {
    next.peers.resize(peer.slot() + 1);
    next.out.resize(peer.slot() + 1);
  }
  auto& p = next.peers[peer.slot()];
  if (!p) {
    p = std::make_shared<PeerSad>();
    p->peer = peer;
  }
  return p;
}

void Sad::add_peer(tunnel::PeerIndex peer) {
  if (!peer.valid()) return;
  std::lock_guard l(mu_);
  Snapshot next = *snap_.load();
  if (peer.slot() < next.peers.size() && next.peers[peer.slot()]) return;
  peer_locked(next, peer);
  publish(std::move(next));
}

void Sad::remove_peer(tunnel::PeerIndex peer) {
  std::lock_guard l(mu_);
  Snapshot next = *snap_.load();
  if (peer.slot() >= next.peers.size()) return;
  next.peers[peer.slot()].reset();
  next.out[peer.slot()].reset();
  std::erase_if(next.in, [&](const auto& kv) { return kv.second->peer->peer == peer; });
  std::erase_if(pairs_, [&](const auto& kv) { return kv.second.peer == peer; });
  publish(std::move(next));
}

void Sad::install(const ChildSaPair& sa) {
  if (!sa.peer.valid()) {
    install_failures_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Key schedules are set up here, once per SA and worker, off the hot path.
  auto in_crypto = EspCrypto::create(sa.in, /*encrypt=*/false, workers_);
  auto out_crypto = EspCrypto::create(sa.out, /*encrypt=*/true, workers_);
  if (!in_crypto || !out_crypto) {
    install_failures_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard l(mu_);
  Snapshot next = *snap_.load();
  auto peer = peer_locked(next, sa.peer);
  auto in = std::make_shared<InboundSa>(peer, std::move(in_crypto), sa.replay_window, sa.esn);
  auto out = std::make_shared<OutboundSa>(std::move(out_crypto), sa.esn);
  next.in[sa.in.spi] = in;
  next.out[sa.peer.slot()] = out;  // the new pair carries the peer's traffic at once
  pairs_[sa.in.spi] = Pair{sa.peer, in, out};
  if (sa.remote.valid()) peer->remote.store(sa.remote);
  publish(std::move(next));
}

void Sad::remove(tunnel::PeerIndex peer, uint32_t inbound_spi) {
  std::lock_guard l(mu_);
  auto it = pairs_.find(inbound_spi);
  if (it == pairs_.end() || it->second.peer != peer) return;
  Snapshot next = *snap_.load();
  next.in.erase(inbound_spi);
  // The pair was still current (no newer install): the peer is left without an SA.
  if (peer.slot() < next.out.size() && next.out[peer.slot()] == it->second.out)
    next.out[peer.slot()].reset();
  pairs_.erase(it);
  publish(std::move(next));
}

void Sad::set_endpoint(tunnel::PeerIndex peer, const tunnel::UdpEndpoint& remote) {
  std::lock_guard l(mu_);
  Snapshot next = *snap_.load();
  auto p = peer_locked(next, peer);
  p->remote.store(remote);
  publish(std::move(next));
}

EspSaStats Sad::stats(uint32_t inbound_spi, bool outbound) const {
  std::lock_guard l(mu_);
  auto it = pairs_.find(inbound_spi);
  if (it == pairs_.end()) return {};
  return outbound ? it->second.out->counters.load() : it->second.in->counters.load();
}

nlohmann::json Sad::show_peer(tunnel::PeerIndex peer) const {
  std::lock_guard l(mu_);
  auto snap = snap_.load();
  nlohmann::json j = nlohmann::json::object();
  const PeerSad* p = peer.slot() < snap->peers.size() ? snap->peers[peer.slot()].get() : nullptr;
  const OutboundSa* cur = peer.slot() < snap->out.size() ? snap->out[peer.slot()].get() : nullptr;
  nlohmann::json sas = nlohmann::json::array();
  for (const auto& [spi, pair] : pairs_) {
    if (pair.peer != peer) continue;
    auto in = pair.in->counters.load();
    auto out = pair.out->counters.load();
    nlohmann::json s = {
        {"spi_in", fmt::format("{:08x}", spi)},
        {"spi_out", fmt::format("{:08x}", pair.out->crypto->spi())},
        {"encryption", cipher_name(pair.in->crypto->cipher())},
        {"integrity", integ_name(pair.in->crypto->integ())},
        {"esn", pair.in->esn},
        {"current", pair.out.get() == cur},
        {"replay_window", pair.in->replay.window()},
        {"rx_bytes", in.bytes},
        {"rx_packets", in.packets},
        {"tx_bytes", out.bytes},
        {"tx_packets", out.packets},
        {"replayed", in.replayed},
        {"auth_failed", in.auth_failed},
        {"tx_seq", pair.out->last_seq.load(std::memory_order_relaxed)},
    };
    if (s["current"].get<bool>())
      sas.insert(sas.begin(), std::move(s));
    else
      sas.push_back(std::move(s));
  }
  j["child_sas"] = std::move(sas);
  j["drops"] = p ? p->drops.json() : EspDropCounters{}.json();
  if (p) {
    auto ep = p->remote.load();
    if (ep) j["esp_endpoint"] = ep->str();
  }
  return j;
}

}  // namespace ferry::ipsec
