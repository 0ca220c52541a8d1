#!/usr/bin/env python3
"""Independent reference for handshake_vectors_test.cpp.

Computes a WireGuard handshake straight from the wireguard.com/protocol
pseudo-code with Python's hashlib/hmac and the `cryptography` package, for
fixed keys, ephemerals and timestamp, and prints the golden bytes the C++
test embeds. Rerun to regenerate: python3 handshake_vectors.py
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization


def clamp(k):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return bytes(k)


def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def dh(priv, public):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(public))


def HASH(b):
    return hashlib.blake2s(b).digest()


def HMAC(k, b):
    return hmac.new(k, b, hashlib.blake2s).digest()


def MAC(k, b):
    return hashlib.blake2s(b, key=k, digest_size=16).digest()


def AEAD(k, counter, plain, ad):
    return ChaCha20Poly1305(k).encrypt(b"\0" * 4 + struct.pack("<Q", counter), plain, ad)


def kdf(ck, inp, n):
    t0 = HMAC(ck, inp)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"

s_i = clamp(bytes([0x41] * 32))
s_r = clamp(bytes([0x52] * 32))
e_i = clamp(bytes([0x11] * 32))
e_r = clamp(bytes([0x22] * 32))
psk = bytes([0x63] * 32)
S_i, S_r = pub(s_i), pub(s_r)
tai = struct.pack(">QI", 0x400000000000000A + 1700000000, 0)
i_idx, r_idx = 0x01020304, 0x0A0B0C0D

# First message.
ck = HASH(CONSTRUCTION)
h = HASH(HASH(ck + IDENTIFIER) + S_r)
E_i = pub(e_i)
h = HASH(h + E_i)
(ck,) = kdf(ck, E_i, 1)
ck, key = kdf(ck, dh(e_i, S_r), 2)
enc_static = AEAD(key, 0, S_i, h)
h = HASH(h + enc_static)
ck, key = kdf(ck, dh(s_i, S_r), 2)
enc_ts = AEAD(key, 0, tai, h)
h = HASH(h + enc_ts)
msg1 = bytes([1, 0, 0, 0]) + struct.pack("<I", i_idx) + E_i + enc_static + enc_ts
msg1 += MAC(HASH(b"mac1----" + S_r), msg1) + b"\0" * 16

# Second message.
E_r = pub(e_r)
h = HASH(h + E_r)
(ck,) = kdf(ck, E_r, 1)
(ck,) = kdf(ck, dh(e_r, E_i), 1)
(ck,) = kdf(ck, dh(e_r, S_i), 1)
ck, t2, key = kdf(ck, psk, 3)
h = HASH(h + t2)
enc_nothing = AEAD(key, 0, b"", h)
msg2 = bytes([2, 0, 0, 0]) + struct.pack("<II", r_idx, i_idx) + E_r + enc_nothing
msg2 += MAC(HASH(b"mac1----" + S_i), msg2) + b"\0" * 16

# Transport keys and a first data message (initiator -> responder).
send_i, recv_i = kdf(ck, b"", 2)
data = b"hello" + b"\0" * 11  # padded to 16
msg4 = bytes([4, 0, 0, 0]) + struct.pack("<IQ", r_idx, 0) + AEAD(send_i, 0, data, b"")


def c_array(name, b):
    body = ", ".join("0x%02x" % x for x in b)
    return "const std::vector<uint8_t> %s = {%s};" % (name, body)


for name, b in [("kInitiation", msg1), ("kResponse", msg2), ("kInitiatorSendKey", send_i),
                ("kInitiatorRecvKey", recv_i), ("kFirstData", msg4)]:
    print(c_array(name, b))
