#!/usr/bin/env bash
# BMP export (RFC 7854) to a monitoring station, end to end. BIRD (AS 65010)
# feeds ferryd (AS 65001) over eBGP; ferryd exports to two stations played by
# collector.py (its own BMP and BGP UPDATE decoder) on ferryd's loopback:
#   "live" reads everything, "stuck" stops reading after its first 2 KB.
# When pmacct's pmbmpd is installed it is a third station, and what it decodes
# must agree (Initiation, Peer Up, the routes and attributes, the withdrawal,
# the Peer Down). Checks, from what "live" decoded:
#   - Initiation comes first, with sysName and sysDescr;
#   - Peer Up for BIRD: peer address, AS 65010, BGP ID, both OPENs (ours with
#     AS 65001 and our router id, BIRD's with its id), ports 179 on one side;
#   - Route Monitoring (pre-policy) with exactly BIRD's prefixes and their
#     attributes (AS_PATH 65010, next hop, MED 42, community 65010:7), and the
#     post-policy view (L flag) as configured;
#   - a reload that changes the station: Termination on the old connection, and
#     the new one gets Initiation, Peer Up and the initial dump (pre- and
#     post-policy) closed by End-of-RIB;
#   - a prefix BIRD withdraws shows up as a withdrawal;
#   - Stats Reports with types 0, 7, 8;
#   - Peer Down with reason 3 (BIRD's Cease) when BIRD shuts the session down;
# and that the stuck station does not hold BGP back: while it sits there,
# 50000 more prefixes reach ferryd's RIB and the live station, and the stuck
# one's connection is dropped for its queue (counted in `show bmp`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
ferry_test_init bmpexport bird birdc

ft_ns b
ft_ns f
ft_link b 192.0.2.1/24 f 192.0.2.2/24
# Small TCP buffers in ferryd's namespace: a stuck station fills them soon.
ft_in f sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536" net.ipv4.tcp_rmem="4096 16384 65536"

LIVE_PORT=11019
STUCK_PORT=11020
ft_bg f "$FT_TMP/live.err" python3 "$here/collector.py" 127.0.0.1 $LIVE_PORT "$FT_TMP/live.jsonl"
ft_bg f "$FT_TMP/stuck.err" python3 "$here/collector.py" 127.0.0.1 $STUCK_PORT \
  "$FT_TMP/stuck.jsonl" --stall 2048
PM_PORT=11021
# A real station too, when installed: pmacct's pmbmpd logs what it decodes as JSON.
PMBMPD=$(command -v pmbmpd || true)
if [[ -n "$PMBMPD" ]]; then
  ft_bg f "$FT_TMP/pmbmpd.err" "$PMBMPD" -L 127.0.0.1 -l $PM_PORT -o "$FT_TMP/pmbmpd.json"
fi
ft_wait 10 "collectors listening" ft_in f python3 -c "
import socket
for p in ($LIVE_PORT, $STUCK_PORT):
    socket.create_connection(('127.0.0.1', p)).close()"

bird_conf() {  # EXTRA_STATIC_LINES...
  cat >"$FT_TMP/bird.conf" <<BIRD
router id 10.0.0.10;
log "$FT_TMP/bird.log" all;
protocol device {}
filter to_dut {
  if source = RTS_STATIC then {
    bgp_med = 42;
    bgp_community.add((65010, 7));
  }
  accept;
}
protocol static s4 {
  ipv4;
$(printf '  %s\n' "$@")
}
protocol bgp dut {
  local 192.0.2.1 as 65010;
  neighbor 192.0.2.2 as 65001;
  hold time 9;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import all; export filter to_dut; };
}
BIRD
}
bird_conf "route 10.77.1.0/24 blackhole;" "route 10.77.2.0/24 blackhole;"
ft_in b bird -c "$FT_TMP/bird.conf" -s "$FT_TMP/bird.ctl" -P "$FT_TMP/bird.pid" ||
  ft_fail "bird did not start"
ft_kill_pidfile "$FT_TMP/bird.pid"

