// libFuzzer target: bytes a control-socket client sends. They are split into
// request lines the way ctl::Server's connection does (newline-delimited, a
// line longer than Server::kMaxRequest ends the input), and each line goes
// through Registry::dispatch_line (read-only client) into the BGP speaker's
// real command handlers ("show neighbors", "show routes", "show route", and
// the mutating "clear neighbor", which a read-only client must be refused).
// The speaker has two configured neighbours and a RIB with a few originated
// routes, but is never started: no socket is opened, nothing on the system
// is touched.
//
// Properties besides "never crash": every reply is an object with a boolean
// "ok"; it serialises with dump() exactly as the server does (a throw there
// would escape the server's asio handler and end the daemon) and parses
// back to the same value; a mutating command is never run for this client.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "ctl/registry.hpp"
#include "ctl/server.hpp"
#include "rib/rib.hpp"
#include "speaker/speaker.hpp"

using namespace ferry;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

IpAddress A(const char* s) {
  return *IpAddress::parse(s);
}

config::BgpNeighborConfig neighbor(const char* name, const char* addr, uint32_t asn) {
  config::BgpNeighborConfig n;
  n.name = name;
  n.address = A(addr);
  n.remote_asn = Asn(asn);
  n.import_policies = {"all"};
  n.export_policies = {"all"};
  n.import_set = n.export_set = true;
  n.description = "fuzz neighbour";
  return n;
}

// The command side of a daemon, built once: config, RIB, speaker, registry.
struct Daemon {
  asio::io_context io;
  speaker::Options cfg;
  std::unique_ptr<rib::Rib> rib;
  std::unique_ptr<speaker::Speaker> sp;
  ctl::Registry registry;
  bool mutated = false;

  Daemon() {
    cfg.local_asn = Asn(65001);
    cfg.router_id = RouterId(0x01010101);
    cfg.listen_port = 0;
    config::PolicyConfig all;
    all.name = "all";
    all.default_action = config::PolicyAction::Accept;
    cfg.policies.push_back(all);
    cfg.neighbors = {neighbor("site-b", "192.0.2.2", 65002),
                     neighbor("site-c", "2001:db8::3", 65003)};
    rib = std::make_unique<rib::Rib>(
        rib::RibOptions{Asn(65001), RouterId(0x01010101), {}, 1, false, false});
    sp = std::make_unique<speaker::Speaker>(io, cfg, *rib);
    originate("10.1.0.0/16", "0.0.0.0", {{bgp::SegmentType::Sequence, {65001}}});
    originate("10.1.2.0/24", "0.0.0.0", {{bgp::SegmentType::Set, {65010, 65011}}});
    originate("2001:db8:1::/48", "::", {});
    sp->register_commands(registry);
    // Wrap every mutating command: a read-only client must never reach it.
    for (const auto& [name, c] : registry.all()) {
      if (!c.mutating) continue;
      ctl::Handler inner = c.handler;
      registry.add(
          name,
          [this, inner](const ctl::Json& a) {
            mutated = true;
            return inner(a);
          },
          true, c.help);
    }
  }

  void originate(const char* prefix, const char* nh, std::vector<bgp::AsPathSegment> path) {
    bgp::PathAttributes a;
    a.origin = bgp::Origin::Igp;
    a.as_path = std::move(path);
    a.next_hop = A(nh);
    a.med = 10;
    a.communities = {0xfde90001, 0xffffff01};
    a.large_communities = {{65001, 1, 2}};
    a.ext_communities = {0x0002fde900000064ULL};
    rib->originate(rib::RouteSource::Static, *Prefix::parse(prefix), a);
  }
};

Daemon& daemon() {
  static Daemon* d = new Daemon();  // never destroyed: no teardown order issues at exit
  return *d;
}

void one_line(Daemon& d, const std::string& line) {
  ctl::Json reply = d.registry.dispatch_line(line, /*allow_mutating=*/false);
  check(reply.is_object());
  auto ok = reply.find("ok");
  check(ok != reply.end() && ok->is_boolean());
  if (!ok->get<bool>()) {
    auto err = reply.find("error");
    check(err != reply.end() && err->is_string());
  } else {
    check(reply.contains("result"));
  }
  const std::string text = reply.dump();  // as ctl::Server writes it: must not throw
  ctl::Json back = ctl::Json::parse(text, nullptr, false);
  check(!back.is_discarded() && back == reply);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Daemon& d = daemon();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    size_t nl = in.find('\n');
    // No newline within the limit: the server replies "request too long" and closes.
    if (nl == std::string_view::npos || nl + 1 > ctl::Server::kMaxRequest) break;
    one_line(d, std::string(in.substr(0, nl)));
    in.remove_prefix(nl + 1);
  }
  // A final line without a newline is still dispatched (EOF after a request is
  // not something the server answers, but the parser must cope with any bytes).
  if (!in.empty() && in.size() < ctl::Server::kMaxRequest) one_line(d, std::string(in));
  check(!d.mutated);
  return 0;
}
