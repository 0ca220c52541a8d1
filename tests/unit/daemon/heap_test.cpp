// trim_heap hands free heap back to the OS. Freed blocks that sit below a
// live one stay in the heap (free() only trims the top), so only the trim
// can release their pages: resident memory must drop by most of what was
// freed. Without it a withdrawn full table stayed resident in ferryd.
#include "daemon/heap.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <vector>

namespace {

size_t resident_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<size_t>(resident) * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(Heap, TrimReleasesFreedBlocksBelowALiveOne) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "the trim is glibc's malloc_trim";
#elif defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's heap";
#endif
  constexpr size_t kBlocks = 64 * 1024, kSize = 1024;  // 64 MiB in heap-sized blocks
  std::vector<std::unique_ptr<char[]>> blocks;
  blocks.reserve(kBlocks);
  for (size_t i = 0; i < kBlocks; ++i) {
    blocks.emplace_back(new char[kSize]);
    for (size_t j = 0; j < kSize; j += 256) blocks.back()[j] = static_cast<char>(i + j);
  }
  auto pin = std::make_unique<char[]>(kSize);  // above them: free() cannot trim the top
  pin[0] = 1;
  blocks.clear();
  blocks.shrink_to_fit();
  const size_t before = resident_bytes();
  ferry::daemon::trim_heap();
  const size_t after = resident_bytes();
  ASSERT_GT(before, after);
  EXPECT_GE(before - after, kBlocks * kSize / 2) << "before " << before << " after " << after;
}

}  // namespace
