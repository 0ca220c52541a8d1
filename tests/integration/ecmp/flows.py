#!/usr/bin/env python3
"""UDP flow generator and checks for ecmp.sh.

  flows.py send SRC DST PORT FIRST_SPORT NFLOWS PKTS   NFLOWS flows (source ports
      FIRST_SPORT..), PKTS datagrams each, paced so that nothing is queued away.
  flows.py sink ADDR PORT                               receives and discards.
  flows.py tunnel-tx                                    stdin: show tunnels --json;
      prints "peer tx_packets" lines.
  flows.py ecmp-set PREFIX PEER...                      stdin: show tunnels --json;
      exit 0 iff exactly PEER... carry PREFIX as learned (and, with more than one,
      list it as ECMP shared by all of them).
  flows.py all-established                             stdin: show neighbors --json;
      exit 0 iff every neighbor is Established.
  flows.py nft-count                                    stdin: nft -j list counter;
      prints the packet count.
"""
import json
import socket
import sys
import time


def send(src, dst, port, first, nflows, pkts):
    payload = b"ferry-ecmp" * 10
    for f in range(nflows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, first + f))
        for i in range(pkts):
            s.sendto(payload, (dst, port))
            if i % 20 == 19:
                time.sleep(0.002)
        s.close()


def sink(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        s.recv(65536)


def peers(text):
    t = json.loads(text)
    return t["peers"] if isinstance(t, dict) else t


def tunnel_tx(text):
    for p in peers(text):
        print(p["name"], p.get("tx_packets", 0))


def ecmp_set(text, prefix, want):
    have = {p["name"] for p in peers(text) if prefix in p.get("learned_ips", [])}
    if have != set(want):
        print(f"{prefix} learned by {sorted(have)}, want {sorted(want)}", file=sys.stderr)
        return 1
    if len(want) > 1:
        for p in peers(text):
            if p["name"] in want:
                shared = p.get("ecmp_ips", {}).get(prefix)
                if shared is None or set(shared) != set(want):
                    print(f"{p['name']}: ecmp_ips[{prefix}] = {shared}", file=sys.stderr)
                    return 1
    return 0


def all_established(text):
    d = json.loads(text)
    n = d["neighbors"] if isinstance(d, dict) else d
    return 0 if n and all(x.get("state", "").lower() == "established" for x in n) else 1


def nft_count(text):
    for obj in json.loads(text)["nftables"]:
        if "counter" in obj:
            print(obj["counter"]["packets"])
            return
    print(0)


def main(argv):
    cmd = argv[1]
    if cmd == "send":
        send(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]), int(argv[7]))
    elif cmd == "sink":
        sink(argv[2], int(argv[3]))
    elif cmd == "tunnel-tx":
        tunnel_tx(sys.stdin.read())
    elif cmd == "ecmp-set":
        return ecmp_set(sys.stdin.read(), argv[2], argv[3:])
    elif cmd == "all-established":
        return all_established(sys.stdin.read())
    elif cmd == "nft-count":
        nft_count(sys.stdin.read())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
