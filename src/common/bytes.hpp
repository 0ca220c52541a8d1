// Bounded readers and writers for wire codecs.
//
// ByteReader never reads past its end: every accessor checks the remaining
// length and returns std::nullopt (or false) on a short buffer. Codecs use
// sub() to carve out a length-delimited field, so a bad inner length can
// never make a parser walk into the next field. All integers are big-endian
// (network order) unless the name says _le.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ferry {

class ByteReader {
 public:
  ByteReader() = default;
  ByteReader(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}
  explicit ByteReader(std::span<const uint8_t> s) : ByteReader(s.data(), s.size()) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool empty() const { return p_ == end_; }
  const uint8_t* data() const { return p_; }
  std::span<const uint8_t> rest() const { return {p_, remaining()}; }

  std::optional<uint8_t> u8() {
    if (remaining() < 1) return std::nullopt;
    return *p_++;
  }
  std::optional<uint16_t> u16() {
    if (remaining() < 2) return std::nullopt;
    uint16_t v = static_cast<uint16_t>((p_[0] << 8) | p_[1]);
    p_ += 2;
    return v;
  }
  std::optional<uint32_t> u24() {
    if (remaining() < 3) return std::nullopt;
    uint32_t v = (uint32_t{p_[0]} << 16) | (uint32_t{p_[1]} << 8) | p_[2];
    p_ += 3;
    return v;
  }
  std::optional<uint32_t> u32() {
    if (remaining() < 4) return std::nullopt;
    uint32_t v = (uint32_t{p_[0]} << 24) | (uint32_t{p_[1]} << 16) | (uint32_t{p_[2]} << 8) | p_[3];
    p_ += 4;
    return v;
  }
  std::optional<uint64_t> u64() {
    auto hi = u32();
    if (!hi) return std::nullopt;
    auto lo = u32();
    if (!lo) return std::nullopt;
    return (uint64_t{*hi} << 32) | *lo;
  }
  std::optional<uint32_t> u32_le() {
    if (remaining() < 4) return std::nullopt;
    uint32_t v = (uint32_t{p_[3]} << 24) | (uint32_t{p_[2]} << 16) | (uint32_t{p_[1]} << 8) | p_[0];
    p_ += 4;
    return v;
  }
  std::optional<uint64_t> u64_le() {
    auto lo = u32_le();
    if (!lo) return std::nullopt;
    auto hi = u32_le();
    if (!hi) return std::nullopt;
    return (uint64_t{*hi} << 32) | *lo;
  }
  // A view of the next n bytes, consumed.
  std::optional<std::span<const uint8_t>> bytes(size_t n) {
    if (remaining() < n) return std::nullopt;
    std::span<const uint8_t> s(p_, n);
    p_ += n;
    return s;
  }
  bool copy(void* out, size_t n) {
    if (remaining() < n) return false;
    std::memcpy(out, p_, n);
    p_ += n;
    return true;
  }
  // A reader over the next n bytes, consumed from this one.
  std::optional<ByteReader> sub(size_t n) {
    if (remaining() < n) return std::nullopt;
    ByteReader r(p_, n);
    p_ += n;
    return r;
  }
  bool skip(size_t n) {
    if (remaining() < n) return false;
    p_ += n;
    return true;
  }
  std::optional<uint8_t> peek_u8() const {
    if (remaining() < 1) return std::nullopt;
    return *p_;
  }

 private:
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
};

// Appends to a growable buffer. Length fields that precede their content are
// written as placeholders and patched once the content is known.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

  size_t size() const { return out_.size(); }
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void u24(uint32_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 16));
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void u64(uint64_t v) {
    u32(static_cast<uint32_t>(v >> 32));
    u32(static_cast<uint32_t>(v));
  }
  void u32_le(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void u64_le(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void bytes(std::span<const uint8_t> s) { bytes(s.data(), s.size()); }
  void zeros(size_t n) { out_.insert(out_.end(), n, 0); }

  // Placeholder for a length written later with patch_u8/patch_u16.
  size_t placeholder_u8() {
    out_.push_back(0);
    return out_.size() - 1;
  }
  size_t placeholder_u16() {
    u16(0);
    return out_.size() - 2;
  }
  void patch_u8(size_t at, uint8_t v) { out_[at] = v; }
  void patch_u16(size_t at, uint16_t v) {
    out_[at] = static_cast<uint8_t>(v >> 8);
    out_[at + 1] = static_cast<uint8_t>(v);
  }

 private:
  std::vector<uint8_t>& out_;
};

// Fixed-capacity writer for the data plane: no allocation. Writes past the
// end set a sticky overflow flag instead of touching memory.
class SpanWriter {
 public:
  explicit SpanWriter(std::span<uint8_t> buf) : buf_(buf) {}
  size_t size() const { return pos_; }
  bool overflow() const { return overflow_; }
  uint8_t* cursor() { return buf_.data() + pos_; }
  bool fits(size_t n) const { return !overflow_ && buf_.size() - pos_ >= n; }

  void u8(uint8_t v) {
    if (!fits(1)) return fail();
    buf_[pos_++] = v;
  }
  void u16(uint16_t v) {
    if (!fits(2)) return fail();
    buf_[pos_++] = static_cast<uint8_t>(v >> 8);
    buf_[pos_++] = static_cast<uint8_t>(v);
  }
  void u32(uint32_t v) {
    if (!fits(4)) return fail();
    for (int i = 3; i >= 0; --i) buf_[pos_++] = static_cast<uint8_t>(v >> (8 * i));
  }
  void u32_le(uint32_t v) {
    if (!fits(4)) return fail();
    for (int i = 0; i < 4; ++i) buf_[pos_++] = static_cast<uint8_t>(v >> (8 * i));
  }
  void u64_le(uint64_t v) {
    if (!fits(8)) return fail();
    for (int i = 0; i < 8; ++i) buf_[pos_++] = static_cast<uint8_t>(v >> (8 * i));
  }
  void bytes(const void* p, size_t n) {
    if (!fits(n)) return fail();
    std::memcpy(buf_.data() + pos_, p, n);
    pos_ += n;
  }
  void zeros(size_t n) {
    if (!fits(n)) return fail();
    std::memset(buf_.data() + pos_, 0, n);
    pos_ += n;
  }
  // Marks n bytes written in place through cursor().
  void advance(size_t n) {
    if (!fits(n)) return fail();
    pos_ += n;
  }

 private:
  void fail() { overflow_ = true; }
  std::span<uint8_t> buf_;
  size_t pos_ = 0;
  bool overflow_ = false;
};

}  // namespace ferry
