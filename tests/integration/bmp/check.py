#!/usr/bin/env python3
"""Assertions on what collector.py decoded (one JSON object per line).

Usage: check.py NAME LOG [ARG...]; exit 0 when the assertion holds. Each
connection (field "conn") is one BMP session; the connections the test opened
to probe the collector carry no messages and are ignored.
"""
import json
import sys

BIRD, BIRD_ID, BIRD_AS, OUR_AS, OUR_ID = "192.0.2.1", "10.0.0.10", 65010, 65001, "10.0.0.1"


def load(path):
    try:
        return [json.loads(line) for line in open(path) if line.strip()]
    except FileNotFoundError:
        return []


def pre(m):
    return m["type"] == "route_monitoring" and not m["post_policy"] and not m["adj_rib_out"]


def table(msgs, view=pre):
    """Replays the Route Monitoring of the last connection: prefix -> attrs."""
    conns = [m["conn"] for m in msgs if m["type"] == "initiation"]
    t = {}
    for m in msgs:
        if not conns or m["conn"] != conns[-1] or not view(m):
            continue
        for p in m["withdrawn"]:
            t.pop(p, None)
        for p in m["nlri"]:
            t[p] = m["attrs"]
    return t


def main():
    name, msgs, args = sys.argv[1], load(sys.argv[2]), sys.argv[3:]
    if name == "routes":
        t = table(msgs)
        assert all(p in t for p in args), sorted(t)
    elif name == "start":
        by_conn = {}
        for m in msgs:
            if m["type"] != "closed":
                by_conn.setdefault(m["conn"], []).append(m)
        assert by_conn, "no BMP messages"
        first = by_conn[min(by_conn)]
        # RFC 7854 §4.3: Initiation first, with sysDescr (1) and sysName (2).
        assert first[0]["type"] == "initiation", first[0]
        assert first[0]["tlvs"]["1"].startswith("ferry"), first[0]
        assert first[0]["tlvs"]["2"], first[0]
        ups = [m for m in first if m["type"] == "peer_up"]
        assert len(ups) == 1, ups
        up = ups[0]
        assert up["peer"] == BIRD and up["peer_as"] == BIRD_AS and up["peer_bgp_id"] == BIRD_ID, up
        assert up["local_address"] == "192.0.2.2", up
        assert 179 in (up["local_port"], up["remote_port"]), up
        assert up["sent_open"]["my_as"] == OUR_AS and up["sent_open"]["bgp_id"] == OUR_ID, up
        assert up["received_open"]["my_as"] == BIRD_AS, up
        assert up["received_open"]["bgp_id"] == BIRD_ID, up
        # Route Monitoring only after the Peer Up.
        i_up = first.index(up)
        assert all(m["type"] != "route_monitoring" for m in first[:i_up]), "route before peer up"
        t = table(msgs)
        a = t["10.77.1.0/24"]
        assert a["as_path"] == [{"type": 2, "asns": [BIRD_AS]}], a
        assert a["next_hop"] == BIRD and a["med"] == 42 and "65010:7" in a["communities"], a
        assert a["origin"] == 0, a  # IGP, as BIRD sends static routes
        post = table(msgs, lambda m: m["type"] == "route_monitoring" and m["post_policy"])
        assert "10.77.1.0/24" in post and "10.77.2.0/24" in post, post
        assert all(m["peer"] == BIRD for m in first if m["type"] == "route_monitoring")
    elif name == "dump":
        inits = [m["conn"] for m in msgs if m["type"] == "initiation"]
        assert len(inits) >= 2, "no second connection"
        old = [m for m in msgs if m["conn"] == inits[-2]]
        # RFC 7854 §4.5: the replaced connection ended with a Termination, reason 0.
        assert old[-1]["type"] == "closed" and old[-2]["type"] == "termination", old[-2:]
        assert old[-2]["tlvs"]["1"] == 0, old[-2]
        new = [m for m in msgs if m["conn"] == inits[-1] and m["type"] != "stats"]
        assert [m["type"] for m in new[:2]] == ["initiation", "peer_up"], new[:2]
        # RFC 7854 §5: each table's dump, then End-of-RIB.
        for view in (False, True):
            rms = [m for m in new if m["type"] == "route_monitoring" and m["post_policy"] == view]
            eor = [i for i, m in enumerate(rms) if m["end_of_rib"]]
            assert eor, f"no End-of-RIB (post_policy={view})"
            dumped = {p for m in rms[:eor[0]] for p in m["nlri"]}
            assert dumped == {"10.77.1.0/24", "10.77.2.0/24"}, dumped
    elif name == "stats":
        st = [m for m in msgs if m["type"] == "stats" and m["peer"] == BIRD]
        assert st, "no stats"
        s = st[-1]["stats"]
        assert {"0", "7", "8"} <= set(s), s
        assert s["7"] == 2 and s["0"] == 0, s  # both prefixes in the Adj-RIB-In, none rejected
    elif name == "withdrawn":
        assert any(pre(m) and args[0] in m["withdrawn"] for m in msgs)
        assert args[0] not in table(msgs)
    elif name == "table":
        t = table(msgs)
        assert len(t) == int(args[0]), len(t)
        assert "10.77.1.0/24" in t and "10.77.2.0/24" not in t
        assert all(p == "10.77.1.0/24" or p.startswith(("198.18.", "198.19.")) for p in t)
    elif name == "peer_down":
        d = [m for m in msgs if m["type"] == "peer_down" and m["peer"] == BIRD]
        assert d, "no peer down"
        # RFC 7854 §4.9 reason 3: the peer closed the session with a NOTIFICATION (Cease).
        assert d[-1]["reason"] == 3 and d[-1]["notification"]["code"] == 6, d[-1]
    elif name == "pmacct_routes":  # pmbmpd's JSON log (msglog), an independent decoder
        ev = {}
        for m in msgs:
            ev.setdefault(m.get("bmp_msg_type"), []).append(m)
        init = ev["init"][0]
        assert init["bmp_init_info_sysdescr"].startswith("ferry"), init
        up = ev["peer_up"][0]
        assert up["peer_ip"] == BIRD and up["peer_asn"] == BIRD_AS and up["bgp_id"] == BIRD_ID, up
        assert up["local_ip"] == "192.0.2.2" and 179 in (up["local_port"], up["remote_port"]), up
        routes = {m["ip_prefix"]: m for m in ev["route_monitor"] if m.get("log_type") == "update"}
        for p in ("10.77.1.0/24", "10.77.2.0/24"):
            r = routes[p]
            assert r["peer_ip"] == BIRD and r["as_path"] == "65010" and r["med"] == 42, r
            assert r["bgp_nexthop"] == BIRD and "65010:7" in r["comms"].split(), r
    elif name == "pmacct_end":
        rm = [m for m in msgs if m.get("bmp_msg_type") == "route_monitor"]
        assert any(m.get("log_type") == "withdraw" and m["ip_prefix"] == "10.77.2.0/24"
                   for m in rm), "no withdrawal"
        downs = [m for m in msgs if m.get("bmp_msg_type") == "peer_down"]
        assert downs and downs[-1]["peer_ip"] == BIRD, downs
    elif name == "no_errors":
        bad = [m for m in msgs if m["type"] == "error"]
        assert not bad, bad
    else:
        sys.exit(f"unknown check {name}")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"check {sys.argv[1]}: {e}", file=sys.stderr)
        sys.exit(1)
