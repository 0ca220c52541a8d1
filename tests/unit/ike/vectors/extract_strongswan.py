#!/usr/bin/env python3
"""Turns a strongSwan charon log (filelog with `ike = 4`, `chd = 4`) of one
IKE_SA_INIT + IKE_AUTH into a key-derivation vector for strongswan_vectors.txt.

RFC 7296 has no test vectors; these come from a real strongSwan 5.9.8 run
(tests/integration/ike/strongswan_ike.sh keeps the logs with FT_KEEP=1).
charon logs the DH secret, SKEYSEED, the seven SK_* keys, both AUTH inputs
("octets = message + nonce + prf(Sk_px, IDx')", from which the nonces and SPIs
are read), the AUTH values and the first CHILD_SA's KEYMAT split.

usage: extract_strongswan.py charon.log IKE_SUITE ESP_SUITE PSK > vector.txt
"""
import re
import sys


def dumps(log, label):
    out, lines = [], log.splitlines()
    for i, line in enumerate(lines):
        m = re.search(re.escape(label) + r" => (\d+) bytes @", line)
        if not m:
            continue
        n, hexes = int(m.group(1)), []
        for l2 in lines[i + 1:]:
            mm = re.match(r"\d+\[\w+\]\s+\d+: ((?:[0-9A-F]{2} )+)", l2)
            if not mm:
                break
            hexes += mm.group(1).split()
        out.append(bytes.fromhex("".join(hexes)[: 2 * n]))
    return out


def main():
    log = open(sys.argv[1]).read()
    ike, esp, psk = sys.argv[2], sys.argv[3], sys.argv[4]
    first = lambda label: dumps(log, label)[0]
    octets = dumps(log, "octets = message + nonce + prf(Sk_px, IDx')")
    auths = dumps(log, "AUTH = prf(prf(secret, keypad), octets)")
    idx = dumps(log, "IDx'")
    prf_len = len(first("Sk_d secret"))
    # The initiator's octets are RealMessage1 | Nr | MAC, the responder's RealMessage2 | Ni | MAC.
    def split(o):
        mlen = int.from_bytes(o[24:28], "big")
        return o[:mlen], o[mlen:-prf_len]
    by_role = {}
    for o in octets[:2]:
        msg, nonce = split(o)
        role = "i" if msg[19] & 0x08 else "r"  # I flag: sent by the original initiator
        by_role[role] = (o, msg, nonce)
    o1, m1, nr = by_role["i"]
    o2, m2, ni = by_role["r"]
    # The AUTH each side computed for its own octets / verified for the other's, in log order.
    auth_for = {octets[0]: auths[0], octets[1]: auths[1]}
    id_for = {octets[0]: idx[0], octets[1]: idx[1]}
    v = [
        ("ike", ike), ("esp", esp), ("psk", psk),
        ("dh_secret", first("shared Diffie Hellman secret").hex()),
        ("ni", ni.hex()), ("nr", nr.hex()),
        ("spi_i", m2[0:8].hex()), ("spi_r", m2[8:16].hex()),
        ("skeyseed", first("SKEYSEED").hex()),
    ]
    for k in ["d", "ai", "ar", "ei", "er", "pi", "pr"]:
        got = dumps(log, "Sk_%s secret" % k)
        v.append(("sk_" + k, got[0].hex() if got else ""))
    v += [
        ("message1", m1.hex()), ("message2", m2.hex()),
        ("id_i", id_for[o1].hex()), ("id_r", id_for[o2].hex()),
        ("octets_i", o1.hex()), ("octets_r", o2.hex()),
        ("auth_i", auth_for[o1].hex()), ("auth_r", auth_for[o2].hex()),
        ("encr_i", first("encryption initiator key").hex()),
        ("encr_r", first("encryption responder key").hex()),
    ]
    ii = dumps(log, "integrity initiator key")
    ir = dumps(log, "integrity responder key")
    v += [("integ_i", ii[0].hex() if ii else ""), ("integ_r", ir[0].hex() if ir else "")]
    v.insert(0, ("source", sys.argv[5] if len(sys.argv) > 5 else "strongSwan 5.9.8"))
    for k, x in v:
        print("%s = %s" % (k, x))
    print()


main()
