#include "rib/attr_table.hpp"

#include <cstring>

namespace ferry::rib {
namespace {

AttrNode* const kTomb = reinterpret_cast<AttrNode*>(uintptr_t{1});

inline size_t mix(size_t h, uint64_t v) {
  // 64-bit multiply-xorshift mixing (splitmix64 finaliser applied per word).
  v += 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
  v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (v ^ (v >> 31));
}

size_t hash_addr(size_t h, const std::optional<IpAddress>& a) {
  if (!a) return mix(h, 0x51);
  uint64_t x, y;
  std::memcpy(&x, a->bytes(), 8);
  std::memcpy(&y, a->bytes() + 8, 8);
  h = mix(h, x);
  h = mix(h, y);
  return mix(h, static_cast<uint64_t>(a->family()));
}

}  // namespace

size_t attr_hash(const bgp::PathAttributes& a) {
  size_t h = mix(0, static_cast<uint64_t>(a.origin));
  for (const auto& seg : a.as_path) {
    h = mix(h, 0x100 + static_cast<uint64_t>(seg.type));
    for (uint32_t asn : seg.asns) h = mix(h, asn);
  }
  h = hash_addr(h, a.next_hop);
  h = hash_addr(h, a.next_hop_ll);
  h = mix(h, a.med ? (uint64_t{1} << 32) | *a.med : 0);
  h = mix(h, a.local_pref ? (uint64_t{1} << 32) | *a.local_pref : 0);
  h = mix(h, a.atomic_aggregate);
  if (a.aggregator) {
    h = mix(h, a.aggregator->asn);
    h = hash_addr(h, a.aggregator->address);
  }
  h = mix(h, 0x200 + a.communities.size());
  for (uint32_t c : a.communities) h = mix(h, c);
  h = mix(h, 0x300 + a.ext_communities.size());
  for (uint64_t c : a.ext_communities) h = mix(h, c);
  h = mix(h, 0x400 + a.large_communities.size());
  for (const auto& c : a.large_communities)
    h = mix(h, (uint64_t{c.global} << 32 | c.local1) ^ (uint64_t{c.local2} << 17));
  h = mix(h, a.originator_id ? (uint64_t{1} << 32) | *a.originator_id : 0);
  h = mix(h, 0x500 + a.cluster_list.size());
  for (uint32_t c : a.cluster_list) h = mix(h, c);
  for (const auto& u : a.unknown) {
    h = mix(h, uint64_t{u.flags} << 8 | u.type);
    for (uint8_t b : u.value) h = mix(h, b);
  }
  return h;
}

int as_path_length(const bgp::PathAttributes& a) {
  int n = 0;
  for (const auto& seg : a.as_path) {
    if (seg.type == bgp::SegmentType::Sequence)
      n += static_cast<int>(seg.asns.size());
    else if (seg.type == bgp::SegmentType::Set)
      n += 1;
  }
  return n;
}

uint32_t neighbor_as(const bgp::PathAttributes& a) {
  for (const auto& seg : a.as_path) {
    if (seg.type == bgp::SegmentType::Sequence && !seg.asns.empty()) return seg.asns.front();
    if (seg.type == bgp::SegmentType::Set) return 0;
  }
  return 0;
}

uint32_t origin_as(const bgp::PathAttributes& a) {
  for (auto it = a.as_path.rbegin(); it != a.as_path.rend(); ++it) {
    if (it->type == bgp::SegmentType::Sequence && !it->asns.empty()) return it->asns.back();
    if (!it->asns.empty()) return 0;  // ends in a set: no single origin
  }
  return 0;
}

bool as_path_contains(const bgp::PathAttributes& a, uint32_t asn) {
  for (const auto& seg : a.as_path)
    for (uint32_t x : seg.asns)
      if (x == asn) return true;
  return false;
}

bool has_community(const bgp::PathAttributes& a, uint32_t c) {
  for (uint32_t x : a.communities)
    if (x == c) return true;
  return false;
}

void as_path_prepend(bgp::PathAttributes& a, uint32_t asn, uint32_t count) {
  if (count == 0) return;
  // RFC 4271 §5.1.2 (b): prepend to a leading AS_SEQUENCE, or add a new one;
  // a segment holds at most 255 ASes.
  if (a.as_path.empty() || a.as_path.front().type != bgp::SegmentType::Sequence ||
      a.as_path.front().asns.size() + count > 255) {
    a.as_path.insert(a.as_path.begin(), bgp::AsPathSegment{bgp::SegmentType::Sequence, {}});
  }
  auto& v = a.as_path.front().asns;
  v.insert(v.begin(), count, asn);
}

size_t attr_heap_bytes(const bgp::PathAttributes& a) {
  size_t n = sizeof(AttrNode);
  n += a.as_path.capacity() * sizeof(bgp::AsPathSegment);
  for (const auto& s : a.as_path) n += s.asns.capacity() * 4;
  n += a.communities.capacity() * 4 + a.ext_communities.capacity() * 8 +
       a.large_communities.capacity() * sizeof(bgp::LargeCommunity) + a.cluster_list.capacity() * 4;
  for (const auto& u : a.unknown) n += sizeof(u) + u.value.capacity();
  return n;
}

AttrTable::AttrTable() : slots_(64, nullptr) {}

AttrTable::~AttrTable() {
  // Handles should be gone by now; free whatever is left so nothing leaks,
  // and detach the nodes so a late release cannot touch this table.
  for (AttrNode*& n : slots_) {
    if (n && n != kTomb) delete n;
    n = nullptr;
  }
}

AttrNode* AttrTable::find(const bgp::PathAttributes& a, size_t h) const {
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    AttrNode* n = slots_[i];
    if (!n) return nullptr;
    if (n != kTomb && n->hash == h && n->value == a) return n;
  }
}

