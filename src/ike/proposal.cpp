// Proposal strings, SA payload proposals and the responder's selection (RFC 7296 §3.3, §2.7).
#include "ike/proposal.hpp"

#include <sstream>

namespace ferry::ike {
namespace {

struct Token {
  const char* name;
  uint8_t type;
  uint16_t id;
  uint16_t key_bits;
};

// strongSwan's names for the algorithms ferry implements.
constexpr Token kTokens[] = {
    {"aes128", kEncr, kEncrAesCbc, 128},
    {"aes256", kEncr, kEncrAesCbc, 256},
    {"aes128gcm16", kEncr, kEncrAesGcm16, 128},
    {"aes128gcm128", kEncr, kEncrAesGcm16, 128},
    {"aes256gcm16", kEncr, kEncrAesGcm16, 256},
    {"aes256gcm128", kEncr, kEncrAesGcm16, 256},
    {"sha256", kInteg, kIntegHmacSha256_128, 0},
    {"sha2_256", kInteg, kIntegHmacSha256_128, 0},
    {"sha384", kInteg, kIntegHmacSha384_192, 0},
    {"sha2_384", kInteg, kIntegHmacSha384_192, 0},
    {"sha512", kInteg, kIntegHmacSha512_256, 0},
    {"sha2_512", kInteg, kIntegHmacSha512_256, 0},
    {"prfsha256", kPrf, kPrfHmacSha256, 0},
    {"prfsha384", kPrf, kPrfHmacSha384, 0},
    {"prfsha512", kPrf, kPrfHmacSha512, 0},
    {"modp2048", kDh, kModp2048, 0},
    {"ecp256", kDh, kEcp256, 0},
    {"ecp384", kDh, kEcp384, 0},
    {"curve25519", kDh, kCurve25519, 0},
    {"x25519", kDh, kCurve25519, 0},
    {"esn", kEsn, 1, 0},
    {"noesn", kEsn, 0, 0},
};

uint16_t prf_for_integ(uint16_t integ) {
  switch (integ) {
    case kIntegHmacSha256_128:
      return kPrfHmacSha256;
    case kIntegHmacSha384_192:
      return kPrfHmacSha384;
    case kIntegHmacSha512_256:
      return kPrfHmacSha512;
  }
  return 0;
}

bool offers(const Proposal& p, uint8_t type, uint16_t id, uint16_t key_bits) {
  for (const auto& t : p.transforms)
    if (t.type == type && t.id == id && t.key_bits == key_bits) return true;
  return false;
}
bool has_type(const Proposal& p, uint8_t type) {
  for (const auto& t : p.transforms)
    if (t.type == type && !(type == kDh && t.id == 0)) return true;
  return false;
}

// Whether `p` (from the peer) can be answered with exactly `s`.
bool matches(const Proposal& p, const Suite& s, uint8_t protocol, bool ignore_dh) {
  if (p.protocol != protocol) return false;
  if (!offers(p, kEncr, s.encr, s.key_bits)) return false;
  if (protocol == kProtoIke && !offers(p, kPrf, s.prf, 0)) return false;
  if (!s.aead() && !offers(p, kInteg, s.integ, 0)) return false;
  if (!ignore_dh) {
    if (s.dh ? !offers(p, kDh, s.dh, 0) : has_type(p, kDh)) return false;
  }
  if (protocol == kProtoEsp) {
    // §3.3.2: ESN is mandatory in ESP proposals; tolerate its absence as "no ESN".
    bool any_esn = false;
    for (const auto& t : p.transforms) any_esn |= t.type == kEsn;
    if (any_esn && !offers(p, kEsn, s.esn ? 1 : 0, 0)) return false;
  }
  return true;
}

}  // namespace

Result<Suite> parse_proposal(const std::string& str, uint8_t protocol) {
  Suite s;
  bool have_esn = false;
  std::stringstream in(str);
  std::string tok;
  while (std::getline(in, tok, '-')) {
    const Token* found = nullptr;
    for (const auto& t : kTokens)
      if (tok == t.name) found = &t;
    if (!found) return make_error("unknown algorithm '" + tok + "' in proposal '" + str + "'");
    uint16_t* slot = nullptr;
    switch (found->type) {
      case kEncr:
        slot = &s.encr;
        s.key_bits = found->key_bits;
        break;
      case kInteg:
        slot = &s.integ;
        break;
      case kPrf:
        slot = &s.prf;
        break;
      case kDh:
        slot = &s.dh;
        break;
      case kEsn:
        if (protocol != kProtoEsp) return make_error("ESN in an IKE proposal '" + str + "'");
        if (have_esn) return make_error("two ESN settings in proposal '" + str + "'");
        have_esn = true;
        s.esn = found->id == 1;
        continue;
    }
    if (*slot != 0)
      return make_error("proposal '" + str + "' names two algorithms of one kind (one per kind)");
    *slot = found->id;
  }
  if (s.encr == 0) return make_error("proposal '" + str + "' has no encryption algorithm");
  if (s.aead() && s.integ != kIntegNone)
    return make_error("proposal '" + str + "' combines AES-GCM with an integrity algorithm");
  if (!s.aead() && s.integ == kIntegNone)
    return make_error("proposal '" + str + "' has no integrity algorithm");
  if (protocol == kProtoIke) {
    if (s.prf == 0) s.prf = prf_for_integ(s.integ);
    if (s.prf == 0) return make_error("IKE proposal '" + str + "' has no PRF (add e.g. prfsha256)");
    if (s.dh == 0) return make_error("IKE proposal '" + str + "' has no DH group");
  } else if (s.prf != 0) {
    return make_error("ESP proposal '" + str + "' names a PRF");
  }
  return s;
}

Result<std::vector<Suite>> parse_proposals(const std::vector<std::string>& ss, uint8_t protocol) {
  std::vector<Suite> out;
  for (const auto& s : ss) {
    auto p = parse_proposal(s, protocol);
    if (!p) return make_error(p.error());
    out.push_back(*p);
  }
  if (out.empty()) return make_error("no proposals configured");
  return out;
}

Proposal to_proposal(const Suite& s, uint8_t protocol, uint8_t num, Bytes spi, bool with_dh) {
  Proposal p;
  p.num = num;
  p.protocol = protocol;
  p.spi = std::move(spi);
  p.transforms.push_back({kEncr, s.encr, s.key_bits});
  if (protocol == kProtoIke) p.transforms.push_back({kPrf, s.prf, 0});
  if (!s.aead()) p.transforms.push_back({kInteg, s.integ, 0});
  if (with_dh && s.dh) p.transforms.push_back({kDh, s.dh, 0});
  if (protocol == kProtoEsp) p.transforms.push_back({kEsn, static_cast<uint16_t>(s.esn), 0});
  return p;
}

std::vector<Proposal> to_proposals(const std::vector<Suite>& ss, uint8_t protocol, const Bytes& spi,
                                   bool with_dh) {
  std::vector<Proposal> out;
  for (size_t i = 0; i < ss.size() && i < 255; ++i)
    out.push_back(to_proposal(ss[i], protocol, static_cast<uint8_t>(i + 1), spi, with_dh));
  return out;
}

std::optional<Selected> select_proposal(const std::vector<Proposal>& offered,
                                        const std::vector<Suite>& ours, uint8_t protocol,
                                        bool ignore_dh) {
  size_t want_spi = protocol == kProtoEsp ? 4 : 0;
  for (const auto& p : offered) {
    if (p.protocol == kProtoIke && protocol == kProtoIke && p.spi.size() != 0 && p.spi.size() != 8)
      continue;
    if (protocol == kProtoEsp && p.spi.size() != want_spi) continue;
    for (const auto& s : ours) {
      if (!matches(p, s, protocol, ignore_dh)) continue;
      Suite chosen = s;
      if (ignore_dh) chosen.dh = 0;
      Selected sel{chosen, to_proposal(chosen, protocol, p.num, {}, !ignore_dh), p.spi};
      return sel;
    }
  }
  return std::nullopt;
}

std::optional<Suite> accept_answer(const std::vector<Proposal>& answer,
                                   const std::vector<Suite>& ours, uint8_t protocol,
                                   bool ignore_dh) {
  if (answer.size() != 1) return std::nullopt;
  const Proposal& p = answer.front();
  // §2.7: one transform per type, no more.
  int count[6] = {};
  for (const auto& t : p.transforms)
    if (t.type >= 1 && t.type <= 5) ++count[t.type];
  for (int c : count)
    if (c > 1) return std::nullopt;
  for (const auto& s : ours) {
    if (!matches(p, s, protocol, ignore_dh)) continue;
    Suite chosen = s;
    if (ignore_dh) chosen.dh = 0;
    return chosen;
  }
  return std::nullopt;
}

}  // namespace ferry::ike
