// TUN offloads (IFF_VNET_HDR + TUNSETOFFLOAD TSO4/TSO6/CSUM): every TUN read
// and write carries a 10-byte virtio_net_hdr (include/uapi/linux/virtio_net.h,
// host byte order since the TUN is not switched to big-endian).
//
// Outbound: the kernel hands us one TCP "super-packet" of up to 64 KiB per read
// (gso_type TCPV4/TCPV6, gso_size = MSS) with a partial checksum; gso_split()
// cuts it into MSS-sized IP packets with their own IP length/ID/header checksum,
// TCP sequence number, flags and full TCP checksum, written straight into the
// data path's transmit slots. A non-GSO packet with NEEDS_CSUM only gets its
// checksum completed (complete_checksum).
//
// Inbound: TcpCoalescer merges consecutive decrypted TCP segments of one flow
// (same addresses, ports, ACK, options, IP fields; contiguous sequence numbers;
// plain ACK, PSH only on the last) into one super-packet with a GSO header, so
// the kernel's TCP stack runs once per 64 KiB instead of once per packet. Each
// segment's TCP checksum is verified before it is merged (the kernel will not
// re-check a CHECKSUM_PARTIAL packet), as wireguard-go does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace ferry::tunnel {

struct VnetHdr {
  static constexpr size_t kSize = 10;
  static constexpr uint8_t kNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoTcpV6 = 4;
  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;

  static VnetHdr read(const uint8_t* p) {
    VnetHdr h;
    h.flags = p[0];
    h.gso_type = p[1];
    std::memcpy(&h.hdr_len, p + 2, 2);
    std::memcpy(&h.gso_size, p + 4, 2);
    std::memcpy(&h.csum_start, p + 6, 2);
    std::memcpy(&h.csum_offset, p + 8, 2);
    return h;
  }
  void write(uint8_t* p) const {
    p[0] = flags;
    p[1] = gso_type;
    std::memcpy(p + 2, &hdr_len, 2);
    std::memcpy(p + 4, &gso_size, 2);
    std::memcpy(p + 6, &csum_start, 2);
    std::memcpy(p + 8, &csum_offset, 2);
  }
};

// Internet checksum (RFC 1071): unfolded 16-bit big-endian word sum, fold, complement.
uint64_t csum_add(const uint8_t* p, size_t n, uint64_t sum);
uint16_t csum_fold(uint64_t sum);  // folded, NOT complemented
// Pseudo-header (RFC 793 §3.1 / RFC 8200 §8.1) sum for TCP over addresses of `alen` bytes.
uint64_t pseudo_header_sum(const uint8_t* src, const uint8_t* dst, size_t alen, uint8_t proto,
                           uint32_t l4_len);
// True if the TCP checksum of a complete IPv4/IPv6 packet (header length iph) is valid.
bool tcp_checksum_ok(const uint8_t* pkt, size_t len, size_t iph, bool v6);

// Completes a NEEDS_CSUM packet in place (checksum field seeded with the pseudo-header sum).
bool complete_checksum(std::span<uint8_t> pkt, const VnetHdr& h);

// Splits a GSO TCP packet. For each segment, out(seg_len) must return a buffer of at
// least seg_len bytes (or nullptr to stop) and commit(seg_len) is called once it is
// filled. Returns the number of segments, or -1 for a malformed header.
template <typename Out, typename Commit>
int gso_split(std::span<uint8_t> in, const VnetHdr& h, Out&& out, Commit&& commit);

class TcpCoalescer {
 public:
  // `write` receives a buffer that starts with VnetHdr::kSize writable header bytes.
  explicit TcpCoalescer(size_t max_bytes = 65535) : buf_(VnetHdr::kSize + max_bytes) {}

  // Offers one IP packet that has at least VnetHdr::kSize writable bytes before it.
  // Packets that cannot join the current group flush it first. Order is preserved.
  template <typename Write>
  void add(uint8_t* pkt, size_t len, Write&& write);
  // Writes out the pending group (end of a batch).
  template <typename Write>
  void flush(Write&& write);
  uint64_t merged() const { return merged_; }

