#include "rib/attr_table.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "common/bytes.hpp"

namespace ferry::rib {
namespace {

AttrNode* const kTomb = reinterpret_cast<AttrNode*>(uintptr_t{1});

inline uint64_t mix(uint64_t v) {
  v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
  v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
  return v ^ (v >> 31);
}

size_t hash_bytes(const uint8_t* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
  }
  uint64_t w = 0;
  std::memcpy(&w, p + i, n - i);
  return mix(h ^ w);
}

// Presence bits of the encoding's first byte.
constexpr uint8_t kNh = 1, kNhLl = 2, kMed = 4, kLp = 8, kAtomic = 16, kAggr = 32, kOrig = 64;

void put_addr(ByteWriter& w, const IpAddress& a) {
  w.u8(static_cast<uint8_t>(a.family()));
  w.bytes(a.bytes(), static_cast<size_t>(a.byte_len()));
}

bool get_addr(ByteReader& r, IpAddress& a) {
  auto f = r.u8();
  if (!f || (*f != 4 && *f != 6)) return false;
  auto b = r.bytes(*f == 4 ? 4 : 16);
  if (!b) return false;
  a = IpAddress::from_bytes(static_cast<Family>(*f), b->data());
  return true;
}

}  // namespace

// The encoding, in order: presence bits, origin, then each present optional
// field, then counted lists (u16 counts: an UPDATE is at most 64 KiB).
void encode_attrs(const bgp::PathAttributes& a, std::vector<uint8_t>& out) {
  out.clear();
  ByteWriter w(out);
  uint8_t bits = (a.next_hop ? kNh : 0) | (a.next_hop_ll ? kNhLl : 0) | (a.med ? kMed : 0) |
                 (a.local_pref ? kLp : 0) | (a.atomic_aggregate ? kAtomic : 0) |
                 (a.aggregator ? kAggr : 0) | (a.originator_id ? kOrig : 0);
  w.u8(bits);
  w.u8(static_cast<uint8_t>(a.origin));
  if (a.next_hop) put_addr(w, *a.next_hop);
  if (a.next_hop_ll) put_addr(w, *a.next_hop_ll);
  if (a.med) w.u32(*a.med);
  if (a.local_pref) w.u32(*a.local_pref);
  if (a.aggregator) {
    w.u32(a.aggregator->asn);
    put_addr(w, a.aggregator->address);
  }
  if (a.originator_id) w.u32(*a.originator_id);
  w.u16(static_cast<uint16_t>(a.as_path.size()));
  for (const auto& seg : a.as_path) {
    w.u8(static_cast<uint8_t>(seg.type));
    w.u16(static_cast<uint16_t>(seg.asns.size()));
    for (uint32_t x : seg.asns) w.u32(x);
  }
  w.u16(static_cast<uint16_t>(a.communities.size()));
  for (uint32_t c : a.communities) w.u32(c);
  w.u16(static_cast<uint16_t>(a.ext_communities.size()));
  for (uint64_t c : a.ext_communities) w.u64(c);
  w.u16(static_cast<uint16_t>(a.large_communities.size()));
  for (const auto& c : a.large_communities) {
    w.u32(c.global);
    w.u32(c.local1);
    w.u32(c.local2);
  }
  w.u16(static_cast<uint16_t>(a.cluster_list.size()));
  for (uint32_t c : a.cluster_list) w.u32(c);
  w.u16(static_cast<uint16_t>(a.unknown.size()));
  for (const auto& u : a.unknown) {
    w.u8(u.flags);
    w.u8(u.type);
    w.u16(static_cast<uint16_t>(u.value.size()));
    w.bytes(u.value.data(), u.value.size());
  }
}

