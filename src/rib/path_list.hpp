// Path and PathList: the per-prefix storage of the RIB (Adj-RIB-In paths with
// their decision flags, plus the Adj-RIB-Out bits). One PathList sits in every
// slot of the prefix table, so its size is paid a million times over.
#pragma once

#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

#include "rib/attr_table.hpp"
#include "rib/rib.hpp"

namespace ferry::rib {

// One path of a prefix: a few words. `pre` is what the peer sent (kept for
// soft reconfiguration), `post` the result of import policy (null: rejected).
struct Path {
  AttrRef pre;
  AttrRef post;
  uint32_t peer = 0;
  uint8_t flags = 0;
  LossReason reason = LossReason::None;
  uint16_t igp_cost_hint = 0;  // saturated IGP cost seen at the last decision (show only)
};
constexpr uint8_t kPathStale = 1;
constexpr uint8_t kPathBest = 2;
constexpr uint8_t kPathActive = 4;

// The paths of one prefix, sorted by peer id, plus the Adj-RIB-Out bits.
//
// Most prefixes have exactly one path (a full table from one upstream), so a
// single path is stored inline, in the bytes that otherwise hold the pointer
// to a heap array: no allocation per prefix, and freeing the last path frees
// nothing. From the second path on the paths move to a heap array; when a
// list shrinks back to one path it moves inline again. 32 bytes in all:
// with the 8-byte IPv4 key a table slot is 40 bytes.
class PathList {
 public:
  PathList() = default;
  PathList(PathList&& o) noexcept { take(o); }
  PathList& operator=(PathList&& o) noexcept {
    if (this != &o) {
      destroy();
      take(o);
    }
    return *this;
  }
  PathList(const PathList&) = delete;
  PathList& operator=(const PathList&) = delete;
  ~PathList() { destroy(); }

  Path* begin() { return data(); }
  Path* end() { return data() + n_; }
  const Path* begin() const { return data(); }
  const Path* end() const { return data() + n_; }
  size_t size() const { return n_; }
  // Heap capacity (0 while the paths are inline).
  size_t capacity() const { return cap_; }
  bool inline_storage() const { return cap_ == 0; }
  bool empty() const { return n_ == 0; }
  Path& operator[](size_t i) { return data()[i]; }
  const Path& operator[](size_t i) const { return data()[i]; }

  void insert(size_t at, Path&& x) {
    if (cap_ == 0 && n_ == 0) {
      new (buf_) Path(std::move(x));
      n_ = 1;
      return;
    }
    if (cap_ == 0) to_heap(2);
    if (n_ == cap_) to_heap(cap_ * 2u);
    Path* p = heap();
    new (p + n_) Path();
    for (size_t i = n_; i > at; --i) p[i] = std::move(p[i - 1]);
    p[at] = std::move(x);
    ++n_;
  }
  void erase(size_t at) {
    if (cap_ == 0) {  // the one inline path
      inline_path()->~Path();
      n_ = 0;
      return;
    }
    Path* p = heap();
    for (size_t i = at; i + 1 < n_; ++i) p[i] = std::move(p[i + 1]);
    p[--n_].~Path();
    if (n_ <= 1) to_inline();
  }

 private:
  Path* inline_path() { return std::launder(reinterpret_cast<Path*>(buf_)); }
  const Path* inline_path() const { return std::launder(reinterpret_cast<const Path*>(buf_)); }
  Path* heap() const {
    Path* p;
    std::memcpy(&p, buf_, sizeof p);
    return p;
  }
  void set_heap(Path* p) { std::memcpy(buf_, &p, sizeof p); }
  Path* data() { return cap_ == 0 ? inline_path() : heap(); }
  const Path* data() const { return cap_ == 0 ? inline_path() : heap(); }

  // Moves the paths into a heap array of `cap` (> n_) slots.
  void to_heap(size_t cap) {
    Path* np = static_cast<Path*>(::operator new(cap * sizeof(Path)));
    Path* old = data();
    for (size_t i = 0; i < n_; ++i) {
      new (np + i) Path(std::move(old[i]));
      old[i].~Path();
    }
    if (cap_ != 0) ::operator delete(old);
    set_heap(np);
    cap_ = static_cast<uint16_t>(cap);
  }
  // Heap mode with at most one path left: back inline.
  void to_inline() {
    Path* p = heap();
    cap_ = 0;
    if (n_ == 1) {
      new (buf_) Path(std::move(p[0]));
      p[0].~Path();
    }
    ::operator delete(p);
  }
  void take(PathList& o) {
    adv = o.adv;
    queued = o.queued;
    n_ = o.n_;
    cap_ = o.cap_;
    if (o.cap_ == 0) {
      if (o.n_ == 1) {
        new (buf_) Path(std::move(*o.inline_path()));
        o.inline_path()->~Path();
      }
    } else {
      set_heap(o.heap());
    }
    o.n_ = o.cap_ = 0;
    o.adv = o.queued = 0;
  }
  void destroy() {
    if (cap_ == 0) {
      if (n_ == 1) inline_path()->~Path();
    } else {
      Path* p = heap();
      for (size_t i = 0; i < n_; ++i) p[i].~Path();
      ::operator delete(p);
    }
    n_ = cap_ = 0;
  }

  alignas(Path) unsigned char buf_[sizeof(Path)];  // one Path, or a Path* to cap_ slots
  uint16_t n_ = 0;
  uint16_t cap_ = 0;

 public:  // after the private members: declaration order is layout order
  // Adj-RIB-Out: bit i set = the peer with out_bit i was sent this prefix
  // and has not been sent a withdrawal since. An entry is kept while any bit
  // is set, even with no paths, so the withdrawal can still be generated.
  uint16_t adv = 0;
  // Bit i set = the prefix is in the pending queue of the peer with out_bit i
  // (dedupes the queue without a hash lookup). Also keeps the entry alive.
  uint16_t queued = 0;
};
static_assert(sizeof(PathList) <= 32, "PathList is stored once per prefix");
// Peers with a bit in PathList::adv / queued; later ones use per-peer maps.
constexpr int kAdvBits = 16;

}  // namespace ferry::rib
