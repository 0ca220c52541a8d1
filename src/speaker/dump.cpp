// dump routes: the Loc-RIB as an MRT TABLE_DUMP_V2 file (RFC 6396 §4.3),
// carried base64-encoded in the control reply; ferryctl writes the file.
//
// Peer index table: one entry per configured neighbour (BGP Identifier from
// its OPEN when established, else 0) and, last, one for this router itself,
// which stands for locally originated routes (networks, static, connected,
// kernel). Every best route of every prefix becomes one RIB entry with the
// attributes the RIB holds for it; ECMP siblings are not listed. ferry does
// not keep the time each route arrived: Originated Time is the dump time.
#include <chrono>
#include <map>

#include "mrt/table_dump.hpp"
#include "speaker/peer.hpp"
#include "speaker/speaker.hpp"

namespace ferry::speaker {

Result<ctl::Json> Speaker::dump_routes(const ctl::Json& args) const {
  const std::string format = args.value("format", std::string("mrt"));
  if (format != "mrt") return make_error("format must be mrt");
  const auto now = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  std::vector<mrt::Peer> peers;
  std::map<uint32_t, uint16_t> index;  // RIB peer id -> peer index
  for (const auto& [name, p] : peers_) {
    const bgp::Session& s = p->session();
    index[rib::to_int(p->id())] = static_cast<uint16_t>(peers.size());
    peers.push_back({s.established() ? s.remote_open().bgp_id.value() : 0, p->cfg().address,
                     p->cfg().remote_asn.value()});
  }
  const auto self = static_cast<uint16_t>(peers.size());
  peers.push_back({opts_.router_id.value(), IpAddress::v4(0), opts_.local_asn.value()});

  std::vector<uint8_t> out = mrt::peer_index_table(now, opts_.router_id.value(), "ferry", peers);
  uint32_t seq = 0;
  size_t v4 = 0, v6 = 0;
  rib_.for_each_best(
      [&](const Prefix& prefix, const rib::PathView& best, std::span<const rib::NextHop>) {
        if (!best.attrs) return;
        const bgp::PathAttributes a = *best.attrs;
        uint16_t pi = self;
        if (best.source == rib::RouteSource::Bgp) {
          auto it = index.find(rib::to_int(best.peer));
          if (it != index.end()) pi = it->second;
        }
        const mrt::RibEntry e{pi, now, &a};
        const auto rec = mrt::rib_record(now, seq++, prefix, std::span(&e, 1));
        out.insert(out.end(), rec.begin(), rec.end());
        (prefix.family() == Family::V4 ? v4 : v6)++;
      });
  return ctl::Json{{"format", "mrt"},
                   {"encoding", "base64"},
                   {"peers", peers.size()},
                   {"ipv4_prefixes", v4},
                   {"ipv6_prefixes", v6},
                   {"bytes", out.size()},
                   {"data", mrt::base64_encode(out)}};
}

}  // namespace ferry::speaker
