#!/usr/bin/env bash
# BGP sessions flapping 100 times in all (`birdc disable` / `birdc enable` on
# the peer: Cease, TCP close, reconnect, full table again).
#
#   A (BIRD, AS 65002) ===== D (ferryd, AS 65001, FIB on) ---- B (BIRD, AS 65003, 2 routes)
#     sessions a1..aS, pair 10.9.1.2i <-> 10.9.1.1i, 200 routes each (10.(110+i).k.0/24)
#
# Each reconnect costs about 2 s whatever the timers (ferryd's 1 s idle hold or
# BIRD's 1 s minimum connect delay, then BIRD sends its table on its next
# keepalive tick), so S = 5 sessions flap together, ROUNDS = 20 times: 100
# session flaps in about a minute. FLAP_SESSIONS=1 FLAP_ROUNDS=100 makes one
# session flap 100 times (about 4 minutes here).
# Checks, every round:
#  - after disable: every a_i is down in ferryd and none of A's routes is left
#    in its RIB (withdrawn on session loss); b is Established with its routes;
#  - after enable: every a_i is Established again with exactly its 200 routes;
# every 2nd round also the kernel FIB in D (protocol 200 = ferry) holds A's and
# B's routes exactly. At the end: ferryd alive, RIB and kernel exactly A's and
# B's routes, each a_i established ROUNDS+1 times, b never reset
# (established_count 1), and ferryd's RSS after the last flap is at most 20%
# (1 MiB floor) above its RSS after flap 10: memory does not grow with flaps.
# shellcheck disable=SC2034
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=../lib/bgp_peers.sh
. "$HERE/../lib/bgp_peers.sh"
ft_init flap
ft_require bird birdc jq
S=${FLAP_SESSIONS:-5}
ROUNDS=${FLAP_ROUNDS:-20}
NA=${FLAP_ROUTES:-200}            # routes per session (< 256)
BASE_ROUND=$(((10 + S - 1) / S))   # RSS baseline: the round that completes flap 10

ft_ns a
ft_ns d
ft_ns b
ft_link a "" d ""
for ((i = 1; i <= S; i++)); do
  ft_addr a "$(ft_ifname a d 0)" "10.9.1.2$i/24"
  ft_addr d "$(ft_ifname d a 0)" "10.9.1.1$i/24"
done
ft_link d 10.9.2.1/24 b 10.9.2.2/24

CONF="$FT_TMP/ferry.toml"
rl_ferry_conf "$CONF" 65001 10.255.0.1 true
T=("hold-time = 6" "connect-retry = 1" "ipv6 = false")
for ((i = 1; i <= S; i++)); do
  rl_ferry_nbr "$CONF" "a$i" "10.9.1.2$i" 65002 "${T[@]}" "local-address = \"10.9.1.1$i\""
done
rl_ferry_nbr "$CONF" b 10.9.2.2 65003 "${T[@]}"
rl_ferry_start d "$CONF"
[[ "$(cat "/proc/$RL_FERRYD_PID/comm")" == ferryd ]] || ft_fail "pid $RL_FERRYD_PID is not ferryd"

routes_of() {  # I: the prefixes A announces on session a_I, sorted
  local k
  for ((k = 0; k < NA; k++)); do echo "10.$((110 + $1)).$k.0/24"; done | sort
}
TIMERS="hold time 6; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2;"
ADIR="$FT_TMP/A-bird" BDIR="$FT_TMP/B-bird"
mkdir -p "$ADIR" "$BDIR"
{
  echo "router id 10.255.0.2;"
  echo "log \"$ADIR/bird.log\" { warning, error, fatal, bug };"
  echo "protocol device {}"
  for ((i = 1; i <= S; i++)); do
    echo "protocol static s$i { ipv4; $(routes_of "$i" | sed 's/.*/route & blackhole;/' | tr '\n' ' ') }"
    echo "protocol bgp a$i {"
    echo "  local 10.9.1.2$i as 65002; neighbor 10.9.1.1$i as 65001; $TIMERS"
    echo "  ipv4 { import all; export where proto = \"s$i\"; };"
    echo "}"
  done
} >"$ADIR/bird.conf"
{
  echo "router id 10.255.0.3;"
  echo "log \"$BDIR/bird.log\" { warning, error, fatal, bug };"
  echo "protocol device {}"
  echo "protocol static s0 { ipv4; route 10.103.0.0/24 blackhole; route 10.103.1.0/24 blackhole; }"
  echo "protocol bgp b {"
  echo "  local 10.9.2.2 as 65003; neighbor 10.9.2.1 as 65001; $TIMERS"
  echo "  ipv4 { import all; export where source = RTS_STATIC; };"
  echo "}"
} >"$BDIR/bird.conf"
rl_bird_start a "$ADIR"
rl_bird_start b "$BDIR"

