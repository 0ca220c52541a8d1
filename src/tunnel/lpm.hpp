// Longest-prefix-match table: a path-compressed binary (Patricia) trie kept in
// a flat arena of fixed-size nodes addressed by 32-bit indices.
//
// Role and data flow: the control plane mutates an LpmTrie (set/erase by exact
// prefix) and, once per batch, calls freeze() to get an immutable LpmSnapshot
// (a plain copy of the node arena). Data-plane threads walk snapshots without
// locks; a snapshot never changes after it is published.
//
// Each node is a prefix (key bits + length) with an optional value (0 = none:
// a glue node that only splits two subtrees). Children are chosen by the key
// bit just after the node's length. Nodes: 20 bytes for IPv4 keys, 32 for IPv6;
// a table of N prefixes has at most 2N-1 nodes, so 1M IPv4 prefixes fit in
// about 40 MB of arena (less in practice; see bench/tunnel/lpm_bench).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "common/ip.hpp"

namespace ferry::tunnel {

using U128 = unsigned __int128;

template <typename K>
struct LpmTraits;

template <>
struct LpmTraits<uint32_t> {
  static constexpr int kBits = 32;
  static uint32_t mask(int len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
  static int clz(uint32_t x) { return x == 0 ? 32 : __builtin_clz(x); }
  static uint32_t from(const IpAddress& a) { return a.v4_host_order(); }
  static uint32_t from_bytes(const uint8_t* b) {
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }
  static IpAddress to_address(uint32_t k) { return IpAddress::v4(k); }
};

template <>
struct LpmTraits<U128> {
  static constexpr int kBits = 128;
  static U128 mask(int len) { return len == 0 ? U128{0} : ~U128{0} << (128 - len); }
  static int clz(U128 x) {
    uint64_t hi = static_cast<uint64_t>(x >> 64);
    uint64_t lo = static_cast<uint64_t>(x);
    if (hi) return __builtin_clzll(hi);
    if (lo) return 64 + __builtin_clzll(lo);
    return 128;
  }
  static U128 from_bytes(const uint8_t* b) {
    U128 k = 0;
    for (int i = 0; i < 16; ++i) k = (k << 8) | b[i];
    return k;
  }
  static U128 from(const IpAddress& a) { return from_bytes(a.bytes()); }
  static IpAddress to_address(U128 k) {
    uint8_t b[16];
    for (int i = 15; i >= 0; --i) {
      b[i] = static_cast<uint8_t>(k);
      k >>= 8;
    }
    return IpAddress::v6_bytes(b);
  }
};

template <typename K>
struct LpmNode {
  K key;              // masked to len bits
  uint32_t child[2];  // arena indices; 0 = none
  uint32_t value;     // 0 = glue node (no prefix stored here)
  uint8_t len;
};

// Immutable, read-only view used by the data plane. For IPv4 a 2^16-entry
// directory indexed by the top 16 address bits skips the upper trie levels:
// each entry holds the best value among prefixes of length <= 16 covering that
// /16 and the first node below it (built once per freeze, 512 KiB).
template <typename K>
class LpmSnapshot {
 public:
  using T = LpmTraits<K>;
  static constexpr int kDirBits = T::kBits == 32 ? 16 : 0;
  LpmSnapshot() : nodes_(1) {}
  LpmSnapshot(std::vector<LpmNode<K>> nodes, uint32_t root, size_t count)
      : nodes_(std::move(nodes)), root_(root), count_(count) {
    if constexpr (kDirBits > 0) build_dir();
  }

  // Value of the longest stored prefix containing key, 0 if none.
  uint32_t lookup(K key) const {
    uint32_t best = 0;
    uint32_t n = root_;
    if constexpr (kDirBits > 0) {
      const DirEntry& e = dir_[static_cast<size_t>(key >> (T::kBits - kDirBits))];
      best = e.best;
      n = e.node;
    }
    const LpmNode<K>* nodes = nodes_.data();
    while (n != 0) {
      const LpmNode<K>& nd = nodes[n];
      if (((nd.key ^ key) & T::mask(nd.len)) != 0) break;
      if (nd.value != 0) best = nd.value;
      if (nd.len == T::kBits) break;
      n = nd.child[static_cast<unsigned>(key >> (T::kBits - 1 - nd.len)) & 1u];
    }
    return best;
  }
  size_t size() const { return count_; }
  size_t memory_bytes() const {
    return nodes_.capacity() * sizeof(LpmNode<K>) + dir_.capacity() * sizeof(DirEntry);
  }

 private:
  struct DirEntry {
    uint32_t best;
    uint32_t node;
  };
  void build_dir() {
    dir_.resize(size_t{1} << kDirBits);
    for (size_t slot = 0; slot < dir_.size(); ++slot) {
      K key = static_cast<K>(slot) << (T::kBits - kDirBits);
      uint32_t best = 0, n = root_;
      while (n != 0) {
        const LpmNode<K>& nd = nodes_[n];
        if (nd.len > kDirBits) break;  // resume here at lookup (match checked there)
        if (((nd.key ^ key) & T::mask(nd.len)) != 0) {
          n = 0;
          break;
        }
        if (nd.value != 0) best = nd.value;
        // A /16 node itself: lookup resumes here (re-reading its value is harmless)
        // because the next bit is not fixed by the slot.
        if (nd.len == kDirBits) break;
        n = nd.child[static_cast<unsigned>(key >> (T::kBits - 1 - nd.len)) & 1u];
      }
      dir_[slot] = {best, n};
    }
  }

