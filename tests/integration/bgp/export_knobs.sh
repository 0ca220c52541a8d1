#!/usr/bin/env bash
# Export budget, aggregation and AS_PATH prepend towards real BGP speakers.
#
#   A (BIRD, AS 65002) ---- D (ferryd, AS 65001) ---- C (BIRD, AS 64512, "cloud")
#     10.9.1.2 <-> .1                          |        10.9.2.2 <-> .1
#                                              +------- S (BIRD, AS 64513, "standby")
#                                                       10.9.3.2 <-> .1
# A announces 10.102.{0..7}.0/24 and 172.20.{0,1}.0/24 (ten prefixes). D sends
# C at most 3 prefixes (max-prefixes-out = 3, aggregate candidate
# 10.102.0.0/16) and S everything with `prepend = 2`. Checks:
#  1. C's BIRD holds exactly 10.102.0.0/16 (with D's AGGREGATOR), 172.20.0.0/24
#     and 172.20.1.0/24; `show neighbors` reports the budget (3/3, 8 aggregated)
#     and `show route 10.102.3.0/24` says it is aggregated for c; a warning is
#     logged;
#  2. S's BIRD holds all ten with AS_PATH 65001 65001 65001 65002;
#  3. A withdraws seven of the /24s: the three prefixes left fit, so C gets them
#     as they are and the aggregate is withdrawn; A adds 172.21.0.0/24, which no
#     candidate covers: it is held back from C (reason export_budget) and sent to S;
#  4. C's session was never reset (established_count 1 in ferryd and BIRD).
# shellcheck disable=SC2034
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=../lib/bgp_peers.sh
. "$HERE/../lib/bgp_peers.sh"
ft_init exportknobs
ft_require bird birdc jq

ft_ns a
ft_ns d
ft_ns c
ft_ns s
ft_link a 10.9.1.2/24 d 10.9.1.1/24
ft_link d 10.9.2.1/24 c 10.9.2.2/24
ft_link d 10.9.3.1/24 s 10.9.3.2/24

CONF="$FT_TMP/ferry.toml"
rl_ferry_conf "$CONF" 65001 10.255.0.1
T=("hold-time = 6" "connect-retry = 1" "ipv6 = false")
rl_ferry_nbr "$CONF" a 10.9.1.2 65002 "${T[@]}" 'local-address = "10.9.1.1"'
rl_ferry_nbr "$CONF" c 10.9.2.2 64512 "${T[@]}" 'local-address = "10.9.2.1"' \
  "max-prefixes-out = 3" 'aggregate-candidates = ["10.102.0.0/16", "192.168.0.0/16"]'
rl_ferry_nbr "$CONF" s 10.9.3.2 64513 "${T[@]}" 'local-address = "10.9.3.1"' "prepend = 2"
rl_ferry_start d "$CONF"

A_ROUTES="$(for i in 0 1 2 3 4 5 6 7; do echo "route 10.102.$i.0/24 blackhole;"; done)
route 172.20.0.0/24 blackhole; route 172.20.1.0/24 blackhole;"
for n in a c s; do mkdir -p "$FT_TMP/$n-bird"; done
rl_bird_dut_conf "$FT_TMP/a-bird/bird.conf" 10.255.0.2 65002 "$A_ROUTES" \
  "protocol bgp d from dut { local 10.9.1.2; neighbor 10.9.1.1 as 65001; }"
rl_bird_dut_conf "$FT_TMP/c-bird/bird.conf" 10.255.0.3 64512 "" \
  "protocol bgp d from dut { local 10.9.2.2; neighbor 10.9.2.1 as 65001; }"
rl_bird_dut_conf "$FT_TMP/s-bird/bird.conf" 10.255.0.4 64513 "" \
  "protocol bgp d from dut { local 10.9.3.2; neighbor 10.9.3.1 as 65001; }"
for n in c s a; do rl_bird_start "$n" "$FT_TMP/$n-bird"; done

bird_prefixes() {  # NS: the BGP routes in that BIRD, sorted
  rl_birdc "$1" "$FT_TMP/$1-bird" show route protocol d |
    awk '$1 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\/[0-9]+$/ {print $1}' | sort
}
budget() { rl_ctl d --json show neighbors | jq -r '.neighbors[] | select(.name == "c") | .export_budget | "\(.used)/\(.max) held=\(.held) aggregated=\(.aggregated)"'; }
export_reason() {  # PREFIX NEIGHBOR
  rl_ctl d --json show route "$1" | jq -r --arg n "$2" '.exports[] | select(.neighbor == $n) | .reason'
}

