// Feeds arbitrary text to config::parse(). It must never crash or let an
// exception escape; when a document parses, printing it must give text that
// parses back to the same value and prints identically (the printer's fixed
// point).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto r = ferry::config::parse(text, "fuzz.toml");
  if (!r.ok()) return 0;
  const std::string printed = ferry::config::print(*r);
  auto again = ferry::config::parse(printed, "fuzz.toml");
  if (!again.ok() || !(*again == *r) || ferry::config::print(*again) != printed) std::abort();
  return 0;
}
