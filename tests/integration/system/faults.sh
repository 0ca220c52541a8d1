#!/usr/bin/env bash
# Fault injection on two sites (errors from the network are data: counted,
# never fatal). One case per run:
#   faults.sh loss  underlay packet loss (nftables numgen drop) for a while
#   faults.sh flap  underlay veth down/up, waiting for convergence each time,
#                   then quick flaps back to back
#   faults.sh kill  kill -9 of site 2's ferryd, then a restart
#   faults.sh burst site 1 redistributes a burst of BURST_ROUTES kernel routes
#                   (ip -batch), then deletes them all at once
#   faults.sh endpoint  site 2 advertises a prefix that covers site 1's tunnel
#                   endpoint (192.168.12.2): the tunnel must not route itself
#                   into itself (a recursive routing loop)
# Every case asserts both ferryd alive, the right routes in the kernel and in
# the RIB once the fault is gone, and the kernel's ferry routes equal to
# `ferryctl show routes` (check.py fib-matches-rib) at every checkpoint.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
. "$here/sites.sh"
case=${1:-}
[[ "$case" =~ ^(loss|flap|kill|burst|endpoint)$ ]] || { echo "usage: $0 loss|flap|kill|burst|endpoint" >&2; exit 2; }
ferry_test_init "faults_$case" ping
[[ "$case" != loss ]] || ft_require nft

SITES_BFD_MS=${SITES_BFD_MS:-300}
sites_topology 2 1-2
if [[ "$case" == burst ]]; then
  sites_config 1 'redistribute = [{ source = "kernel", protocols = ["ospf"] }]'
else
  sites_config 1
fi
if [[ "$case" == endpoint ]]; then
  # Site 2 redistributes routes from a table its own forwarding never uses.
  sites_config 2 'redistribute = [{ source = "kernel", protocols = ["static"], table = 100 }]'
else
  sites_config 2
fi
sites_start 1
sites_start 2
uif1=$SITES_UIF_1_2 # gw1's underlay interface towards gw2
uif2=$SITES_UIF_2_1

routes_of() { echo "10.$1.0.0/16 fd00:$1::/48"; }

# alive: both daemons still run.
alive() {
  local i
  for i in 1 2; do sites_alive $i || ft_fail "ferryd of site $i died"; done
}

# converged WHAT: sessions up, each site has the other's prefixes in kernel
# and RIB, FIB == RIB, and LAN-to-LAN traffic flows both ways.
converged() {
  local what=$1
  alive
  # shellcheck disable=SC2046
  ft_wait 60 "$what: site 1 converged" sites_converged 1 $(routes_of 2)
  # shellcheck disable=SC2046
  ft_wait 60 "$what: site 2 converged" sites_converged 2 $(routes_of 1)
  local p
  for p in $(routes_of 2); do sites_rib_has 1 "$p" bgp || ft_fail "$what: site 1 RIB lacks $p"; done
  for p in $(routes_of 1); do sites_rib_has 2 "$p" bgp || ft_fail "$what: site 2 RIB lacks $p"; done
  ft_wait 30 "$what: ping lan1 -> lan2" ft_in lan1 ping -c1 -W1 10.2.0.10
  ft_wait 30 "$what: ping lan2 -> lan1 (IPv6)" ft_in lan2 ping -6 -c1 -W1 fd00:1::10
  alive
}

# withdrawn SITE PEER WHAT: SITE dropped PEER's prefixes from kernel and RIB.
withdrawn() {
  local i=$1 j=$2 what=$3 p
  for p in $(routes_of "$j"); do
    ft_wait 60 "$what: site $i withdraws $p (kernel)" sites_lacks_route "$i" "$p"
    ft_wait 30 "$what: site $i withdraws $p (RIB)" sites_rib_lacks "$i" "$p"
  done
  sites_fib_matches_rib "$i" || ft_fail "$what: site $i kernel FIB differs from RIB"
}

est_count() { sites_ctl "$1" show neighbors --json | python3 "$SITES_HELPER" neighbor-field "$2" established_count; }

converged "start"

case $case in
  loss)
    pct=${LOSS_PCT:-10} # per direction: about 2x this share of ping round trips is lost
    before=$(est_count 1 site2)
    ft_log "dropping ${pct}% of underlay packets each way at gateway 1"
    ft_in gw1 nft -f - <<NFT
