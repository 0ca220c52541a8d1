#!/usr/bin/env python3
"""Normalise the route listings of BGP daemons into one comparable text form.

    bgp_routes.py FORMAT [--fields as,med,...] [--only REGEX] < daemon-output

FORMAT is the daemon whose CLI output is on stdin:
  bird     `birdc show route all` text
  frr      concatenated `vtysh -c 'show bgp ipv4|ipv6 unicast PREFIX json'` objects,
           or `show bgp ipv4|ipv6 unicast json` (no communities in that one)
  gobgp    `gobgp global rib -a ipv4|ipv6 -j`
  openbgpd `bgpctl -j show rib detail`
  exabgp   the state file written by exabgp_api.py (already normalised JSON)
  ferry    `ferryctl show routes --json`
  lines    this script's own output, to print other --fields / --only

Output: one line per best route, sorted:
  PREFIX as=65002 65003 med=50 lp=100 c=65002:100 lc=65002:1:2 ec=rt:65002:7
Every field is always present ("-" when absent); --fields picks which ones
(prefix is always printed) so a test can compare only what RFCs fix.
Several JSON documents on stdin are accepted (one per command run).
"""
import argparse
import ipaddress
import json
import re
import sys

FIELDS = ["as", "med", "lp", "c", "lc", "ec"]


def route(prefix, as_path=None, med=None, lp=None, c=None, lc=None, ec=None):
    return {"prefix": str(ipaddress.ip_network(prefix, strict=False)),
            "as": " ".join(str(a) for a in as_path) if as_path else "",
            "med": "-" if med is None else str(med), "lp": "-" if lp is None else str(lp),
            "c": ",".join(sorted(c or [])) or "-", "lc": ",".join(sorted(lc or [])) or "-",
            "ec": ",".join(sorted(ec or [])) or "-"}


def json_docs(text):
    """Yields each JSON document of a stream of concatenated documents."""
    dec = json.JSONDecoder()
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return
        obj, i = dec.raw_decode(text, i)
        yield obj


def ec_norm(s):
    """'RT:65002:7', 'target:65002:7', '(rt, 65002, 7)', 'rt 65002:7' -> 'rt:65002:7'."""
    tokens = [t for t in re.split(r"[\s,:]+", s.strip().strip("()")) if t]
    kind, rest = (tokens[0], ":".join(tokens[1:])) if tokens else ("", "")
    kind = {"target": "rt", "rt": "rt", "origin": "ro", "soo": "ro", "ro": "ro"}.get(kind.lower(),
                                                                                  kind.lower())
    return f"{kind}:{rest}"


def parse_bird(text):
    out, cur, last = [], None, None
    for line in text.splitlines():
        m = re.match(r"^(\S+/\d+)\s", line)
        alt = re.match(r"^\s+(unicast|unreachable|blackhole)\s+\[", line)
        if m or alt:
            cur = None
            if m:
                last = m.group(1)
            if re.search(r"\]\s+\*\s", line):  # the best route of this prefix
                cur = {"prefix": last, "as": [], "c": [], "lc": [], "ec": []}
                out.append(cur)
            continue
        if cur is None:
            continue
        k, _, v = line.strip().partition(":")
        v = v.strip()
        if k == "BGP.as_path":
            cur["as"] = v.split()
        elif k == "BGP.med":
            cur["med"] = v
        elif k == "BGP.local_pref":
            cur["lp"] = v
        elif k == "BGP.community":
            cur["c"] = [x.replace(",", ":") for x in re.findall(r"\((\d+,\d+)\)", v.replace(" ", ""))]
        elif k == "BGP.large_community":
            cur["lc"] = [x.replace(",", ":") for x in re.findall(r"\((\d+,\d+,\d+)\)", v.replace(" ", ""))]
        elif k == "BGP.ext_community":
            cur["ec"] = [ec_norm(x) for x in re.findall(r"\([^)]*\)", v)]
    return [route(r["prefix"], r["as"], r.get("med"), r.get("lp"), r["c"], r["lc"], r["ec"]) for r in out]


def frr_path(prefix, p):
    asp = (p.get("aspath") or {}).get("string", "")
    asp = [] if asp in ("", "Local") else asp.split()
    c = (p.get("community") or {}).get("string", "").split()
    lc = (p.get("largeCommunity") or {}).get("string", "").split()
    ec = [ec_norm(x) for x in (p.get("extendedCommunity") or {}).get("string", "").split()]
    return route(prefix, asp, p.get("metric", p.get("med")), p.get("locPrf", p.get("localpref")), c, lc, ec)


