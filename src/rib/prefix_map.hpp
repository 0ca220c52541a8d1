// PrefixMap<V>: a compact open-addressing hash map from Prefix to V.
//
// The RIB keeps one entry per prefix (about 1M for a full IPv4 table), so the
// usual node-per-element std::unordered_map costs too much. Here each family
// has a flat slot array: IPv4 keys are packed into 8 bytes, IPv6 keys into 24.
// Linear probing with tombstones: an element never moves except when the
// table is rebuilt (growth, or shrink_if_sparse() after mass erasure), which
// bumps generation(). Code walking slot indices must not insert or shrink
// meanwhile; an erase during a walk never makes it skip an element.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "common/ip.hpp"

namespace ferry::rib {

namespace detail {

inline uint64_t mix64(uint64_t v) {
  v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
  v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
  return v ^ (v >> 31);
}

// Keys double as slot states: a length byte no prefix can have marks an
// empty slot (0xff) or a tombstone (0xfe), so a probe reads one cache line
// (the slot) instead of a separate control byte and then the slot.
struct V4Key {
  uint64_t k = 0xff;  // address (host order) << 8 | length; default: empty
  bool operator==(const V4Key&) const = default;
  static V4Key tomb() { return {0xfe}; }
  bool is_empty() const { return k == 0xff; }
  bool is_tomb() const { return k == 0xfe; }
  static V4Key from(const Prefix& p) {
    return {uint64_t{p.addr().v4_host_order()} << 8 | uint64_t(p.len())};
  }
  Prefix to_prefix() const {
    return Prefix(IpAddress::v4(static_cast<uint32_t>(k >> 8)), int(k & 0xff));
  }
  size_t hash() const { return mix64(k + 0x9e3779b97f4a7c15ULL); }
};

struct V6Key {
  uint64_t hi = 0, lo = 0;
  uint8_t len = 0xff;  // default: empty; 0xfe: tombstone (see V4Key)
  bool operator==(const V6Key&) const = default;
  static V6Key tomb() {
    V6Key k;
    k.len = 0xfe;
    return k;
  }
  bool is_empty() const { return len == 0xff && hi == 0 && lo == 0; }
  bool is_tomb() const { return len == 0xfe && hi == 0 && lo == 0; }
  static V6Key from(const Prefix& p) {
    V6Key k;
    std::memcpy(&k.hi, p.addr().bytes(), 8);
    std::memcpy(&k.lo, p.addr().bytes() + 8, 8);
    k.len = static_cast<uint8_t>(p.len());
    return k;
  }
  Prefix to_prefix() const {
    uint8_t b[16];
    std::memcpy(b, &hi, 8);
    std::memcpy(b + 8, &lo, 8);
    return Prefix(IpAddress::v6_bytes(b), len);
  }
  size_t hash() const { return mix64(hi ^ mix64(lo + len)); }
};

template <class K, class V>
class FlatMap {
 public:
  struct Slot {
    K key;  // default: empty
    V value;
  };

  FlatMap() = default;
  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  uint64_t generation() const { return gen_; }

  V* find(const K& k) {
    if (slots_.empty()) return nullptr;
    for (size_t i = home(k);; i = next(i)) {
      Slot& s = slots_[i];
      if (s.key == k) return &s.value;  // k is a real key, never empty/tomb
      if (s.key.is_empty()) return nullptr;
    }
  }
  const V* find(const K& k) const { return const_cast<FlatMap*>(this)->find(k); }

  // Starts loading k's home slot into the cache, for a lookup a little later
  // (the table is far larger than the cache: every lookup is a miss).
  void prefetch(const K& k) const {
    if (slots_.empty()) return;
    const Slot* s = &slots_[home(k)];
#if defined(__x86_64__) || defined(__i386__)
    // GCC 12 drops __builtin_prefetch here as dead code; the asm stays.
    asm volatile("prefetcht0 %0" : : "m"(*reinterpret_cast<const char*>(s)));
#else
    __builtin_prefetch(s);
#endif
  }

  V& get(const K& k, bool* inserted = nullptr) {
    if (V* v = find(k)) {
      if (inserted) *inserted = false;
      return *v;
    }
    if ((used_ + 1) * 5 > slots_.size() * 4) rebuild();
    size_t i = home(k);
    while (full(i)) i = next(i);
    if (slots_[i].key.is_empty()) ++used_;
    slots_[i].key = k;
    slots_[i].value = V();
    ++size_;
    if (inserted) *inserted = true;
    return slots_[i].value;
  }

  bool erase(const K& k) {
    if (slots_.empty()) return false;
    for (size_t i = home(k);; i = next(i)) {
      if (slots_[i].key == k) {
        erase_slot(i);
        return true;
      }
      if (slots_[i].key.is_empty()) return false;
    }
  }

  void erase_slot(size_t i) {
    slots_[i].value = V();
    if (slots_[next(i)].key.is_empty()) {
      slots_[i].key = K();
      --used_;
    } else {
      slots_[i].key = K::tomb();
    }
    --size_;
  }