  std::vector<LpmNode<K>> nodes_;
  std::vector<DirEntry> dir_;
  uint32_t root_ = 0;
  size_t count_ = 0;
};

// Mutable trie owned by one (control-plane) thread.
template <typename K>
class LpmTrie {
 public:
  using T = LpmTraits<K>;
  using Node = LpmNode<K>;

  LpmTrie() { nodes_.push_back(Node{}); }  // index 0 is the null node

  // Stores value (non-zero) under the exact prefix (key masked to len). Returns the old value or 0.
  uint32_t set(K key, int len, uint32_t value) {
    key &= T::mask(len);
    if (nodes_.capacity() < nodes_.size() + 2 && free_.size() < 2)
      nodes_.reserve(nodes_.size() * 2 + 16);
    uint32_t* slot = &root_;
    for (;;) {
      uint32_t n = *slot;
      if (n == 0) {
        *slot = alloc(key, len, value);
        ++count_;
        return 0;
      }
      Node& nd = nodes_[n];
      int common = T::clz(nd.key ^ key);
      if (common > nd.len) common = nd.len;
      if (common > len) common = len;
      if (common == nd.len) {
        if (nd.len == len) {
          uint32_t old = nd.value;
          nd.value = value;
          if (old == 0) ++count_;
          return old;
        }
        slot = &nd.child[bit(key, nd.len)];
        continue;
      }
      K nd_key = nd.key;
      if (common == len) {  // the new prefix covers nd
        uint32_t m = alloc(key, len, value);
        nodes_[m].child[bit(nd_key, len)] = n;
        *slot = m;
        ++count_;
        return 0;
      }
      uint32_t g = alloc(key & T::mask(common), common, 0);
      uint32_t leaf = alloc(key, len, value);
      nodes_[g].child[bit(key, common)] = leaf;
      nodes_[g].child[bit(nd_key, common)] = n;
      *slot = g;
      ++count_;
      return 0;
    }
  }

  // Exact-match value, 0 if absent.
  uint32_t get(K key, int len) const {
    key &= T::mask(len);
    uint32_t n = root_;
    while (n != 0) {
      const Node& nd = nodes_[n];
      if (nd.len > len || ((nd.key ^ key) & T::mask(nd.len)) != 0) return 0;
      if (nd.len == len) return nd.value;
      n = nd.child[bit(key, nd.len)];
    }
    return 0;
  }

  // Removes the exact prefix. Returns the old value or 0 if absent.
  uint32_t erase(K key, int len) {
    key &= T::mask(len);
    uint32_t path[T::kBits + 2];
    int depth = 0;
    uint32_t n = root_;
    while (n != 0) {
      const Node& nd = nodes_[n];
      if (nd.len > len || ((nd.key ^ key) & T::mask(nd.len)) != 0) return 0;
      path[depth++] = n;
      if (nd.len == len) break;
      n = nd.child[bit(key, nd.len)];
    }
    if (n == 0 || nodes_[n].value == 0) return 0;
    uint32_t old = nodes_[n].value;
    nodes_[n].value = 0;
    --count_;
    int at = depth - 1;
    // Remove now-useless nodes: a glue node with fewer than two children.
    for (int i = 0; i < 2 && at >= 0; ++i) {
      uint32_t t = path[at];
      Node& nd = nodes_[t];
      if (nd.value != 0) break;
      int nch = (nd.child[0] != 0) + (nd.child[1] != 0);
      if (nch == 2) break;
      uint32_t repl = nd.child[0] != 0 ? nd.child[0] : nd.child[1];
      uint32_t& s =
          at == 0 ? root_ : nodes_[path[at - 1]].child[bit(nd.key, nodes_[path[at - 1]].len)];
      s = repl;
      release(t);
      if (repl != 0) break;  // spliced: the parent keeps its child count
      --at;
    }
    return old;
  }

  // Visits every stored prefix: f(key, len, value).
  template <typename F>
  void for_each(F&& f) const {
    walk(root_, f);
  }

  LpmSnapshot<K> freeze() const { return LpmSnapshot<K>(nodes_, root_, count_); }
  size_t size() const { return count_; }

 private:
  static unsigned bit(K key, int i) {
    return static_cast<unsigned>(key >> (T::kBits - 1 - i)) & 1u;
  }
  uint32_t alloc(K key, int len, uint32_t value) {
    Node nd{};
    nd.key = key;
    nd.len = static_cast<uint8_t>(len);
    nd.value = value;
    if (!free_.empty()) {
      uint32_t i = free_.back();
      free_.pop_back();
      nodes_[i] = nd;
      return i;
    }
    nodes_.push_back(nd);
    return static_cast<uint32_t>(nodes_.size() - 1);
  }
  void release(uint32_t i) {
    nodes_[i] = Node{};
    free_.push_back(i);
  }
  template <typename F>
  void walk(uint32_t n, F& f) const {
    if (n == 0) return;
    const Node& nd = nodes_[n];
    if (nd.value != 0) f(nd.key, static_cast<int>(nd.len), nd.value);
    walk(nd.child[0], f);
    walk(nd.child[1], f);
  }

  std::vector<Node> nodes_;
  std::vector<uint32_t> free_;
  uint32_t root_ = 0;
  size_t count_ = 0;
};

}  // namespace ferry::tunnel
