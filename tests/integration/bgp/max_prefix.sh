#!/usr/bin/env bash
# Per-neighbour maximum-prefix limit (RFC 4486 §4, Cease subcode 1).
#
#   A (BIRD, AS 65002) ==== D (ferryd, AS 65001) ---- B (BIRD, AS 65003)
#     aw: 10.9.1.21 <-> .11 (limit 5, action warn)     b: 10.9.2.2 <-> .1 (no limit)
#     ar: 10.9.1.22 <-> .12 (limit 5, action restart, restart after 4 s)
#
# A announces 8 prefixes on both of its sessions, B announces 2. Checks:
#  1. B's session is up with its 2 routes before A starts;
#  2. aw (warn): all 8 prefixes accepted, max_prefix_exceeded is reported, a
#     warning is logged, and the session stays Established (never re-established);
#  3. ar (restart): ferryd sends the NOTIFICATION Cease / Maximum Number of
#     Prefixes Reached (A's BIRD records it), withdraws ar's routes, holds the
#     session down for the configured 4 s (measured between ferryd's own log
#     lines) and then re-establishes it (established_count grows);
#  4. all along, B's session is untouched: same routes in `show routes`,
#     established_count 1, and its uptime covers the whole test.
# shellcheck disable=SC2034
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=../lib/bgp_peers.sh
. "$HERE/../lib/bgp_peers.sh"
ft_init maxprefix
ft_require bird birdc jq
RESTART=4

ft_ns a
ft_ns d
ft_ns b
ft_link a 10.9.1.21/24 d 10.9.1.11/24
ft_addr a "$(ft_ifname a d 0)" 10.9.1.22/24
ft_addr d "$(ft_ifname d a 0)" 10.9.1.12/24
ft_link d 10.9.2.1/24 b 10.9.2.2/24

CONF="$FT_TMP/ferry.toml"
rl_ferry_conf "$CONF" 65001 10.255.0.1
T=("hold-time = 6" "connect-retry = 1" "ipv6 = false")
rl_ferry_nbr "$CONF" aw 10.9.1.21 65002 "${T[@]}" 'local-address = "10.9.1.11"' \
  "max-prefixes = 5" 'max-prefix-action = "warn"'
rl_ferry_nbr "$CONF" ar 10.9.1.22 65002 "${T[@]}" 'local-address = "10.9.1.12"' \
  "max-prefixes = 5" 'max-prefix-action = "restart"' "max-prefix-restart = $RESTART"
rl_ferry_nbr "$CONF" b 10.9.2.2 65003 "${T[@]}" 'local-address = "10.9.2.1"'
rl_ferry_start d "$CONF"

BDIR="$FT_TMP/B-bird"
mkdir -p "$BDIR"
rl_bird_dut_conf "$BDIR/bird.conf" 10.255.0.3 65003 \
  "route 10.103.0.0/24 blackhole; route 10.103.1.0/24 blackhole;" \
  "protocol bgp b from dut { local 10.9.2.2; neighbor 10.9.2.1 as 65001; }"
ADIR="$FT_TMP/A-bird"
mkdir -p "$ADIR"
rl_bird_dut_conf "$ADIR/bird.conf" 10.255.0.2 65002 \
  "$(for i in 0 1 2 3 4 5 6 7; do echo "route 10.102.$i.0/24 blackhole;"; done)" \
  "protocol bgp aw from dut { local 10.9.1.21; neighbor 10.9.1.11 as 65001; }
protocol bgp ar from dut { local 10.9.1.22; neighbor 10.9.1.12 as 65001; }"

# ---- 1. B first ----------------------------------------------------------------
rl_bird_start b "$BDIR"
B_ROUTES=$(printf '%s\n' 10.103.0.0/24 10.103.1.0/24)
b_ok() {
  [[ "$(rl_nbr_state d b)" == established && "$(rl_nbr d b established_count)" == 1 &&
    "$(rl_routes_from d b)" == "$B_ROUTES" ]]
}
ft_wait 30 "b Established with its 2 routes" b_ok
T0=$(date +%s)
U0=$(rl_nbr d b uptime)

