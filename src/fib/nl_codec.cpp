#include "fib/nl_codec.hpp"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "common/bytes.hpp"

namespace ferry::fib {

// ---- NlWriter ------------------------------------------------------------------

void NlWriter::raw(const void* p, size_t n) {
  if (overflow_ || buf_.size() - pos_ < n) {
    overflow_ = true;
    return;
  }
  if (n) std::memcpy(buf_.data() + pos_, p, n);
  pos_ += n;
}

void NlWriter::zeros(size_t n) {
  if (overflow_ || buf_.size() - pos_ < n) {
    overflow_ = true;
    return;
  }
  std::memset(buf_.data() + pos_, 0, n);
  pos_ += n;
}

void NlWriter::align4() {
  zeros((4 - pos_ % 4) % 4);
}

void NlWriter::patch_u16(size_t at, uint16_t v) {
  if (!overflow_ && at + 2 <= pos_) std::memcpy(buf_.data() + at, &v, 2);
}
void NlWriter::patch_u32(size_t at, uint32_t v) {
  if (!overflow_ && at + 4 <= pos_) std::memcpy(buf_.data() + at, &v, 4);
}

void NlWriter::begin_message(uint16_t type, uint16_t flags, uint32_t seq) {
  align4();
  msg_start_ = pos_;
  u32(0);      // nlmsg_len, patched
  u16(type);   // nlmsg_type
  u16(flags);  // nlmsg_flags
  u32(seq);    // nlmsg_seq
  u32(0);      // nlmsg_pid: 0, the kernel fills in our port id
}

size_t NlWriter::end_message() {
  align4();
  if (overflow_) return 0;
  const size_t len = pos_ - msg_start_;
  patch_u32(msg_start_, static_cast<uint32_t>(len));
  return len;
}

void NlWriter::attr(uint16_t type, const void* data, size_t n) {
  // struct nlattr {u16 nla_len; u16 nla_type;} + payload, padded to NLA_ALIGNTO.
  if (n > 0xffff - NLA_HDRLEN) {
    overflow_ = true;
    return;
  }
  u16(static_cast<uint16_t>(NLA_HDRLEN + n));
  u16(type);
  raw(data, n);
  align4();
}

size_t NlWriter::nest_begin(uint16_t type) {
  const size_t at = pos_;
  u16(0);
  u16(type);
  return at;
}

void NlWriter::nest_end(size_t at) {
  patch_u16(at, static_cast<uint16_t>(pos_ - at));
}

size_t NlWriter::rtnh_begin(uint8_t flags, uint8_t hops, uint32_t ifindex) {
  // struct rtnexthop {u16 rtnh_len; u8 rtnh_flags; u8 rtnh_hops; int rtnh_ifindex;}
  const size_t at = pos_;
  u16(0);
  u8(flags);
  u8(hops);
  u32(ifindex);
  return at;
}

void NlWriter::rtnh_end(size_t at) {
  patch_u16(at, static_cast<uint16_t>(pos_ - at));
}

// ---- builders --------------------------------------------------------------------

namespace {

uint8_t af_of(Family f) {
  return f == Family::V4 ? AF_INET : AF_INET6;
}

// struct rtmsg (linux/rtnetlink.h).
void put_rtmsg(NlWriter& w, const Prefix& p, uint32_t table, uint8_t protocol, uint8_t scope,
               uint8_t type, uint32_t flags) {
  w.u8(af_of(p.family()));                                                     // rtm_family
  w.u8(static_cast<uint8_t>(p.len()));                                         // rtm_dst_len
  w.u8(0);                                                                     // rtm_src_len
  w.u8(0);                                                                     // rtm_tos
  w.u8(table < 256 ? static_cast<uint8_t>(table) : uint8_t{RT_TABLE_UNSPEC});  // rtm_table
  w.u8(protocol);                                                              // rtm_protocol
  w.u8(scope);                                                                 // rtm_scope
  w.u8(type);                                                                  // rtm_type
  w.u32(flags);                                                                // rtm_flags
}

// RTA_GATEWAY when the gateway is of the route's family, RTA_VIA (struct
// rtvia: u16 family + address) otherwise, e.g. IPv4 over an IPv6 next hop.
void put_gateway(NlWriter& w, Family route_family, const IpAddress& gw) {
  if (gw.family() == route_family) {
    w.attr_addr(RTA_GATEWAY, gw);
    return;
  }
  uint8_t via[2 + 16];
  const uint16_t fam = af_of(gw.family());
  std::memcpy(via, &fam, 2);
  std::memcpy(via + 2, gw.bytes(), gw.byte_len());
  w.attr(RTA_VIA, via, 2 + gw.byte_len());
}

}  // namespace

size_t build_route_replace(std::span<uint8_t> out, const Prefix& prefix, const RouteTarget& target,
                           const RouteKeys& keys, uint32_t seq) {
  if (target.type == RouteType::Unicast &&
      (target.nexthops.empty() || target.nexthops.size() > kMaxNextHops)) {
    return 0;
  }
  for (const auto& nh : target.nexthops) {
    if (!nh.gateway && nh.ifindex == 0) return 0;  // leads nowhere
  }
  NlWriter w(out);
  w.begin_message(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
  uint8_t scope = RT_SCOPE_UNIVERSE;
  uint32_t flags = 0;
  const bool single = target.type == RouteType::Unicast && target.nexthops.size() == 1;
  if (target.type == RouteType::Unicast) {
    const bool any_gw = std::any_of(target.nexthops.begin(), target.nexthops.end(),
                                    [](const NextHop& n) { return n.gateway.has_value(); });
    if (!any_gw) scope = RT_SCOPE_LINK;  // "prefix dev X" is on-link, as iproute2 does
    if (single && target.nexthops[0].onlink) flags |= RTNH_F_ONLINK;
  }
  put_rtmsg(w, prefix, keys.table, keys.protocol, scope, static_cast<uint8_t>(target.type), flags);
  // Attribute order as iproute2 emits it, so captures of `ip route` are golden bytes.
  if (prefix.len() > 0) w.attr_addr(RTA_DST, prefix.addr());
  if (single && target.nexthops[0].gateway)
    put_gateway(w, prefix.family(), *target.nexthops[0].gateway);
  w.attr_u32(RTA_PRIORITY, keys.metric);
  if (keys.table >= 256) w.attr_u32(RTA_TABLE, keys.table);
  if (single && target.nexthops[0].ifindex) w.attr_u32(RTA_OIF, target.nexthops[0].ifindex);
  if (target.type == RouteType::Unicast && !single) {
    const size_t nest = w.nest_begin(RTA_MULTIPATH);
    for (const auto& nh : target.nexthops) {
      const uint8_t hops = static_cast<uint8_t>(std::max<int>(nh.weight, 1) - 1);
      const size_t at = w.rtnh_begin(nh.onlink ? RTNH_F_ONLINK : 0, hops, nh.ifindex);
      if (nh.gateway) put_gateway(w, prefix.family(), *nh.gateway);
      w.rtnh_end(at);
    }
    w.nest_end(nest);
  }
  return w.end_message();
}

size_t build_route_delete(std::span<uint8_t> out, const Prefix& prefix, const RouteKeys& keys,
                          uint32_t seq) {
  NlWriter w(out);
  w.begin_message(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq);
  // Scope NOWHERE and type UNSPEC match any route of this (prefix, table,
  // protocol, metric), which is how iproute2 deletes.
  put_rtmsg(w, prefix, keys.table, keys.protocol, RT_SCOPE_NOWHERE, RTN_UNSPEC, 0);
  if (prefix.len() > 0) w.attr_addr(RTA_DST, prefix.addr());
  w.attr_u32(RTA_PRIORITY, keys.metric);
  if (keys.table >= 256) w.attr_u32(RTA_TABLE, keys.table);
  return w.end_message();
}

size_t build_route_dump(std::span<uint8_t> out, uint8_t family, uint32_t seq) {
  NlWriter w(out);
  w.begin_message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.u8(family);  // rtm_family; the rest of struct rtmsg is zero
  w.zeros(sizeof(struct rtmsg) - 1);
  return w.end_message();
}

size_t build_addr_dump(std::span<uint8_t> out, uint8_t family, uint32_t seq) {
  NlWriter w(out);
  w.begin_message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.u8(family);  // ifa_family; struct ifaddrmsg is 8 bytes
  w.zeros(sizeof(struct ifaddrmsg) - 1);
  return w.end_message();
}

namespace {
// struct ifinfomsg {u8 family; u8 pad; u16 type; int index; u32 flags; u32 change;}
void put_ifinfomsg(NlWriter& w, uint32_t index, uint32_t flags, uint32_t change) {
  w.u8(AF_UNSPEC);
  w.u8(0);
  w.u16(0);
  w.u32(index);
  w.u32(flags);
  w.u32(change);
}
}  // namespace

size_t build_link_dump(std::span<uint8_t> out, uint32_t seq) {
  NlWriter w(out);
  w.begin_message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
  put_ifinfomsg(w, 0, 0, 0);
  w.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return w.end_message();
}

size_t build_link_get(std::span<uint8_t> out, const std::string& ifname, uint32_t seq) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return 0;
  NlWriter w(out);
  w.begin_message(RTM_GETLINK, NLM_F_REQUEST, seq);
  put_ifinfomsg(w, 0, 0, 0);
  w.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  w.attr_str(IFLA_IFNAME, ifname);
  return w.end_message();
}

size_t build_link_set(std::span<uint8_t> out, uint32_t ifindex, std::optional<bool> up,
                      std::optional<uint32_t> mtu, uint32_t seq) {
  NlWriter w(out);
  w.begin_message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  put_ifinfomsg(w, ifindex, up.value_or(false) ? IFF_UP : 0, up ? IFF_UP : 0);
  if (mtu) w.attr_u32(IFLA_MTU, *mtu);
  return w.end_message();
}

size_t build_addr_change(std::span<uint8_t> out, bool add, uint32_t ifindex, const IpAddress& addr,
                         int prefixlen, uint32_t seq) {
  NlWriter w(out);
  const uint16_t flags =
      add ? NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE : NLM_F_REQUEST | NLM_F_ACK;
  w.begin_message(add ? RTM_NEWADDR : RTM_DELADDR, flags, seq);
  // struct ifaddrmsg {u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index;}
  w.u8(af_of(addr.family()));
  w.u8(static_cast<uint8_t>(std::clamp(prefixlen, 0, family_bits(addr.family()))));
  w.u8(0);
  w.u8(RT_SCOPE_UNIVERSE);
  w.u32(ifindex);
  w.attr_addr(IFA_LOCAL, addr);
  w.attr_addr(IFA_ADDRESS, addr);
  // Tunnel addresses need no duplicate address detection (and tests need no delay).
  if (add && addr.is_v6()) w.attr_u32(IFA_FLAGS, IFA_F_NODAD);
  return w.end_message();
}

// ---- parser ------------------------------------------------------------------------

namespace {

// Host-order reads on top of the bounded ByteReader.
std::optional<uint16_t> h16(ByteReader& r) {
  uint16_t v;
  if (!r.copy(&v, 2)) return std::nullopt;
  return v;
}
std::optional<uint32_t> h32(ByteReader& r) {
  uint32_t v;
  if (!r.copy(&v, 4)) return std::nullopt;
  return v;
}
std::optional<uint32_t> h32(std::span<const uint8_t> s) {
  if (s.size() < 4) return std::nullopt;
  uint32_t v;
  std::memcpy(&v, s.data(), 4);
  return v;
}

std::optional<Family> family_of(uint8_t af) {
  if (af == AF_INET) return Family::V4;
  if (af == AF_INET6) return Family::V6;
  return std::nullopt;
}

std::optional<IpAddress> addr_of(Family f, std::span<const uint8_t> s) {
  if (s.size() != static_cast<size_t>(family_bytes(f))) return std::nullopt;
  return IpAddress::from_bytes(f, s.data());
}

// struct rtvia {u16 family; u8 addr[];}
std::optional<IpAddress> via_of(std::span<const uint8_t> s) {
  ByteReader r(s);
  auto fam = h16(r);
  if (!fam || *fam > 0xff) return std::nullopt;
  auto f = family_of(static_cast<uint8_t>(*fam));
  if (!f) return std::nullopt;
  return addr_of(*f, r.rest());
}

struct Attr {
  uint16_t type;
  std::span<const uint8_t> value;
};

// Walks attributes (struct nlattr, RFC 3549 §2.3.2.1); returns false on a
// malformed one. Trailing bytes shorter than a header are padding.
template <typename F>
bool for_each_attr(ByteReader r, F&& f) {
  while (r.remaining() >= NLA_HDRLEN) {
    auto len = h16(r);
    auto type = h16(r);
    if (!len || !type || *len < NLA_HDRLEN) return false;
    auto val = r.bytes(*len - NLA_HDRLEN);
    if (!val) return false;
    const size_t pad = NLA_ALIGN(*len) - *len;
    r.skip(std::min(pad, r.remaining()));
    if (!f(Attr{static_cast<uint16_t>(*type & NLA_TYPE_MASK), *val})) return false;
  }
  return true;
}

bool parse_multipath(Family fam, std::span<const uint8_t> data, std::vector<NextHop>& out) {
  ByteReader r(data);
  while (r.remaining() >= sizeof(struct rtnexthop)) {
    auto len = h16(r);
    auto flags = r.u8();
    auto hops = r.u8();
    auto ifindex = h32(r);
    if (!len || !flags || !hops || !ifindex || *len < sizeof(struct rtnexthop)) return false;
    auto attrs = r.sub(*len - sizeof(struct rtnexthop));
    if (!attrs) return false;
    r.skip(std::min<size_t>(RTNH_ALIGN(*len) - *len, r.remaining()));
    NextHop nh;
    nh.ifindex = *ifindex;
    nh.weight = static_cast<uint8_t>(std::min(*hops + 1, 255));
    nh.onlink = (*flags & RTNH_F_ONLINK) != 0;
    bool ok = for_each_attr(*attrs, [&](const Attr& a) {
      if (a.type == RTA_GATEWAY) {
        nh.gateway = addr_of(fam, a.value);
        return nh.gateway.has_value();
      }
      if (a.type == RTA_VIA) {
        nh.gateway = via_of(a.value);
        return nh.gateway.has_value();
      }
      return true;
    });
    if (!ok) return false;
    out.push_back(nh);
    if (out.size() > 1024) return false;
  }
  return true;
}

bool parse_route(ByteReader& r, RouteMessage& m) {
  struct rtmsg rtm;
  if (!r.copy(&rtm, sizeof rtm)) return false;
  auto fam = family_of(rtm.rtm_family);
  if (!fam) return false;
  KernelRoute& kr = m.route;
  kr.table = rtm.rtm_table;
  kr.protocol = rtm.rtm_protocol;
  kr.scope = rtm.rtm_scope;
  kr.tos = rtm.rtm_tos;
  kr.rtm_flags = rtm.rtm_flags;
  kr.target.type = rtm.rtm_type <= RTN_PROHIBIT && rtm.rtm_type != RTN_UNSPEC
                       ? static_cast<RouteType>(rtm.rtm_type)
                       : RouteType::Other;
  if (rtm.rtm_dst_len > family_bits(*fam)) return false;
  IpAddress dst = IpAddress::from_bytes(*fam, std::array<uint8_t, 16>{}.data());
  NextHop single;
  bool have_single = false;
  std::vector<NextHop> multi;
  bool ok = for_each_attr(r, [&](const Attr& a) {
    switch (a.type) {
      case RTA_DST: {
        auto d = addr_of(*fam, a.value);
        if (!d) return false;
        dst = *d;
        return true;
      }
      case RTA_GATEWAY:
        single.gateway = addr_of(*fam, a.value);
        have_single = true;
        return single.gateway.has_value();
      case RTA_VIA:
        single.gateway = via_of(a.value);
        have_single = true;
        return single.gateway.has_value();
      case RTA_OIF: {
        auto v = h32(a.value);
        if (!v) return false;
        single.ifindex = *v;
        have_single = true;
        return true;
      }
      case RTA_PRIORITY: {
        auto v = h32(a.value);
        if (!v) return false;
        kr.metric = *v;
        return true;
      }
      case RTA_TABLE: {
        auto v = h32(a.value);
        if (!v) return false;
        kr.table = *v;
        return true;
      }
      case RTA_PREFSRC:
        kr.prefsrc = addr_of(*fam, a.value);
        return kr.prefsrc.has_value();
      case RTA_MULTIPATH:
        return parse_multipath(*fam, a.value, multi);
      default:
        return true;
    }
  });
  if (!ok) return false;
  kr.prefix = Prefix(dst, rtm.rtm_dst_len);
  if (kr.target.type == RouteType::Unicast) {
    if (!multi.empty()) {
      kr.target.nexthops = std::move(multi);
    } else if (have_single && (single.gateway || single.ifindex != 0)) {
      single.onlink = (rtm.rtm_flags & RTNH_F_ONLINK) != 0;
      kr.target.nexthops.push_back(single);
    }
  }
  kr.target.canonicalize();
  return true;
}

bool parse_addr(ByteReader& r, AddrMessage& m) {
  struct ifaddrmsg ifa;
  if (!r.copy(&ifa, sizeof ifa)) return false;
  auto fam = family_of(ifa.ifa_family);
  if (!fam || ifa.ifa_prefixlen > family_bits(*fam)) return false;
  m.ifindex = ifa.ifa_index;
  m.prefixlen = ifa.ifa_prefixlen;
  m.flags = ifa.ifa_flags;
  m.scope = ifa.ifa_scope;
  std::optional<IpAddress> local, address;
  bool ok = for_each_attr(r, [&](const Attr& a) {
    switch (a.type) {
      case IFA_LOCAL:
        local = addr_of(*fam, a.value);
        return local.has_value();
      case IFA_ADDRESS:
        address = addr_of(*fam, a.value);
        return address.has_value();
      case IFA_FLAGS: {
        auto v = h32(a.value);
        if (!v) return false;
        m.flags = *v;
        return true;
      }
      case IFA_LABEL: {
        auto end = std::find(a.value.begin(), a.value.end(), uint8_t{0});
        m.label.assign(a.value.begin(), end);
        return true;
      }
      default:
        return true;
    }
  });
  if (!ok || (!local && !address)) return false;
  m.address = local ? *local : *address;
  if (local && address && *local != *address) m.peer = *address;
  return true;
}

bool parse_link(ByteReader& r, LinkMessage& m) {
  struct ifinfomsg ifi;
  if (!r.copy(&ifi, sizeof ifi)) return false;
  m.ifindex = static_cast<uint32_t>(ifi.ifi_index);
  m.flags = ifi.ifi_flags;
  return for_each_attr(r, [&](const Attr& a) {
    if (a.type == IFLA_IFNAME) {
      auto end = std::find(a.value.begin(), a.value.end(), uint8_t{0});
      m.name.assign(a.value.begin(), end);
      if (m.name.size() >= IFNAMSIZ) return false;
    } else if (a.type == IFLA_MTU) {
      auto v = h32(a.value);
      if (!v) return false;
      m.mtu = *v;
    }
    return true;
  });
}

// struct nlmsgerr {int error; struct nlmsghdr msg;} then, with
// NLM_F_ACK_TLVS, the (possibly capped) request and NLMSGERR_ATTR_* TLVs.
bool parse_error(ByteReader& r, uint16_t flags, NlAck& ack) {
  auto err = h32(r);
  if (!err) return false;
  ack.error = static_cast<int>(*err);
  ByteReader orig = r;
  auto olen = h32(orig);
  if (!olen || !r.skip(sizeof(struct nlmsghdr))) return false;
  if (!(flags & NLM_F_ACK_TLVS)) return true;
  // Without NLM_F_CAPPED the original request's payload follows.
  if (!(flags & NLM_F_CAPPED)) {
    if (*olen < sizeof(struct nlmsghdr)) return false;
    if (!r.skip(std::min<size_t>(NLMSG_ALIGN(*olen) - sizeof(struct nlmsghdr), r.remaining()))) {
      return false;
    }
  }
  for_each_attr(r, [&](const Attr& a) {
    if (a.type == NLMSGERR_ATTR_MSG) {
      auto end = std::find(a.value.begin(), a.value.end(), uint8_t{0});
      ack.message.assign(a.value.begin(), end);
    }
    return true;
  });
  return true;  // the TLVs are advisory; a bad one does not lose the error code
}

}  // namespace

void parse_netlink(std::span<const uint8_t> data, ParseResult& out) {
  ByteReader r(data);
  while (r.remaining() >= NLMSG_HDRLEN) {
    // struct nlmsghdr {u32 len; u16 type; u16 flags; u32 seq; u32 pid;}
    ByteReader hdr = r;
    auto len = h32(hdr);
    auto type = h16(hdr);
    auto flags = h16(hdr);
    auto seq = h32(hdr);
    auto pid = h32(hdr);
    if (!len || !type || !flags || !seq || !pid || *len < NLMSG_HDRLEN || *len > r.remaining()) {
      ++out.malformed;  // cannot find the next message boundary: drop the rest
      return;
    }
    ByteReader msg = *r.sub(*len);
    r.skip(std::min<size_t>(NLMSG_ALIGN(*len) - *len, r.remaining()));
    msg.skip(NLMSG_HDRLEN);

    NlMessage m;
    m.type = *type;
    m.flags = *flags;
    m.seq = *seq;
    m.pid = *pid;
    bool ok = true;
    switch (*type) {
      case NLMSG_NOOP:
        continue;
      case NLMSG_ERROR: {
        NlAck ack;
        ok = parse_error(msg, *flags, ack);
        m.body = std::move(ack);
        break;
      }
      case NLMSG_DONE: {
        NlDone done;
        if (auto e = h32(msg)) done.error = static_cast<int>(*e);
        m.body = done;
        break;
      }
      case RTM_NEWROUTE:
      case RTM_DELROUTE: {
        // Families other than IPv4/IPv6 (MPLS, bridge ...) are not ours to parse.
        if (auto f = msg.peek_u8(); f && !family_of(*f)) break;
        RouteMessage rm;
        rm.is_new = *type == RTM_NEWROUTE;
        ok = parse_route(msg, rm);
        m.body = std::move(rm);
        break;
      }
      case RTM_NEWADDR:
      case RTM_DELADDR: {
        if (auto f = msg.peek_u8(); f && !family_of(*f)) break;
        AddrMessage am;
        am.is_new = *type == RTM_NEWADDR;
        ok = parse_addr(msg, am);
        m.body = std::move(am);
        break;
      }
      case RTM_NEWLINK:
      case RTM_DELLINK: {
        LinkMessage lm;
        lm.is_new = *type == RTM_NEWLINK;
        ok = parse_link(msg, lm);
        m.body = std::move(lm);
        break;
      }
      default:
        break;  // other types are returned with an empty body
    }
    if (!ok) {
      ++out.malformed;
      continue;
    }
    out.messages.push_back(std::move(m));
  }
  if (!r.empty()) ++out.malformed;
}

}  // namespace ferry::fib
