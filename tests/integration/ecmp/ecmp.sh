#!/usr/bin/env bash
# ECMP across tunnel peers (bgp.max-paths > 1, one flow per peer by 5-tuple hash).
#
#   lana --- gwa ==tunnel== gwb1 ---+
#   10.1.0.10    \                   br0 (lanb, 10.2.0.10): one shared LAN B
#                 ==tunnel== gwb2 ---+
#
# gwb1 and gwb2 are two gateways of site B (both AS 65002, both on LAN B) and
# both advertise 10.2.0.0/16 with equal attributes; gwa (AS 65001) has
# max-paths 2. Checks: gwa's kernel has ONE route "10.2.0.0/16 dev ferry0";
# its cryptokey table lists the prefix under both peers; many UDP flows from
# LAN A reach LAN B through both gateways (nft counters on gwb1/gwb2 and gwa's
# per-peer tx counters), one flow always through the same one; after gwa's
# tunnel to gwb1 is cut (nft drop) and BFD/BGP withdraw its paths, every flow
# goes through gwb2; after the cut is lifted both are used again.
# Functions below are called indirectly (through ft_wait).
# shellcheck disable=SC2317
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/ferry.sh
. "$here/../lib/ferry.sh"
FLOWS="$here/flows.py"
ferry_test_init ecmp nft
# ---- topology
for n in gwa lana gwb1 gwb2 lanb; do ft_ns "$n"; done
for n in gwa gwb1 gwb2; do ft_in "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0; done
ft_link gwa 10.1.0.1/24 lana 10.1.0.10/24
ft_in lana ip route add default via 10.1.0.1
ft_link gwa 192.168.12.1/24 gwb1 192.168.12.2/24
ft_link gwa 192.168.13.1/24 gwb2 192.168.13.2/24
ft_in lanb ip link add br0 type bridge
ft_in lanb ip link set br0 up
ft_in lanb ip addr add 10.2.0.10/24 dev br0
ft_link gwb1 10.2.0.1/24 lanb ""
ft_in lanb ip link set "$(ft_ifname lanb gwb1 $((FT_LINKS - 1)))" master br0
ft_link gwb2 10.2.0.2/24 lanb ""
ft_in lanb ip link set "$(ft_ifname lanb gwb2 $((FT_LINKS - 1)))" master br0
ft_in lanb ip route add default via 10.2.0.1
ferry_keys gwa gwb1 gwb2

# ---- configs
# gateway NODE ASN ROUTER_ID NETWORK MAX_PATHS: starts NODE's config (BFD 100 ms).
gateway() {
  ferry_toml_new "$1" "$2" "$3"
  ferry_toml_bgp "networks = [\"$4\"]" "max-paths = $5"
  ferry_toml_bfd 100
}
# peer NAME PEER_NODE ENDPOINT INNER ASN: a tunnel peer and its BGP neighbor.
peer() {
  ferry_toml_peer "$1" "$2" "$3" "$4/32"
  ferry_toml_neighbor "$1" "$4" "$5" "ipv6 = false" "bfd = true"
}
gateway gwa 65001 10.255.0.1 10.1.0.0/16 2
ferry_toml_tunnel 169.254.12.1/30 169.254.13.1/30
peer b1 gwb1 192.168.12.2 169.254.12.2 65002
peer b2 gwb2 192.168.13.2 169.254.13.2 65002
ferry_toml_write
gateway gwb1 65002 10.255.0.21 10.2.0.0/16 1
ferry_toml_tunnel 169.254.12.2/30
peer a gwa 192.168.12.1 169.254.12.1 65001
ferry_toml_write
gateway gwb2 65002 10.255.0.22 10.2.0.0/16 1
ferry_toml_tunnel 169.254.13.2/30
peer a gwa 192.168.13.1 169.254.13.1 65001
ferry_toml_write

for n in gwa gwb1 gwb2; do
  ft_bg "$n" "$FT_TMP/$n.log" "$FERRYD" --config "$FT_TMP/$n.toml" --log-level "${FERRY_LOG_LEVEL:-debug}"
done
ctl() {
  local n=$1
  shift
  "$FERRYCTL" --socket "$FT_TMP/$n.sock" "$@"
}
ecmp_set() { ctl gwa show tunnels --json | python3 "$FLOWS" ecmp-set 10.2.0.0/16 "$@"; }
# One kernel route into the tunnel device, not a multipath route.
single_kernel_route() {
  local r
  r=$(ft_in gwa ip -4 route show 10.2.0.0/16 proto 200)
  [[ $(wc -l <<<"$r") -eq 1 && "$r" == "10.2.0.0/16 dev ferry0"* && "$r" != *nexthop* ]]
}

# Forwarded test datagrams counted on each site-B gateway.
ft_bg lanb "$FT_TMP/sink.log" python3 "$FLOWS" sink 10.2.0.10 9000
for g in gwb1 gwb2; do
  ft_in "$g" nft -f - <<'NFT'
