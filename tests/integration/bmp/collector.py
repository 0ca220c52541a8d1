#!/usr/bin/env python3
"""A minimal BMP monitoring station for the integration tests (RFC 7854).

Listens on ADDR:PORT, accepts connections one after the other and writes one
JSON line per decoded message to LOG (flushed at once). It has its own decoder
of BMP (RFC 7854 §4) and of the BGP UPDATE inside Route Monitoring (RFC 4271
§4.3, RFC 4760 MP_REACH/MP_UNREACH), independent of ferry's encoder. Anything
it cannot decode is logged as {"type": "error"}.

--stall: after the first BYTES bytes of a connection, stop reading (the
socket stays open), to play a station that does not keep up. The receive
buffer is made small so the sender notices soon.

Usage: collector.py ADDR PORT LOG [--stall BYTES]
"""
import ipaddress
import json
import socket
import struct
import sys
import threading

TYPES = {0: "route_monitoring", 1: "stats", 2: "peer_down", 3: "peer_up", 4: "initiation",
         5: "termination", 6: "route_mirroring"}


def prefixes(buf, afi):
    out, i = [], 0
    size = 4 if afi == 1 else 16
    while i < len(buf):
        plen = buf[i]
        n = (plen + 7) // 8
        raw = buf[i + 1:i + 1 + n] + bytes(size - n)
        if len(buf) < i + 1 + n or plen > size * 8:
            raise ValueError("bad prefix")
        addr = ipaddress.ip_address(raw)
        out.append(f"{addr}/{plen}")
        i += 1 + n
    return out


def as_path(val):
    path, i = [], 0
    while i < len(val):
        seg_type, count = val[i], val[i + 1]
        asns = list(struct.unpack(f"!{count}I", val[i + 2:i + 2 + 4 * count]))
        path.append({"type": seg_type, "asns": asns})
        i += 2 + 4 * count
    if i != len(val):
        raise ValueError("bad AS_PATH")
    return path


def update(msg):
    """BGP UPDATE (header included) -> dict."""
    if msg[:16] != b"\xff" * 16 or msg[18] != 2:
        raise ValueError("not an UPDATE")
    length = struct.unpack("!H", msg[16:18])[0]
    if length != len(msg):
        raise ValueError("BGP length mismatch")
    body = msg[19:]
    wl = struct.unpack("!H", body[:2])[0]
    withdrawn = prefixes(body[2:2 + wl], 1)
    al = struct.unpack("!H", body[2 + wl:4 + wl])[0]
    attrs_raw = body[4 + wl:4 + wl + al]
    nlri = prefixes(body[4 + wl + al:], 1)
    attrs, i = {}, 0
    while i < len(attrs_raw):
        flags, code = attrs_raw[i], attrs_raw[i + 1]
        if flags & 0x10:
            alen = struct.unpack("!H", attrs_raw[i + 2:i + 4])[0]
            val = attrs_raw[i + 4:i + 4 + alen]
            i += 4 + alen
        else:
            alen = attrs_raw[i + 2]
            val = attrs_raw[i + 3:i + 3 + alen]
            i += 3 + alen
        if code == 1:
            attrs["origin"] = val[0]
        elif code == 2:
            attrs["as_path"] = as_path(val)
        elif code == 3:
            attrs["next_hop"] = str(ipaddress.ip_address(val))
        elif code == 4:
            attrs["med"] = struct.unpack("!I", val)[0]
        elif code == 5:
            attrs["local_pref"] = struct.unpack("!I", val)[0]
        elif code == 8:
            attrs["communities"] = [f"{c >> 16}:{c & 0xffff}"
                                    for c in struct.unpack(f"!{len(val) // 4}I", val)]
        elif code == 14:  # MP_REACH_NLRI (RFC 4760 §3)
            afi = struct.unpack("!H", val[:2])[0]
            nhl = val[3]
            attrs["mp_next_hop"] = str(ipaddress.ip_address(val[4:4 + 16 if nhl >= 16 else 8]))
            nlri += prefixes(val[5 + nhl:], afi)
        elif code == 15:  # MP_UNREACH_NLRI (RFC 4760 §4)
            afi = struct.unpack("!H", val[:2])[0]
            withdrawn += prefixes(val[3:], afi)
        else:
            attrs[f"attr_{code}"] = val.hex()
    return {"withdrawn": withdrawn, "nlri": nlri, "attrs": attrs,
            "end_of_rib": not withdrawn and not nlri and not attrs}


