#!/usr/bin/env python3
"""ExaBGP API process for interop tests: records what ExaBGP receives.

    exabgp_api.py STATE_FILE COMMAND_FIFO

ExaBGP (encoder json) writes one JSON message per line to our stdin. We keep
the current Adj-RIB-In per neighbor, UPDATE counters, session states and the
last NOTIFICATION, and rewrite STATE_FILE (atomically) after every message:

  {"routes": [{"neighbor", "prefix", "as", "med", "lp", "c", "lc", "ec"}...],
   "updates": {peer: n}, "state": {peer: "up"|"down"|...},
   "notification": {peer: "code 6 subcode 2 ..."}}

Lines written to COMMAND_FIFO by the test are passed to ExaBGP verbatim
(e.g. "neighbor 10.0.0.1 withdraw route 10.1.0.0/24 next-hop self").
ExaBGP stops if this process exits, so stdin is read until EOF.
"""
import json
import os
import sys
import threading

state_file, fifo = sys.argv[1], sys.argv[2]
rib = {}  # (peer, prefix) -> route dict
updates, states, notes, reasons = {}, {}, {}, {}
lock = threading.Lock()


def save():
    tmp = state_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"routes": list(rib.values()), "updates": updates, "state": states,
                   "notification": notes, "reason": reasons}, f)
    os.replace(tmp, state_file)


def nlri_str(n):
    if isinstance(n, dict):
        return n.get("nlri") or n.get("prefix")
    return n


def on_update(peer, upd):
    attr = upd.get("attribute", {})
    for fam, by_nh in (upd.get("announce") or {}).items():
        if not isinstance(by_nh, dict):
            continue
        for _nh, nlris in by_nh.items():
            for n in nlris if isinstance(nlris, list) else []:
                p = nlri_str(n)
                if not p:
                    continue
                rib[(peer, p)] = {
                    "neighbor": peer, "prefix": p,
                    "as": [a for a in attr.get("as-path", []) if isinstance(a, int)],
                    "med": attr.get("med"), "lp": attr.get("local-preference"),
                    "c": [f"{a}:{b}" for a, b in attr.get("community", [])],
                    "lc": [":".join(str(x) for x in v) for v in attr.get("large-community", [])],
                    "ec": [e.get("string", "") if isinstance(e, dict) else str(e)
                           for e in attr.get("extended-community", [])],
                }
    for fam, nlris in (upd.get("withdraw") or {}).items():
        for n in nlris if isinstance(nlris, list) else []:
            rib.pop((peer, nlri_str(n)), None)


def commands():
    fd = os.open(fifo, os.O_RDWR)  # RDWR: never sees EOF when a writer closes
    with os.fdopen(fd) as f:
        for line in f:
            sys.stdout.write(line if line.endswith("\n") else line + "\n")
            sys.stdout.flush()


threading.Thread(target=commands, daemon=True).start()
with lock:
    save()
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue  # "done" acknowledgements and the like
    nb = msg.get("neighbor", {})
    peer = (nb.get("address") or {}).get("peer", "?")
    t = msg.get("type")
    with lock:
        if t == "state":
            states[peer] = nb.get("state", "?")
            if nb.get("reason"):
                reasons[peer] = nb["reason"]
            if states[peer] != "up":
                for k in [k for k in rib if k[0] == peer]:
                    del rib[k]
        elif t == "update":
            updates[peer] = updates.get(peer, 0) + 1
            on_update(peer, (nb.get("message") or {}).get("update", {}))
        elif t == "notification":
            n = nb.get("notification", msg.get("notification", {}))
            if isinstance(n, dict):  # RFC 4271 §4.5 codes; 6 = Cease (RFC 4486 subcodes)
                name = {1: "Message Header Error", 2: "OPEN Message Error",
                        3: "UPDATE Message Error", 4: "Hold Timer Expired",
                        5: "FSM Error", 6: "Cease"}.get(n.get("code"), "unknown")
                notes[peer] = f"{name} (code {n.get('code')} subcode {n.get('subcode')})"
        save()
