// Untrusted UDP input: decode, re-encode, and drive a session with whatever decodes.
#include <cstddef>
#include <cstdint>

#include "bfd/packet.hpp"
#include "bfd/session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::bfd;
  auto p = decode({data, size});
  if (!p) return 0;
  std::vector<uint8_t> out;
  encode(*p, out);
  auto again = decode(out);
  if (!again) __builtin_trap();  // what we encode must decode
  Session s(1, Timers{}, [](uint32_t n) { return n / 2; });
  auto t = Clock::time_point{} + std::chrono::seconds(1);
  s.receive(*p, t);
  s.tick(t + std::chrono::milliseconds(p->desired_min_tx_us % 5000));
  s.receive(*p, t + std::chrono::seconds(10));
  return 0;
}
