#include "tunnel/cryptokey.hpp"

#include <sodium.h>

#include <algorithm>

namespace ferry::tunnel {

namespace {
using T4 = LpmTraits<uint32_t>;
using T6 = LpmTraits<U128>;
using S = CryptokeySnapshot;

uint64_t random_seed() {
  uint64_t s = 0;
  while (s == 0) randombytes_buf(&s, sizeof s);  // libsodium CSPRNG; 0 means "pick one"
  return s;
}
}  // namespace

std::vector<PeerIndex> CryptokeySnapshot::lookup_all(const IpAddress& a) const {
  uint32_t v = raw(a.is_v4() ? 4 : 6, a.bytes());
  if (v == 0) return {};
  if (!(v & kSetBit)) return {decode_single(v)};
  const PeerSet& s = set_of(v);
  return std::vector<PeerIndex>(s.peers.begin(), s.peers.begin() + s.n);
}

CryptokeyTable::CryptokeyTable(uint64_t hash_seed)
    : seed_(hash_seed != 0 ? hash_seed : random_seed()) {
  publish();
}

uint32_t CryptokeyTable::get(const Prefix& p) const {
  return p.family() == Family::V4 ? v4_.get(T4::from(p.addr()), p.len())
                                  : v6_.get(T6::from(p.addr()), p.len());
}

void CryptokeyTable::put(const Prefix& p, uint32_t v) {
  const bool v4 = p.family() == Family::V4;
  (v4 ? dirty4_ : dirty6_) = true;
  if (v == 0) {
    if (v4)
      v4_.erase(T4::from(p.addr()), p.len());
    else
      v6_.erase(T6::from(p.addr()), p.len());
  } else if (v4) {
    v4_.set(T4::from(p.addr()), p.len(), v);
  } else {
    v6_.set(T6::from(p.addr()), p.len(), v);
  }
}

std::vector<PeerIndex> CryptokeyTable::members(uint32_t v) const {
  if (v == 0) return {};
  if (v & S::kSetBit) return sets_[v & S::kLowMask].peers;
  return {S::decode_single(v)};
}

bool CryptokeyTable::has_member(uint32_t v, PeerIndex p) const {
  if (v == 0) return false;
  if (!(v & S::kSetBit)) return S::decode_single(v) == p;
  const auto& m = sets_[v & S::kLowMask].peers;
  return std::binary_search(m.begin(), m.end(), p);
}

uint32_t CryptokeyTable::intern(const std::vector<PeerIndex>& peers) {
  if (peers.size() == 1) return S::encode(peers[0], AllowedOrigin::Learned);
  auto it = set_ids_.find(peers);
  if (it != set_ids_.end()) return S::encode_set(it->second);
  uint32_t id;
  if (!free_sets_.empty()) {
    id = free_sets_.back();
    free_sets_.pop_back();
  } else {
    id = static_cast<uint32_t>(sets_.size());
    sets_.emplace_back();
  }
  sets_[id].peers = peers;
  sets_[id].refs = 0;
  set_ids_.emplace(peers, id);
  dirty_sets_ = true;
  return S::encode_set(id);
}

void CryptokeyTable::retain(uint32_t v) {
  if (v & S::kSetBit) ++sets_[v & S::kLowMask].refs;
}

void CryptokeyTable::release(uint32_t v) {
  if (!(v & S::kSetBit)) return;
  SetSlot& s = sets_[v & S::kLowMask];
  if (--s.refs > 0) return;
  set_ids_.erase(s.peers);
  s.peers.clear();
  free_sets_.push_back(v & S::kLowMask);
  dirty_sets_ = true;
}

bool CryptokeyTable::apply_one(const AllowedChange& c) {
  const Prefix& p = c.prefix;
  const uint32_t cur = get(p);
  const bool cur_static = cur != 0 && S::origin_of(cur) == AllowedOrigin::Static;
  if (c.origin == AllowedOrigin::Static) {
    const uint32_t mine = S::encode(c.peer, AllowedOrigin::Static);
    if (c.op == AllowedChange::Op::Add) {
      if (cur == mine) return false;
      if (cur != 0 && !cur_static) shadow_[p] = cur;  // the learned set waits underneath
      put(p, mine);
      return true;
    }
    if (cur != mine) return false;
    auto sh = shadow_.find(p);
    if (sh != shadow_.end()) {
      put(p, sh->second);  // the learned set is in effect again
      shadow_.erase(sh);
    } else {
      put(p, 0);
    }
    return true;
  }
  // Learned: edit the set in effect, or the shadowed one under a static entry.
  auto sh = shadow_.find(p);
  const uint32_t old = cur_static ? (sh != shadow_.end() ? sh->second : 0) : cur;
  std::vector<PeerIndex> m = members(old);
  auto pos = std::lower_bound(m.begin(), m.end(), c.peer);
  const bool present = pos != m.end() && *pos == c.peer;
  if (c.op == AllowedChange::Op::Add) {
    if (present) return false;
    if (m.size() >= kMaxEcmpPeers) {
      ++overflows_;
      return false;
    }
    m.insert(pos, c.peer);
  } else {
    if (!present) return false;
    m.erase(pos);
  }
  const uint32_t next = m.empty() ? 0 : intern(m);
  retain(next);
  release(old);
  if (cur_static) {
    if (next == 0)
      shadow_.erase(p);
    else
      shadow_[p] = next;
    return false;  // the data plane still sees the static entry
  }
  put(p, next);
  return true;
}

void CryptokeyTable::add_allowed(PeerIndex peer, const Prefix& p, AllowedOrigin o) {
  AllowedChange c{AllowedChange::Op::Add, peer, p, o};
  apply({&c, 1});
}

bool CryptokeyTable::remove_allowed(PeerIndex peer, const Prefix& p, AllowedOrigin o) {
  AllowedChange c{AllowedChange::Op::Remove, peer, p, o};
  return apply({&c, 1}) > 0;
}

size_t CryptokeyTable::apply(std::span<const AllowedChange> changes) {
  size_t n = 0;
  for (const auto& c : changes) n += apply_one(c) ? 1 : 0;
  if (n > 0) publish();
  return n;
}

size_t CryptokeyTable::clear_learned(PeerIndex peer) {
  std::vector<AllowedChange> rm;
  for (const auto& p : prefixes_of(peer, AllowedOrigin::Learned))
    rm.push_back(AllowedChange{AllowedChange::Op::Remove, peer, p, AllowedOrigin::Learned});
  for (const auto& [p, v] : shadow_)
    if (has_member(v, peer))
      rm.push_back(AllowedChange{AllowedChange::Op::Remove, peer, p, AllowedOrigin::Learned});
  return apply(rm);
}

void CryptokeyTable::remove_peer(PeerIndex peer) {
  std::vector<AllowedChange> rm;
  for (const auto& p : prefixes_of(peer, AllowedOrigin::Static))
    rm.push_back(AllowedChange{AllowedChange::Op::Remove, peer, p, AllowedOrigin::Static});
  for (const auto& p : prefixes_of(peer, AllowedOrigin::Learned))
    rm.push_back(AllowedChange{AllowedChange::Op::Remove, peer, p, AllowedOrigin::Learned});
  for (const auto& [p, v] : shadow_)
    if (has_member(v, peer))
      rm.push_back(AllowedChange{AllowedChange::Op::Remove, peer, p, AllowedOrigin::Learned});
  apply(rm);
}

std::optional<std::pair<PeerIndex, AllowedOrigin>> CryptokeyTable::owner(const Prefix& p) const {
  uint32_t v = get(p);
  if (v == 0) return std::nullopt;
  return std::make_pair(members(v).front(), S::origin_of(v));
}

std::vector<PeerIndex> CryptokeyTable::peers_of(const Prefix& p) const {
  return members(get(p));
}

std::vector<Prefix> CryptokeyTable::prefixes_of(PeerIndex peer, AllowedOrigin o) const {
  std::vector<Prefix> out;
  auto want = [&](uint32_t v) { return S::origin_of(v) == o && has_member(v, peer); };
  v4_.for_each([&](uint32_t k, int len, uint32_t v) {
    if (want(v)) out.emplace_back(T4::to_address(k), len);
  });
  v6_.for_each([&](U128 k, int len, uint32_t v) {
    if (want(v)) out.emplace_back(T6::to_address(k), len);
  });
  return out;
}

size_t CryptokeyTable::count_of(PeerIndex peer, AllowedOrigin o) const {
  size_t n = 0;
  auto want = [&](uint32_t v) { return S::origin_of(v) == o && has_member(v, peer); };
  v4_.for_each([&](uint32_t, int, uint32_t v) { n += want(v); });
  v6_.for_each([&](U128, int, uint32_t v) { n += want(v); });
  return n;
}

void CryptokeyTable::publish() {
  auto prev = current_.load(std::memory_order_acquire);
  auto v4 =
      (dirty4_ || !prev) ? std::make_shared<const LpmSnapshot<uint32_t>>(v4_.freeze()) : prev->v4_;
  auto v6 =
      (dirty6_ || !prev) ? std::make_shared<const LpmSnapshot<U128>>(v6_.freeze()) : prev->v6_;
  std::shared_ptr<const std::vector<PeerSet>> sets;
  if (dirty_sets_ || !prev) {
    auto s = std::make_shared<std::vector<PeerSet>>(sets_.size());
    for (size_t i = 0; i < sets_.size(); ++i) {
      PeerSet& ps = (*s)[i];
      ps.n = static_cast<uint32_t>(sets_[i].peers.size());
      for (uint32_t j = 0; j < ps.n; ++j) {
        ps.peers[j] = sets_[i].peers[j];
        ps.salt[j] = PeerSet::salt_for(seed_, ps.peers[j]);
      }
    }
    sets = std::move(s);
  } else {
    sets = prev->sets_;
  }
  dirty4_ = dirty6_ = dirty_sets_ = false;
  current_.store(std::make_shared<const CryptokeySnapshot>(std::move(v4), std::move(v6),
                                                           std::move(sets), seed_),
                 std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace ferry::tunnel