# ---- 1. the cloud side: three prefixes, one an aggregate --------------------------
C_WANT=$(printf '%s\n' 10.102.0.0/16 172.20.0.0/24 172.20.1.0/24)
c_ok() { [[ "$(bird_prefixes c)" == "$C_WANT" && "$(budget)" == "3/3 held=0 aggregated=8" ]]; }
ft_wait 40 "C holds the aggregate and the two 172.20 prefixes (budget 3/3)" c_ok
agg=$(rl_birdc c "$FT_TMP/c-bird" show route 10.102.0.0/16 all)
ft_log "C's view of the aggregate: $(echo "$agg" | grep -E 'bgp_path|aggregator' | xargs)"
echo "$agg" | grep -q 'BGP.aggregator: 10.255.0.1 AS65001' ||
  ft_fail "the aggregate carries no AGGREGATOR 10.255.0.1 AS65001: $agg"
echo "$agg" | grep -q 'BGP.as_path: 65001 65002' || ft_fail "aggregate AS_PATH wrong: $agg"
[[ "$(export_reason 10.102.3.0/24 c)" == aggregated ]] ||
  ft_fail "show route 10.102.3.0/24 does not say it is aggregated for c"
[[ "$(export_reason 10.102.3.0/24 a)" == learned_from_this_neighbor ]] ||
  ft_fail "show route 10.102.3.0/24 gives the wrong reason for a"
grep -q '"event":"bgp_export_budget"\|export budget 3/3' "$FT_TMP/D-ferryd.log" ||
  ft_fail "no export budget warning logged"

# ---- 2. the standby side: everything, prepended ------------------------------------
s_ok() { [[ "$(bird_prefixes s | wc -l)" == 10 ]]; }
ft_wait 30 "S holds all ten prefixes" s_ok
path=$(rl_birdc s "$FT_TMP/s-bird" show route 172.20.0.0/24 all | grep 'BGP.as_path' | xargs)
[[ "$path" == "BGP.as_path: 65001 65001 65001 65002" ]] || ft_fail "S sees '$path', not 3x 65001"

# ---- 3. withdrawals: the aggregate gives way, then the budget holds one back --------
sed -i -E 's/route 10\.102\.[1-7]\.0\/24 blackhole;//g' "$FT_TMP/a-bird/bird.conf"
rl_birdc a "$FT_TMP/a-bird" configure >/dev/null
C_WANT=$(printf '%s\n' 10.102.0.0/24 172.20.0.0/24 172.20.1.0/24)
fits() { [[ "$(bird_prefixes c)" == "$C_WANT" && "$(budget)" == "3/3 held=0 aggregated=0" ]]; }
ft_wait 30 "three prefixes left: C gets them as they are, the aggregate withdrawn" fits
sed -i -E 's|route 172\.20\.1\.0/24 blackhole;|& route 172.21.0.0/24 blackhole;|' \
  "$FT_TMP/a-bird/bird.conf"
rl_birdc a "$FT_TMP/a-bird" configure >/dev/null
held() {
  [[ "$(rl_routes_from d a | wc -l)" == 4 && "$(bird_prefixes c)" == "$C_WANT" &&
    "$(budget)" == "3/3 held=1 aggregated=0" ]]
}
ft_wait 30 "a fourth prefix no candidate covers is held back" held
[[ "$(export_reason 172.21.0.0/24 c)" == export_budget ]] ||
  ft_fail "show route 172.21.0.0/24 does not say the export budget holds it back from c"
[[ "$(export_reason 172.21.0.0/24 s)" == advertised ]] ||
  ft_fail "172.21.0.0/24 not advertised to s"

# ---- 4. never a reset ---------------------------------------------------------------
[[ "$(rl_nbr d c established_count)" == 1 ]] || ft_fail "c's session was reset"
kill -0 "$RL_FERRYD_PID" || ft_fail "ferryd died"
ft_pass "export budget with aggregation, prepend, and why-not-advertised"