  // Slot access for walkers: valid indices are [0, capacity()).
  bool full(size_t i) const {
    return !slots_[i].key.is_empty() && !slots_[i].key.is_tomb();
  }
  const K& key_at(size_t i) const {
    return slots_[i].key;
  }
  V& value_at(size_t i) {
    return slots_[i].value;
  }
  const V& value_at(size_t i) const {
    return slots_[i].value;
  }

  void clear() {
    slots_.clear();
    slots_.shrink_to_fit();
    size_ = used_ = 0;
    ++gen_;
  }
  size_t bytes() const {
    return slots_.capacity() * sizeof(Slot);
  }

  // Gives the slot array back after mass erasure (a peer's table withdrawn):
  // below a quarter full, rebuilds at the size growth would have chosen.
  // Moves elements like any rebuild, so never call it while walking slots.
  // Returns whether it rebuilt.
  bool shrink_if_sparse() {
    if (slots_.size() <= 64 || size_ * 4 >= slots_.size()) return false;
    if (size_ == 0)
      clear();
    else
      rebuild();
    return true;
  }

 private:
  // Any capacity works: the home slot is the hash scaled into [0, capacity)
  // (Lemire's multiply-shift), so the table grows by 1.75x of the live size
  // instead of doubling, which matters at a million entries.
  size_t home(const K& k) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(k.hash()) * slots_.size()) >> 64);
  }
  size_t next(size_t i) const {
    return i + 1 == slots_.size() ? 0 : i + 1;
  }

  void rebuild() {
    size_t cap = std::max<size_t>(16, (size_ + 1) * 7 / 4);
    std::vector<Slot> old(cap);
    old.swap(slots_);
    for (Slot& s : old) {
      if (s.key.is_empty() || s.key.is_tomb()) continue;
      size_t i = home(s.key);
      while (!slots_[i].key.is_empty()) i = next(i);
      slots_[i] = std::move(s);
    }
    used_ = size_;
    ++gen_;
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  size_t used_ = 0;  // full + tombstones
  uint64_t gen_ = 0;
};

}  // namespace detail

template <class V>
class PrefixMap {
 public:
  V* find(const Prefix& p) {
    return p.family() == Family::V4 ? v4_.find(detail::V4Key::from(p))
                                    : v6_.find(detail::V6Key::from(p));
  }
  const V* find(const Prefix& p) const { return const_cast<PrefixMap*>(this)->find(p); }
  void prefetch(const Prefix& p) const {
    if (p.family() == Family::V4)
      v4_.prefetch(detail::V4Key::from(p));
    else
      v6_.prefetch(detail::V6Key::from(p));
  }
  V& get(const Prefix& p, bool* inserted = nullptr) {
    return p.family() == Family::V4 ? v4_.get(detail::V4Key::from(p), inserted)
                                    : v6_.get(detail::V6Key::from(p), inserted);
  }
  bool erase(const Prefix& p) {
    return p.family() == Family::V4 ? v4_.erase(detail::V4Key::from(p))
                                    : v6_.erase(detail::V6Key::from(p));
  }
  size_t size() const { return v4_.size() + v6_.size(); }
  size_t size(Family f) const { return f == Family::V4 ? v4_.size() : v6_.size(); }
  size_t bytes() const { return v4_.bytes() + v6_.bytes(); }
  // See FlatMap::shrink_if_sparse(); true if either family rebuilt.
  bool shrink_if_sparse() {
    bool a = v4_.shrink_if_sparse();
    bool b = v6_.shrink_if_sparse();
    return a || b;
  }
  void clear() {
    v4_.clear();
    v6_.clear();
  }
  void clear(Family f) { f == Family::V4 ? v4_.clear() : v6_.clear(); }

  // Walker interface, per family.
  size_t capacity(Family f) const { return f == Family::V4 ? v4_.capacity() : v6_.capacity(); }
  uint64_t generation(Family f) const {
    return f == Family::V4 ? v4_.generation() : v6_.generation();
  }
  // If slot i holds an element, sets *p and returns its value; else nullptr.
  V* at(Family f, size_t i, Prefix* p) {
    if (f == Family::V4) {
      if (!v4_.full(i)) return nullptr;
      *p = v4_.key_at(i).to_prefix();
      return &v4_.value_at(i);
    }
    if (!v6_.full(i)) return nullptr;
    *p = v6_.key_at(i).to_prefix();
    return &v6_.value_at(i);
  }

  template <class Fn>
  void for_each(Fn&& fn) {
    for (Family f : {Family::V4, Family::V6}) {
      Prefix p;
      for (size_t i = 0, n = capacity(f); i < n; ++i)
        if (V* v = at(f, i, &p)) fn(p, *v);
    }
  }
  template <class Fn>
  void for_each(Fn&& fn) const {
    const_cast<PrefixMap*>(this)->for_each(
        [&](const Prefix& p, V& v) { fn(p, static_cast<const V&>(v)); });
  }

 private:
  detail::FlatMap<detail::V4Key, V> v4_;
  detail::FlatMap<detail::V6Key, V> v6_;
};

}  // namespace ferry::rib
