// libFuzzer target: differential test of the RFC 6479 replay window against
// a naive model (a set of accepted counters plus the greatest one). The
// input is a sequence of 8-byte little-endian counter deltas/values; the
// window must accept exactly what the model accepts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "tunnel/replay.hpp"
#include "tunnel/timers.hpp"

using ferry::tunnel::kRejectAfterMessages;
using ferry::tunnel::ReplayWindow;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ReplayWindow w;
  std::set<uint64_t> seen;
  uint64_t greatest = 0;
  bool any = false;
  uint64_t base = 0;
  for (size_t i = 0; i + 9 <= size && i < 9 * 4096; i += 9) {
    uint64_t v = 0;
    for (int j = 0; j < 8; ++j) v |= uint64_t{data[i + 1 + j]} << (8 * j);
    // Mode byte: absolute counter, or small step around the current top.
    uint64_t c;
    switch (data[i] % 4) {
      case 0:
        c = v;
        break;
      case 1:
        c = base + (v % 20000);
        break;
      case 2:
        c = base - (v % 20000);
        break;
      default:
        c = base + (v % 64);
        break;
    }
    const bool model = c < kRejectAfterMessages && !seen.count(c) &&
                       (!any || c > greatest || greatest - c <= ReplayWindow::kWindowSize);
    const bool pre = w.check(c);
    const bool got = w.update(c);
    if (pre != model || got != model) std::abort();
    if (got) {
      seen.insert(c);
      if (!any || c > greatest) greatest = c;
      any = true;
      base = greatest;
      // Keep the model bounded: forget counters that fell out of the window.
      while (!seen.empty() && greatest - *seen.begin() > ReplayWindow::kWindowSize + 64) {
        seen.erase(seen.begin());
      }
    }
  }
  return 0;
}
