// IKEv2 shared-key authentication (RFC 7296 §2.15).
#include "ike/auth.hpp"

#include <openssl/crypto.h>

#include <string_view>

namespace ferry::ike {

Bytes signed_octets(uint16_t prf_id, std::span<const uint8_t> real_message,
                    std::span<const uint8_t> peer_nonce, std::span<const uint8_t> sk_p,
                    std::span<const uint8_t> id_body) {
  Bytes out(real_message.begin(), real_message.end());
  out.insert(out.end(), peer_nonce.begin(), peer_nonce.end());
  Bytes maced = prf(prf_id, sk_p, id_body);  // MACedIDFor{I,R}
  out.insert(out.end(), maced.begin(), maced.end());
  return out;
}

Bytes psk_auth(uint16_t prf_id, std::span<const uint8_t> psk, std::span<const uint8_t> octets) {
  static constexpr std::string_view kPad = "Key Pad for IKEv2";  // §2.15, 17 octets, no NUL
  Bytes key = prf(prf_id, psk, {reinterpret_cast<const uint8_t*>(kPad.data()), kPad.size()});
  return prf(prf_id, key, octets);
}

bool auth_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ferry::ike
