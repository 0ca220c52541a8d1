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
    # Optional third section: `show fib --json`; the prefixes its tunnel loop guard
    # withholds (they cover a tunnel endpoint) are best in the RIB but, by design,
    # not in the kernel.
    withheld = set()
    if "---FIB---" in text:
        text, fib_text = text.split("---FIB---", 1)
        guard = json.loads(fib_text).get("tunnel_loop_guard", {})
        withheld = {w["prefix"] for w in guard.get("withheld", [])}
    rib_text, kernel_text = text.split("---KERNEL---", 1)
    rib = best_bgp_prefixes(json.loads(rib_text)) - withheld
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


# ---- Checks for redistribute.sh, faults.sh and flap_memory.sh -------------------
# Extra command-line arguments after the check's name are passed to it.


def _routes(text):
    data = json.loads(text)
    return data["routes"] if isinstance(data, dict) else data


def rib_has(text, prefix, source=None):
    """`show routes --json` has a best route for PREFIX (from SOURCE if given)."""
    for r in _routes(text):
        if r["prefix"] == prefix and r.get("best"):
            if source is None or r.get("source") == source:
                return None
            return f"{prefix} is from {r.get('source')}, not {source}"
    return f"no best route for {prefix} in the RIB"


def rib_lacks(text, prefix):
    """`show routes --json` has no route for PREFIX at all."""
    if any(r["prefix"] == prefix for r in _routes(text)):
        return f"{prefix} is still in the RIB"
    return None


def bgp_route_count(text, want):
    """Exactly WANT best routes learned over BGP."""
    n = len(best_bgp_prefixes(json.loads(text)))
    return None if n == int(want) else f"{n} best BGP routes, want {want}"


def established_count_above(text, name, count):
    """Neighbor NAME is Established and has been so more than COUNT times."""
    data = json.loads(text)
    for n in data["neighbors"] if isinstance(data, dict) else data:
        if n["name"] == name:
            if n.get("state", "").lower() != "established":
                return f"{name} is {n.get('state')}"
            if n.get("established_count", 0) <= int(count):
                return f"{name} established {n.get('established_count')} times, want > {count}"
            return None
    return f"no neighbor {name}"


def neighbor_field(text, name, field):
    """Prints FIELD of neighbor NAME (never fails unless the neighbor is missing)."""
    data = json.loads(text)
    for n in data["neighbors"] if isinstance(data, dict) else data:
        if n["name"] == name:
            print(n.get(field))
            return None
    return f"no neighbor {name}"


def main():
    what = sys.argv[1]
    text = sys.stdin.read()
    fn = {
        "all-established": all_established,
        "fib-matches-rib": fib_matches_rib,
        "rib-has": rib_has,
        "rib-lacks": rib_lacks,
        "bgp-route-count": bgp_route_count,
        "established-count-above": established_count_above,
        "neighbor-field": neighbor_field,
    }[what]
    err = fn(text, *sys.argv[2:])
    if err:
        print(err, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