def parse_frr(text):
    out = []
    for doc in json_docs(text):
        if "prefix" in doc and "paths" in doc:  # show bgp ... PREFIX json
            for p in doc["paths"]:
                if (p.get("bestpath") or {}).get("overall"):
                    out.append(frr_path(doc["prefix"], p))
        for pfx, paths in (doc.get("routes") or {}).items():  # show bgp ... json
            for p in paths:
                if p.get("bestpath") or p.get("best"):
                    out.append(frr_path(pfx, {"aspath": {"string": p.get("path", "")}, **p}))
    return out


def parse_gobgp(text):
    out = []
    for doc in json_docs(text):
        items = doc.items() if isinstance(doc, dict) else []
        for pfx, paths in items:
            for p in paths:
                if not p.get("best", True):
                    continue
                r = {"as": [], "c": [], "lc": [], "ec": []}
                for a in p.get("attrs", []):
                    t = a.get("type")
                    if t == 2:
                        for seg in a.get("as_paths", []):
                            r["as"] += seg.get("asns", [])
                    elif t == 4:
                        r["med"] = a.get("metric")
                    elif t == 5:
                        r["lp"] = a.get("value")
                    elif t == 8:
                        r["c"] = [f"{x >> 16}:{x & 0xffff}" for x in a.get("communities", [])]
                    elif t == 16:
                        for e in a.get("value", []):
                            kind = {2: "rt", 3: "ro"}.get(e.get("subtype"), str(e.get("subtype")))
                            r["ec"].append(f"{kind}:{e.get('value')}")
                    elif t == 32:
                        r["lc"] = [f"{x['ASN']}:{x['LocalData1']}:{x['LocalData2']}"
                                   for x in a.get("value", [])]
                out.append(route(pfx, r["as"], r.get("med"), r.get("lp"), r["c"], r["lc"], r["ec"]))
    return out


def parse_openbgpd(text):
    out = []
    for doc in json_docs(text):
        for r in doc.get("rib", []):
            if not r.get("best", r.get("valid", True)):
                continue
            asp = [a for a in str(r.get("aspath", "")).split() if a.isdigit()]
            c = [str(x) for x in r.get("communities", [])]
            lc = [str(x) for x in r.get("large_communities", [])]
            ec = [ec_norm(str(x)) for x in r.get("extended_communities", [])]
            out.append(route(r["prefix"], asp, r.get("med"), r.get("localpref"), c, lc, ec))
    return out


def parse_exabgp(text):
    out = []
    for doc in json_docs(text):
        for r in doc.get("routes", []):
            out.append(route(r["prefix"], r.get("as"), r.get("med"), r.get("lp"), r.get("c"),
                             r.get("lc"), [ec_norm(x) for x in r.get("ec", [])]))
    return out


def parse_ferry(text):
    """ferryctl show routes --json: tolerant of a list or {"routes": [...]}, best paths only."""
    out = []
    for doc in json_docs(text):
        routes = doc.get("routes", doc) if isinstance(doc, dict) else doc
        for r in routes or []:
            paths = r.get("paths") or [r]
            for p in paths:
                if p.get("best") is False:
                    continue
                a = p.get("attributes", p.get("attrs", p))
                asp = a.get("as_path", a.get("aspath", []))
                if isinstance(asp, str):
                    asp = asp.split()
                elif asp and isinstance(asp[0], dict):
                    asp = [x for seg in asp for x in seg.get("asns", [])]
                ec = a.get("extended_communities", a.get("ext_communities", []))
                out.append(route(r.get("prefix"), asp, a.get("med"), a.get("local_pref"),
                                 [str(x) for x in a.get("communities", [])],
                                 [str(x) for x in a.get("large_communities", [])],
                                 [ec_norm(str(x)) for x in ec]))
                break
    return out


def parse_lines(text):
    """Re-reads this script's own full output (to select other fields)."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        r = {"prefix": parts[0]}
        key = None
        for tok in parts[1:]:
            k, eq, v = tok.partition("=")
            if eq and k in FIELDS:
                key = k
                r[key] = v
            elif key:  # AS paths contain spaces
                r[key] += " " + tok
        r["as"] = "" if r.get("as", "-") == "-" else r["as"]
        out.append(r)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("format", choices=["bird", "frr", "gobgp", "openbgpd", "exabgp", "ferry", "lines"])
    ap.add_argument("--fields", default=",".join(FIELDS))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    routes = globals()["parse_" + args.format](sys.stdin.read())
    fields = [f for f in args.fields.split(",") if f]
    lines = set()
    for r in routes:
        if args.only and not re.search(args.only, r["prefix"]):
            continue
        lines.add(" ".join([r["prefix"]] + [f"{f}={r[f] or '-'}" for f in fields]))
    for line in sorted(lines):
        print(line)


if __name__ == "__main__":
    main()
