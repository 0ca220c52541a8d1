// [[health-checks]]: conditional advertisement. Each check names what depends
// on it (networks from [bgp] networks, neighbors by name), so the rest of the
// schema is unchanged and a check can be added or removed on its own.
#include <algorithm>
#include <set>

#include "config/config.hpp"
#include "config/reader.hpp"

namespace ferry::config::detail {

std::vector<HealthCheckConfig> parse_health_checks(const Ctx& ctx, const Value& v,
                                                   const Config& c) {
  std::vector<HealthCheckConfig> out;
  std::set<std::string> names;
  for (const auto& e : v.array("tables ([[health-checks]])")) {
    TableReader t(ctx, e.table(), e.path,
                  {"name", "type", "target", "port", "interval-ms", "timeout-ms", "rise", "fall",
                   "networks", "neighbors"});
    HealthCheckConfig h;
    const Value name = t.require("name", "a name");
    h.name = name.string();
    if (h.name.empty() || h.name.size() > 64) name.fail("expected a name of 1..64 characters");
    if (!names.insert(h.name).second) name.fail("duplicate health check " + quote(h.name));
    if (auto tv = t.get("type")) {
      const std::string s = tv->string();
      if (s == "icmp")
        h.probe = HealthProbe::Icmp;
      else if (s == "tcp")
        h.probe = HealthProbe::Tcp;
      else
        tv->fail("expected \"icmp\" or \"tcp\", got " + quote(s));
    }
    h.target =
        t.require("target", "an IP address on the site's LAN")
            .parsed("an IP address", [](const std::string& s) { return IpAddress::parse(s); });
    if (h.target.is_unspecified()) t.fail("target", "expected a unicast address");
    t.uint_into("port", 1, 0xffff, h.port);
    if (h.probe == HealthProbe::Tcp && h.port == 0)
      t.fail("port", "missing; expected the TCP port to connect to (type = \"tcp\")");
    if (h.probe == HealthProbe::Icmp && t.has("port"))
      t.fail("port", "expected only with type = \"tcp\"");
    t.uint_into("interval-ms", 100, 3600000, h.interval_ms);
    t.uint_into("timeout-ms", 10, 3600000, h.timeout_ms);
    if (h.timeout_ms > h.interval_ms)
      t.fail("timeout-ms", "expected at most interval-ms (" + std::to_string(h.interval_ms) + ")");
    t.uint_into("rise", 1, 100, h.rise);
    t.uint_into("fall", 1, 100, h.fall);
    if (auto nv = t.get("networks")) {
      for (const auto& x : nv->array("prefixes from [bgp] networks")) {
        Prefix p = x.parsed("a prefix without host bits", [](const std::string& s) {
          return s.find('/') == std::string::npos ? std::nullopt : Prefix::parse_strict(s);
        });
        const bool known = c.bgp && std::find(c.bgp->networks.begin(), c.bgp->networks.end(), p) !=
                                        c.bgp->networks.end();
        if (!known) x.fail("expected an entry of [bgp] networks, got " + quote(p.str()));
        h.networks.push_back(p);
      }
    }
    if (auto nv = t.get("neighbors")) {
      for (const auto& x : nv->array("neighbor names")) {
        std::string n = x.string();
        const bool known = c.bgp && std::any_of(c.bgp->neighbors.begin(), c.bgp->neighbors.end(),
                                                [&](const auto& b) { return b.name == n; });
        if (!known)
          x.fail("expected the name of a [[bgp.neighbors]] entry, got undefined neighbor " +
                 quote(n));
        h.neighbors.push_back(std::move(n));
      }
    }
    if (h.networks.empty() && h.neighbors.empty())
      t.fail("networks", "expected networks or neighbors that depend on the check");
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace ferry::config::detail
