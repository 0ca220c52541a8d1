#!/usr/bin/env bash
# Redistribution: a kernel route installed by a third party
# (`ip route add ... proto ospf`) on gateway 1 reaches site 2 through BGP, is
# installed there into the tunnel and carries LAN traffic; routes of protocols
# the filter excludes stay local; deleting (or re-tagging) the OSPF route
# withdraws it. Connected redistribution honours its interface filter and
# follows the interface's link state.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
. "$here/sites.sh"
ferry_test_init redistribute ping

SITES_BFD_MS=${SITES_BFD_MS:-300}
sites_topology 2 1-2
lan_gw=$(ft_ifname gw1 lan1 0)  # gw1's interface towards its LAN (connected 10.1.0.0/24)

# Gateway 1 has two more connected networks on interfaces of its own: cx0
# (selected by the interface filter) and cy0 (not selected).
for x in cx:88 cy:89; do
  n=${x%:*}
  ft_in gw1 ip link add "${n}0" type veth peer name "${n}1"
  ft_in gw1 ip link set "${n}0" up
  ft_in gw1 ip link set "${n}1" up
  ft_in gw1 ip addr add "10.${x#*:}.0.1/24" dev "${n}0"
done
# The LAN host of site 1 serves 10.77.0.0/24 (and the excluded test prefixes).
ft_in lan1 ip addr add 10.77.0.1/32 dev lo
ft_in lan1 ip addr add 10.78.0.1/32 dev lo
ft_in lan1 ip addr add 10.79.0.1/32 dev lo
ft_in lan1 ip addr add fd77::1/128 dev lo

sites_config 1 'redistribute = [{ source = "kernel", protocols = ["ospf"], table = 254 }, { source = "connected", interfaces = ["cx0"] }]'
sites_config 2
sites_start 1
sites_start 2
ft_wait 60 "site 1 sessions established" sites_established 1
ft_wait 60 "site 2 sessions established" sites_established 2
ft_wait 30 "site 2 learned 10.1.0.0/16" sites_has_route 2 10.1.0.0/16

# --- connected, interface filter ------------------------------------------------
ft_wait 30 "site 1 originates connected 10.88.0.0/24 (cx0)" sites_rib_has 1 10.88.0.0/24 connected
ft_wait 30 "site 2 RIB has 10.88.0.0/24 over BGP" sites_rib_has 2 10.88.0.0/24 bgp
ft_wait 30 "site 2 kernel routes 10.88.0.0/24 into the tunnel" sites_route_via_tunnel 2 10.88.0.0/24
ft_wait 20 "ping lan2 -> 10.88.0.1 (gateway 1's cx0)" ft_in lan2 ping -c1 -W1 10.88.0.1
for p in 10.89.0.0/24 10.1.0.0/24 192.168.12.0/24 169.254.12.0/30; do
  sites_rib_lacks 2 $p || ft_fail "site 2 learned $p, which the interface filter excludes"
  sites_rib_lacks 1 $p || ft_fail "site 1 originated $p, which the interface filter excludes"
done
ft_log "connected networks of cy0, $lan_gw, the underlay and the tunnel stay local"

ft_in gw1 ip link set cx0 down
ft_wait 30 "site 2 withdraws 10.88.0.0/24 when cx0 goes down (RIB)" sites_rib_lacks 2 10.88.0.0/24
ft_wait 30 "site 2 withdraws 10.88.0.0/24 when cx0 goes down (kernel)" sites_lacks_route 2 10.88.0.0/24
ft_in gw1 ip link set cx0 up
ft_wait 30 "site 2 relearns 10.88.0.0/24 when cx0 comes back" sites_route_via_tunnel 2 10.88.0.0/24
sites_fib_matches_rib 2 || ft_fail "site 2: kernel FIB differs from RIB after the cx0 flap"

# --- kernel routes by protocol --------------------------------------------------
# Excluded protocols first, so when the OSPF route shows up at site 2 these
# kernel notifications have already been processed by site 1.
ft_in gw1 ip route add 10.78.0.0/24 via 10.1.0.10 proto static
ft_in gw1 ip route add 10.79.0.0/24 via 10.1.0.10 # proto boot, iproute2's default
ft_in gw1 ip route add 10.76.0.0/24 via 10.1.0.10 proto ospf table 100 # not the configured table
ft_in gw1 ip route add 10.77.0.0/24 via 10.1.0.10 proto ospf
ft_wait 30 "site 1 originates 10.77.0.0/24 from the kernel" sites_rib_has 1 10.77.0.0/24 kernel
ft_wait 30 "site 2 RIB has 10.77.0.0/24 over BGP" sites_rib_has 2 10.77.0.0/24 bgp
ft_wait 30 "site 2 kernel routes 10.77.0.0/24 into the tunnel (proto 200)" sites_route_via_tunnel 2 10.77.0.0/24
ft_log "site 2: $(ft_in gw2 ip route show 10.77.0.0/24)"
ft_wait 20 "ping lan2 -> 10.77.0.1 (served behind site 1's OSPF route)" ft_in lan2 ping -c1 -W1 10.77.0.1
ft_in lan2 ping -c 10 -i 0.1 -q 10.77.0.1 | grep ' 0% packet loss' >/dev/null ||
  ft_fail "LAN 2 -> 10.77.0.1 loses packets"
sites_ctl 1 show routes --json | python3 "$SITES_HELPER" rib-has 10.77.0.0/24 kernel ||
  ft_fail "site 1 lost 10.77.0.0/24"
