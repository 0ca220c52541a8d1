#include "tunnel/cryptokey.hpp"

namespace ferry::tunnel {

namespace {
using T4 = LpmTraits<uint32_t>;
using T6 = LpmTraits<U128>;
}  // namespace

CryptokeyTable::CryptokeyTable() {
  publish();
}

bool CryptokeyTable::apply_one(const AllowedChange& c) {
  const Prefix& p = c.prefix;
  uint32_t v = CryptokeySnapshot::encode(c.peer, c.origin);
  (p.family() == Family::V4 ? dirty4_ : dirty6_) = true;
  if (c.op == AllowedChange::Op::Add) {
    uint32_t old = p.family() == Family::V4 ? v4_.set(T4::from(p.addr()), p.len(), v)
                                            : v6_.set(T6::from(p.addr()), p.len(), v);
    return old != v;
  }
  uint32_t cur = p.family() == Family::V4 ? v4_.get(T4::from(p.addr()), p.len())
                                          : v6_.get(T6::from(p.addr()), p.len());
  if (cur != v) return false;
  if (p.family() == Family::V4)
    v4_.erase(T4::from(p.addr()), p.len());
  else
    v6_.erase(T6::from(p.addr()), p.len());
  return true;
}

void CryptokeyTable::add_allowed(PeerIndex peer, const Prefix& p, AllowedOrigin o) {
  AllowedChange c{AllowedChange::Op::Add, peer, p, o};
  if (apply_one(c)) publish();
}

bool CryptokeyTable::remove_allowed(PeerIndex peer, const Prefix& p, AllowedOrigin o) {
  AllowedChange c{AllowedChange::Op::Remove, peer, p, o};
  bool changed = apply_one(c);
  if (changed) publish();
  return changed;
}

size_t CryptokeyTable::apply(std::span<const AllowedChange> changes) {
  size_t n = 0;
  for (const auto& c : changes) n += apply_one(c) ? 1 : 0;
  if (n > 0) publish();
  return n;
}

void CryptokeyTable::remove_peer(PeerIndex peer) {
  std::vector<AllowedChange> rm;
  for (auto o : {AllowedOrigin::Static, AllowedOrigin::Learned})
    for (const auto& p : prefixes_of(peer, o))
      rm.push_back(AllowedChange{AllowedChange::Op::Remove, peer, p, o});
  apply(rm);
}

std::optional<std::pair<PeerIndex, AllowedOrigin>> CryptokeyTable::owner(const Prefix& p) const {
  uint32_t v = p.family() == Family::V4 ? v4_.get(T4::from(p.addr()), p.len())
                                        : v6_.get(T6::from(p.addr()), p.len());
  if (v == 0) return std::nullopt;
  return std::make_pair(CryptokeySnapshot::decode(v), CryptokeySnapshot::origin_of(v));
}

std::vector<Prefix> CryptokeyTable::prefixes_of(PeerIndex peer, AllowedOrigin o) const {
  std::vector<Prefix> out;
  uint32_t want = CryptokeySnapshot::encode(peer, o);
  v4_.for_each([&](uint32_t k, int len, uint32_t v) {
    if (v == want) out.emplace_back(T4::to_address(k), len);
  });
  v6_.for_each([&](U128 k, int len, uint32_t v) {
    if (v == want) out.emplace_back(T6::to_address(k), len);
  });
  return out;
}

size_t CryptokeyTable::count_of(PeerIndex peer, AllowedOrigin o) const {
  size_t n = 0;
  uint32_t want = CryptokeySnapshot::encode(peer, o);
  v4_.for_each([&](uint32_t, int, uint32_t v) { n += v == want; });
  v6_.for_each([&](U128, int, uint32_t v) { n += v == want; });
  return n;
}

void CryptokeyTable::publish() {
  auto prev = current_.load(std::memory_order_acquire);
  auto v4 =
      (dirty4_ || !prev) ? std::make_shared<const LpmSnapshot<uint32_t>>(v4_.freeze()) : prev->v4_;
  auto v6 =
      (dirty6_ || !prev) ? std::make_shared<const LpmSnapshot<U128>>(v6_.freeze()) : prev->v6_;
  dirty4_ = dirty6_ = false;
  current_.store(std::make_shared<const CryptokeySnapshot>(std::move(v4), std::move(v6)),
                 std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace ferry::tunnel