 private:
  struct Info {
    bool v6 = false;
    size_t iph = 0, tcph = 0;
    uint32_t seq = 0;
    uint8_t flags = 0;
  };
  static bool candidate(const uint8_t* p, size_t len, Info& i);
  bool joins(const uint8_t* p, size_t len, const Info& i) const;

  std::vector<uint8_t> buf_;  // header room + merged packet (used when count_ > 1)
  uint8_t* first_ = nullptr;  // the group's first packet while count_ == 1
  size_t first_len_ = 0;
  size_t len_ = 0;  // merged packet length in buf_ (count_ > 1)
  size_t count_ = 0;
  Info head_;
  uint32_t next_seq_ = 0;
  size_t gso_size_ = 0;
  bool closed_ = false;  // last segment was shorter or had PSH: nothing may follow
  uint64_t merged_ = 0;
};

// ---------------------------------------------------------------- templates

template <typename Out, typename Commit>
int gso_split(std::span<uint8_t> in, const VnetHdr& h, Out&& out, Commit&& commit) {
  const bool v4 = h.gso_type == VnetHdr::kGsoTcpV4;
  const size_t iph = h.csum_start, hdr = h.hdr_len;
  if ((!v4 && h.gso_type != VnetHdr::kGsoTcpV6) || h.gso_size == 0 || iph < 20 || hdr < iph + 20 ||
      hdr > in.size() || h.csum_offset != 16)
    return -1;
  const size_t alen = v4 ? 4 : 16;
  const uint8_t* src = in.data() + (v4 ? 12 : 8);
  uint32_t seq0 = (uint32_t{in[iph + 4]} << 24) | (uint32_t{in[iph + 5]} << 16) |
                  (uint32_t{in[iph + 6]} << 8) | in[iph + 7];
  uint16_t id0 = static_cast<uint16_t>((in[4] << 8) | in[5]);
  int n = 0;
  for (size_t at = hdr; at < in.size(); at += h.gso_size, ++n) {
    size_t plen = std::min<size_t>(h.gso_size, in.size() - at);
    size_t total = hdr + plen;
    uint8_t* o = out(total);
    if (o == nullptr) return n;
    std::memcpy(o, in.data(), hdr);
    std::memcpy(o + hdr, in.data() + at, plen);
    if (v4) {  // RFC 791 §3.1: total length, identification, header checksum
      o[2] = static_cast<uint8_t>(total >> 8);
      o[3] = static_cast<uint8_t>(total);
      uint16_t id = static_cast<uint16_t>(id0 + n);
      o[4] = static_cast<uint8_t>(id >> 8);
      o[5] = static_cast<uint8_t>(id);
      o[10] = o[11] = 0;
      uint16_t c = static_cast<uint16_t>(~csum_fold(csum_add(o, iph, 0)));
      o[10] = static_cast<uint8_t>(c >> 8);
      o[11] = static_cast<uint8_t>(c);
    } else {  // RFC 8200 §3: payload length
      o[4] = static_cast<uint8_t>((total - 40) >> 8);
      o[5] = static_cast<uint8_t>(total - 40);
    }
    uint32_t seq = seq0 + static_cast<uint32_t>(n) * h.gso_size;  // RFC 793 §3.1
    o[iph + 4] = static_cast<uint8_t>(seq >> 24);
    o[iph + 5] = static_cast<uint8_t>(seq >> 16);
    o[iph + 6] = static_cast<uint8_t>(seq >> 8);
    o[iph + 7] = static_cast<uint8_t>(seq);
    if (at + plen < in.size()) o[iph + 13] &= static_cast<uint8_t>(~0x09);  // FIN|PSH: last only
    if (n > 0) o[iph + 13] &= static_cast<uint8_t>(~0x80);                  // CWR: first only
    o[iph + 16] = o[iph + 17] = 0;
    uint64_t s = pseudo_header_sum(src, src + alen, alen, 6, static_cast<uint32_t>(total - iph));
    uint16_t c = static_cast<uint16_t>(~csum_fold(csum_add(o + iph, total - iph, s)));
    o[iph + 16] = static_cast<uint8_t>(c >> 8);
    o[iph + 17] = static_cast<uint8_t>(c);
    commit(total);
  }
  return n;
}