bool decode_attrs(const uint8_t* p, size_t len, bgp::PathAttributes& a) {
  ByteReader r(p, len);
  a = bgp::PathAttributes();
  auto bits = r.u8();
  auto origin = r.u8();
  if (!bits || !origin) return false;
  a.origin = static_cast<bgp::Origin>(*origin);
  if (*bits & kNh) {
    a.next_hop.emplace();
    if (!get_addr(r, *a.next_hop)) return false;
  }
  if (*bits & kNhLl) {
    a.next_hop_ll.emplace();
    if (!get_addr(r, *a.next_hop_ll)) return false;
  }
  if (*bits & kMed) {
    auto v = r.u32();
    if (!v) return false;
    a.med = *v;
  }
  if (*bits & kLp) {
    auto v = r.u32();
    if (!v) return false;
    a.local_pref = *v;
  }
  a.atomic_aggregate = *bits & kAtomic;
  if (*bits & kAggr) {
    auto asn = r.u32();
    if (!asn) return false;
    a.aggregator.emplace();
    a.aggregator->asn = *asn;
    if (!get_addr(r, a.aggregator->address)) return false;
  }
  if (*bits & kOrig) {
    auto v = r.u32();
    if (!v) return false;
    a.originator_id = *v;
  }
  auto nseg = r.u16();
  if (!nseg) return false;
  a.as_path.resize(*nseg);
  for (auto& seg : a.as_path) {
    auto t = r.u8();
    auto n = r.u16();
    if (!t || !n) return false;
    seg.type = static_cast<bgp::SegmentType>(*t);
    seg.asns.resize(*n);
    for (auto& x : seg.asns) {
      auto v = r.u32();
      if (!v) return false;
      x = *v;
    }
  }
  auto n = r.u16();
  if (!n) return false;
  a.communities.resize(*n);
  for (auto& c : a.communities) {
    auto v = r.u32();
    if (!v) return false;
    c = *v;
  }
  n = r.u16();
  if (!n) return false;
  a.ext_communities.resize(*n);
  for (auto& c : a.ext_communities) {
    auto v = r.u64();
    if (!v) return false;
    c = *v;
  }
  n = r.u16();
  if (!n) return false;
  a.large_communities.resize(*n);
  for (auto& c : a.large_communities) {
    auto g = r.u32(), l1 = r.u32(), l2 = r.u32();
    if (!g || !l1 || !l2) return false;
    c = {*g, *l1, *l2};
  }
  n = r.u16();
  if (!n) return false;
  a.cluster_list.resize(*n);
  for (auto& c : a.cluster_list) {
    auto v = r.u32();
    if (!v) return false;
    c = *v;
  }
  n = r.u16();
  if (!n) return false;
  a.unknown.resize(*n);
  for (auto& u : a.unknown) {
    auto f = r.u8(), t = r.u8();
    auto l = r.u16();
    if (!f || !t || !l) return false;
    u.flags = *f;
    u.type = *t;
    auto b = r.bytes(*l);
    if (!b) return false;
    u.value.assign(b->begin(), b->end());
  }
  return r.empty();
}

AttrSummary summarize(const bgp::PathAttributes& a) {
  AttrSummary s;
  if (a.local_pref) {
    s.local_pref = *a.local_pref;
    s.has |= AttrSummary::kHasLocalPref;
  }
  if (a.med) {
    s.med = *a.med;
    s.has |= AttrSummary::kHasMed;
  }
  if (a.originator_id) {
    s.originator_id = *a.originator_id;
    s.has |= AttrSummary::kHasOriginator;
  }
  if (a.next_hop) {
    s.next_hop = *a.next_hop;
    s.has |= AttrSummary::kHasNextHop;
  }
  s.neighbor_as = neighbor_as(a);
  s.as_path_len = static_cast<uint16_t>(std::min(as_path_length(a), 0xffff));
  s.cluster_len = static_cast<uint16_t>(std::min<size_t>(a.cluster_list.size(), 0xffff));
  s.origin = a.origin;
  return s;
}

bgp::PathAttributes AttrRef::operator*() const {
  bgp::PathAttributes a;
  decode_attrs(n_->data(), n_->len, a);  // our own encoding: cannot fail
  return a;
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

AttrTable::AttrTable() : slots_(64, nullptr) {}

AttrTable::~AttrTable() {
  // Handles should be gone by now; free whatever is left so nothing leaks.
  for (AttrNode*& n : slots_) {
    if (n && n != kTomb) {
      n->~AttrNode();
      ::operator delete(n);
    }
    n = nullptr;
  }
}

AttrNode* AttrTable::find(const uint8_t* enc, uint32_t len, size_t h) const {
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    AttrNode* n = slots_[i];
    if (!n) return nullptr;
    if (n != kTomb && n->hash == h && n->len == len && std::memcmp(n->data(), enc, len) == 0)
      return n;
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

AttrRef AttrTable::intern(const bgp::PathAttributes& a) {
  encode_attrs(a, scratch_);
  auto len = static_cast<uint32_t>(scratch_.size());
  size_t h = hash_bytes(scratch_.data(), len);
  if (AttrNode* n = find(scratch_.data(), len, h)) return AttrRef(n);
  if ((used_ + 1) * 4 > slots_.size() * 3) grow();
  void* mem = ::operator new(sizeof(AttrNode) + len);
  auto* n = new (mem) AttrNode();
  n->hash = h;
  n->len = len;
  n->owner = this;
  n->sum = summarize(a);
  std::memcpy(n->data(), scratch_.data(), len);
  size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  while (slots_[i] && slots_[i] != kTomb) i = (i + 1) & mask;
  if (!slots_[i]) ++used_;
  slots_[i] = n;
  ++count_;
  value_bytes_ += sizeof(AttrNode) + len + 8;  // + malloc header
  return AttrRef(n);
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
  value_bytes_ -= sizeof(AttrNode) + n->len + 8;
  --count_;
  n->~AttrNode();
  ::operator delete(n);
}

size_t AttrTable::bytes() const {
  return value_bytes_ + slots_.capacity() * sizeof(AttrNode*);
}

}  // namespace ferry::rib
