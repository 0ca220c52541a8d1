// Typed IKEv2 payload bodies (RFC 7296 §3.3-§3.13). Each decoder consumes
// the whole body and rejects trailing or missing octets.
#include <algorithm>

#include "ike/message.hpp"

namespace ferry::ike {
namespace {

Bytes to_bytes(std::span<const uint8_t> s) {
  return Bytes(s.begin(), s.end());
}

Result<std::vector<Transform>> decode_transforms(ByteReader& r, uint8_t count) {
  std::vector<Transform> out;
  for (uint8_t i = 0; i < count; ++i) {
    // §3.3.2 Transform Substructure.
    auto last = r.u8();  // Last Substruc: 0 (last) or 3 (more)
    r.u8();              // RESERVED
    auto len = r.u16();  // Transform Length
    if (!len || *len < 8) return make_error("short transform substructure");
    auto body = r.sub(*len - 4u);
    if (!body) return make_error("transform length past the proposal");
    bool is_last = i + 1 == count;
    if (*last != (is_last ? 0 : 3)) return make_error("transform Last Substruc inconsistent");
    Transform t;
    auto type = body->u8();  // Transform Type
    body->u8();              // RESERVED
    auto id = body->u16();   // Transform ID
    if (!id) return make_error("short transform");
    t.type = *type;
    t.id = *id;
    while (!body->empty()) {
      // §3.3.5 Transform Attributes: AF bit + type, then TV value or TLV length + value.
      auto at = body->u16();
      auto val = body->u16();
      if (!val) return make_error("short transform attribute");
      if (*at & 0x8000) {
        if ((*at & 0x7fff) == kAttrKeyLength) t.key_bits = *val;
      } else {
        if (!body->skip(*val)) return make_error("transform attribute past the transform");
      }
    }
    out.push_back(t);
  }
  return out;
}

}  // namespace

Result<std::vector<Proposal>> decode_sa(std::span<const uint8_t> body) {
  std::vector<Proposal> out;
  ByteReader r(body);
  while (!r.empty()) {
    // §3.3.1 Proposal Substructure.
    auto last = r.u8();  // Last Substruc: 0 (last) or 2 (more)
    r.u8();              // RESERVED
    auto len = r.u16();  // Proposal Length
    if (!len || *len < 8) return make_error("short proposal substructure");
    auto p = r.sub(*len - 4u);
    if (!p) return make_error("proposal length past the SA payload");
    Proposal prop;
    auto num = p->u8();       // Proposal Num
    auto proto = p->u8();     // Protocol ID
    auto spi_size = p->u8();  // SPI Size
    auto ntrans = p->u8();    // Num Transforms
    if (!ntrans) return make_error("short proposal");
    auto spi = p->bytes(*spi_size);
    if (!spi) return make_error("proposal SPI past the proposal");
    prop.num = *num;
    prop.protocol = *proto;
    prop.spi = to_bytes(*spi);
    auto ts = decode_transforms(*p, *ntrans);
    if (!ts) return make_error(ts.error());
    if (!p->empty()) return make_error("bytes after the last transform");
    prop.transforms = std::move(*ts);
    out.push_back(std::move(prop));
    if (*last == 0) break;
    if (*last != 2) return make_error("proposal Last Substruc is neither 0 nor 2");
  }
  if (!r.empty()) return make_error("bytes after the last proposal");
  if (out.empty()) return make_error("SA payload without proposals");
  return out;
}

Bytes encode_sa(const std::vector<Proposal>& ps) {
  Bytes out;
  ByteWriter w(out);
  for (size_t i = 0; i < ps.size(); ++i) {
    const Proposal& p = ps[i];
    w.u8(i + 1 < ps.size() ? 2 : 0);  // §3.3.1 Last Substruc
    w.u8(0);
    size_t len_at = w.placeholder_u16();
    size_t start = w.size() - 4;
    w.u8(p.num);
    w.u8(p.protocol);
    w.u8(static_cast<uint8_t>(p.spi.size()));
    w.u8(static_cast<uint8_t>(p.transforms.size()));
    w.bytes(p.spi);
    for (size_t j = 0; j < p.transforms.size(); ++j) {
      const Transform& t = p.transforms[j];
      w.u8(j + 1 < p.transforms.size() ? 3 : 0);  // §3.3.2 Last Substruc
      w.u8(0);
      w.u16(t.key_bits ? 12 : 8);  // Transform Length
      w.u8(t.type);
      w.u8(0);
      w.u16(t.id);
      if (t.key_bits) {
        w.u16(0x8000 | kAttrKeyLength);  // §3.3.5 AF=1 (TV), Key Length
        w.u16(t.key_bits);
      }
    }
    w.patch_u16(len_at, static_cast<uint16_t>(w.size() - start));
  }
  return out;
}

Result<KePayload> decode_ke(std::span<const uint8_t> body) {
  ByteReader r(body);
  auto group = r.u16();  // §3.4 Diffie-Hellman Group Num
  auto res = r.u16();    // §3.4 RESERVED
  if (!res) return make_error("short KE payload");
  return KePayload{*group, to_bytes(r.rest())};
}

Bytes encode_ke(const KePayload& k) {
  Bytes out;
  ByteWriter w(out);
  w.u16(k.group);
  w.u16(0);
  w.bytes(k.data);
  return out;
}

Result<IdPayload> decode_id(std::span<const uint8_t> body) {
  ByteReader r(body);
  auto type = r.u8();                                              // §3.5 ID Type
  if (!type || !r.skip(3)) return make_error("short ID payload");  // RESERVED
  if (r.empty()) return make_error("empty identification data");
  return IdPayload{*type, to_bytes(r.rest())};
}

Bytes encode_id(const IdPayload& id) {
  Bytes out;
  ByteWriter w(out);
  w.u8(id.type);
  w.zeros(3);
  w.bytes(id.data);
  return out;
}

IdPayload id_from_string(const std::string& s) {
  if (auto a = IpAddress::parse(s)) {
    IdPayload id{a->is_v4() ? kIdIpv4 : kIdIpv6, {}};
    id.data.assign(a->bytes(), a->bytes() + a->byte_len());
    return id;
  }
  if (s.find('@') != std::string::npos) return IdPayload{kIdRfc822, Bytes(s.begin(), s.end())};
  return IdPayload{kIdFqdn, Bytes(s.begin(), s.end())};
}

std::string id_to_string(const IdPayload& id) {
  if (id.type == kIdIpv4 && id.data.size() == 4) return IpAddress::v4_bytes(id.data.data()).str();
  if (id.type == kIdIpv6 && id.data.size() == 16) return IpAddress::v6_bytes(id.data.data()).str();
  if (id.type == kIdFqdn || id.type == kIdRfc822) {
    std::string s(id.data.begin(), id.data.end());
    for (char& c : s)
      if (c < 0x20 || c > 0x7e) c = '?';  // printable for logs and show()
    return s;
  }
  return "id-type-" + std::to_string(id.type) + "(" + std::to_string(id.data.size()) + " octets)";
}

Result<AuthPayload> decode_auth(std::span<const uint8_t> body) {
  ByteReader r(body);
  auto method = r.u8();  // §3.8 Auth Method
  if (!method || !r.skip(3)) return make_error("short AUTH payload");
  return AuthPayload{*method, to_bytes(r.rest())};
}

Bytes encode_auth(const AuthPayload& a) {
  Bytes out;
  ByteWriter w(out);
  w.u8(a.method);
  w.zeros(3);
  w.bytes(a.data);
  return out;
}

Result<CertPayload> decode_cert(std::span<const uint8_t> body) {
  ByteReader r(body);
  auto enc = r.u8();  // §3.6 Cert Encoding / §3.7 Certificate Encoding
  if (!enc) return make_error("short CERT payload");
  return CertPayload{*enc, to_bytes(r.rest())};
}

Bytes encode_cert(const CertPayload& c) {
  Bytes out;
  ByteWriter w(out);
  w.u8(c.encoding);
  w.bytes(c.data);
  return out;
}

Result<Notify> decode_notify(std::span<const uint8_t> body) {
  ByteReader r(body);
  auto proto = r.u8();     // §3.10 Protocol ID
  auto spi_size = r.u8();  // §3.10 SPI Size
  auto type = r.u16();     // §3.10 Notify Message Type
  if (!type) return make_error("short Notify payload");
  auto spi = r.bytes(*spi_size);
  if (!spi) return make_error("Notify SPI past the payload");
  return Notify{*proto, to_bytes(*spi), *type, to_bytes(r.rest())};
}

Bytes encode_notify(const Notify& n) {
  Bytes out;
  ByteWriter w(out);
  w.u8(n.protocol);
  w.u8(static_cast<uint8_t>(n.spi.size()));
  w.u16(n.type);
  w.bytes(n.spi);
  w.bytes(n.data);
  return out;
}

Result<DeletePayload> decode_delete(std::span<const uint8_t> body) {
  ByteReader r(body);
  auto proto = r.u8();     // §3.11 Protocol ID
  auto spi_size = r.u8();  // §3.11 SPI Size
  auto n = r.u16();        // §3.11 Num of SPIs
  if (!n) return make_error("short Delete payload");
  DeletePayload d{*proto, *spi_size, {}};
  if (d.protocol == kProtoIke && (d.spi_size != 0 || *n != 0))
    return make_error("Delete of an IKE SA carries SPIs");
  for (uint16_t i = 0; i < *n; ++i) {
    auto spi = r.bytes(*spi_size);
    if (!spi) return make_error("Delete SPIs past the payload");
    d.spis.push_back(to_bytes(*spi));
  }
  if (!r.empty()) return make_error("bytes after the last SPI");
  return d;
}

Bytes encode_delete(const DeletePayload& d) {
  Bytes out;
  ByteWriter w(out);
  w.u8(d.protocol);
  w.u8(d.spi_size);
  w.u16(static_cast<uint16_t>(d.spis.size()));
  for (const auto& s : d.spis) w.bytes(s);
  return out;
}

Result<std::vector<TrafficSelector>> decode_ts(std::span<const uint8_t> body) {
  ByteReader r(body);
  auto n = r.u8();  // §3.13 Number of TSs
  if (!n || !r.skip(3)) return make_error("short TS payload");
  if (*n == 0) return make_error("TS payload without selectors");
  std::vector<TrafficSelector> out;
  for (uint8_t i = 0; i < *n; ++i) {
    // §3.13.1 Traffic Selector.
    auto type = r.u8();
    auto proto = r.u8();
    auto len = r.u16();
    if (!len) return make_error("short traffic selector");
    auto ts = r.sub(*len >= 4 ? *len - 4u : 0xffff);
    if (!ts) return make_error("bad traffic selector length");
    size_t alen;
    if (*type == kTsIpv4Range)
      alen = 4;
    else if (*type == kTsIpv6Range)
      alen = 16;
    else
      return make_error("unknown traffic selector type " + std::to_string(*type));
    if (ts->remaining() != 4 + 2 * alen) return make_error("traffic selector length for its type");
    TrafficSelector t;
    t.ip_proto = *proto;
    t.start_port = *ts->u16();
    t.end_port = *ts->u16();
    auto a = *ts->bytes(alen);
    auto b = *ts->bytes(alen);
    t.start = alen == 4 ? IpAddress::v4_bytes(a.data()) : IpAddress::v6_bytes(a.data());
    t.end = alen == 4 ? IpAddress::v4_bytes(b.data()) : IpAddress::v6_bytes(b.data());
    out.push_back(t);
  }
  if (!r.empty()) return make_error("bytes after the last traffic selector");
  return out;
}

Bytes encode_ts(const std::vector<TrafficSelector>& ts) {
  Bytes out;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(ts.size()));
  w.zeros(3);
  for (const auto& t : ts) {
    int alen = t.start.byte_len();
    w.u8(t.start.is_v4() ? kTsIpv4Range : kTsIpv6Range);
    w.u8(t.ip_proto);
    w.u16(static_cast<uint16_t>(8 + 2 * alen));
    w.u16(t.start_port);
    w.u16(t.end_port);
    w.bytes(t.start.bytes(), alen);
    w.bytes(t.end.bytes(), alen);
  }
  return out;
}

std::vector<TrafficSelector> ts_any() {
  uint8_t zero[16] = {}, ones[16];
  std::fill(std::begin(ones), std::end(ones), 0xff);
  TrafficSelector v4, v6;
  v4.start = IpAddress::v4_bytes(zero);
  v4.end = IpAddress::v4_bytes(ones);
  v6.start = IpAddress::v6_bytes(zero);
  v6.end = IpAddress::v6_bytes(ones);
  return {v4, v6};
}

}  // namespace ferry::ike