template <typename Write>
void TcpCoalescer::flush(Write&& write) {
  if (count_ == 1) {
    VnetHdr{}.write(first_ - VnetHdr::kSize);
    write(first_ - VnetHdr::kSize, first_len_ + VnetHdr::kSize);
  } else if (count_ > 1) {
    uint8_t* p = buf_.data() + VnetHdr::kSize;
    const size_t iph = head_.iph;
    VnetHdr h;
    h.flags = VnetHdr::kNeedsCsum;
    h.gso_type = head_.v6 ? VnetHdr::kGsoTcpV6 : VnetHdr::kGsoTcpV4;
    h.hdr_len = static_cast<uint16_t>(iph + head_.tcph);
    h.gso_size = static_cast<uint16_t>(gso_size_);
    h.csum_start = static_cast<uint16_t>(iph);
    h.csum_offset = 16;
    h.write(buf_.data());
    if (head_.v6) {
      p[4] = static_cast<uint8_t>((len_ - 40) >> 8);
      p[5] = static_cast<uint8_t>(len_ - 40);
    } else {
      p[2] = static_cast<uint8_t>(len_ >> 8);
      p[3] = static_cast<uint8_t>(len_);
      p[10] = p[11] = 0;
      uint16_t c = static_cast<uint16_t>(~csum_fold(csum_add(p, iph, 0)));
      p[10] = static_cast<uint8_t>(c >> 8);
      p[11] = static_cast<uint8_t>(c);
    }
    // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, not complemented.
    size_t alen = head_.v6 ? 16 : 4;
    const uint8_t* src = p + (head_.v6 ? 8 : 12);
    uint16_t ps =
        csum_fold(pseudo_header_sum(src, src + alen, alen, 6, static_cast<uint32_t>(len_ - iph)));
    p[iph + 16] = static_cast<uint8_t>(ps >> 8);
    p[iph + 17] = static_cast<uint8_t>(ps);
    write(buf_.data(), len_ + VnetHdr::kSize);
    merged_ += count_;
  }
  count_ = 0;
  first_ = nullptr;
  closed_ = false;
}

template <typename Write>
void TcpCoalescer::add(uint8_t* pkt, size_t len, Write&& write) {
  Info i;
  bool cand = candidate(pkt, len, i);
  if (count_ > 0 && cand && joins(pkt, len, i)) {
    size_t payload = len - i.iph - i.tcph;
    if (count_ == 1) {  // start the merged copy
      std::memcpy(buf_.data() + VnetHdr::kSize, first_, first_len_);
      len_ = first_len_;
    }
    std::memcpy(buf_.data() + VnetHdr::kSize + len_, pkt + i.iph + i.tcph, payload);
    len_ += payload;
    ++count_;
    next_seq_ += static_cast<uint32_t>(payload);
    if (i.flags & 0x08) buf_[VnetHdr::kSize + head_.iph + 13] |= 0x08;  // keep PSH
    closed_ = payload < gso_size_ || (i.flags & 0x08);
    return;
  }
  flush(write);
  if (!cand) {
    VnetHdr{}.write(pkt - VnetHdr::kSize);
    write(pkt - VnetHdr::kSize, len + VnetHdr::kSize);
    return;
  }
  first_ = pkt;
  first_len_ = len;
  count_ = 1;
  head_ = i;
  gso_size_ = len - i.iph - i.tcph;
  next_seq_ = i.seq + static_cast<uint32_t>(gso_size_);
  closed_ = (i.flags & 0x08) != 0;
}

}  // namespace ferry::tunnel
