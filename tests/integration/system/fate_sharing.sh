#!/usr/bin/env bash
# Tunnel/BGP fate sharing under a ONE-WAY underlay failure (docs/liveness.md).
#
# Three sites in a triangle; every gateway has an IPv4 and an IPv6 BGP session
# with each other one across the tunnel, both with a 90 s hold time. BFD runs
# only on the IPv4 sessions (bfd = false on the IPv6 ones), so the IPv6
# session can only go down at once through the tunnel peer's shared liveness.
# gw2 drops every underlay packet from gw1 (nftables, one direction only).
#
# No timing thresholds: the checks are about state. Within 20 s of the cut
# (far below the 90 s hold time, and below WireGuard's own detection, which
# needs 15 s + 3 x REKEY_TIMEOUT) both gateways must have moved BOTH
# families to the path via site 3 (RIB best path, cryptokey table), torn down
# both sessions with the dead peer (held down, not waiting for the hold
# timer), and LAN pings over IPv4 and IPv6 must flow over the new path. After
# the link returns, the peer comes back through its hold-down and both
# families return to the direct path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
. "$here/sites.sh"
ferry_test_init fate ping nft

# Read by sites_config (sites.sh).
# shellcheck disable=SC2034
{
  SITES_BFD_MS=300 # the default BFD timers: 300 ms x 3
  SITES_BFD6=false
  SITES_NEIGHBOR_EXTRA="hold-time = 90"
}
sites_topology 3 1-2 1-3 2-3
for i in 1 2 3; do sites_config $i; done
for i in 1 2 3; do sites_start $i; done
for i in 1 2 3; do ft_wait 60 "site $i sessions established" sites_established $i; done

best_peer() { # best_peer SITE PREFIX -> neighbor name of the best path
  sites_ctl "$1" show route "$2" --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
paths = r["paths"] if isinstance(r, dict) else r
best = [p for p in paths if p.get("best")]
print(best[0].get("peer", "") if best else "")'
}
best_is() { [[ "$(best_peer "$1" "$2")" == "$3" ]]; }

# learned_by SITE PREFIX PEER: the cryptokey table sends PREFIX to tunnel peer PEER only.
learned_by() {
  sites_ctl "$1" show tunnels --json | python3 -c '
import json, sys
prefix, peer = sys.argv[1], sys.argv[2]
t = json.load(sys.stdin)
owners = [p["name"] for p in t["peers"] if prefix in p.get("learned_ips", [])]
sys.exit(0 if owners == [peer] else 1)' "$2" "$3"
}

# moved SITE V4PREFIX V6PREFIX PEER: both families best via PEER, learned by PEER alone.
moved() {
  best_is "$1" "$2" "$4" && best_is "$1" "$3" "$4-v6" && learned_by "$1" "$2" "$4" &&
    learned_by "$1" "$3" "$4"
}

# held SITE NEIGHBOR PEER STATE: the session is not Established, held down by
# the shared liveness of tunnel peer PEER, which is in STATE.
held() {
  sites_ctl "$1" show neighbors --json | python3 -c '
import json, sys
name, peer, state = sys.argv[1:4]
n = [x for x in json.load(sys.stdin)["neighbors"] if x["name"] == name][0]
l = n.get("liveness") or {}
ok = (n["state"] != "Established" and n.get("held_down") and l.get("peer") == peer
      and l.get("state") == state)
sys.exit(0 if ok else 1)' "$2" "$3" "$4"
}

# liveness SITE PEER -> "state|reason" of a tunnel peer's shared liveness.
liveness() {
  sites_ctl "$1" show tunnels --json | python3 -c '
import json, sys
t = json.load(sys.stdin)
l = [p for p in t["peers"] if p["name"] == sys.argv[1]][0]["liveness"]
print(l["state"] + "|" + l["reason"] + "|" + str(l["failures"]))' "$2"
}

ping_ok() { ft_in lan1 ping "$@" -c 3 -i 0.2 -W 1 >/dev/null; }

