// IKEv2 message codec (RFC 7296 §3): the fixed header, the generic payload
// chain and the typed payload bodies. Pure functions over bytes; the SK
// payload's encryption lives in crypto.hpp, which calls back into
// decode_chain() for the decrypted inner payloads.
//
// Every decoder reads through the bounded ByteReader (common/bytes.hpp) and
// returns an error naming the field on a short or inconsistent buffer, so a
// hostile datagram is dropped and counted by the engine, never trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/ip.hpp"
#include "common/result.hpp"

namespace ferry::ike {

using Bytes = std::vector<uint8_t>;

// RFC 7296 §3.1 exchange types.
enum Exchange : uint8_t {
  kIkeSaInit = 34,
  kIkeAuth = 35,
  kCreateChildSa = 36,
  kInformational = 37,
};

// RFC 7296 §3.1 flags.
inline constexpr uint8_t kFlagInitiator = 0x08;
inline constexpr uint8_t kFlagVersion = 0x10;
inline constexpr uint8_t kFlagResponse = 0x20;

// RFC 7296 §3.2 payload types (SKF: RFC 7383 §2.5).
enum PayloadType : uint8_t {
  kPayloadNone = 0,
  kPayloadSa = 33,
  kPayloadKe = 34,
  kPayloadIdi = 35,
  kPayloadIdr = 36,
  kPayloadCert = 37,
  kPayloadCertReq = 38,
  kPayloadAuth = 39,
  kPayloadNonce = 40,
  kPayloadNotify = 41,
  kPayloadDelete = 42,
  kPayloadVendor = 43,
  kPayloadTsi = 44,
  kPayloadTsr = 45,
  kPayloadSk = 46,
  kPayloadCp = 47,
  kPayloadEap = 48,
  kPayloadSkf = 53,
};

// RFC 7296 §3.10.1 notify message types used here.
enum NotifyType : uint16_t {
  kUnsupportedCriticalPayload = 1,
  kInvalidIkeSpi = 4,
  kInvalidMajorVersion = 5,
  kInvalidSyntax = 7,
  kInvalidMessageId = 9,
  kInvalidSpi = 11,
  kNoProposalChosen = 14,
  kInvalidKePayload = 17,
  kAuthenticationFailed = 24,
  kSinglePairRequired = 34,
  kNoAdditionalSas = 35,
  kTsUnacceptable = 38,
  kTemporaryFailure = 43,
  kChildSaNotFound = 44,
  kInitialContact = 16384,
  kNatDetectionSourceIp = 16388,
  kNatDetectionDestinationIp = 16389,
  kCookie = 16390,
  kUseTransportMode = 16391,
  kRekeySa = 16393,
  kEspTfcPaddingNotSupported = 16394,
  kIkev2FragmentationSupported = 16430,  // RFC 7383 §2.3
  kSignatureHashAlgorithms = 16431,      // RFC 7427 §4
};

// RFC 7296 §3.3.1 protocol IDs.
enum ProtocolId : uint8_t { kProtoIke = 1, kProtoAh = 2, kProtoEsp = 3 };

// RFC 7296 §3.1: the 28-octet IKE header.
struct Header {
  uint64_t spi_i = 0;      // Initiator's SPI
  uint64_t spi_r = 0;      // Responder's SPI (zero in the first IKE_SA_INIT request)
  uint8_t next = 0;        // Next Payload
  uint8_t version = 0x20;  // Major 2, Minor 0
  uint8_t exchange = 0;
  uint8_t flags = 0;
  uint32_t msg_id = 0;
  uint32_t length = 0;  // whole message including header
  bool is_response() const { return flags & kFlagResponse; }
  bool from_initiator() const { return flags & kFlagInitiator; }
};
inline constexpr size_t kHeaderLen = 28;

// One payload of the generic chain (RFC 7296 §3.2), body without the 4-octet generic header.
struct Payload {
  uint8_t type = 0;
  bool critical = false;
  Bytes body;
};

// A decoded datagram. The SK/SKF payload is always the last one (RFC 7296 §3.14); its
// inner chain stays encrypted here, and `sk_offset` is where its generic header starts.
struct Message {
  Header hdr;
  std::vector<Payload> payloads;  // outside SK
  std::optional<size_t> sk_offset;
  uint8_t sk_type = 0;   // kPayloadSk or kPayloadSkf
  uint8_t sk_first = 0;  // Next Payload of the SK payload: type of the first inner payload
};

Result<Header> decode_header(ByteReader& r);
void encode_header(const Header& h, ByteWriter& w);
// Decodes the header and the cleartext chain; rejects wrong versions and lengths.
Result<Message> decode_message(std::span<const uint8_t> msg);
// Decodes a payload chain starting with type `first` (inner SK payloads use this too).
// An unknown payload with the critical bit set fails (RFC 7296 §2.5); others are kept.
Result<std::vector<Payload>> decode_chain(uint8_t first, std::span<const uint8_t> data);
// Writes the chain's payloads with their Next Payload fields; returns the first's type.
uint8_t encode_chain(const std::vector<Payload>& ps, ByteWriter& w);
// A whole cleartext message (IKE_SA_INIT); patches Next Payload and Length in `h`.
Bytes encode_message(Header h, const std::vector<Payload>& ps);

// ---- typed payload bodies -------------------------------------------------

// RFC 7296 §3.3.2 transform types and §3.3.5 the Key Length attribute.
enum TransformType : uint8_t { kEncr = 1, kPrf = 2, kInteg = 3, kDh = 4, kEsn = 5 };
inline constexpr uint16_t kAttrKeyLength = 14;

struct Transform {
  uint8_t type = 0;
  uint16_t id = 0;
  uint16_t key_bits = 0;  // Key Length attribute; 0 = absent
  bool operator==(const Transform&) const = default;
};
struct Proposal {
  uint8_t num = 1;
  uint8_t protocol = kProtoIke;
  Bytes spi;  // 0 (IKE_SA_INIT), 4 (ESP) or 8 (IKE rekey) octets
  std::vector<Transform> transforms;
};
Result<std::vector<Proposal>> decode_sa(std::span<const uint8_t> body);
Bytes encode_sa(const std::vector<Proposal>& ps);

struct KePayload {  // RFC 7296 §3.4
  uint16_t group = 0;
  Bytes data;
};
Result<KePayload> decode_ke(std::span<const uint8_t> body);
Bytes encode_ke(const KePayload& k);

// RFC 7296 §3.5 ID types.
enum IdType : uint8_t { kIdIpv4 = 1, kIdFqdn = 2, kIdRfc822 = 3, kIdIpv6 = 5, kIdDerAsn1Dn = 9 };
struct IdPayload {
  uint8_t type = 0;
  Bytes data;
};
Result<IdPayload> decode_id(std::span<const uint8_t> body);
Bytes encode_id(const IdPayload& id);
// "192.0.2.1", "2001:db8::1" -> address IDs; anything else is an FQDN (RFC 7296 §3.5).
IdPayload id_from_string(const std::string& s);
std::string id_to_string(const IdPayload& id);

// RFC 7296 §3.8 authentication methods, RFC 7427 §3 digital signature.
enum AuthMethod : uint8_t { kAuthRsa = 1, kAuthPsk = 2, kAuthDigitalSignature = 14 };
struct AuthPayload {
  uint8_t method = 0;
  Bytes data;
};
Result<AuthPayload> decode_auth(std::span<const uint8_t> body);
Bytes encode_auth(const AuthPayload& a);

// CERT (§3.6) and CERTREQ (§3.7): encoding + data.
inline constexpr uint8_t kCertX509Signature = 4;
struct CertPayload {
  uint8_t encoding = kCertX509Signature;
  Bytes data;
};
Result<CertPayload> decode_cert(std::span<const uint8_t> body);
Bytes encode_cert(const CertPayload& c);

struct Notify {  // RFC 7296 §3.10
  uint8_t protocol = 0;
  Bytes spi;
  uint16_t type = 0;
  Bytes data;
};
Result<Notify> decode_notify(std::span<const uint8_t> body);
Bytes encode_notify(const Notify& n);

struct DeletePayload {  // RFC 7296 §3.11
  uint8_t protocol = kProtoIke;
  uint8_t spi_size = 0;
  std::vector<Bytes> spis;
};
Result<DeletePayload> decode_delete(std::span<const uint8_t> body);
Bytes encode_delete(const DeletePayload& d);

// RFC 7296 §3.13.1 traffic selector types.
inline constexpr uint8_t kTsIpv4Range = 7;
inline constexpr uint8_t kTsIpv6Range = 8;
struct TrafficSelector {
  uint8_t ip_proto = 0;  // 0 = any
  uint16_t start_port = 0, end_port = 65535;
  IpAddress start, end;  // same family; the family gives the TS type
  bool operator==(const TrafficSelector&) const = default;
};
Result<std::vector<TrafficSelector>> decode_ts(std::span<const uint8_t> body);
Bytes encode_ts(const std::vector<TrafficSelector>& ts);
// 0.0.0.0-255.255.255.255 and ::-ffff:...:ffff, all protocols and ports (route-based).
std::vector<TrafficSelector> ts_any();

// RFC 7383 §2.5: the SKF payload's fragment header, in front of IV/ciphertext/ICV.
struct FragmentHeader {
  uint16_t number = 0, total = 0;
};
Result<FragmentHeader> decode_fragment_header(std::span<const uint8_t> body);

}  // namespace ferry::ike