table ip ecmptest {
  counter flows { }
  chain forwarded { type filter hook forward priority 0; policy accept; udp dport 9000 counter name flows; }
}
NFT
done
fwd_count() { ft_in "$1" nft -j list counter ip ecmptest flows | python3 "$FLOWS" nft-count; }
tx_of() { ctl gwa show tunnels --json | python3 "$FLOWS" tunnel-tx | awk -v p="$1" '$1 == p { print $2 }'; }
# send FIRST_SPORT NFLOWS PKTS; sets D1/D2 (forwarded by gwb1/gwb2) and T1/T2 (gwa tx to b1/b2).
send() {
  local c1 c2 t1 t2
  c1=$(fwd_count gwb1) c2=$(fwd_count gwb2) t1=$(tx_of b1) t2=$(tx_of b2)
  ft_in lana python3 "$FLOWS" send 10.1.0.10 10.2.0.10 9000 "$1" "$2" "$3"
  sleep 0.5 # let the last datagrams cross the tunnel before reading the counters
  D1=$(($(fwd_count gwb1) - c1)) D2=$(($(fwd_count gwb2) - c2))
  T1=$(($(tx_of b1) - t1)) T2=$(($(tx_of b2) - t2))
  ft_log "flows from sport $1 x$2 (${3} pkts): via gwb1 $D1, via gwb2 $D2; gwa tx b1 +$T1, b2 +$T2"
}

established() { ctl gwa show neighbors --json | python3 "$FLOWS" all-established; }
ft_wait 40 "gwa sessions established" established
ft_wait 30 "10.2.0.0/16 learned by both b1 and b2 (ECMP)" ecmp_set b1 b2
ft_wait 10 "one kernel route 10.2.0.0/16 dev ferry0" single_kernel_route
ft_in gwa ip -4 route show 10.2.0.0/16 >&2
ctl gwa show tunnels >&2
ctl gwa show tunnels | grep -q "10.2.0.0/16 (ecmp: b1, b2)" || ft_fail "show tunnels does not mark the ECMP prefix"
ft_wait 20 "LAN A reaches LAN B" ft_in lana ping -c1 -W1 10.2.0.10

# ---- many flows use both gateways
send 20000 64 20
((D1 > 0 && D2 > 0)) || ft_fail "flows did not spread: gwb1 $D1, gwb2 $D2"
((D1 + D2 >= 64 * 20 * 9 / 10)) || ft_fail "too many datagrams lost: $((D1 + D2)) of 1280"
((T1 >= D1 && T2 >= D2)) || ft_fail "gwa's per-peer tx counters ($T1, $T2) below what arrived ($D1, $D2)"

# ---- one flow sticks to one gateway (twice, same choice)
send 40000 1 400
FIRST=$( ((D1 > 0)) && echo gwb1 || echo gwb2)
((D1 == 0 || D2 == 0)) || ft_fail "one flow was split: gwb1 $D1, gwb2 $D2"
((D1 + D2 >= 360)) || ft_fail "single flow lost datagrams: $((D1 + D2)) of 400"
send 40000 1 400
AGAIN=$( ((D1 > 0)) && echo gwb1 || echo gwb2)
if ((D1 != 0 && D2 != 0)) || [[ "$AGAIN" != "$FIRST" ]]; then
  ft_fail "flow moved: first $FIRST, then gwb1 $D1 gwb2 $D2"
fi

# ---- cut the tunnel to gwb1: BFD/BGP withdraw b1's paths, all flows via gwb2
ft_in gwa nft -f - <<'NFT'
table ip ecmpcut {
  chain cut_out { type filter hook output priority 0; policy accept; ip daddr 192.168.12.2 udp dport 51820 drop; }
  chain cut_in { type filter hook input priority 0; policy accept; ip saddr 192.168.12.2 udp sport 51820 drop; }
}
NFT
ft_on_exit "ip netns exec $(ft_nsname gwa) nft delete table ip ecmpcut"
ft_wait 20 "10.2.0.0/16 withdrawn from b1, kept on b2" ecmp_set b2
single_kernel_route || ft_fail "kernel route changed while one ECMP member left"
send 20000 64 20
((D1 == 0)) || ft_fail "$D1 datagrams still went via the cut gateway"
# gwa still sends b1 its own control traffic (BFD, BGP reconnect attempts to the
# peer's inner address, keepalives), but none of the 1280 LAN datagrams.
((T1 < 100)) || ft_fail "gwa still sent $T1 packets to peer b1 after its withdrawal"
((D2 >= 64 * 20 * 9 / 10)) || ft_fail "only $D2 of 1280 datagrams arrived via gwb2"

# ---- restore: both again
ft_in gwa nft delete table ip ecmpcut
ft_wait 60 "b1 rejoins the ECMP set" ecmp_set b1 b2
send 20000 64 20
((D1 > 0 && D2 > 0)) || ft_fail "flows did not spread after restore: gwb1 $D1, gwb2 $D2"

ft_pass "ECMP over two tunnel peers: spread, sticky, failover and back"