void AttrTable::grow() {
  size_t cap = slots_.size();
  if ((count_ + 1) * 2 > cap) cap *= 2;  // else: same size, just drop tombstones
  std::vector<AttrNode*> old(cap, nullptr);
  old.swap(slots_);
  size_t mask = slots_.size() - 1;
  for (AttrNode* n : old) {
    if (!n || n == kTomb) continue;
    size_t i = n->hash & mask;
    while (slots_[i]) i = (i + 1) & mask;
    slots_[i] = n;
  }
  used_ = count_;
}

AttrRef AttrTable::insert(bgp::PathAttributes&& a, size_t h) {
  if ((used_ + 1) * 4 > slots_.size() * 3) grow();
  auto* n = new AttrNode{std::move(a), h, 0, this};
  size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  while (slots_[i] && slots_[i] != kTomb) i = (i + 1) & mask;
  if (!slots_[i]) ++used_;
  slots_[i] = n;
  ++count_;
  value_bytes_ += attr_heap_bytes(n->value);
  return AttrRef(n);
}

AttrRef AttrTable::intern(const bgp::PathAttributes& a) {
  size_t h = attr_hash(a);
  if (AttrNode* n = find(a, h)) return AttrRef(n);
  return insert(bgp::PathAttributes(a), h);
}

AttrRef AttrTable::intern(bgp::PathAttributes&& a) {
  size_t h = attr_hash(a);
  if (AttrNode* n = find(a, h)) return AttrRef(n);
  return insert(std::move(a), h);
}

void AttrTable::erase(AttrNode* n) {
  size_t mask = slots_.size() - 1;
  for (size_t i = n->hash & mask;; i = (i + 1) & mask) {
    if (slots_[i] == n) {
      // A tombstone keeps later entries of the same probe chain reachable;
      // if the next slot is empty the chain ends here and the slot can be freed.
      if (!slots_[(i + 1) & mask]) {
        slots_[i] = nullptr;
        --used_;
      } else {
        slots_[i] = kTomb;
      }
      break;
    }
    if (!slots_[i]) break;  // not found: cannot happen for a live node
  }
  value_bytes_ -= attr_heap_bytes(n->value);
  --count_;
  delete n;
}

size_t AttrTable::bytes() const {
  return value_bytes_ + slots_.capacity() * sizeof(AttrNode*);
}

}  // namespace ferry::rib
