// Fuzz target for the rtnetlink reply parser: arbitrary bytes as if received
// from the kernel. Checks that parsing never reads out of bounds (ASan), that
// every parsed route re-encodes and parses back to the same route, and feeds
// the messages through the redistribution state machine.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "fib/kernel_routes.hpp"
#include "fib/nl_codec.hpp"

namespace {
struct NullListener : ferry::fib::RouteSourceListener {
  void on_route_add(const ferry::fib::RedistRoute&) override {}
  void on_route_remove(const ferry::fib::RedistRoute&) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::fib;
  ParseResult pr;
  parse_netlink(std::span<const uint8_t>(data, size), pr);

  NullListener l;
  RouteSourceFilter f;
  f.connected = true;
  f.kernel = true;
  RouteSourceTable table(f, l);
  std::vector<uint8_t> buf(kMaxRouteMsg);
  for (const auto& m : pr.messages) {
    table.apply(m);
    const auto* rm = std::get_if<RouteMessage>(&m.body);
    if (!rm) continue;
    const KernelRoute& r = rm->route;
    const RouteKeys keys{r.table, r.protocol, r.metric};
    const size_t n = build_route_replace(buf, r.prefix, r.target, keys, 1);
    if (n == 0) continue;
    ParseResult back;
    parse_netlink(std::span<const uint8_t>(buf.data(), n), back);
    if (back.malformed != 0 || back.messages.size() != 1) abort();
    const auto& r2 = std::get<RouteMessage>(back.messages[0].body).route;
    if (r2.prefix != r.prefix || r2.target != r.target || r2.table != r.table ||
        r2.metric != r.metric || r2.protocol != r.protocol) {
      abort();
    }
  }
  return 0;
}
