#include "fib/types.hpp"

#include <algorithm>
#include <charconv>

namespace ferry::fib {

const char* route_type_name(RouteType t) {
  switch (t) {
    case RouteType::Unicast:
      return "unicast";
    case RouteType::Local:
      return "local";
    case RouteType::Broadcast:
      return "broadcast";
    case RouteType::Anycast:
      return "anycast";
    case RouteType::Multicast:
      return "multicast";
    case RouteType::Blackhole:
      return "blackhole";
    case RouteType::Unreachable:
      return "unreachable";
    case RouteType::Prohibit:
      return "prohibit";
    case RouteType::Other:
      break;
  }
  return "other";
}

std::string NextHop::str() const {
  std::string s;
  if (gateway) s = "via " + gateway->str();
  if (ifindex) s += std::string(s.empty() ? "" : " ") + "ifindex " + std::to_string(ifindex);
  if (weight != 1) s += " weight " + std::to_string(weight);
  if (onlink) s += " onlink";
  return s;
}

RouteTarget RouteTarget::via(std::vector<NextHop> nhs) {
  RouteTarget t{RouteType::Unicast, std::move(nhs)};
  t.canonicalize();
  return t;
}

void RouteTarget::canonicalize() {
  if (type != RouteType::Unicast) {
    nexthops.clear();
    return;
  }
  std::sort(nexthops.begin(), nexthops.end());
  nexthops.erase(std::unique(nexthops.begin(), nexthops.end()), nexthops.end());
  // A weight only means something relative to other next hops: a lone one (e.g. a
  // one-entry RTA_MULTIPATH with rtnh_hops != 0) is the same route as weight 1,
  // which is how it is encoded (RTA_GATEWAY/RTA_OIF carry no weight).
  if (nexthops.size() == 1) nexthops.front().weight = 1;
}

std::string RouteTarget::str() const {
  if (type != RouteType::Unicast) return route_type_name(type);
  std::string s;
  for (const auto& nh : nexthops) {
    if (!s.empty()) s += ", ";
    s += nh.str();
  }
  return s;
}

Json RouteTarget::json() const {
  Json j;
  j["type"] = route_type_name(type);
  Json nhs = Json::array();
  for (const auto& nh : nexthops) {
    Json n;
    if (nh.gateway) n["gateway"] = nh.gateway->str();
    if (nh.ifindex) n["ifindex"] = nh.ifindex;
    if (nh.weight != 1) n["weight"] = nh.weight;
    if (nh.onlink) n["onlink"] = true;
    nhs.push_back(std::move(n));
  }
  j["nexthops"] = std::move(nhs);
  return j;
}

bool target_matches_kernel(const RouteTarget& desired, const RouteTarget& kernel) {
  if (desired.type != kernel.type) return false;
  if (desired.nexthops.size() != kernel.nexthops.size()) return false;
  // Both are canonical (sorted) but a desired ifindex of 0 sorts differently
  // from the kernel's resolved one, so match each desired hop to some kernel hop.
  std::vector<bool> used(kernel.nexthops.size(), false);
  for (const auto& d : desired.nexthops) {
    bool found = false;
    for (size_t i = 0; i < kernel.nexthops.size(); ++i) {
      const auto& k = kernel.nexthops[i];
      if (used[i] || d.gateway != k.gateway || d.weight != k.weight) continue;
      if (d.ifindex != 0 && d.ifindex != k.ifindex) continue;
      if (d.onlink && !k.onlink) continue;
      used[i] = true;
      found = true;
      break;
    }
    if (!found) return false;
  }
  return true;
}

namespace {
struct ProtoName {
  uint8_t num;
  const char* name;
};
// /etc/iproute2/rt_protos (iproute2) plus linux/rtnetlink.h RTPROT_*.
constexpr ProtoName kProtos[] = {
    {0, "unspec"},      {1, "redirect"}, {2, "kernel"},  {3, "boot"},   {4, "static"},
    {8, "gated"},       {9, "ra"},       {10, "mrt"},    {11, "zebra"}, {12, "bird"},
    {13, "dnrouted"},   {14, "xorp"},    {15, "ntk"},    {16, "dhcp"},  {17, "mrouted"},
    {18, "keepalived"}, {42, "babel"},   {99, "openr"},  {186, "bgp"},  {187, "isis"},
    {188, "ospf"},      {189, "rip"},    {192, "eigrp"},
};
}  // namespace

std::optional<uint8_t> parse_route_protocol(std::string_view name) {
  for (const auto& p : kProtos) {
    if (name == p.name) return p.num;
  }
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec != std::errc() || ptr != name.data() + name.size() || name.empty() || v > 255) {
    return std::nullopt;
  }
  return static_cast<uint8_t>(v);
}

std::string route_protocol_name(uint8_t proto) {
  for (const auto& p : kProtos) {
    if (p.num == proto) return p.name;
  }
  return std::to_string(proto);
}

}  // namespace ferry::fib