def open_msg(msg):
    if msg[:16] != b"\xff" * 16 or msg[18] != 1:
        raise ValueError("not an OPEN")
    ver, my_as, hold, bgp_id = struct.unpack("!BHH4s", msg[19:28])
    return {"version": ver, "my_as": my_as, "hold": hold,
            "bgp_id": str(ipaddress.ip_address(bgp_id))}


def per_peer(b):
    ptype, flags = b[0], b[1]
    v6 = bool(flags & 0x80)
    addr = ipaddress.ip_address(b[10:26] if v6 else b[22:26])
    asn, bgp_id, sec, usec = struct.unpack("!I4sII", b[26:42])
    return {"peer_type": ptype, "flags": flags, "post_policy": bool(flags & 0x40),
            "adj_rib_out": bool(flags & 0x10), "legacy_as": bool(flags & 0x20),
            "peer": str(addr), "peer_as": asn, "peer_bgp_id": str(ipaddress.ip_address(bgp_id)),
            "ts": sec}


def tlvs(b):
    out, i = [], 0
    while i < len(b):
        t, n = struct.unpack("!HH", b[i:i + 4])
        out.append((t, b[i + 4:i + 4 + n]))
        i += 4 + n
    if i != len(b):
        raise ValueError("bad TLVs")
    return out


def decode(mtype, body):
    d = {"type": TYPES.get(mtype, str(mtype))}
    if mtype in (0, 1, 2, 3):
        d.update(per_peer(body[:42]))
        rest = body[42:]
    else:
        rest = body
    if mtype == 0:
        d.update(update(rest))
    elif mtype == 1:
        count = struct.unpack("!I", rest[:4])[0]
        stats, i = {}, 4
        for _ in range(count):
            t, n = struct.unpack("!HH", rest[i:i + 4])
            stats[str(t)] = int.from_bytes(rest[i + 4:i + 4 + n], "big")
            i += 4 + n
        d["stats"] = stats
    elif mtype == 2:
        d["reason"] = rest[0]
        if rest[0] in (1, 3):
            d["notification"] = {"code": rest[1 + 19], "subcode": rest[1 + 20]}
        elif rest[0] == 2:
            d["fsm_event"] = struct.unpack("!H", rest[1:3])[0]
    elif mtype == 3:
        local = ipaddress.ip_address(rest[:16])
        if local.ipv4_mapped is None and rest[:12] == bytes(12):
            local = ipaddress.ip_address(rest[12:16])
        d["local_address"] = str(local)
        d["local_port"], d["remote_port"] = struct.unpack("!HH", rest[16:20])
        sent_len = struct.unpack("!H", rest[20 + 16:20 + 18])[0]
        d["sent_open"] = open_msg(rest[20:20 + sent_len])
        r = rest[20 + sent_len:]
        recv_len = struct.unpack("!H", r[16:18])[0]
        d["received_open"] = open_msg(r[:recv_len])
    elif mtype in (4, 5):
        # Initiation TLVs are all strings (§4.4); Termination: 0 string, 1 reason (§4.5).
        d["tlvs"] = {str(t): (v.decode() if mtype == 4 or t == 0 else int.from_bytes(v, "big"))
                     for t, v in tlvs(rest)}
    return d


def serve(conn, log, lock, stall, n):
    buf = b""
    got = 0
    with conn:
        while True:
            if stall is not None and got >= stall:
                threading.Event().wait()  # keep the socket open, read nothing more
            data = conn.recv(4096)
            if not data:
                break
            got += len(data)
            buf += data
            while len(buf) >= 6:
                ver, length, mtype = struct.unpack("!BIB", buf[:6])
                if ver != 3 or length < 6:
                    rec = {"type": "error", "why": f"bad common header {buf[:6].hex()}"}
                    buf = b""
                elif len(buf) < length:
                    break
                else:
                    body, buf = buf[6:length], buf[length:]
                    try:
                        rec = decode(mtype, body)
                    except Exception as e:  # noqa: BLE001 - logged for the test to fail on
                        rec = {"type": "error", "why": repr(e), "msg_type": mtype}
                rec["conn"] = n
                with lock:
                    log.write(json.dumps(rec) + "\n")
                    log.flush()
    with lock:
        log.write(json.dumps({"type": "closed", "conn": n}) + "\n")
        log.flush()


def main():
    addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    stall = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--stall" else None
    srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if stall is not None:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind((addr, port))
    srv.listen(4)
    log, lock, n = open(path, "a"), threading.Lock(), 0
    while True:
        conn, _ = srv.accept()
        n += 1
        threading.Thread(target=serve, args=(conn, log, lock, stall, n), daemon=True).start()


if __name__ == "__main__":
    main()
