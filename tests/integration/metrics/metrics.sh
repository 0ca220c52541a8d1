#!/usr/bin/env bash
# The Prometheus endpoint ([metrics] listen) end to end: two sites joined by a
# ferry tunnel with BGP and BFD across it; site 1 serves /metrics, site 2 has
# no [metrics] section. Checks:
#   - every line of a scrape parses with an independent strict parser
#     (prom_parse.py) and the families ferry documents are all there;
#   - values agree with `ferryctl show ... --json` (BGP state and prefixes,
#     tunnel handshake and bytes, BFD state, FIB installed routes, RIB paths);
#   - a client that connects and sends nothing does not stall the control
#     plane (ferryctl and further scrapes still answer while it is connected);
#   - wrong paths get 404, wrong methods 405; site 2 listens on no metrics port.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
. "$here/../system/sites.sh"
ferry_test_init metrics curl ping

sites_topology 2 1-2
sites_config 1
sites_config 2
printf '\n[metrics]\nlisten = "127.0.0.1:9342"\n' >>"$FT_TMP/gw1.toml"
"$FERRYD" --check --config "$FT_TMP/gw1.toml" >/dev/null || ft_fail "config with [metrics] rejected"
sites_start 1
sites_start 2

ft_wait 40 "site 1 sessions established" sites_established 1
ft_wait 20 "site 1 installs 10.2.0.0/16" sites_has_route 1 10.2.0.0/16
ft_wait 20 "ping lan1 -> lan2 over the tunnel" ft_in lan1 ping -c1 -W1 10.2.0.10
bfd_up() {
  sites_ctl 1 show bfd --json | python3 -c '
import json, sys
s = json.load(sys.stdin)["sessions"]
sys.exit(0 if s and all(x["state"] == "up" for x in s) else 1)'
}
ft_wait 20 "BFD up on site 1" bfd_up

scrape() { ft_in gw1 curl -sS --max-time 10 -o "$1" -w '%{http_code} %{content_type}' http://127.0.0.1:9342/metrics; }

# --- one scrape, parsed strictly, compared with ferryctl --------------------------
head=$(scrape "$FT_TMP/scrape1.txt") || ft_fail "scrape failed"
ft_expect_eq "status and content type" "$head" "200 text/plain; version=0.0.4; charset=utf-8"
python3 "$here/prom_parse.py" "$FT_TMP/scrape1.txt" >"$FT_TMP/scrape1.json" ||
  ft_fail "scrape does not parse"
ft_log "ok: $(wc -l <"$FT_TMP/scrape1.txt") lines parsed"
sites_ctl 1 show neighbors --json >"$FT_TMP/neighbors.json"
sites_ctl 1 show tunnels --json >"$FT_TMP/tunnels.json"
sites_ctl 1 show bfd --json >"$FT_TMP/bfd.json"
sites_ctl 1 show fib --json >"$FT_TMP/fib.json"
python3 - "$FT_TMP" <<'PY' || ft_fail "metrics disagree with ferryctl"
import json, sys
d = sys.argv[1]
fams = json.load(open(f"{d}/scrape1.json"))["families"]
nb = json.load(open(f"{d}/neighbors.json"))["neighbors"]
tn = json.load(open(f"{d}/tunnels.json"))
bfd = json.load(open(f"{d}/bfd.json"))["sessions"]
fib = json.load(open(f"{d}/fib.json"))
errors = []

def series(name, **want):
    if name not in fams:
        errors.append(f"missing family {name}")
        return []
    return [v for l, v in fams[name]["samples"] if all(l.get(k) == str(x) for k, x in want.items())]

def one(name, **want):
    s = series(name, **want)
    if len(s) != 1:
        errors.append(f"{name}{want}: {len(s)} samples")
        return None
    return s[0]

expected_types = {
    "ferry_build_info": "gauge", "ferry_bgp_peer_state": "gauge",
    "ferry_bgp_peer_uptime_seconds": "gauge", "ferry_bgp_peer_prefixes_received": "gauge",
    "ferry_bgp_peer_prefixes_accepted": "gauge", "ferry_bgp_peer_prefixes_advertised": "gauge",
    "ferry_bgp_peer_messages_received_total": "counter",
    "ferry_bgp_peer_messages_sent_total": "counter", "ferry_bgp_peer_flaps_total": "counter",
    "ferry_tunnel_peer_last_handshake_seconds": "gauge",
    "ferry_tunnel_peer_receive_bytes_total": "counter",
    "ferry_tunnel_peer_transmit_bytes_total": "counter", "ferry_tunnel_peer_drops_total": "counter",
    "ferry_bfd_session_state": "gauge", "ferry_bfd_session_up_transitions_total": "counter",
    "ferry_fib_routes_installed": "gauge", "ferry_fib_routes_pending": "gauge",
    "ferry_fib_failures_total": "counter", "ferry_rib_paths": "gauge",
}
for n, t in expected_types.items():
    if n not in fams:
        errors.append(f"missing family {n}")
    elif fams[n]["type"] != t:
        errors.append(f"{n} has type {fams[n]['type']}, want {t}")

for n in nb:
    lab = dict(peer=n["name"], peer_address=n["address"], peer_as=n["remote_asn"])
    if one("ferry_bgp_peer_state", **lab) != 6:
        errors.append(f"{n['name']} not established in metrics")
    for k in ("prefixes_received", "prefixes_accepted", "prefixes_advertised"):
        if one(f"ferry_bgp_peer_{k}", **lab) != n[k]:
            errors.append(f"{n['name']} {k} differs from ferryctl ({n[k]})")
    upd = one("ferry_bgp_peer_messages_received_total", type="update", **lab)
    if upd is None or upd < 1:
        errors.append(f"{n['name']}: no UPDATE counted")
for p in tn["peers"]:
    lab = dict(interface=tn["interface"], peer=p["name"])
    hs = one("ferry_tunnel_peer_last_handshake_seconds", **lab)
    if not hs or abs(hs - p["latest_handshake"]) > 300:
        errors.append(f"tunnel {p['name']}: handshake {hs} vs {p['latest_handshake']}")
    rx = one("ferry_tunnel_peer_receive_bytes_total", **lab)
    if not rx or rx > p["rx_bytes"]:  # ferryctl ran after the scrape: counters only grow
        errors.append(f"tunnel {p['name']}: rx bytes {rx} vs {p['rx_bytes']}")
for s in bfd:
    if one("ferry_bfd_session_state", peer=s["peer"]) != 3:
        errors.append(f"bfd {s['peer']} not up in metrics")
if one("ferry_fib_routes_installed") != fib["installed"]:
    errors.append(f"fib installed differs from ferryctl ({fib['installed']})")
if (one("ferry_rib_paths") or 0) < 2:
    errors.append("rib paths < 2")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"{len(fams)} families, {sum(len(f['samples']) for f in fams.values())} samples checked",
      file=sys.stderr)
