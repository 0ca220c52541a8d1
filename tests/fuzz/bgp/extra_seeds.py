#!/usr/bin/env python3
"""Hand-written BGP seeds for cases make_corpus.cpp does not produce: MP_REACH
for IPv4 and for families we do not negotiate, AS4_PATH/AS4_AGGREGATOR on a
4-octet session, attributes ferry only carries as unknown (IPv6 extended
communities, AIGP, ATTR_SET, PMSI), enhanced route refresh BoRR/EoRR and an
ORF-bearing refresh, an OPEN with an RFC 9072 extended optional parameters
length and an unknown capability, and a Cease with an over-long shutdown
communication. Usage (from this directory): ./extra_seeds.py; deterministic."""
import os
import struct


def msg(t, body):
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), t) + body


def attr(flags, t, v):
    if len(v) > 255:
        return struct.pack("!BBH", flags | 0x10, t, len(v)) + v
    return struct.pack("!BBB", flags, t, len(v)) + v


def update(attrs, nlri=b"", withdrawn=b""):
    a = b"".join(attrs)
    return msg(2, struct.pack("!H", len(withdrawn)) + withdrawn + struct.pack("!H", len(a)) + a + nlri)


ORIGIN = attr(0x40, 1, b"\x00")
ASPATH4 = attr(0x40, 2, b"\x02\x02" + struct.pack("!II", 65002, 4200000000))
NH = attr(0x40, 3, bytes([192, 0, 2, 2]))

seeds = {
    "extra_mp_reach_ipv4": update([ORIGIN, ASPATH4, attr(
        0x80, 14, struct.pack("!HBB", 1, 1, 4) + bytes([192, 0, 2, 2]) + b"\x00" + b"\x18\x0a\x02\x00")]),
    "extra_mp_unreach_ipv4": update([attr(0x80, 15, struct.pack("!HB", 1, 1) + b"\x18\x0a\x02\x00")]),
    "extra_mp_reach_unknown_family": update([ORIGIN, ASPATH4, attr(
        0x80, 14, struct.pack("!HBB", 1, 128, 12) + b"\0" * 8 + bytes([192, 0, 2, 2]) + b"\x00" +
        b"\x70" + b"\x00\x00\x01" + b"\x00\x01\xfd\xe9\x00\x00\x00\x01" + b"\x0a\x02\x00")]),
    "extra_mp_unreach_eor_v6": update([attr(0x80, 15, struct.pack("!HB", 2, 1))]),
    "extra_as4_attrs_on_4octet_session": update([
        ORIGIN, ASPATH4, NH,
        attr(0xc0, 17, b"\x02\x01" + struct.pack("!I", 4200000000)),
        attr(0xc0, 18, struct.pack("!I", 4200000000) + bytes([192, 0, 2, 9]))],
        b"\x18\x0a\x02\x00"),
    "extra_unknown_optional_attrs": update([
        ORIGIN, ASPATH4, NH,
        attr(0xc0, 25, b"\x00\x02" + b"\x20\x01\x0d\xb8" + b"\0" * 12 + b"\x00\x64"),  # IPv6 ext comm
        attr(0x80, 26, b"\x01\x00\x0b" + struct.pack("!Q", 100)),  # AIGP
        attr(0xc0, 128, struct.pack("!I", 65002) + ORIGIN),  # ATTR_SET
        attr(0xc0, 22, b"\x00\x06\x00\x00\x10" + bytes([192, 0, 2, 2])),  # PMSI tunnel
        attr(0xc0, 200, b"x" * 300)],  # extended length unknown
        b"\x18\x0a\x02\x00\x20\x0a\x02\x01\x01"),
    "extra_route_refresh_borr_eorr": msg(5, b"\x00\x01\x01\x01") + msg(5, b"\x00\x01\x02\x01") +
    msg(5, b"\x00\x02\x00\x01"),
    "extra_route_refresh_orf": msg(5, b"\x00\x01\x00\x01" + b"\x01" + b"\x40\x00\x07" +
                                    b"\x00" + b"\x00\x00\x00\x01\x0a\x18"),
    "extra_open_ext_optparams": msg(1, b"\x04" + struct.pack("!HH", 23456, 90) + bytes([2, 2, 2, 2]) +
                                    b"\xff\xff" + struct.pack("!H", 23) +
                                    b"\x02" + struct.pack("!H", 20) +
                                    b"\x01\x04\x00\x01\x00\x01" + b"\x41\x04" +
                                    struct.pack("!I", 4200000000) + b"\xf0\x04abcd" + b"\x02\x00"),
    "extra_notification_long_shutdown": msg(3, b"\x06\x02" + b"\xff" + b"s" * 140),
    "extra_notification_open_unsupported_cap": msg(3, b"\x02\x07" + b"\x45\x04\x00\x01\x01\x03"),
}

for tgt in ("fuzz_bgp_message", "fuzz_bgp_message_ext", "fuzz_bgp_message_as2"):
    d = os.path.join("corpus", tgt)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
print("wrote %d seeds to each BGP corpus" % len(seeds))
