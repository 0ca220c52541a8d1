#!/usr/bin/env bash
# make demo: three ferry gateways in network namespaces, LAN traffic through
# the tunnels, and a failover when one underlay link is cut.
# KEEP=1 leaves everything running and prints how to explore it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export FERRY_BUILD=${FERRY_BUILD:-$root/build}
. "$root/tests/integration/lib/ferry.sh"
. "$root/tests/integration/system/sites.sh"

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }

[[ $(id -u) -eq 0 ]] || { echo "make demo needs root (it creates network namespaces)"; exit 1; }
ft_init demo
FT_NAME=demo
if [[ "${KEEP:-0}" == 1 ]]; then
  # Leave the topology up: drop the cleanup trap, keep the temp dir.
  trap - EXIT
fi
export FERRY_LOG_LEVEL=info
SITES_BFD_MS=300

bold "1. Building three sites in network namespaces"
say "site N = gateway namespace $(ft_nsname gwN) + LAN host $(ft_nsname lanN) (10.N.0.10, fd00:N::10)"
say "underlay links: 1-2, 1-3, 2-3 (veth); each gateway runs one ferryd"
sites_topology 3 1-2 1-3 2-3
for i in 1 2 3; do sites_config $i; done
say "keys made with 'ferryctl genkey'; configs in $FT_TMP/gw{1,2,3}.toml"

bold "2. Starting ferryd on each gateway"
for i in 1 2 3; do sites_start $i; done
say "each ferryd creates its WireGuard tunnel interface ferry0 and peers over eBGP"
say "with the other two gateways across the tunnel (169.254.ij.0/30 inner addresses)"

bold "3. Waiting for tunnels and BGP sessions"
for i in 1 2 3; do ft_wait 60 "site $i: all BGP sessions Established" sites_established $i; done
for p in 10.2.0.0/16 10.3.0.0/16 fd00:2::/48; do ft_wait 30 "site 1 installed $p" sites_has_route 1 $p; done

bold "4. Site 1's view"
echo "\$ ferryctl show tunnels"
sites_ctl 1 show tunnels
echo
echo "\$ ferryctl show neighbors"
sites_ctl 1 show neighbors
echo
echo "\$ ferryctl show routes"
sites_ctl 1 show routes
echo
echo "\$ ip route show proto 200    (the kernel routes ferry installed)"
ft_in gw1 ip route show proto 200

bold "5. LAN 1 -> LAN 2 through the tunnel"
ft_in lan1 ping -c 3 -i 0.2 10.2.0.10
ft_in lan1 ping -6 -c 3 -i 0.2 fd00:2::10

bold "6. One-way failure: gw2 drops every underlay packet from gw1 (nftables)"
say "IPv4 and IPv6 must both move to 1 -> 3 -> 2: every session and route across the tunnel"
say "peer site2 shares its one liveness state, whichever session's BFD notices first"
ft_bg lan1 "$FT_TMP/ping4.log" ping -D -i 0.01 -W 1 10.2.0.10
ping4_pid=$FT_BG_PID
ft_bg lan1 "$FT_TMP/ping6.log" ping -6 -D -i 0.01 -W 1 fd00:2::10
ping6_pid=$FT_BG_PID
sleep 1
cut_ts=$(date +%s.%N)
ft_in gw2 nft -f - <<NFT
table inet ferrydemo {
  chain in { type filter hook input priority 0; ip saddr 192.168.12.1 drop; }
}
NFT
best_via() {  # best_via PREFIX NEIGHBOR: site 1's best path for PREFIX is from NEIGHBOR
  "$FERRYCTL" --socket "$FT_TMP/gw1.sock" show route "$1" --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
p = r["paths"] if isinstance(r, dict) else r
sys.exit(0 if [x for x in p if x.get("best")][0].get("peer") == sys.argv[1] else 1)' "$2"
}
flows_after_cut() {  # flows_after_cut LOG: 50 replies since the cut
  awk -v t="$cut_ts" '/icmp_seq/ { gsub(/[\[\]]/, "", $1); if ($1 + 0 > t + 0.1) n++ } END { exit !(n > 50) }' "$1"
}
ft_wait 30 "site 1 rerouted 10.2/16 via site 3" best_via 10.2.0.0/16 site3
ft_wait 30 "site 1 rerouted fd00:2::/48 via site 3" best_via fd00:2::/48 site3-v6
ft_wait 30 "IPv4 traffic flows again" flows_after_cut "$FT_TMP/ping4.log"
ft_wait 30 "IPv6 traffic flows again" flows_after_cut "$FT_TMP/ping6.log"
echo "\$ ferryctl show tunnels    (site2's liveness: down, and why)"
sites_ctl 1 show tunnels
echo
echo "\$ ferryctl show neighbors"
sites_ctl 1 show neighbors
echo
echo "\$ ferryctl show route fd00:2::/48"
sites_ctl 1 show route fd00:2::/48
gap() {
  python3 - "$1" "$cut_ts" <<'PY'
import re, sys
ts = [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\].*icmp_seq", open(sys.argv[1]).read(), re.M)]
gaps = [b - a for a, b in zip(ts, ts[1:]) if b > float(sys.argv[2]) - 0.5]
print(int(max(gaps) * 1000) if gaps else -1)
PY
}
say "longest gap in IPv4 ping replies (10 ms apart): $(gap "$FT_TMP/ping4.log") ms"
say "longest gap in IPv6 ping replies (10 ms apart): $(gap "$FT_TMP/ping6.log") ms"

bold "7. Restoring the link; after its hold-down the peer is up and traffic returns"
ft_in gw2 nft delete table inet ferrydemo
ft_wait 40 "site 1 back on the direct tunnel (IPv4)" best_via 10.2.0.0/16 site2
ft_wait 40 "site 1 back on the direct tunnel (IPv6)" best_via fd00:2::/48 site2-v6
sleep 1
kill -INT "$ping4_pid" "$ping6_pid" 2>/dev/null || true
sleep 0.5
tail -n 2 "$FT_TMP/ping4.log" | sed 's/^/   /'
tail -n 2 "$FT_TMP/ping6.log" | sed 's/^/   /'

if [[ "${KEEP:-0}" == 1 ]]; then
  bold "KEEP=1: the topology stays up"
  cat <<EOT
   ip netns exec $(ft_nsname lan1) ping 10.2.0.10
   $FERRYCTL --socket $FT_TMP/gw1.sock show neighbors
   $FERRYCTL --socket $FT_TMP/gw1.sock show routes
   ip netns exec $(ft_nsname gw1) ip route show proto 200
   logs: $FT_TMP/gw{1,2,3}.log
   tear down: for n in \$(ip netns list | awk '/^$FT_ID-/{print \$1}'); do ip netns pids \$n | xargs -r kill; ip netns del \$n; done
EOT
  exit 0
fi
bold "Done: tearing everything down"