# ---- 2. warn ---------------------------------------------------------------------
rl_bird_start a "$ADIR"
A_ROUTES=$(for i in 0 1 2 3 4 5 6 7; do echo "10.102.$i.0/24"; done)
aw_over() {
  [[ "$(rl_nbr_state d aw)" == established && "$(rl_nbr d aw max_prefix_exceeded)" == true &&
    "$(rl_nbr d aw prefixes_received)" == 8 && "$(rl_routes_via d aw)" == "$A_ROUTES" ]]
}
ft_wait 30 "aw over its limit (8 > 5) but Established with all 8 routes" aw_over
aw_steady() { aw_over && [[ "$(rl_nbr d aw established_count)" == 1 ]] && b_ok; }
ft_hold 8 "aw (warn) stays up, b unaffected" aw_steady
grep -q 'aw: 8 prefixes received, limit 5' "$FT_TMP/D-ferryd.log" ||
  ft_fail "no max-prefix warning logged for aw"

# ---- 3. restart ------------------------------------------------------------------
ar_torn() {
  (($(rl_nbr d ar notifications_out) >= 1)) &&
    rl_birdc a "$ADIR" show protocols all ar | grep -i 'maximum number of prefixes' >/dev/null
}
ft_wait 30 "ar torn down with Cease/Maximum Number of Prefixes Reached (seen by BIRD)" ar_torn
ft_log "BIRD ar: $(rl_birdc a "$ADIR" show protocols all ar | grep -i 'error' | head -1 | xargs)"
b_ok || ft_fail "b disturbed by ar's tear-down"
ar_held() { [[ "$(rl_nbr_state d ar)" != established && "$(rl_routes_via d ar)" == "" ]]; }
ft_wait 30 "ar held down with its routes withdrawn" ar_held
ar_back() { (($(rl_nbr d ar established_count) >= 2)); }
ft_wait $((RESTART + 30)) "ar re-established after the hold-down" ar_back
b_ok || ft_fail "b disturbed by ar's reconnect"
# The hold-down, from ferryd's log: "ar: ... closing, retry in 4 s" to the next
# "ar: established". Lower bound only (the wait may be longer under load).
gap=$(python3 - "$FT_TMP/D-ferryd.log" <<'EOF'
import re, sys, datetime
ts = lambda l: datetime.datetime.strptime(re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)", l).group(1), "%Y-%m-%dT%H:%M:%S.%f")
close = None
for l in open(sys.argv[1]):
    if "bgp ar:" in l and "exceed the limit" in l and close is None:
        close = ts(l)
    elif "bgp ar: established" in l and close is not None:
        print("%.3f" % (ts(l) - close).total_seconds()); break
EOF
)
ft_log "ar held down for ${gap:-?} s (configured $RESTART s)"
[[ -n "$gap" ]] || ft_fail "cannot find ar's tear-down and re-establishment in ferryd's log"
python3 -c "import sys; sys.exit(0 if float('$gap') >= $RESTART - 0.5 else 1)" ||
  ft_fail "ar reconnected after ${gap}s, before its ${RESTART}s max-prefix restart time"
# The NOTIFICATION is Cease (6) / subcode 1: check ferryd's counter and BIRD's text.
ft_log "ar: notifications_out=$(rl_nbr d ar notifications_out) established_count=$(rl_nbr d ar established_count)"

# ---- 4. B untouched -----------------------------------------------------------
b_ok || ft_fail "b not Established with its routes at the end"
U1=$(rl_nbr d b uptime)
T1=$(date +%s)
ft_log "b uptime $U0 s -> $U1 s over $((T1 - T0)) s"
((U1 >= U0 + T1 - T0 - 2)) || ft_fail "b's session was reset (uptime $U0 -> $U1 over $((T1 - T0)) s)"
kill -0 "$RL_FERRYD_PID" || ft_fail "ferryd died"
ft_pass "max-prefix warn and restart; other sessions unaffected"