for i in 1 2; do
  other=$((3 - i))
  ft_wait 30 "site $i reaches site $other directly (both families)" \
    moved $i "10.$other.0.0/16" "fd00:$other::/48" "site$other"
done
ft_wait 20 "ping lan1 -> lan2 (IPv4)" ping_ok 10.2.0.10
ft_wait 20 "ping lan1 -> lan2 (IPv6)" ping_ok -6 fd00:2::10
for i in 1 2 3; do sites_fib_matches_rib $i || ft_fail "site $i: FIB != RIB before the cut"; done
[[ $(liveness 1 site2) == up\|* ]] || ft_fail "site 1: peer site2 not up: $(liveness 1 site2)"

failures_before=$(liveness 2 site1 | cut -d'|' -f3)
ft_log "one-way failure: gw2 drops every underlay packet from gw1"
ft_in gw2 nft -f - <<NFT
table inet ferryfate {
  chain in { type filter hook input priority 0; ip saddr 192.168.12.1 drop; }
}
NFT

# 20 s: far below the 90 s hold time and WireGuard's own detection; a failover
# seen within it came from the shared liveness.
ft_wait 20 "site 2 moved BOTH families to site 3" moved 2 10.1.0.0/16 fd00:1::/48 site3
ft_wait 20 "site 1 moved BOTH families to site 3" moved 1 10.2.0.0/16 fd00:2::/48 site3
for i in 1 2; do
  other=$((3 - i))
  for n in "site$other" "site$other-v6"; do
    ft_wait 5 "site $i: $n held down by the liveness of tunnel peer site$other" \
      held $i "$n" "site$other" down
  done
done
ft_wait 10 "ping lan1 -> lan2 over site 3 (IPv4)" ping_ok 10.2.0.10
ft_wait 10 "ping lan1 -> lan2 over site 3 (IPv6)" ping_ok -6 fd00:2::10
for i in 1 2 3; do sites_fib_matches_rib $i || ft_fail "site $i: FIB != RIB after the cut"; done
state2=$(liveness 2 site1)
ft_log "site 2's view of site1: $state2"
[[ "$state2" == down\|bfd\ 169.254.12.1\ down* ]] || ft_fail "site 2: expected BFD as the cause: $state2"
# The IPv6 session had no BFD and a 90 s hold time: its last error is the hold-down.
sites_ctl 2 show neighbors --json | python3 -c '
import json, sys
n = [x for x in json.load(sys.stdin)["neighbors"] if x["name"] == "site1-v6"][0]
assert n["last_error"].startswith("held down: tunnel peer site1 down"), n["last_error"]
' || ft_fail "site 2: site1-v6 was not torn down by the shared liveness"

ft_log "restoring the underlay"
ft_in gw2 nft delete table inet ferryfate
for i in 1 2; do
  other=$((3 - i))
  ft_wait 60 "site $i back on the direct path (both families)" \
    moved $i "10.$other.0.0/16" "fd00:$other::/48" "site$other"
done
ft_wait 20 "site 1 sessions established again" sites_established 1
ft_wait 20 "ping lan1 -> lan2 (IPv4)" ping_ok 10.2.0.10
ft_wait 20 "ping lan1 -> lan2 (IPv6)" ping_ok -6 fd00:2::10
state2=$(liveness 2 site1)
# Up again after a hold-down, the cut counted as a failure (BFD may also flap while the
# sites start, so the count is compared with the one before the cut).
[[ "$state2" == "up|hold-down of "*" ms over|"* ]] ||
  ft_fail "site 2: site1 after recovery: $state2"
((${state2##*|} > failures_before)) ||
  ft_fail "site 2: the cut was not counted: $state2 (failures before the cut: $failures_before)"
for i in 1 2 3; do sites_fib_matches_rib $i || ft_fail "site $i: FIB != RIB after the restore"; done
ft_pass "one-way failure: IPv4 and IPv6 moved together via the shared liveness, and came back"