table inet ferryloss {
  chain in { type filter hook input priority 0; iifname "$uif1" numgen random mod 100 < $pct counter drop; }
  chain out { type filter hook output priority 0; oifname "$uif1" numgen random mod 100 < $pct counter drop; }
}
NFT
    ft_on_exit "ip netns exec $(ft_nsname gw1) nft delete table inet ferryloss"
    # 150 pings over ~30 s of loss; BGP over TCP retransmits, BFD may flap.
    out=$(ft_in lan1 ping -c 150 -i 0.2 -W 1 -q 10.2.0.10 || true)
    ft_log "${out##*---}"
    drops=$(ft_in gw1 nft list table inet ferryloss | grep -o 'packets [0-9]*' | awk '{s += $2} END {print s + 0}')
    ft_log "nftables dropped $drops underlay packets"
    ((drops > 0)) || ft_fail "the loss rules dropped nothing"
    alive
    for i in 1 2; do ft_wait 30 "site $i: FIB == RIB under loss" sites_fib_matches_rib $i; done
    recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
    ft_log "LAN ping under loss: ${recv:-0}/150 replies"
    ((${recv:-0} > 75)) || ft_fail "LAN ping under ${pct}% loss each way: only ${recv:-0}/150 replies"
    ft_in gw1 nft delete table inet ferryloss
    converged "after loss"
    ft_in lan1 ping -c 20 -i 0.05 -q 10.2.0.10 | grep -q ' 0% packet loss' ||
      ft_fail "LAN to LAN still loses packets after the loss stopped"
    after=$(est_count 1 site2)
    ft_log "site 1's IPv4 session to site 2 was re-established $((after - before)) time(s) under loss"
    ft_pass "BGP survived ${pct}% loss each way, ${recv}/150 pings answered, converged after"
    ;;

  flap)
    for k in 1 2 3 4; do
      # Odd rounds flap gateway 1's end, even rounds gateway 2's.
      if ((k % 2)); then g=gw1 u=$uif1; else g=gw2 u=$uif2; fi
      ft_log "flap $k: $g $u down"
      ft_in $g ip link set "$u" down
      withdrawn 1 2 "flap $k down"
      withdrawn 2 1 "flap $k down"
      alive
      ft_in $g ip link set "$u" up
      converged "flap $k up"
    done
    ft_log "6 quick flaps back to back"
    for k in 1 2 3 4 5 6; do
      ft_in gw1 ip link set "$uif1" down
      sleep 0.$((k * 15 % 9 + 1))
      ft_in gw1 ip link set "$uif1" up
      sleep 0.$((k * 7 % 9 + 1))
    done
    converged "after quick flaps"
    ft_pass "4 slow and 6 quick underlay flaps, converged after each"
    ;;

  kill)
    old_pid=$(sites_pid 2)
    ft_log "kill -9 ferryd of site 2 (pid $old_pid)"
    kill -9 "$old_pid"
    wait "$old_pid" 2>/dev/null || true
    withdrawn 1 2 "peer killed"
    sites_established 1 2>/dev/null && ft_fail "site 1 still reports its sessions to site 2 Established"
    sites_ctl 1 show tunnels --json | python3 -c '
import json, sys
t = json.load(sys.stdin)
peers = {p["name"]: set(p.get("learned_ips", [])) for p in (t["peers"] if isinstance(t, dict) else t)}
left = peers["site2"] & {"10.2.0.0/16", "fd00:2::/48"}
assert not left, f"cryptokey table still routes {left} to site2"
' || ft_fail "site 1's cryptokey table kept site 2's prefixes"
    sites_alive 1 || ft_fail "ferryd of site 1 died"
    ft_in lan1 ping -c1 -W1 10.2.0.10 >/dev/null 2>&1 && ft_fail "LAN 2 reachable with its gateway dead"
    ft_log "restarting ferryd of site 2"
    sites_start 2
    converged "after restart"
    # Once more, with site 1 as the victim.
    old_pid=$(sites_pid 1)
    ft_log "kill -9 ferryd of site 1 (pid $old_pid)"
    kill -9 "$old_pid"
    wait "$old_pid" 2>/dev/null || true
    withdrawn 2 1 "peer killed"
    sites_start 1
    converged "after second restart"
    ft_pass "a killed peer's routes are withdrawn from kernel, RIB and cryptokey table; they return after restart"
    ;;

  burst)
    n=${BURST_ROUTES:-20000}
    python3 - "$n" >"$FT_TMP/add.batch" <<'PY'
import sys
for k in range(int(sys.argv[1])):
    print(f"route add 10.{100 + k // 65536}.{(k // 256) % 256}.{k % 256}/32 via 10.1.0.10 proto ospf")
