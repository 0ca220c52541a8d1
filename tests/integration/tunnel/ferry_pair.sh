#!/usr/bin/env bash
# ferry <-> ferry over a veth pair: handshake, ping and iperf3 both ways, a
# restart of either side re-handshakes, and rekeying under traffic with
# shortened timers (timer-scale 0.02: REKEY_AFTER_TIME = 2.4 s, so about eight
# rekeys in 20 s) loses no packet in either direction.
#
#   ns a: tunnel_node 10.78.0.1 --- 192.168.78.1/.2 --- ns b: tunnel_node 10.78.0.2
# usage: ferry_pair.sh path/to/tunnel_node
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=tunnel_lib.sh
. "$HERE/tunnel_lib.sh"
TN_BIN=${1:?usage: $0 tunnel_node}

ft_init tunpair
ft_require wg iperf3 python3 "$TN_BIN"
ft_ns a
ft_ns b
ft_link a 192.168.78.1/24 b 192.168.78.2/24
tn_keys a
tn_keys b
APUB=$(cat "$FT_TMP/a.pub")
BPUB=$(cat "$FT_TMP/b.pub")
SCALE='timer-scale = 0.02'
# Inner IPv4 and IPv6 (the address argument is spliced into a TOML array).
tn_ferry_config a "${FT_ID}a" 51820 '10.78.0.1/24", "fd78::1/64' b "$BPUB" 192.168.78.2:51820 \
  '"10.78.0.2/32", "fd78::2/128"' "" "$SCALE"
tn_ferry_config b "${FT_ID}b" 51820 '10.78.0.2/24", "fd78::2/64' a "$APUB" 192.168.78.1:51820 \
  '"10.78.0.1/32", "fd78::1/128"' "" "$SCALE"
tn_ferry_start a a
tn_ferry_start b b

ft_log "1. handshake and ping both ways"
ft_wait 10 "a pings b" ft_in a ping -c1 -W1 10.78.0.2
ft_wait 5 "b pings a" ft_in b ping -c1 -W1 10.78.0.1

ft_log "2. TCP both ways"
G1=$(tn_iperf b a 10.78.0.2 2) || ft_fail "iperf3 a->b failed"
G2=$(tn_iperf a b 10.78.0.1 2) || ft_fail "iperf3 b->a failed"
ft_log "iperf3 a->b ${G1} Gbit/s, b->a ${G2} Gbit/s"
ft_wait 5 "a pings b over inner IPv6" ft_in a ping -6 -c1 -W1 fd78::2
G3=$(tn_iperf b a fd78::2 2) || ft_fail "iperf3 over inner IPv6 failed"
ft_log "iperf3 a->b over inner IPv6 ${G3} Gbit/s"

ft_log "3. rekey under traffic: 1000 pings every 20 ms each way, no loss"
# Count-based (-c): ping waits up to -W for the last replies. A deadline (-w)
# would count a reply still in flight at the deadline as lost.
H0=$(tn_stat a 's["peers"][0]["handshakes"]')
ft_in a ping -q -c 1000 -i 0.02 -W 2 10.78.0.2 >"$FT_TMP/ping_ab.txt" 2>&1 &
PING_AB=$!
ft_in b ping -q -c 1000 -i 0.02 -W 2 10.78.0.1 >"$FT_TMP/ping_ba.txt" 2>&1
wait "$PING_AB"
sleep 0.5 # the stats file is rewritten every 200 ms
H1=$(tn_stat a 's["peers"][0]["handshakes"]')
cat "$FT_TMP/ping_ab.txt" "$FT_TMP/ping_ba.txt" >&2
grep -q '1000 packets transmitted, 1000 received' "$FT_TMP/ping_ab.txt" ||
  ft_fail "packets lost across rekeys (a -> b)"
grep -q '1000 packets transmitted, 1000 received' "$FT_TMP/ping_ba.txt" ||
  ft_fail "packets lost across rekeys (b -> a)"
((H1 >= H0 + 6)) || ft_fail "too few rekeys under traffic (sessions $H0 -> $H1)"
ft_log "$((H1 - H0)) rekeys under traffic without loss"

ft_log "4. restart of either side re-handshakes"
tn_ferry_stop b
tn_ferry_start b b
ft_wait 10 "a pings b after b restarted" ft_in a ping -c1 -W1 10.78.0.2
tn_ferry_stop a
tn_ferry_start a a
ft_wait 10 "b pings a after a restarted" ft_in b ping -c1 -W1 10.78.0.1

ft_log "5. a private key readable by others is refused"
chmod 644 "$FT_TMP/a.key"
tn_ferry_stop a
ip netns exec "$FT_NS_a" "$TN_BIN" --config "$FT_TMP/a.toml" >"$FT_TMP/refuse.txt" 2>&1 &&
  ft_fail "started with a world-readable key"
grep -q "chmod 600" "$FT_TMP/refuse.txt" || { cat "$FT_TMP/refuse.txt" >&2; ft_fail "unclear error"; }
grep -q "$(cat "$FT_TMP/a.key")" "$FT_TMP"/*.log "$FT_TMP/refuse.txt" && ft_fail "private key printed"

ft_pass "ferry pair"
