#include "prefixgen.hpp"

#include <algorithm>
#include <random>
#include <unordered_set>

namespace ferry::bench {

namespace {

// Space a real DFZ never carries (RFC 6890 and friends): the generator skips it.
bool is_special(uint32_t a) {
  uint8_t o1 = static_cast<uint8_t>(a >> 24);
  uint8_t o2 = static_cast<uint8_t>(a >> 16);
  if (o1 == 0 || o1 == 10 || o1 == 127 || o1 >= 224) return true;
  if (o1 == 100 && (o2 & 0xc0) == 64) return true;  // 100.64/10
  if (o1 == 169 && o2 == 254) return true;
  if (o1 == 172 && (o2 & 0xf0) == 16) return true;
  if (o1 == 192 && o2 == 168) return true;
  if (o1 == 192 && o2 == 0) return true;
  if (o1 == 198 && (o2 & 0xfe) == 18) return true;  // 198.18/15
  return false;
}

uint32_t random_public_asn(std::mt19937_64& rng) {
  // 1..64495: public 2-octet space; avoids AS_TRANS and the private range the
  // bench topology uses for its own sessions.
  std::uniform_int_distribution<uint32_t> d(1, 64495);
  for (;;) {
    uint32_t a = d(rng);
    if (a != 23456) return a;
  }
}

}  // namespace

Table make_table(size_t n, uint64_t seed, uint32_t feeder_asn, uint32_t next_hop) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint32_t> addr_dist;
  std::uniform_int_distribution<int> pct(0, 99);
  std::uniform_int_distribution<int> short_len(16, 23);
  std::uniform_int_distribution<int> hops(1, 6);  // plus the feeder's own AS: 2..7
  std::uniform_int_distribution<int> ncomm(1, 3);
  std::uniform_int_distribution<int> group_size(3, 5);  // ~4 per UPDATE

  std::vector<PrefixKey> keys;
  keys.reserve(n);
  std::unordered_set<PrefixKey> seen;
  seen.reserve(n * 2);
  while (keys.size() < n) {
    int len = pct(rng) < 85 ? 24 : short_len(rng);
    uint32_t a = addr_dist(rng) & ~(0xffffffffu >> len);
    if (is_special(a)) continue;
    PrefixKey k = make_key(a, static_cast<uint8_t>(len));
    if (seen.insert(k).second) keys.push_back(k);
  }

  Table t;
  size_t i = 0;
  size_t g = 0;
  while (i < keys.size()) {
    RouteGroup grp;
    grp.attrs.next_hop = next_hop;
    grp.attrs.as_path.push_back(feeder_asn);
    int h = hops(rng);
    for (int j = 0; j < h; ++j) grp.attrs.as_path.push_back(random_public_asn(rng));
    if (g++ % 2 == 0) {
      int c = ncomm(rng);
      for (int j = 0; j < c; ++j) {
        grp.attrs.communities.push_back((grp.attrs.as_path[1] << 16) |
                                        static_cast<uint32_t>(pct(rng) * 10));
      }
    }
    size_t take = std::min(keys.size() - i, static_cast<size_t>(group_size(rng)));
    grp.prefixes.assign(keys.begin() + static_cast<std::ptrdiff_t>(i),
                        keys.begin() + static_cast<std::ptrdiff_t>(i + take));
    i += take;
    t.groups.push_back(std::move(grp));
  }
  t.sorted_keys = std::move(keys);
  std::sort(t.sorted_keys.begin(), t.sorted_keys.end());
  return t;
}

}  // namespace ferry::bench