PY
ft_log "ok: metrics agree with ferryctl"

# Every metric the shipped Grafana dashboard queries exists in a real scrape.
python3 - "$here/../../../contrib/grafana-ferry.json" "$FT_TMP/scrape1.json" <<'PY' ||
import json, re, sys
dash = json.load(open(sys.argv[1]))
fams = json.load(open(sys.argv[2]))["families"]
used = set()
def walk(p):
    for t in p.get("targets", []):
        used.update(re.findall(r"ferry_[a-z_]+", t["expr"]))
    for q in p.get("panels", []):
        walk(q)
walk(dash)
missing = sorted(n for n in used if n not in fams)
assert used and not missing, f"dashboard queries unknown metrics: {missing}"
print(f"dashboard: {len(used)} metrics, all present", file=sys.stderr)
PY
  ft_fail "the Grafana dashboard uses metrics ferryd does not export"

# --- a silent client does not stall the control plane ---------------------------------
ft_bg gw1 "$FT_TMP/silent.log" python3 -c '
import socket, time
s = socket.create_connection(("127.0.0.1", 9342))
print("connected", flush=True)
time.sleep(60)'
ft_wait 10 "silent client connected" grep -q connected "$FT_TMP/silent.log"
sites_ctl 1 show status >/dev/null || ft_fail "ferryctl stalled behind a silent metrics client"
head=$(scrape "$FT_TMP/scrape2.txt") || ft_fail "second scrape failed with a silent client connected"
[[ $head == 200* ]] || ft_fail "second scrape: $head"
python3 "$here/prom_parse.py" "$FT_TMP/scrape2.txt" >/dev/null || ft_fail "scrape 2 does not parse"
ft_log "ok: ferryctl and scrapes answer while a client holds a connection open"

# --- wrong requests, and no endpoint without [metrics] ---------------------------------
code=$(ft_in gw1 curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9342/)
ft_expect_eq "GET / status" "$code" 404
code=$(ft_in gw1 curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9342/metrics)
ft_expect_eq "POST /metrics status" "$code" 405
if ft_in gw2 curl -s --max-time 5 -o /dev/null http://127.0.0.1:9342/metrics; then
  ft_fail "site 2 serves metrics without a [metrics] section"
fi
ft_in gw2 ss -Hltn | grep -q ':9342 ' && ft_fail "site 2 listens on 9342"
sites_alive 1 || ft_fail "site 1 ferryd died"
ft_pass "metrics endpoint parses, agrees with ferryctl, never blocks the control plane"
