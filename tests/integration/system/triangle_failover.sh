#!/usr/bin/env bash
# Three sites in a triangle. A->B goes direct; cutting the A-B underlay moves
# traffic to A->C->B within 3x the BFD detection time; restoring the link
# brings it back with no leaked routes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
. "$here/sites.sh"
ferry_test_init triangle ping nft

SITES_BFD_MS=${SITES_BFD_MS:-300}  # the default BFD timers: 300 ms x 3
DETECT_MS=$((SITES_BFD_MS * 3))
sites_topology 3 1-2 1-3 2-3
for i in 1 2 3; do sites_config $i; done
for i in 1 2 3; do sites_start $i; done
for i in 1 2 3; do ft_wait 40 "site $i sessions established" sites_established $i; done

best_peer() {  # best_peer SITE PREFIX -> neighbor name of the best path
  sites_ctl "$1" show route "$2" --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
paths = r["paths"] if isinstance(r, dict) else r
print([p for p in paths if p.get("best")][0].get("peer", ""))'
}
best_is() { [[ "$(best_peer "$1" "$2")" == "$3" ]]; }

ft_wait 30 "site 1 reaches 10.2/16 directly" best_is 1 10.2.0.0/16 site2
ft_wait 30 "site 2 reaches 10.1/16 directly" best_is 2 10.1.0.0/16 site1
ft_wait 20 "ping lan1 -> lan2" ft_in lan1 ping -c1 -W1 10.2.0.10
for i in 1 2 3; do sites_fib_matches_rib $i || ft_fail "site $i: FIB != RIB before the cut"; done

# Continuous traffic, 10 ms apart, with timestamps.
ft_bg lan1 "$FT_TMP/ping.log" ping -D -i 0.01 -W 1 10.2.0.10
ping_pid=$FT_BG_PID
ft_wait 10 "ping running" grep -q icmp_seq "$FT_TMP/ping.log"
sleep 1

ft_log "cutting the 1-2 underlay with nftables"
cut_ts=$(date +%s.%N)
ft_in gw1 nft -f - <<NFT
table inet ferrytest {
  chain in { type filter hook input priority 0; ip saddr 192.168.12.2 drop; }
  chain out { type filter hook output priority 0; ip daddr 192.168.12.2 drop; }
}
NFT
ft_wait 30 "site 1 reroutes 10.2/16 via site 3" best_is 1 10.2.0.0/16 site3
ft_wait 30 "site 2 reroutes 10.1/16 via site 3" best_is 2 10.1.0.0/16 site3
ft_wait 30 "traffic flows again" bash -c "awk -v t=$cut_ts '/icmp_seq/ { gsub(/[\\[\\]]/, \"\", \$1); if (\$1 + 0 > t + 0.1) n++ } END { exit !(n > 20) }' $FT_TMP/ping.log"
for i in 1 2 3; do sites_fib_matches_rib $i || ft_fail "site $i: FIB != RIB after failover"; done

ft_log "restoring the 1-2 underlay"
ft_in gw1 nft delete table inet ferrytest
ft_wait 40 "site 1 returns to the direct path" best_is 1 10.2.0.0/16 site2
ft_wait 40 "site 2 returns to the direct path" best_is 2 10.1.0.0/16 site1
sleep 1
kill -INT "$ping_pid" 2>/dev/null || true
sleep 0.3
for i in 1 2 3; do sites_fib_matches_rib $i || ft_fail "site $i: FIB != RIB after restore"; done
# No leaked routes: site 3 still carries only what its peers advertise.
sites_ctl 1 show tunnels --json | python3 -c '
import json, sys
t = json.load(sys.stdin)
peers = {p["name"]: set(p.get("learned_ips", [])) for p in (t["peers"] if isinstance(t, dict) else t)}
assert "10.2.0.0/16" in peers["site2"], peers
assert "10.2.0.0/16" not in peers["site3"], f"10.2/16 still learned via site3: {peers}"
' || ft_fail "cryptokey table leaked routes after restore"

gap_ms=$(python3 - "$FT_TMP/ping.log" "$cut_ts" <<'PY'
import re, sys
ts = [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\].*icmp_seq", open(sys.argv[1]).read(), re.M)]
cut = float(sys.argv[2])
gaps = [b - a for a, b in zip(ts, ts[1:]) if b > cut - 0.5]
print(int(max(gaps) * 1000) if gaps else 999999)
PY
)
ft_log "longest gap in replies around the cut: ${gap_ms} ms (BFD detection ${DETECT_MS} ms)"
((gap_ms <= 3 * DETECT_MS)) || ft_fail "failover gap ${gap_ms} ms exceeds 3x detection (${DETECT_MS} ms)"
ft_pass "failover gap ${gap_ms} ms, traffic back on the direct path, no leaked routes"
