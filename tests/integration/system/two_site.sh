#!/usr/bin/env bash
# Two sites, LAN to LAN through ferry tunnels, IPv4 and IPv6 prefixes learned
# over BGP across the tunnel; the kernel FIB matches the RIB at every step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
. "$here/sites.sh"
ferry_test_init two_site ping

sites_topology 2 1-2
sites_config 1
sites_config 2
sites_start 1
sites_start 2

ft_wait 40 "site 1 sessions established" sites_established 1
ft_wait 40 "site 2 sessions established" sites_established 2
for p in 10.2.0.0/16 fd00:2::/48; do ft_wait 20 "site 1 kernel route $p" sites_has_route 1 $p; done
for p in 10.1.0.0/16 fd00:1::/48; do ft_wait 20 "site 2 kernel route $p" sites_has_route 2 $p; done

ft_wait 20 "ping lan1 -> lan2 (IPv4)" ft_in lan1 ping -c1 -W1 10.2.0.10
ft_wait 20 "ping lan2 -> lan1 (IPv4)" ft_in lan2 ping -c1 -W1 10.1.0.10
ft_wait 20 "ping lan1 -> lan2 (IPv6)" ft_in lan1 ping -6 -c1 -W1 fd00:2::10
ft_wait 20 "ping lan2 -> lan1 (IPv6)" ft_in lan2 ping -6 -c1 -W1 fd00:1::10
ft_in lan1 ping -c 20 -i 0.05 -q 10.2.0.10 | grep ' 0% packet loss' >/dev/null || ft_fail "LAN to LAN loses packets"

sites_fib_matches_rib 1 || ft_fail "site 1: kernel FIB differs from RIB"
sites_fib_matches_rib 2 || ft_fail "site 2: kernel FIB differs from RIB"

# BGP decides which tunnel peer a prefix goes to: site 1's cryptokey table
# must have learned site 2's prefixes on peer site2.
sites_ctl 1 show tunnels --json | python3 -c '
import json, sys
t = json.load(sys.stdin)
peers = t["peers"] if isinstance(t, dict) else t
p = [p for p in peers if p["name"] == "site2"][0]
learned = set(p.get("learned_ips", []))
need = {"10.2.0.0/16", "fd00:2::/48"}
assert need <= learned, f"learned_ips {learned} lacks {need - learned}"
' || ft_fail "cryptokey table lacks BGP-learned prefixes"

# Withdrawal: site 2 stops advertising its IPv6 prefix.
sed -i 's|networks = \["10.2.0.0/16", "fd00:2::/48"\]|networks = ["10.2.0.0/16"]|' "$FT_TMP/gw2.toml"
sites_ctl 2 reload >/dev/null || ft_fail "reload failed"
ft_wait 20 "site 1 withdraws fd00:2::/48" bash -c "! ip netns exec $(ft_nsname gw1) ip -6 route show proto 200 | grep '^fd00:2::/48' >/dev/null"
sites_fib_matches_rib 1 || ft_fail "site 1: kernel FIB differs from RIB after withdrawal"
ft_in lan1 ping -6 -c1 -W1 fd00:2::10 >/dev/null 2>&1 && ft_fail "withdrawn prefix still reachable"
ft_in lan1 ping -c1 -W1 10.2.0.10 >/dev/null || ft_fail "IPv4 broke after IPv6 withdrawal"

ft_pass "LAN-to-LAN over ferry, IPv4+IPv6, FIB == RIB"
