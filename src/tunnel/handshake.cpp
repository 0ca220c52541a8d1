#include "tunnel/handshake.hpp"

#include <cstring>
#include <tuple>

namespace ferry::tunnel {
namespace {

// chaining_key = HASH(CONSTRUCTION); hash = HASH(chaining_key || IDENTIFIER)
// (wireguard.com/protocol "First Message"); both constant, computed once.
struct InitialState {
  Hash chaining_key;
  Hash hash;
  InitialState() {
    chaining_key = blake2s({as_bytes(kConstruction, sizeof(kConstruction) - 1)});
    hash = blake2s({chaining_key, as_bytes(kIdentifier, sizeof(kIdentifier) - 1)});
  }
};
const InitialState& initial() {
  static const InitialState s;
  return s;
}

// Key-sized view of a KDF output (both are 32 bytes).
Key as_key(const Hash& h) {
  Key k;
  std::memcpy(k.data(), h.data(), k.size());
  return k;
}

// Wipes a set of secret temporaries (std::arrays) on scope exit.
template <typename... Ts>
struct Wipe {
  explicit Wipe(Ts&... a) : refs(a...) {}
  ~Wipe() {
    std::apply([](auto&... a) { (secure_zero(a), ...); }, refs);
  }
  std::tuple<Ts&...> refs;
};

}  // namespace

const char* to_string(HandshakeError e) {
  switch (e) {
    case HandshakeError::None:
      return "ok";
    case HandshakeError::Decrypt:
      return "decryption failed";
    case HandshakeError::UnknownPeer:
      return "unknown peer";
    case HandshakeError::Replay:
      return "replayed timestamp";
    case HandshakeError::Flood:
      return "initiation flood";
    case HandshakeError::WrongState:
      return "unexpected message for handshake state";
    case HandshakeError::WrongIndex:
      return "unknown receiver index";
    case HandshakeError::BadKey:
      return "low-order public key";
  }
  return "?";
}

StaticIdentity StaticIdentity::from_private(const Key& private_key) {
  StaticIdentity id;
  id.private_key = private_key;
  id.public_key = ::ferry::tunnel::public_key(private_key);
  return id;
}

std::optional<OpenedInitiation> open_initiation(const StaticIdentity& local,
                                                const MessageInitiation& msg) {
  OpenedInitiation o;
  Hash key{};
  Key dh{};
  Wipe wipe(key, dh);
  // responder.hash = HASH(HASH(ck || IDENTIFIER) || responder.static_public)
  Hash hash = blake2s({initial().hash, local.public_key});
  Hash ck = initial().chaining_key;
  // hash = HASH(hash || msg.unencrypted_ephemeral); ck = KDF1(ck, msg.unencrypted_ephemeral)
  hash = blake2s({hash, msg.ephemeral});
  kdf1(ck, ck, msg.ephemeral);
  // (ck, key) = KDF2(ck, DH(responder.static_private, initiator.ephemeral))
  auto es = x25519(local.private_key, msg.ephemeral);
  if (!es) return std::nullopt;
  dh = *es;
  kdf2(ck, key, ck, dh);
  // initiator.static_public = AEAD-open(key, 0, msg.encrypted_static, hash)
  if (!aead_open(as_key(key), 0, msg.encrypted_static, hash, o.remote_static)) return std::nullopt;
  hash = blake2s({hash, msg.encrypted_static});
  o.remote_ephemeral = msg.ephemeral;
  o.sender_index = msg.sender_index;
  o.hash = hash;
  o.chaining_key = ck;
  o.encrypted_timestamp = msg.encrypted_timestamp;
  secure_zero(ck);
  return o;
}

Handshake::Handshake(const StaticIdentity& local, const Key& remote_static,
                     const Key& preshared_key)
    : local_(local), remote_static_(remote_static), psk_(preshared_key) {
  auto ss = x25519(local_.private_key, remote_static_);
  ss_ok_ = ss.has_value();
  if (ss) precomputed_ss_ = *ss;
}

Handshake::~Handshake() {
  std::lock_guard lock(mu_);
  clear_locked();
  secure_zero(precomputed_ss_);
  secure_zero(psk_);
  secure_zero(local_.private_key);
}

void Handshake::set_preshared_key(const Key& psk) {
  std::lock_guard lock(mu_);
  psk_ = psk;
}

HandshakeState Handshake::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

uint32_t Handshake::local_index() const {
  std::lock_guard lock(mu_);
  return local_index_;
}

bool Handshake::usable() const {
  std::lock_guard lock(mu_);
  return ss_ok_;
}

Tai64n Handshake::last_timestamp() const {
  std::lock_guard lock(mu_);
  return last_timestamp_;
}

void Handshake::clear_locked() {
  secure_zero(hash_);
  secure_zero(chaining_key_);
  secure_zero(local_ephemeral_);
  secure_zero(remote_ephemeral_);
  local_index_ = 0;
  remote_index_ = 0;
  state_ = HandshakeState::Zeroed;
}

void Handshake::clear() {
  std::lock_guard lock(mu_);
  clear_locked();
}

std::optional<MessageInitiation> Handshake::create_initiation(uint32_t local_index,
                                                              const Tai64n& timestamp, Rng& rng) {
  std::lock_guard lock(mu_);
  if (!ss_ok_) return std::nullopt;
  MessageInitiation m;
  Hash key{};
  Wipe wipe(key);
  Hash ck = initial().chaining_key;
  // initiator.hash = HASH(HASH(ck || IDENTIFIER) || responder.static_public)
  Hash hash = blake2s({initial().hash, remote_static_});
  // initiator.ephemeral_private = DH_GENERATE(); msg.unencrypted_ephemeral = DH_PUBKEY(...)
  Key eph = generate_private_key(rng);
  m.ephemeral = public_key(eph);
  hash = blake2s({hash, m.ephemeral});
  kdf1(ck, ck, m.ephemeral);
  // (ck, key) = KDF2(ck, DH(initiator.ephemeral_private, responder.static_public))
  auto es = x25519(eph, remote_static_);
  if (!es) {
    secure_zero(eph);
    return std::nullopt;
  }
  kdf2(ck, key, ck, *es);
  secure_zero(*es);
  // msg.encrypted_static = AEAD(key, 0, initiator.static_public, hash)
  if (!aead_seal(as_key(key), 0, local_.public_key, hash, m.encrypted_static)) return std::nullopt;
  hash = blake2s({hash, m.encrypted_static});
  // (ck, key) = KDF2(ck, DH(initiator.static_private, responder.static_public)), precomputed
  kdf2(ck, key, ck, precomputed_ss_);
  // msg.encrypted_timestamp = AEAD(key, 0, TAI64N(), hash)
  if (!aead_seal(as_key(key), 0, timestamp.bytes, hash, m.encrypted_timestamp)) {
    return std::nullopt;
  }
  hash = blake2s({hash, m.encrypted_timestamp});
  m.sender_index = local_index;

  hash_ = hash;
  chaining_key_ = ck;
  local_ephemeral_ = eph;
  secure_zero(eph);
  secure_zero(ck);
  remote_ephemeral_ = {};
  local_index_ = local_index;
  remote_index_ = 0;
  state_ = HandshakeState::InitiationCreated;
  return m;
}

HandshakeError Handshake::accept_initiation(const OpenedInitiation& opened, TimePoint now) {
  std::lock_guard lock(mu_);
  if (!ss_ok_) return HandshakeError::BadKey;
  if (!constant_time_equal(opened.remote_static, remote_static_)) {
    return HandshakeError::UnknownPeer;
  }
  Hash ck{}, key{};
  Wipe wipe(ck, key);
  // (ck, key) = KDF2(ck, DH(responder.static_private, initiator.static_public))
  kdf2(ck, key, opened.chaining_key, precomputed_ss_);
  Tai64n ts;
  if (!aead_open(as_key(key), 0, opened.encrypted_timestamp, opened.hash, ts.bytes)) {
    return HandshakeError::Decrypt;
  }
  // Replay protection (whitepaper §5.1): the timestamp must be strictly newer.
  if (!ts.after(last_timestamp_)) return HandshakeError::Replay;
  // Flood protection: at most one initiation per 1/50 s from one peer.
  if (last_initiation_consumption_ &&
      now - *last_initiation_consumption_ < kHandshakeInitiationRate) {
    return HandshakeError::Flood;
  }
  hash_ = blake2s({opened.hash, opened.encrypted_timestamp});
  chaining_key_ = ck;
  remote_ephemeral_ = opened.remote_ephemeral;
  remote_index_ = opened.sender_index;
  secure_zero(local_ephemeral_);
  last_timestamp_ = ts;
  last_initiation_consumption_ = now;
  state_ = HandshakeState::InitiationConsumed;
  return HandshakeError::None;
}

std::optional<MessageResponse> Handshake::create_response(uint32_t local_index, Rng& rng) {
  std::lock_guard lock(mu_);
  if (state_ != HandshakeState::InitiationConsumed) return std::nullopt;
  MessageResponse m;
  Hash temp2{}, key{};
  Key dh{};
  Wipe wipe(temp2, key, dh);
  Hash hash = hash_;
  Hash ck = chaining_key_;
  // responder.ephemeral_private = DH_GENERATE(); msg.unencrypted_ephemeral = DH_PUBKEY(...)
  Key eph = generate_private_key(rng);
  m.ephemeral = public_key(eph);
  hash = blake2s({hash, m.ephemeral});
  kdf1(ck, ck, m.ephemeral);
  // ck = KDF1(ck, DH(responder.ephemeral_private, initiator.ephemeral_public))
  auto ee = x25519(eph, remote_ephemeral_);
  // ck = KDF1(ck, DH(responder.ephemeral_private, initiator.static_public))
  auto se = x25519(eph, remote_static_);
  secure_zero(eph);
  if (!ee || !se) return std::nullopt;
  kdf1(ck, ck, *ee);
  kdf1(ck, ck, *se);
  secure_zero(*ee);
  secure_zero(*se);
  // (ck, temp2, key) = KDF3(ck, preshared_key); hash = HASH(hash || temp2)
  kdf3(ck, temp2, key, ck, psk_);
  hash = blake2s({hash, temp2});
  // msg.encrypted_nothing = AEAD(key, 0, [empty], hash)
  if (!aead_seal(as_key(key), 0, {}, hash, m.encrypted_nothing)) return std::nullopt;
  hash = blake2s({hash, m.encrypted_nothing});
  m.sender_index = local_index;
  m.receiver_index = remote_index_;

  hash_ = hash;
  chaining_key_ = ck;
  secure_zero(ck);
  local_index_ = local_index;
  state_ = HandshakeState::ResponseCreated;
  return m;
}

HandshakeError Handshake::consume_response(const MessageResponse& msg) {
  std::lock_guard lock(mu_);
  if (state_ != HandshakeState::InitiationCreated) return HandshakeError::WrongState;
  if (msg.receiver_index != local_index_) return HandshakeError::WrongIndex;
  Hash ck = chaining_key_, temp2{}, key{};
  Wipe wipe(ck, temp2, key);
  Hash hash = blake2s({hash_, msg.ephemeral});
  kdf1(ck, ck, msg.ephemeral);
  // ck = KDF1(ck, DH(initiator.ephemeral_private, responder.ephemeral_public))
  auto ee = x25519(local_ephemeral_, msg.ephemeral);
  // ck = KDF1(ck, DH(initiator.static_private, responder.ephemeral_public))
  auto se = x25519(local_.private_key, msg.ephemeral);
  if (!ee || !se) return HandshakeError::BadKey;
  kdf1(ck, ck, *ee);
  kdf1(ck, ck, *se);
  secure_zero(*ee);
  secure_zero(*se);
  kdf3(ck, temp2, key, ck, psk_);
  hash = blake2s({hash, temp2});
  std::array<uint8_t, 0> nothing{};
  if (!aead_open(as_key(key), 0, msg.encrypted_nothing, hash, nothing)) {
    return HandshakeError::Decrypt;
  }
  hash_ = blake2s({hash, msg.encrypted_nothing});
  chaining_key_ = ck;
  remote_index_ = msg.sender_index;
  state_ = HandshakeState::ResponseConsumed;
  return HandshakeError::None;
}

std::shared_ptr<Keypair> Handshake::derive_keypair(TimePoint now) {
  std::lock_guard lock(mu_);
  bool initiator;
  if (state_ == HandshakeState::ResponseConsumed) {
    initiator = true;
  } else if (state_ == HandshakeState::ResponseCreated) {
    initiator = false;
  } else {
    return nullptr;
  }
  // (temp2, temp3) = KDF2(chaining_key, [empty]): initiator sends with temp2,
  // receives with temp3; the responder the other way round.
  Hash t1{}, t2{};
  kdf2(t1, t2, chaining_key_, {});
  Key k1 = as_key(t1), k2 = as_key(t2);
  auto kp = initiator ? std::make_shared<Keypair>(k1, k2, local_index_, remote_index_, true, now)
                      : std::make_shared<Keypair>(k2, k1, local_index_, remote_index_, false, now);
  secure_zero(t1);
  secure_zero(t2);
  secure_zero(k1);
  secure_zero(k2);
  clear_locked();
  return kp;
}

ConsumeInitiationResult consume_initiation(const StaticIdentity& local,
                                           const MessageInitiation& msg, TimePoint now,
                                           const std::function<Handshake*(const Key&)>& lookup) {
  ConsumeInitiationResult r;
  auto opened = open_initiation(local, msg);
  if (!opened) {
    r.error = HandshakeError::Decrypt;
    return r;
  }
  Handshake* hs = lookup(opened->remote_static);
  if (!hs) {
    r.error = HandshakeError::UnknownPeer;
    return r;
  }
  r.error = hs->accept_initiation(*opened, now);
  if (r.error == HandshakeError::None) r.handshake = hs;
  secure_zero(opened->hash);
  secure_zero(opened->chaining_key);
  return r;
}

}  // namespace ferry::tunnel