B_ROUTES="10.103.0.0/24 10.103.1.0/24"
WANT_UP=$(
  printf 'b established 1\nb %s\n' "$B_ROUTES"
  for ((i = 1; i <= S; i++)); do
    printf 'a%d established\na%d %s\n' "$i" "$i" "$(routes_of "$i" | tr '\n' ' ' | sed 's/ $//')"
  done | sort
)
ALL_ROUTES=$({
  for ((i = 1; i <= S; i++)); do routes_of "$i"; done
  printf '%s\n' 10.103.0.0/24 10.103.1.0/24
} | sort)

# Two ferryctl calls. Prints "b STATE ESTABLISHED_COUNT", "b ROUTES", then the
# sorted lines "aI STATE" and "aI ROUTES" (best prefixes learned from a_I).
snapshot() {
  local nb rt
  nb=$(rl_ctl d --json show neighbors) || return 1
  rt=$(rl_ctl d --json show routes) || return 1
  jq -r '.neighbors[] | select(.name == "b") | "b \(.state | ascii_downcase) \(.established_count)"' <<<"$nb"
  jq -r '"b " + ([.routes[] | select(.peer == "b") | .prefix] | sort | join(" "))' <<<"$rt"
  {
    jq -r '.neighbors[] | select(.name != "b") | "\(.name) \(.state | ascii_downcase)"' <<<"$nb"
    jq -r --argjson n "$S" 'range(1; $n + 1) as $i | "a\($i)" as $p |
      "\($p) " + ([.routes[] | select(.peer == $p) | .prefix] | sort | join(" "))' <<<"$rt"
  } | sort
}
all_up() { [[ "$(snapshot)" == "$WANT_UP" ]]; }
all_down() {  # every a_i down with no route left; b untouched
  local s
  s=$(snapshot) || return 1
  [[ "$(sed -n 1,2p <<<"$s")" == "$(printf 'b established 1\nb %s' "$B_ROUTES")" ]] || return 1
  ! sed -n '3,$p' <<<"$s" | grep -e ' established$' -e '/' >/dev/null
}
kernel_ok() { [[ "$(rl_kernel_routes d 200)" == "$ALL_ROUTES" ]]; }

ft_wait 40 "a1..a$S and b Established with all routes" all_up
ft_wait 20 "kernel FIB in D holds A's and B's routes" kernel_ok

RSS_BASE=""
for ((r = 1; r <= ROUNDS; r++)); do
  rl_birdc a "$ADIR" disable '"a*"' >/dev/null
  rl_poll 30 all_down || ft_fail "round $r: sessions not down / routes not withdrawn:
$(snapshot | cut -c1-160)"
  rl_birdc a "$ADIR" enable '"a*"' >/dev/null
  rl_poll 40 all_up || ft_fail "round $r: not converged:
$(snapshot | cut -c1-160)"
  if ((r % 2 == 0 || r == BASE_ROUND)); then
    ft_wait 20 "round $r: kernel FIB converged" kernel_ok
    kill -0 "$RL_FERRYD_PID" || ft_fail "ferryd died in round $r"
    rss=$(rl_rss_kb "$RL_FERRYD_PID")
    ((r == BASE_ROUND)) && RSS_BASE=$rss
    ft_log "round $r ($((r * S)) flaps) done: ferryd RSS ${rss} kB"
  fi
done

# ---- final state ----------------------------------------------------------------
all_up || ft_fail "final RIB state wrong: $(snapshot | cut -c1-300)"
ft_wait 20 "kernel FIB in D holds exactly A's and B's routes" kernel_ok
for ((i = 1; i <= S; i++)); do
  n=$(rl_nbr d "a$i" established_count)
  ((n == ROUNDS + 1)) || ft_fail "a$i established $n times, want $((ROUNDS + 1))"
done
RSS=$(rl_rss_kb "$RL_FERRYD_PID")
if [[ -n "$RSS_BASE" ]] && ((ROUNDS > BASE_ROUND)); then
  limit=$((RSS_BASE + (RSS_BASE / 5 > 1024 ? RSS_BASE / 5 : 1024)))
  ft_log "ferryd RSS: ${RSS_BASE} kB after flap $((BASE_ROUND * S)), ${RSS} kB after flap $((ROUNDS * S)) (limit $limit kB)"
  ((RSS <= limit)) || ft_fail "ferryd RSS grew from ${RSS_BASE} kB to ${RSS} kB"
fi
ft_pass "$((ROUNDS * S)) session flaps ($S sessions x $ROUNDS rounds)"