PY
    sed 's/^route add/route del/' "$FT_TMP/add.batch" >"$FT_TMP/del.batch"
    ft_in lan1 ip addr add 10.100.0.1/32 dev lo
    bgp_count_is() { sites_ctl "$1" show routes --json | python3 "$SITES_HELPER" bgp-route-count "$2"; }
    kernel_v4_is() { [[ $(ft_in "gw$1" ip -4 route show proto 200 | wc -l) == "$2" ]]; }
    before=$(est_count 2 site1)
    ft_log "adding $n proto ospf routes at gateway 1"
    ft_in gw1 ip -batch "$FT_TMP/add.batch"
    ft_wait 120 "site 2 learned all $((n + 2)) routes" bgp_count_is 2 $((n + 2))
    ft_wait 60 "site 2 installed $((n + 1)) IPv4 routes" kernel_v4_is 2 $((n + 1))
    ft_wait 60 "site 2: FIB == RIB with the burst" sites_fib_matches_rib 2
    ft_wait 20 "ping lan2 -> 10.100.0.1 (a redistributed /32)" ft_in lan2 ping -c1 -W1 10.100.0.1
    alive
    ft_log "deleting them all"
    ft_in gw1 ip -batch "$FT_TMP/del.batch"
    ft_wait 120 "site 2 withdrew the burst" bgp_count_is 2 2
    ft_wait 60 "site 2 removed them from the kernel" kernel_v4_is 2 1
    sites_fib_matches_rib 2 || ft_fail "site 2: FIB != RIB after the withdrawal"
    converged "after the burst"
    after=$(est_count 2 site1)
    # Not asserted (depends on the machine's load): BFD shares ferryd's event
    # loop with route processing, so a burst can make it miss its deadline.
    ft_log "site 2's IPv4 session to site 1 was re-established $((after - before)) time(s) during the burst"
    ft_pass "$n redistributed routes reached site 2 and were withdrawn; FIB == RIB"
    ;;

  endpoint)
    # Whatever ferry does with such a prefix (not install it, or keep its own
    # UDP packets out of the tunnel by policy routing), the underlay path to
    # the peer's endpoint must stay the underlay: sessions stay up, LAN traffic
    # flows. Today site 1 routes 192.168.12.2 into ferry0, its encrypted
    # packets loop through the tunnel and the IPv4 session flaps on BFD.
    before=$(est_count 1 site2)
    ft_in gw2 ip route add 192.168.12.0/25 via 10.2.0.10 proto static table 100
    ft_wait 30 "site 1 learned 192.168.12.0/25 (covers its peer's endpoint)" sites_rib_has 1 192.168.12.0/25 bgp
    ft_log "site 1: $(ft_in gw1 ip route get 192.168.12.2 | head -1)"
    ft_hold 10 "site 1 sessions stay Established" sites_established 1
    after=$(est_count 1 site2)
    ((after == before)) || ft_fail "site 1's session to site 2 flapped $((after - before)) time(s)"
    ft_in lan1 ping -c 20 -i 0.05 -q 10.2.0.10 | grep -q ' 0% packet loss' ||
      ft_fail "LAN to LAN loses packets while a peer's prefix covers the tunnel endpoint"
    # ferry's way: the prefix is not routed into the tunnel, and show fib says why.
    sites_lacks_route 1 192.168.12.0/25 || ft_fail "site 1 routes 192.168.12.0/25 into the tunnel"
    withheld() {
      sites_ctl 1 show fib --json | python3 -c 'import json, sys
g = json.load(sys.stdin)["tunnel_loop_guard"]
sys.exit(0 if [w["endpoint"] for w in g["withheld"] if w["prefix"] == sys.argv[1]] == [sys.argv[2]] else 1)' "$@"
    }
    withheld 192.168.12.0/25 192.168.12.2 || ft_fail "site 1's show fib does not list 192.168.12.0/25 as withheld"
    # Withdrawn: the guard forgets it, FIB == RIB again, nothing flapped.
    ft_in gw2 ip route del 192.168.12.0/25 via 10.2.0.10 proto static table 100
    ft_wait 30 "site 1 withdrew 192.168.12.0/25" sites_rib_lacks 1 192.168.12.0/25
    ! withheld 192.168.12.0/25 192.168.12.2 || ft_fail "site 1 still lists the withdrawn prefix as withheld"
    sites_fib_matches_rib 1 || ft_fail "site 1: FIB != RIB after the withdrawal"
    after=$(est_count 1 site2)
    ((after == before)) || ft_fail "site 1's session to site 2 flapped $((after - before)) time(s)"
    alive
    ft_pass "a prefix covering the tunnel endpoint does not break the tunnel"
    ;;
esac
