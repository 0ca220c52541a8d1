#!/usr/bin/env python3
"""Golden ESP messages for esp_test.cpp, built by an implementation independent
of ferry's (pyca/cryptography), straight from the RFCs:
  RFC 4303 §2 layout, §2.4 padding 1,2,3..., §2.5 pad length, §2.6 next header;
  RFC 4106 §3.1 explicit IV (= 64-bit sequence number), §4 nonce = salt|IV,
           §5 AAD = SPI|seq or SPI|seq-hi|seq-lo (ESN), §8.1 salt = last 4 KEYMAT bytes;
  RFC 3602 CBC with the IV in front of the ciphertext, blocks of 16;
  RFC 4868 HMAC-SHA2 truncated to half; RFC 4303 §2.2.1 ESN seq-hi appended to the ICV input.
Run: python3 esp_vectors.py  (prints the C++ table)."""
import hashlib, hmac, struct
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def inner(n):  # an IPv4 packet of n bytes, 10.0.1.1 -> 10.0.2.1, payload i % 251
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, n, 1, 0, 64, 17, 0, bytes([10,0,1,1]), bytes([10,0,2,1]))
    return hdr + bytes(i % 251 for i in range(n - 20))

def pad(payload, block, nh):
    k = (-(len(payload) + 2)) % block
    return payload + bytes(range(1, k + 1)) + bytes([k, nh])

def gcm(keylen, spi, seq, esn, payload):
    km = bytes((0x11 * i + 3) & 0xff for i in range(keylen + 4))
    key, salt = km[:keylen], km[keylen:]
    iv = struct.pack("!Q", seq)
    aad = struct.pack("!I", spi) + (struct.pack("!Q", seq) if esn else struct.pack("!I", seq & 0xffffffff))
    ct = AESGCM(key).encrypt(salt + iv, pad(payload, 4, 4), aad)
    return km, b"", struct.pack("!II", spi, seq & 0xffffffff) + iv + ct

def cbc(keylen, dig, icv, spi, seq, esn, payload):
    key = bytes((0x07 * i + 1) & 0xff for i in range(keylen))
    ikey = bytes((0x05 * i + 9) & 0xff for i in range(hashlib.new(dig).digest_size))
    iv = bytes((0x0d * i + seq) & 0xff for i in range(16))
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = e.update(pad(payload, 16, 4)) + e.finalize()
    msg = struct.pack("!II", spi, seq & 0xffffffff) + iv + ct
    tag = hmac.new(ikey, msg + (struct.pack("!I", seq >> 32) if esn else b""), dig).digest()[:icv]
    return key, ikey, msg + tag

def h(b): return "".join("%02x" % x for x in b)

cases = [
  ("kAesGcm16_128", "kNone", 0x0000a5f8, 0x0000000a, False, 100, gcm(16, 0xa5f8, 0xa, False, inner(100))),
  ("kAesGcm16_256", "kNone", 0x4321abcd, 0x0000000500000003, True, 61, gcm(32, 0x4321abcd, 0x500000003, True, inner(61))),
  ("kAesCbc128", "kHmacSha256_128", 0x00001000, 0x00000001, False, 84, cbc(16, "sha256", 16, 0x1000, 1, False, inner(84))),
  ("kAesCbc256", "kHmacSha384_192", 0x00002000, 0x00000007, False, 64, cbc(32, "sha384", 24, 0x2000, 7, False, inner(64))),
  ("kAesCbc256", "kHmacSha512_256", 0x00003000, 0x0000000200000009, True, 99, cbc(32, "sha512", 32, 0x3000, 0x200000009, True, inner(99))),
]
for c, i, spi, seq, esn, n, (k, ik, msg) in cases:
    print('    {EspCipher::%s, EspInteg::%s, 0x%08x, 0x%xull, %s, %d,\n     "%s",\n     "%s",\n     "%s"},'
          % (c, i, spi, seq, "true" if esn else "false", n, h(k), h(ik), h(msg)))
