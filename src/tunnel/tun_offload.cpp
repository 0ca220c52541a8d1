#include "tunnel/tun_offload.hpp"

namespace ferry::tunnel {

uint64_t csum_add(const uint8_t* p, size_t n, uint64_t sum) {
  // 32-bit big-endian words: their sum folds to the same 16-bit one's complement sum.
  while (n >= 4) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    sum += __builtin_bswap32(v);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    sum += (uint32_t{p[0]} << 8) | p[1];
    p += 2;
    n -= 2;
  }
  if (n == 1) sum += uint32_t{p[0]} << 8;
  return sum;
}

uint16_t csum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint64_t pseudo_header_sum(const uint8_t* src, const uint8_t* dst, size_t alen, uint8_t proto,
                           uint32_t l4_len) {
  uint64_t s = csum_add(src, alen, 0);
  s = csum_add(dst, alen, s);
  return s + proto + l4_len;
}

bool tcp_checksum_ok(const uint8_t* pkt, size_t len, size_t iph, bool v6) {
  size_t alen = v6 ? 16 : 4;
  const uint8_t* src = pkt + (v6 ? 8 : 12);
  uint64_t s = pseudo_header_sum(src, src + alen, alen, 6, static_cast<uint32_t>(len - iph));
  return csum_fold(csum_add(pkt + iph, len - iph, s)) == 0xffff;
}

bool complete_checksum(std::span<uint8_t> pkt, const VnetHdr& h) {
  if (!(h.flags & VnetHdr::kNeedsCsum)) return true;
  size_t at = size_t{h.csum_start} + h.csum_offset;
  if (at + 2 > pkt.size() || h.csum_start >= pkt.size()) return false;
  // The field already holds the pseudo-header sum: summing over it completes the checksum.
  uint16_t c = static_cast<uint16_t>(
      ~csum_fold(csum_add(pkt.data() + h.csum_start, pkt.size() - h.csum_start, 0)));
  pkt[at] = static_cast<uint8_t>(c >> 8);
  pkt[at + 1] = static_cast<uint8_t>(c);
  return true;
}

bool TcpCoalescer::candidate(const uint8_t* p, size_t len, Info& i) {
  if (len < 40 || len > 65535) return false;
  if (p[0] == 0x45) {  // IPv4 without options
    if (p[9] != 6) return false;
    if (((size_t{p[2]} << 8) | p[3]) != len) return false;
    if ((p[6] & 0x20) || (p[6] & 0x1f) || p[7]) return false;  // MF or a fragment offset
    i.v6 = false;
    i.iph = 20;
  } else if ((p[0] >> 4) == 6) {  // IPv6 without extension headers
    if (len < 60 || p[6] != 6) return false;
    if (((size_t{p[4]} << 8) | p[5]) + 40 != len) return false;
    i.v6 = true;
    i.iph = 40;
  } else {
    return false;
  }
  i.tcph = static_cast<size_t>(p[i.iph + 12] >> 4) * 4;
  if (i.tcph < 20 || i.iph + i.tcph >= len) return false;  // no payload: not merged
  i.flags = p[i.iph + 13];
  if (i.flags != 0x10 && i.flags != 0x18) return false;  // ACK, or ACK|PSH
  i.seq = (uint32_t{p[i.iph + 4]} << 24) | (uint32_t{p[i.iph + 5]} << 16) |
          (uint32_t{p[i.iph + 6]} << 8) | p[i.iph + 7];
  return tcp_checksum_ok(p, len, i.iph, i.v6);
}

bool TcpCoalescer::joins(const uint8_t* p, size_t len, const Info& i) const {
  if (closed_ || count_ >= 64) return false;
  if (i.v6 != head_.v6 || i.iph != head_.iph || i.tcph != head_.tcph) return false;
  size_t payload = len - i.iph - i.tcph;
  if (payload > gso_size_ || i.seq != next_seq_) return false;
  size_t cur = count_ == 1 ? first_len_ : len_;
  if (cur + payload > buf_.size() - VnetHdr::kSize || cur + payload > 65535) return false;
  const uint8_t* h = count_ == 1 ? first_ : buf_.data() + VnetHdr::kSize;
  if (i.v6) {
    if (std::memcmp(h, p, 4) != 0 || h[7] != p[7] || std::memcmp(h + 8, p + 8, 32) != 0)
      return false;
  } else {
    if (h[1] != p[1] || (h[6] & 0x40) != (p[6] & 0x40) || h[8] != p[8] ||
        std::memcmp(h + 12, p + 12, 8) != 0)
      return false;
  }
  const uint8_t* ht = h + head_.iph;
  const uint8_t* pt = p + i.iph;
  return std::memcmp(ht, pt, 4) == 0 &&                        // ports
         std::memcmp(ht + 8, pt + 8, 4) == 0 &&                // acknowledgment number
         std::memcmp(ht + 20, pt + 20, head_.tcph - 20) == 0;  // options
}

}  // namespace ferry::tunnel
