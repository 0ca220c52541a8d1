#!/usr/bin/env python3
"""Checks over ferryctl --json and `ip -j route` output for the system tests."""
import json
import sys


def all_established(text):
    data = json.loads(text)
    neighbors = data["neighbors"] if isinstance(data, dict) else data
    if not neighbors:
        return "no neighbors"
    down = [n["name"] for n in neighbors if n.get("state", "").lower() != "established"]
    return f"not established: {down}" if down else None


def best_bgp_prefixes(data):
    routes = data["routes"] if isinstance(data, dict) else data
    out = set()
    for r in routes:
        if r.get("best") and r.get("source", "bgp") == "bgp":
            out.add(r["prefix"])
    return out


def fib_matches_rib(text):
    rib_text, kernel_text = text.split("---KERNEL---", 1)
    rib = best_bgp_prefixes(json.loads(rib_text))
    kernel = set()
    for chunk in kernel_text.split("\n"):
        chunk = chunk.strip()
        if not chunk:
            continue
        for r in json.loads(chunk):
            dst = r["dst"]
            if "/" not in dst:
                dst += "/128" if ":" in dst else "/32"
            kernel.add(dst)
    if rib != kernel:
        return f"RIB best BGP routes {sorted(rib)} != kernel proto 200 routes {sorted(kernel)}"
    return None


def main():
    what = sys.argv[1]
    text = sys.stdin.read()
    fn = {"all-established": all_established, "fib-matches-rib": fib_matches_rib}[what]
    err = fn(text)
    if err:
        print(err, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
