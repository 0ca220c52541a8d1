#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_esp_receive (record format in its header)."""
import os, struct, sys

def rec(kind, data):
    return struct.pack("!BH", kind, len(data)) + data

def ipv4(src_last, n=40):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, n, 0, 0, 64, 17, 0,
                      bytes([10, 0, 2, src_last]), bytes([10, 0, 1, 1]))
    return hdr + bytes(n - 20)

def seq(s, payload):
    return struct.pack("<I", s) + payload

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus/fuzz_esp_receive")
os.makedirs(out, exist_ok=True)
seeds = {
    "gcm_in_order": rec(1, seq(1, ipv4(5))) + rec(1, seq(2, ipv4(6))) + rec(1, seq(3, ipv4(7))),
    "cbc_replayed": rec(2, seq(9, ipv4(5))) + rec(2, seq(9, ipv4(5))) + rec(2, seq(8, ipv4(5, 100))),
    "esn_wrap": rec(1, seq(0xfffffff0, ipv4(1))) + rec(0x81, seq(2, ipv4(2))) + rec(1, seq(0xfffffff1, ipv4(3))),
    "flipped": rec(3, seq(4, ipv4(9))) + rec(1, seq(4, ipv4(9))),
    "demux": rec(0, b"\xff") + rec(0, b"\x00\x00\x00\x00" + bytes(28)) + rec(0, b"\x00\x00\x10\x01\x00\x00\x00\x01" + bytes(40)),
    "wrong_source": rec(1, seq(1, ipv4(5)[:12] + bytes([10, 9, 9, 9]) + ipv4(5)[16:])),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