# IPv6 too: the same filter, carried on the IPv6 session.
ft_in gw1 ip -6 route add fd77::/64 via fd00:1::10 proto ospf
ft_in gw1 ip -6 route add fd78::/64 via fd00:1::10 proto static
ft_wait 30 "site 2 RIB has fd77::/64 over BGP" sites_rib_has 2 fd77::/64 bgp
ft_wait 30 "site 2 kernel routes fd77::/64 into the tunnel (proto 200)" sites_route_via_tunnel 2 fd77::/64
ft_wait 20 "ping lan2 -> fd77::1" ft_in lan2 ping -6 -c1 -W1 fd77::1
for p in 10.78.0.0/24 10.79.0.0/24 10.76.0.0/24 fd78::/64; do
  sites_rib_lacks 1 $p || ft_fail "site 1 originated $p, which the protocol/table filter excludes"
  sites_rib_lacks 2 $p || ft_fail "site 2 learned $p, which the protocol/table filter excludes"
  sites_lacks_route 2 $p || ft_fail "site 2 installed $p, which the protocol/table filter excludes"
done
ft_in lan2 ping -c1 -W1 10.78.0.1 >/dev/null 2>&1 && ft_fail "10.78.0.1 reachable from LAN 2 without a route"
for i in 1 2; do sites_fib_matches_rib $i || ft_fail "site $i: kernel FIB differs from RIB"; done

# Deleting the OSPF route withdraws it everywhere.
ft_in gw1 ip route del 10.77.0.0/24 proto ospf
ft_in gw1 ip -6 route del fd77::/64 proto ospf
ft_wait 30 "site 2 withdraws fd77::/64 (RIB)" sites_rib_lacks 2 fd77::/64
ft_wait 30 "site 2 withdraws fd77::/64 (kernel)" sites_lacks_route 2 fd77::/64
ft_wait 30 "site 1 stops originating 10.77.0.0/24" sites_rib_lacks 1 10.77.0.0/24
ft_wait 30 "site 2 withdraws 10.77.0.0/24 (RIB)" sites_rib_lacks 2 10.77.0.0/24
ft_wait 30 "site 2 withdraws 10.77.0.0/24 (kernel)" sites_lacks_route 2 10.77.0.0/24
ft_in lan2 ping -c1 -W1 10.77.0.1 >/dev/null 2>&1 && ft_fail "withdrawn 10.77.0.1 still reachable from LAN 2"
ft_in lan2 ping -c1 -W1 10.1.0.10 >/dev/null || ft_fail "LAN 2 -> LAN 1 broke after the withdrawal"
for i in 1 2; do sites_fib_matches_rib $i || ft_fail "site $i: kernel FIB differs from RIB at the end"; done
for i in 1 2; do sites_alive $i || ft_fail "ferryd of site $i died"; done

# The LAN interface going down takes the OSPF route with it; the kernel sends
# no RTM_DELROUTE for IPv4 routes it flushes on link down. The route does not
# come back with the link (an OSPF daemon would re-add it), so add it again.
ft_in gw1 ip route add 10.77.0.0/24 via 10.1.0.10 proto ospf
ft_wait 30 "site 2 relearns 10.77.0.0/24" sites_route_via_tunnel 2 10.77.0.0/24
ft_in gw1 ip link set "$lan_gw" down
ft_wait 30 "site 2 withdraws 10.77.0.0/24 when its next hop's interface goes down (RIB)" sites_rib_lacks 2 10.77.0.0/24
ft_wait 30 "site 2 withdraws 10.77.0.0/24 when its next hop's interface goes down (kernel)" sites_lacks_route 2 10.77.0.0/24
ft_in gw1 ip link set "$lan_gw" up
ft_in gw1 ip route add 10.77.0.0/24 via 10.1.0.10 proto ospf
ft_wait 30 "site 2 relearns 10.77.0.0/24 once re-added" sites_route_via_tunnel 2 10.77.0.0/24
ft_wait 20 "ping lan2 -> 10.77.0.1 after the LAN flap" ft_in lan2 ping -c1 -W1 10.77.0.1
for i in 1 2; do sites_fib_matches_rib $i || ft_fail "site $i: kernel FIB differs from RIB after the LAN flap"; done

# Re-tagging the route with an excluded protocol (`ip route replace`: the
# kernel replaces it in place and sends no RTM_DELROUTE) withdraws it.
ft_in gw1 ip route replace 10.77.0.0/24 via 10.1.0.10 proto static
ft_wait 30 "site 1 stops originating 10.77.0.0/24 once it is proto static" sites_rib_lacks 1 10.77.0.0/24
ft_wait 30 "site 2 withdraws 10.77.0.0/24 once it is proto static (RIB)" sites_rib_lacks 2 10.77.0.0/24
ft_wait 30 "site 2 withdraws 10.77.0.0/24 once it is proto static (kernel)" sites_lacks_route 2 10.77.0.0/24
# ...and tagging it ospf again brings it back.
ft_in gw1 ip route replace 10.77.0.0/24 via 10.1.0.10 proto ospf
ft_wait 30 "site 2 relearns 10.77.0.0/24 after the re-tag" sites_route_via_tunnel 2 10.77.0.0/24
for i in 1 2; do sites_fib_matches_rib $i || ft_fail "site $i: kernel FIB differs from RIB after the re-tag"; done

ft_pass "ospf kernel route and cx0's network reach site 2 over BGP; filters hold; withdrawals propagate"
