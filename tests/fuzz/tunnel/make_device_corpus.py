#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_wg_device (see the record format atop
fuzz_wg_device.cpp). Usage: make_device_corpus.py CORPUS_DIR, with CORPUS_DIR
= tests/fuzz/tunnel/corpus; deterministic. Raw copies of the fuzz_wg_message
seeds (valid messages of every type, for other keys) are added as raw records."""
import ipaddress
import os
import struct
import sys

RAW, SEALED, MACED, REHANDSHAKE = 0, 1, 2, 3
GRO = 0x80


def rec(kind, data):
    return struct.pack("<BH", kind, len(data)) + data


def sealed(delta, plain, kind=SEALED):
    return rec(kind, struct.pack("<H", delta) + plain)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def pad16(p):
    return p + b"\0" * (-len(p) % 16)


def ipv4(src, dst, proto, payload):
    total = 20 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, proto, 0,
                    ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, proto, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), proto, 64,
                       ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed) + payload


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp4(src, dst, seq, data, flags=0x10):
    th = struct.pack("!HHIIBBHHH", 40000, 443, seq, 1, 5 << 4, flags, 65535, 0, 0)
    pseudo = ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed + \
        struct.pack("!BBH", 0, 6, len(th) + len(data))
    c = csum(pseudo + th + data)
    th = th[:16] + struct.pack("!H", c) + th[18:]
    return ipv4(src, dst, 6, th + data)


def tcp6(src, dst, seq, data, flags=0x10):
    th = struct.pack("!HHIIBBHHH", 40000, 443, seq, 1, 5 << 4, flags, 65535, 0, 0)
    pseudo = ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + \
        struct.pack("!I3xB", len(th) + len(data), 6)
    c = csum(pseudo + th + data)
    th = th[:16] + struct.pack("!H", c) + th[18:]
    return ipv6(src, dst, 6, th + data)


def main():
    root = sys.argv[1]
    out = os.path.join(root, "fuzz_wg_device")
    os.makedirs(out, exist_ok=True)
    seeds = {}
    ok4 = pad16(ipv4("10.0.2.1", "10.0.1.1", 17, udp(1000, 53, b"ferry fuzz seed")))
    ok6 = pad16(ipv6("fd00:2::1", "fd00:1::1", 17, udp(1000, 53, b"ferry fuzz seed v6")))
    for v in (0, 1):
        sfx = "_offload" if v else ""
        seeds["data_v4" + sfx] = bytes([v]) + sealed(0, ok4)
        seeds["data_v6" + sfx] = bytes([v]) + sealed(1, ok6)
        seeds["keepalive" + sfx] = bytes([v]) + sealed(0, b"")
        seeds["wrong_source_other_peer" + sfx] = bytes([v]) + sealed(
            0, pad16(ipv4("10.0.3.1", "10.0.1.1", 17, udp(1, 2, b"spoof"))))
        seeds["unknown_source" + sfx] = bytes([v]) + sealed(
            0, pad16(ipv4("192.168.7.7", "10.0.1.1", 17, udp(1, 2, b"spoof"))))
        seeds["bad_inner" + sfx] = bytes([v]) + sealed(0, b"\x55" * 32) + sealed(
            1, ok4[:19]) + sealed(2, bytes([0x45, 0, 0x05, 0xdc]) + ok4[4:])
        seeds["replay_and_too_old" + sfx] = bytes([v]) + sealed(60000, ok4) + sealed(
            60000, ok4) + sealed(10, ok4) + sealed(59999, ok4)
        seeds["rehandshake_then_data" + sfx] = bytes([v]) + sealed(0, ok4) + rec(
            REHANDSHAKE, b"") + sealed(1, ok4) + sealed(2, ok6)
        seeds["mac_ok_handshakes" + sfx] = bytes([v]) + rec(MACED, b"\x00" + b"\x11" * 147) + rec(
            MACED, b"\x01" + b"\x22" * 91) + rec(MACED, b"\x02" + b"\x33" * 63)
        seeds["under_load" + sfx] = bytes([v]) + b"".join(
            rec(MACED, bytes([0, i]) + b"\x44" * 146) for i in range(10))
        seeds["raw_unknown_index" + sfx] = bytes([v]) + rec(
            RAW, b"\x04\0\0\0\x99\x99\x99\x99" + b"\0" * 8 + b"\xaa" * 48)
        seeds["raw_short" + sfx] = bytes([v]) + rec(RAW, b"\x01\0\0\0") + rec(
            RAW, b"\x02" + b"\0" * 50) + rec(RAW, b"\x03\0\0") + rec(RAW, b"\x04\0\0\0") + rec(
            RAW, b"\x05\0\0\0" + b"\0" * 40) + rec(RAW, b"")
    # TCP segments of one flow: coalesced into one TUN write with offloads.
    flow4 = b"".join(sealed(i, pad16(tcp4("10.0.2.1", "10.0.1.1", 1000 + 100 * i, bytes([i]) * 100)))
                     for i in range(4))
    flow6 = b"".join(sealed(i + 8, pad16(tcp6("fd00:2::1", "fd00:1::1", 5000 + 200 * i,
                                              bytes([i]) * 200))) for i in range(3))
    seeds["tcp_flow_v4"] = b"\x00" + flow4
    seeds["tcp_flow_v4_offload"] = b"\x01" + flow4
    seeds["tcp_flow_v6_offload"] = b"\x01" + flow6
    seeds["tcp_flow_psh_fin_offload"] = b"\x01" + sealed(
        0, pad16(tcp4("10.0.2.1", "10.0.1.1", 1, b"a" * 64))) + sealed(
        1, pad16(tcp4("10.0.2.1", "10.0.1.1", 65, b"b" * 64, 0x18))) + sealed(
        2, pad16(tcp4("10.0.2.1", "10.0.1.1", 129, b"c" * 64, 0x11)))
    # One UDP GRO buffer holding several transport messages (GRO flag on records 2..4).
    same = pad16(tcp4("10.0.2.1", "10.0.1.1", 7000, b"g" * 96))
    seeds["udp_gro_buffer_offload"] = b"\x01" + sealed(0, same) + b"".join(
        sealed(i, pad16(tcp4("10.0.2.1", "10.0.1.1", 7000 + 96 * i, b"g" * 96)), SEALED | GRO)
        for i in range(1, 4))
    seeds["udp_gro_mixed_offload"] = b"\x01" + sealed(0, ok4) + rec(RAW | GRO, b"\x04" + b"\0" * 63) + sealed(
        1, ok4, SEALED | GRO)
    msg_dir = os.path.join(root, "fuzz_wg_message")
    if os.path.isdir(msg_dir):
        for name in sorted(os.listdir(msg_dir)):
            with open(os.path.join(msg_dir, name), "rb") as f:
                seeds["raw_" + name] = b"\x00" + rec(RAW, f.read())
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
