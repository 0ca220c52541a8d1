#!/usr/bin/env bash
# Handshake flood against a ferry tunnel endpoint (hostile tunnel traffic; the
# cookie reply under load of the WireGuard paper §5.3 must keep the endpoint up).
#
#   ns a: tunnel_node 10.81.0.1 --- 192.168.81.1/.2 --- ns v: tunnel_node 10.81.0.2 (victim)
#                                                        |  192.168.82.1
#   ns x: wg_flood.py from 192.168.82.2 + 200 more addresses (.10 - .209)
#
# The generator sends forged initiations with a valid mac1 for v's public key
# (random everything else), bounded in packets and seconds, from 201 source
# addresses in its own namespace. Asserted:
#   1. v answers the flood with cookie replies (type 3) to many distinct
#      sources (it is under load), and counts no bad_mac (the mac1 is right);
#   2. the established a <-> v session keeps carrying pings during the flood
#      (at most half lost -- a generous bound, the 2 cores are shared);
#   3. a restarted genuine peer completes a new handshake while the flood is
#      still running (cookie reply, then its retry with mac2), and v is alive.
# usage: handshake_flood.sh path/to/tunnel_node
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=tunnel_lib.sh
. "$HERE/tunnel_lib.sh"
TN_BIN=${1:?usage: $0 tunnel_node}
FLOOD="$HERE/wg_flood.py"

ft_init tunflood
ft_require wg nft python3 "$TN_BIN"
ft_ns a
ft_ns v
ft_ns x
ft_link a 192.168.81.1/24 v 192.168.81.2/24
ft_link x 192.168.82.2/24 v 192.168.82.1/24
XIF=$(ft_ifname x v 1)
SRCS=192.168.82.2
for i in $(seq 10 209); do SRCS+=",192.168.82.$i"; done
for i in $(seq 10 209); do echo "address add 192.168.82.$i/24 dev $XIF"; done |
  ip -n "$FT_NS_x" -batch - || ft_fail "cannot add flood source addresses"

tn_keys a
tn_keys v
APUB=$(cat "$FT_TMP/a.pub")
VPUB=$(cat "$FT_TMP/v.pub")
# REKEY_TIMEOUT 1 s: a cookie-refused initiation is retried quickly.
SCALE='timer-scale = 0.2'
tn_ferry_config a "${FT_ID}a" 51820 10.81.0.1/24 v "$VPUB" 192.168.81.2:51820 '"10.81.0.2/32"' "" "$SCALE"
tn_ferry_config v "${FT_ID}v" 51820 10.81.0.2/24 a "$APUB" 192.168.81.1:51820 '"10.81.0.1/32"' "" "$SCALE"
tn_ferry_start a a
tn_ferry_start v v
ft_wait 10 "a pings v" ft_in a ping -c1 -W1 10.81.0.2

# flood SECONDS MAXPACKETS OUT: runs the generator in x in the background (FLOOD_PID).
flood() {
  ft_in x python3 "$FLOOD" --victim-pub "$VPUB" --dst 192.168.82.1 --port 51820 --src "$SRCS" \
    --seconds "$1" --max-packets "$2" >"$3" 2>"$3.err" &
  FLOOD_PID=$!
  ft_on_exit "kill $FLOOD_PID 2>/dev/null"
}
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
vpid_alive() { kill -0 "$(cat "$FT_TMP/v.pid")" 2>/dev/null; }
vdrops() { tn_stat v 's["drops"]'; }

ft_log "1. flood for 8 s while a pings v every 50 ms"
flood 8 400000 "$FT_TMP/flood1.json"
ft_in a ping -q -i 0.05 -c 100 -W 1 10.81.0.2 >"$FT_TMP/ping1.txt" 2>&1
wait "$FLOOD_PID" || { cat "$FT_TMP/flood1.json.err" >&2; ft_fail "flood generator failed"; }
cat "$FT_TMP/ping1.txt" >&2
ft_log "generator: $(cat "$FT_TMP/flood1.json")"
vpid_alive || ft_fail "victim died during the flood"
sleep 0.5 # one more stats dump
ft_log "victim drops: $(vdrops)"
SENT=$(jget "$FT_TMP/flood1.json" sent)
COOKIES=$(jget "$FT_TMP/flood1.json" cookie_replies)
ANSWERED=$(jget "$FT_TMP/flood1.json" sources_answered)
RCVD=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$FT_TMP/ping1.txt")
((SENT >= 10000)) || ft_fail "generator sent only $SENT initiations"
((COOKIES > 0)) || ft_fail "no cookie reply to $SENT forged initiations: not under load?"
((ANSWERED >= 100)) || ft_fail "cookie replies reached only $ANSWERED of 201 sources"
tn_stat v 's["drops"]["bad_mac"] == 0' >/dev/null || ft_fail "victim counted bad mac1s: generator's mac1 is wrong"
((${RCVD:-0} >= 50)) || ft_fail "established session starved: $RCVD of 100 pings answered"
ft_log "ok: $COOKIES cookie replies to $ANSWERED sources for $SENT initiations; $RCVD/100 pings"

ft_log "2. a restarts during a flood and must handshake again (cookie, then mac2)"
ft_in a nft -f - <<EOF || ft_fail "nft setup failed"
table inet ${FT_ID}fl {
  chain in {
    type filter hook input priority 0; policy accept;
    ip saddr 192.168.81.2 udp sport 51820 @th,64,8 3 counter
  }
}
EOF
flood 25 2000000 "$FT_TMP/flood2.json"
sleep 1
tn_ferry_stop a
tn_ferry_start a a
ft_wait 20 "restarted a pings v during the flood" ft_in a ping -c1 -W1 10.81.0.2
kill -0 "$FLOOD_PID" 2>/dev/null || ft_fail "the flood ended before a re-handshook (test proves nothing)"
tn_stat a 's["peers"][0]["latest_handshake"] is not None' >/dev/null || ft_fail "a shows no handshake"
A_COOKIES=$(ft_in a nft list table inet "${FT_ID}fl" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
ft_log "a received ${A_COOKIES:-0} cookie replies from v before its handshake completed"
((${A_COOKIES:-0} >= 1)) || ft_fail "a got no cookie reply: v was not under load when a handshook"
ip netns pids "$FT_NS_x" | xargs -r kill # the generator is all that runs in x
wait "$FLOOD_PID" 2>/dev/null
vpid_alive || ft_fail "victim died"
ft_log "victim drops after phase 2: $(vdrops)"

ft_pass "handshake flood"
