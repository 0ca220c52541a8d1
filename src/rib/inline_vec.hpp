// InlineVec<T, N>: a vector of trivially copyable T that keeps up to N
// elements inside the object and only touches the heap beyond that.
//
// The RIB builds short per-prefix lists on every change (the ECMP next-hop set
// before and after a decision, normally one element); with std::vector each
// of those was a malloc/free pair per prefix. Elements live either all inline
// (size() <= N) or all in the heap vector, so begin()/end() are always one
// contiguous range.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

namespace ferry::rib {

template <class T, size_t N>
class InlineVec {
  static_assert(std::is_trivially_copyable_v<T>, "InlineVec holds trivially copyable values");

 public:
  InlineVec() = default;
  InlineVec(const InlineVec&) = default;
  InlineVec& operator=(const InlineVec&) = default;
  InlineVec(InlineVec&& o) noexcept { *this = std::move(o); }
  InlineVec& operator=(InlineVec&& o) noexcept {
    if (this != &o) {
      std::copy(o.inline_, o.inline_ + N, inline_);
      n_ = o.n_;
      heap_ = std::move(o.heap_);
      o.clear();
    }
    return *this;
  }

  T* begin() { return n_ <= N ? inline_ : heap_.data(); }
  T* end() { return begin() + n_; }
  const T* begin() const { return n_ <= N ? inline_ : heap_.data(); }
  const T* end() const { return begin() + n_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  bool on_heap() const { return n_ > N; }
  T& operator[](size_t i) { return begin()[i]; }
  const T& operator[](size_t i) const { return begin()[i]; }
  T& front() { return *begin(); }
  const T& front() const { return *begin(); }

  void push_back(const T& v) {
    if (n_ < N) {
      inline_[n_++] = v;
      return;
    }
    if (n_ == N) heap_.assign(inline_, inline_ + N);  // spill: all elements move to the heap
    heap_.push_back(v);
    ++n_;
  }
  void clear() {
    n_ = 0;
    heap_.clear();
  }
  std::vector<T> to_vector() const { return std::vector<T>(begin(), end()); }

  bool operator==(const InlineVec& o) const {
    return std::equal(begin(), end(), o.begin(), o.end());
  }
  bool operator==(const std::vector<T>& o) const {
    return std::equal(begin(), end(), o.begin(), o.end());
  }

 private:
  T inline_[N] = {};
  size_t n_ = 0;
  std::vector<T> heap_;
};

}  // namespace ferry::rib
