// Interned (hash-consed) BGP path attributes.
//
// Every distinct PathAttributes value the RIB holds is stored once in an
// AttrTable node together with its hash and a reference count. Routes refer to
// it through an AttrRef, an 8-byte intrusive handle: copying it bumps the
// count, and the node is freed (and dropped from the table) when the last
// handle goes away. Interned values are immutable; to change attributes, copy
// the value, modify the copy and intern it again. Because equal values share
// one node, two AttrRefs are equal exactly when their pointers are.
//
// Single-threaded: all of the RIB runs on the control-plane event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "bgp/attributes.hpp"

namespace ferry::rib {

class AttrTable;

struct AttrNode {
  bgp::PathAttributes value;
  size_t hash = 0;
  uint32_t refs = 0;
  AttrTable* owner = nullptr;
};

class AttrRef {
 public:
  AttrRef() = default;
  AttrRef(const AttrRef& o) : n_(o.n_) { retain(); }
  AttrRef(AttrRef&& o) noexcept : n_(o.n_) { o.n_ = nullptr; }
  AttrRef& operator=(const AttrRef& o) {
    if (n_ != o.n_) {
      AttrRef tmp(o);
      std::swap(n_, tmp.n_);
    }
    return *this;
  }
  AttrRef& operator=(AttrRef&& o) noexcept {
    if (this != &o) {
      release();
      n_ = o.n_;
      o.n_ = nullptr;
    }
    return *this;
  }
  ~AttrRef() { release(); }

  explicit operator bool() const { return n_ != nullptr; }
  const bgp::PathAttributes& operator*() const { return n_->value; }
  const bgp::PathAttributes* operator->() const { return &n_->value; }
  const bgp::PathAttributes* get() const { return n_ ? &n_->value : nullptr; }
  size_t hash() const { return n_ ? n_->hash : 0; }
  uint32_t use_count() const { return n_ ? n_->refs : 0; }
  // Identity of the interned node; stable while any handle lives.
  const void* id() const { return n_; }
  bool operator==(const AttrRef& o) const { return n_ == o.n_; }

 private:
  friend class AttrTable;
  explicit AttrRef(AttrNode* n) : n_(n) { retain(); }
  void retain() {
    if (n_) ++n_->refs;
  }
  void release();
  AttrNode* n_ = nullptr;
};

// The set of interned attribute values. Must outlive every AttrRef it issued.
class AttrTable {
 public:
  AttrTable();
  ~AttrTable();
  AttrTable(const AttrTable&) = delete;
  AttrTable& operator=(const AttrTable&) = delete;

  AttrRef intern(const bgp::PathAttributes& a);
  AttrRef intern(bgp::PathAttributes&& a);

  size_t size() const { return count_; }
  // Approximate heap bytes held by the interned values and the index.
  size_t bytes() const;

 private:
  friend class AttrRef;
  AttrNode* find(const bgp::PathAttributes& a, size_t h) const;
  AttrRef insert(bgp::PathAttributes&& a, size_t h);
  void erase(AttrNode* n);
  void grow();

  // Open addressing, linear probing; nullptr = empty, kTomb = erased.
  std::vector<AttrNode*> slots_;
  size_t count_ = 0;
  size_t used_ = 0;  // live + tombstones
  size_t value_bytes_ = 0;
};

inline void AttrRef::release() {
  if (n_ && --n_->refs == 0) n_->owner->erase(n_);
  n_ = nullptr;
}

// ---- Attribute helpers (RIB-local so the RIB does not depend on the codec's
// implementation of the same queries) ----------------------------------------

// Structural hash of every field.
size_t attr_hash(const bgp::PathAttributes& a);
// RFC 4271 §9.1.2.2 (a): AS_SET counts 1; confederation segments count 0 (RFC 5065 §5.3).
int as_path_length(const bgp::PathAttributes& a);
// First AS of the leftmost AS_SEQUENCE (the neighbouring AS), 0 if none.
uint32_t neighbor_as(const bgp::PathAttributes& a);
// Last AS of the rightmost segment (the originating AS), 0 if none.
uint32_t origin_as(const bgp::PathAttributes& a);
bool as_path_contains(const bgp::PathAttributes& a, uint32_t asn);
bool has_community(const bgp::PathAttributes& a, uint32_t c);
// Prepends `count` copies of asn to the leftmost AS_SEQUENCE (RFC 4271 §5.1.2).
void as_path_prepend(bgp::PathAttributes& a, uint32_t asn, uint32_t count);
size_t attr_heap_bytes(const bgp::PathAttributes& a);

}  // namespace ferry::rib