gw_conf() {  # STATS_INTERVAL of the live station
  ferry_toml_new gw 65001 10.0.0.1
  ferry_toml_section "[fib]" "install = false"
  ferry_toml_neighbor bird 192.0.2.1 65010
  ferry_toml_section "[[bmp]]" 'name = "live"' "station = \"127.0.0.1:$LIVE_PORT\"" \
    'route-monitoring = ["pre-policy", "post-policy"]' "stats-interval = $1"
  ferry_toml_section "[[bmp]]" 'name = "stuck"' "station = \"127.0.0.1:$STUCK_PORT\"" \
    "queue-limit = 65536"
  if [[ -n "$PMBMPD" ]]; then
    ferry_toml_section "[[bmp]]" 'name = "pmacct"' "station = \"127.0.0.1:$PM_PORT\""
  fi
  ferry_toml_write
}
gw_conf 1
"$FERRYD" --check --config "$FT_TMP/gw.toml" >/dev/null || ft_fail "config rejected"
ft_bg f "$FT_TMP/ferryd.log" "$FERRYD" --config "$FT_TMP/gw.toml"
ft_wait 10 "ferryd control socket" test -S "$FT_TMP/gw.sock"
ctl() { ft_in f "$FERRYCTL" --socket "$FT_TMP/gw.sock" "$@"; }

# check NAME ARGS: runs the assertion NAME of check.py on the live station's log.
check() { python3 "$here/check.py" "$1" "$FT_TMP/live.jsonl" "${@:2}"; }
route_count() {  # N: ferryd's RIB holds N prefixes
  ctl --json show routes | python3 -c "import json, sys; sys.exit(len(json.load(sys.stdin)['routes']) != $1)"
}
stuck_dropped() {  # the stuck station's connection was dropped for its queue at least once
  ctl --json show bmp | python3 -c "
import json, sys
st = {s['name']: s for s in json.load(sys.stdin)['stations']}
sys.exit(0 if st['stuck']['drops'] >= 1 and st['live']['drops'] == 0 else 1)"
}
ft_wait 30 "session up and both prefixes at the station" check routes 10.77.1.0/24 10.77.2.0/24
check start || ft_fail "Initiation / Peer Up wrong"
ft_wait 10 "stats reports" check stats
if [[ -n "$PMBMPD" ]]; then
  ft_wait 20 "pmbmpd decoded the Initiation, Peer Up and both routes" \
    python3 "$here/check.py" pmacct_routes "$FT_TMP/pmbmpd.json"
fi

# Reload with the live station changed: it reconnects and gets the initial dump.
gw_conf 2
ctl reload >/dev/null || ft_fail "reload failed"
ft_wait 30 "Termination, then a new connection with the dump and End-of-RIB" check dump

# A withdrawal and 50000 more prefixes while the stuck station sits there.
N=50000
python3 -c "
for i in range($N):
    print(f'route 198.{18 + i // 65536}.{(i // 256) % 256}.{i % 256}/32 blackhole;')" \
  >"$FT_TMP/extra.routes"
mapfile -t extra <"$FT_TMP/extra.routes"
bird_conf "route 10.77.1.0/24 blackhole;" "${extra[@]}"
ft_in b birdc -s "$FT_TMP/bird.ctl" configure >/dev/null || ft_fail "bird reconfigure failed"
ft_wait 60 "withdrawal at the station" check withdrawn 10.77.2.0/24
ft_wait 60 "$((N + 1)) prefixes in ferryd's RIB" route_count $((N + 1))
ft_wait 60 "the live station's pre-policy table is BIRD's $((N + 1)) prefixes" check table \
  $((N + 1))
ft_wait 30 "stuck station dropped for its queue" stuck_dropped
ctl show bmp >&2

# BIRD shuts the session down: Peer Down with its Cease.
ft_in b birdc -s "$FT_TMP/bird.ctl" disable dut >/dev/null
ft_wait 30 "peer down" check peer_down
if [[ -n "$PMBMPD" ]]; then
  ft_wait 20 "pmbmpd decoded the withdrawal and the Peer Down" \
    python3 "$here/check.py" pmacct_end "$FT_TMP/pmbmpd.json"
fi
check no_errors || ft_fail "the collector could not decode something"
ft_pass "BMP: initiation, peer up, route monitoring, withdrawal, stats, peer down; stuck station dropped"
