// Interned (hash-consed) BGP path attributes.
//
// Every distinct PathAttributes value the RIB holds is stored once in an
// AttrTable node, compactly encoded, together with its hash, a decision
// summary and a reference count. Routes refer to
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

// What the decision process reads, extracted once at intern time so that
// comparing paths never decodes attributes.
struct AttrSummary {
  static constexpr uint8_t kHasLocalPref = 1, kHasMed = 2, kHasOriginator = 4, kHasNextHop = 8;
  uint32_t local_pref = 0;
  uint32_t med = 0;
  uint32_t neighbor_as = 0;  // first AS of the leftmost AS_SEQUENCE, 0 if none
  uint32_t originator_id = 0;
  uint16_t as_path_len = 0;  // RFC 4271 §9.1.2.2 (a) length
  uint16_t cluster_len = 0;
  bgp::Origin origin = bgp::Origin::Incomplete;
  uint8_t has = 0;
  IpAddress next_hop;  // valid if has & kHasNextHop

  uint32_t local_pref_or(uint32_t d) const { return has & kHasLocalPref ? local_pref : d; }
  uint32_t med_or_zero() const { return has & kHasMed ? med : 0; }  // §9.1.2.2 (c): missing MED = 0
  std::optional<IpAddress> nh() const {
    return has & kHasNextHop ? std::optional<IpAddress>(next_hop) : std::nullopt;
  }
};
AttrSummary summarize(const bgp::PathAttributes& a);

// An interned attribute set: a small header, the summary, then the value in
// a compact private byte encoding (see attr_table.cpp). A typical set takes
// about 100 bytes here instead of ~400 as a PathAttributes with its vectors.
struct AttrNode {
  size_t hash = 0;
  uint32_t refs = 0;
  uint32_t len = 0;  // bytes of encoding following the node
  AttrTable* owner = nullptr;
  AttrSummary sum;
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(this + 1); }
  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
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
  // The full value, decoded on each call (cheap, but not free: hold on to
  // the result rather than dereferencing in a loop). Must not be null.
  bgp::PathAttributes operator*() const;
  // `ref->field` works through a temporary holding the decoded value.
  struct Deref {
    bgp::PathAttributes v;
    const bgp::PathAttributes* operator->() const { return &v; }
  };
  Deref operator->() const { return Deref{**this}; }
  // The decision-relevant fields, without decoding. Must not be null.
  const AttrSummary& summary() const { return n_->sum; }
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

  size_t size() const { return count_; }
  // Heap bytes held by the interned values and the index.
  size_t bytes() const;

 private:
  friend class AttrRef;
  AttrNode* find(const uint8_t* enc, uint32_t len, size_t h) const;
  void erase(AttrNode* n);
  void grow();

  // Open addressing, linear probing; nullptr = empty, kTomb = erased.
  std::vector<AttrNode*> slots_;
  size_t count_ = 0;
  size_t used_ = 0;  // live + tombstones
  size_t value_bytes_ = 0;
  std::vector<uint8_t> scratch_;  // encoding buffer reused by intern()
};

inline void AttrRef::release() {
  if (n_ && --n_->refs == 0) n_->owner->erase(n_);
  n_ = nullptr;
}

// The private compact encoding (not a wire format).
void encode_attrs(const bgp::PathAttributes& a, std::vector<uint8_t>& out);
bool decode_attrs(const uint8_t* p, size_t len, bgp::PathAttributes& out);

// ---- Attribute helpers (RIB-local so the RIB does not depend on the codec's
// implementation of the same queries) ----------------------------------------

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

}  // namespace ferry::rib
