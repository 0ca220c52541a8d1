// A peer's UDP endpoint as the data path reads it: written rarely (config,
// a handshake, roaming when an authenticated packet arrives from a new
// address, whitepaper §2.1), read for every outbound batch and compared for
// every inbound one. A sequence lock over atomic words: readers never block
// and never write shared memory (they retry in the rare case a write raced
// them); writers are serialised by a compare-and-swap on the sequence.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>

#include "tunnel/udp.hpp"

namespace ferry::tunnel {

class EndpointCell {
 public:
  EndpointCell() = default;
  explicit EndpointCell(const std::optional<UdpEndpoint>& e) {
    if (e) store(*e);
  }

  std::optional<UdpEndpoint> load() const {
    for (;;) {
      uint64_t s0 = seq_.load(std::memory_order_acquire);
      if (s0 & 1) continue;  // a write is in progress
      // Acquire loads: the sequence re-read below cannot move before them, and
      // a word from a newer write makes that write's odd sequence visible.
      Words w;
      for (size_t i = 0; i < kWords; ++i) w[i] = words_[i].load(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) == s0) return decode(w);
    }
  }

  void store(const UdpEndpoint& e) {
    Words w = encode(e);
    uint64_t s = seq_.load(std::memory_order_relaxed);
    for (;;) {
      if (!(s & 1) && seq_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) break;
      s = seq_.load(std::memory_order_relaxed);
    }
    // Release stores: the odd sequence is visible before any new word.
    for (size_t i = 0; i < kWords; ++i) words_[i].store(w[i], std::memory_order_release);
    seq_.store(s + 2, std::memory_order_release);
  }

  // Roaming: stores `e` unless it is already the endpoint. Returns true if it changed.
  bool update(const UdpEndpoint& e) {
    auto cur = load();
    if (cur && *cur == e) return false;
    store(e);
    return true;
  }

 private:
  static constexpr size_t kWords = 3;
  using Words = std::array<uint64_t, kWords>;
  // Word 0-1: the 16 address bytes; word 2: port | family << 16 | present << 24.
  static Words encode(const UdpEndpoint& e) {
    Words w{};
    std::memcpy(w.data(), e.addr.bytes(), 16);
    w[2] = uint64_t{e.port} | uint64_t{e.addr.is_v6()} << 16 | uint64_t{1} << 24;
    return w;
  }
  static std::optional<UdpEndpoint> decode(const Words& w) {
    if (!(w[2] >> 24 & 1)) return std::nullopt;
    uint8_t b[16];
    std::memcpy(b, w.data(), 16);
    UdpEndpoint e;
    e.addr = (w[2] >> 16 & 1) ? IpAddress::v6_bytes(b) : IpAddress::v4_bytes(b);
    e.port = static_cast<uint16_t>(w[2]);
    return e;
  }

  std::atomic<uint64_t> seq_{0};
  std::array<std::atomic<uint64_t>, kWords> words_{};
};

}  // namespace ferry::tunnel
