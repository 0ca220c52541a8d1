#!/usr/bin/env bash
# Memory across repeated flaps (no growth per flap): site 2 redistributes ROUTES kernel
# routes to site 1; its operator resets the IPv4 session (`ferryctl clear
# neighbor`) CYCLES times. Every cycle site 1 withdraws all of them (RIB,
# kernel, cryptokey table) and learns them again. Both daemons must stay up,
# site 1 must end each cycle with exactly the right routes, and neither
# daemon's RSS may keep growing: RSS at the last cycle is compared with RSS at
# cycle 10 (after allocator warm-up) against a generous bound.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
. "$here/sites.sh"
ferry_test_init flap_memory ping

ROUTES=${ROUTES:-500}
CYCLES=${CYCLES:-100}
WARM=10
((CYCLES > WARM)) || { echo "CYCLES must exceed $WARM" >&2; exit 2; }
# Generous: a leak of even 100 bytes per route per cycle would show as
# ROUTES * 90 cycles * 100 B = 4.5 MB with the defaults.
BOUND_KB=${BOUND_KB:-4096}
export FERRY_LOG_LEVEL=${FERRY_LOG_LEVEL:-info}

SITES_BFD_MS=${SITES_BFD_MS:-300}
sites_topology 2 1-2
sites_config 1
sites_config 2 'redistribute = [{ source = "kernel", protocols = ["static"] }]'
sites_start 1
sites_start 2
ft_wait 60 "site 1 sessions established" sites_established 1
ft_wait 60 "site 2 sessions established" sites_established 2

# ROUTES /24s behind LAN host 2, tagged proto static for the redistribution filter.
python3 - "$ROUTES" >"$FT_TMP/routes.batch" <<'PY'
import sys
for k in range(int(sys.argv[1])):
    print(f"route add 10.{200 + k // 256}.{k % 256}.0/24 via 10.2.0.10 proto static")
PY
ft_in gw2 ip -batch "$FT_TMP/routes.batch"
want=$((ROUTES + 2)) # + 10.2.0.0/16 and fd00:2::/48

route_count_is() { sites_ctl 1 show routes --json | python3 "$SITES_HELPER" bgp-route-count "$1"; }
kernel_count() { ft_in gw1 ip -4 route show proto 200 | wc -l; }

# resets FROM TO: cycles FROM..TO, each one `clear neighbor site1` at site 2
# followed by waiting until site 1's session to site2 was re-established (its
# established_count went up) with all $want routes back in its RIB. One
# Python process per batch keeps the polling cheap.
resets() {
  python3 - "$FERRYCTL" "$FT_TMP/gw1.sock" "$FT_TMP/gw2.sock" "$want" "$1" "$2" \
    "$(sites_pid 1)" "$(sites_pid 2)" <<'PY'
import json, subprocess, sys, time
ctl, sock1, sock2, want, first, last, pid1, pid2 = sys.argv[1:]
want, first, last = int(want), int(first), int(last)

def ctl_json(sock, *args):
    return json.loads(subprocess.run([ctl, "--socket", sock, *args, "--json"], check=True,
                                     capture_output=True, text=True).stdout)

def alive(pid):
    try:
        return "\tZ" not in open(f"/proc/{pid}/status").read().split("State:")[1][:4]
    except OSError:
        return False

def established_count():
    for n in ctl_json(sock1, "show", "neighbors")["neighbors"]:
        if n["name"] == "site2":
            return n.get("established_count", 0) if n["state"].lower() == "established" else -1
    raise SystemExit("no neighbor site2 at site 1")

def bgp_routes():
    return sum(1 for r in ctl_json(sock1, "show", "routes")["routes"]
               if r.get("best") and r.get("source") == "bgp")

for k in range(first, last + 1):
    before = established_count()
    subprocess.run([ctl, "--socket", sock2, "clear", "neighbor", "site1"], check=True,
                   capture_output=True)
    deadline = time.monotonic() + 60
    while True:
        for i, pid in ((1, pid1), (2, pid2)):
            if not alive(pid):
                raise SystemExit(f"cycle {k}: ferryd of site {i} died")
        c = established_count()
        got = bgp_routes() if c > before else None
        if got == want:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"cycle {k}: site 1 established_count {c} (was {before}), "
                             f"{got} BGP routes (want {want})")
        time.sleep(0.05)
PY
}

ft_wait 60 "site 1 learned all $want routes" route_count_is "$want"
ft_wait 30 "site 1 installed them" sites_fib_matches_rib 1
ft_wait 20 "ping lan1 -> lan2" ft_in lan1 ping -c1 -W1 10.2.0.10

# quiet_wait TIMEOUT_S CMD...: like ft_wait, without a log line per success.
quiet_wait() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.1
  done
}

declare -A rss
done_cycles=0
for k in $WARM 25 50 75 $CYCLES; do
  ((k > done_cycles && k <= CYCLES)) || continue
  resets $((done_cycles + 1)) "$k" || ft_fail "session resets failed (see above)"
  done_cycles=$k
  for i in 1 2; do sites_alive $i || ft_fail "cycle $k: ferryd of site $i died"; done
  sites_fib_matches_rib 1 || ft_fail "cycle $k: site 1 kernel FIB differs from RIB"
  kc=$(kernel_count)
  ((kc == ROUTES + 1)) || ft_fail "cycle $k: site 1 kernel has $kc IPv4 ferry routes, want $((ROUTES + 1))"
  rss[1.$k]=$(sites_rss_kb 1)
  rss[2.$k]=$(sites_rss_kb 2)
  ft_log "cycle $k: RSS site 1 ${rss[1.$k]} KiB, site 2 ${rss[2.$k]} KiB"
done
ft_wait 20 "ping lan1 -> lan2 after $CYCLES resets" ft_in lan1 ping -c1 -W1 10.2.0.10
sites_fib_matches_rib 2 || ft_fail "site 2 kernel FIB differs from RIB"
for i in 1 2; do
  growth=$((rss[$i.$CYCLES] - rss[$i.$WARM]))
  ft_log "site $i: RSS grew ${growth} KiB from cycle $WARM to $CYCLES (bound ${BOUND_KB} KiB)"
  ((growth <= BOUND_KB)) || ft_fail "site $i: RSS grew ${growth} KiB over $((CYCLES - WARM)) session resets"
done
ft_pass "$CYCLES resets with $ROUTES routes; RSS steady (site 1 ${rss[1.$WARM]} -> ${rss[1.$CYCLES]} KiB)"
