// Our receiver indices (whitepaper §5.4.1: the random 32-bit sender_index we
// put in handshake messages, which the peer then puts on every message to us)
// mapped to what the data path needs to open a message: the peer, and once a
// session is derived, the keypair.
//
// Written by the handshake thread and the control plane (a writer mutex);
// read by the workers without locks: every change publishes a new immutable
// map and bumps a generation counter, and a worker's Reader reloads the map
// only when the generation moved (once per handshake, not per packet), as the
// cryptokey table does.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "tunnel/keys.hpp"

namespace ferry::tunnel {

template <typename V>
class IndexTable {
 public:
  using Map = std::unordered_map<uint32_t, V>;

  IndexTable() : map_(std::make_shared<const Map>()) {}

  // A fresh random non-zero index not in use, mapped to v.
  uint32_t allocate(V v) {
    std::lock_guard l(mu_);
    Map next = *map_.load();
    uint32_t idx;
    do {
      idx = system_rng().u32();
    } while (idx == 0 || next.count(idx));
    next.emplace(idx, std::move(v));
    publish(std::move(next));
    return idx;
  }
  // Replaces the value of an index in use (e.g. the keypair derived for it).
  void set(uint32_t idx, V v) {
    std::lock_guard l(mu_);
    Map next = *map_.load();
    auto it = next.find(idx);
    if (it == next.end()) return;
    it->second = std::move(v);
    publish(std::move(next));
  }
  void free(uint32_t idx) {
    if (idx == 0) return;
    std::lock_guard l(mu_);
    Map next = *map_.load();
    if (next.erase(idx)) publish(std::move(next));
  }
  void remove_if(const std::function<bool(const V&)>& pred) {
    std::lock_guard l(mu_);
    Map next = *map_.load();
    if (std::erase_if(next, [&](const auto& kv) { return pred(kv.second); }))
      publish(std::move(next));
  }
  // For writers (handshake thread): the current value, or a default V.
  V find(uint32_t idx) const {
    auto m = map_.load();
    auto it = m->find(idx);
    return it == m->end() ? V{} : it->second;
  }
  size_t size() const { return map_.load()->size(); }

  // A worker's view: refresh() once per batch, then find() without locks.
  class Reader {
   public:
    explicit Reader(const IndexTable& t) : table_(&t) { refresh(); }
    void refresh() {
      uint64_t g = table_->gen_.load(std::memory_order_acquire);
      if (g != gen_ || !snap_) {
        snap_ = table_->map_.load();
        gen_ = g;
      }
    }
    const V* find(uint32_t idx) const {
      auto it = snap_->find(idx);
      return it == snap_->end() ? nullptr : &it->second;
    }
    uint64_t generation() const { return gen_; }
    // Drops the snapshot's references (e.g. between batches) until the next refresh.
    void release() { snap_.reset(); }

   private:
    const IndexTable* table_;
    std::shared_ptr<const Map> snap_;
    uint64_t gen_ = ~uint64_t{0};
  };

 private:
  void publish(Map next) {
    map_.store(std::make_shared<const Map>(std::move(next)), std::memory_order_release);
    gen_.fetch_add(1, std::memory_order_acq_rel);
  }

  std::mutex mu_;
  std::atomic<std::shared_ptr<const Map>> map_;
  std::atomic<uint64_t> gen_{0};
};

}  // namespace ferry::tunnel
