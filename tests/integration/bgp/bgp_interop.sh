#!/usr/bin/env bash
# BGP interop test: the device under test (DUT, ferryd by default) between two
# reference speakers of one type.
#
#   bgp_interop.sh PEER          PEER: bird | frr | gobgp | exabgp | openbgpd
#   DUT=bird bgp_interop.sh frr  (harness self-check with BIRD in the middle)
#
#   A (PEER, eBGP AS 65002) -- D (DUT, AS 65001) -- B (PEER, iBGP AS 65001)
#
# One IPv4 session (IPv4 unicast) and one IPv6 session (IPv6 unicast) per
# link, hold time 6 s. Checks, each polled with a timeout:
#  1. all sessions reach Established and stay up for 3+ keepalive intervals;
#  2. routes flow A->B and B->A through D with AS_PATH, MED, LOCAL_PREF (iBGP),
#     communities, large and extended communities intact, seen both in the
#     peers' own CLI and in the DUT's CLI; D's own networks reach A and B;
#  3. withdrawals propagate both ways;
#  4. ROUTE-REFRESH from each peer makes D resend its routes, and D's own
#     ROUTE-REFRESH makes the peers resend theirs (sessions stay up);
#  5. stopping D sends a Cease that the peers record.
# Env: DUT, FERRY_BUILD (dir with bin/ferryd, bin/ferryctl), FT_KEEP=1 keeps logs,
# KEEP_GOING=1 reports every route mismatch instead of stopping at the first.
# shellcheck disable=SC2034  # the role variables are read indirectly by bgp_peers.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PEER=${1:?usage: bgp_interop.sh PEER}
DUT=${DUT:-ferryd}
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=../lib/bgp_peers.sh
. "$HERE/../lib/bgp_peers.sh"
for f in "$HERE"/../lib/bgp_peer_*.sh; do
  # shellcheck disable=SC1090
  [[ -f "$f" ]] && . "$f"
done
ft_init "bgp-$PEER-$DUT"
declare -F "${PEER}_start" >/dev/null || ft_fail "unknown peer type $PEER"
declare -F "dut_${DUT}_start" >/dev/null || ft_fail "unknown DUT type $DUT"
case $PEER in
  bird) ft_require bird birdc ;;
  frr) ft_require /usr/lib/frr/bgpd vtysh ;;
  gobgp) ft_require gobgpd gobgp ;;
  exabgp) ft_require exabgp ;;
  openbgpd) ft_require bgpd bgpctl ;;
esac
[[ $DUT == bird ]] && ft_require bird birdc
if [[ $DUT == ferryd ]] && [[ ! -x "$FERRYD" ]]; then
  ft_fail "ferryd not built at $FERRYD (set FERRY_BUILD)"
fi

# ---- topology ---------------------------------------------------------------
D_ASN=65001 D_RID=10.255.0.1 D_NS=d
D_A4=10.9.1.1 D_A6=fd00:9:1::1 D_B4=10.9.2.1 D_B6=fd00:9:2::1
D_NET4="10.101.0.0/16" D_NET6="2001:db8:101::/48"

A_NS=a A_ASN=65002 A_RID=10.255.0.2 A_ADDR4=10.9.1.2 A_ADDR6=fd00:9:1::2 A_NBR4=$D_A4 A_NBR6=$D_A6
A_NET4="10.102.0.0/16" A_NET4_WD="10.102.1.0/24"
A_NET6="2001:db8:102::/48" A_NET6_WD="2001:db8:102:1::/64"
A_MED=50 A_LP="" A_COMM=65002:100 A_LCOMM=65002:1:2 A_EXT=65002:7

B_NS=b B_ASN=65001 B_RID=10.255.0.3 B_ADDR4=10.9.2.2 B_ADDR6=fd00:9:2::2 B_NBR4=$D_B4 B_NBR6=$D_B6
B_NET4="10.103.0.0/16" B_NET4_WD="10.103.1.0/24"
B_NET6="2001:db8:103::/48" B_NET6_WD="2001:db8:103:1::/64"
B_MED=30 B_LP=200 B_COMM=65001:300 B_LCOMM=65001:3:4 B_EXT=65001:9

ft_ns a
ft_ns d
ft_ns b
ft_link a "$A_ADDR4/24" d "$D_A4/24"
ft_addr a "$(ft_ifname a d 0)" "$A_ADDR6/64"
ft_addr d "$(ft_ifname d a 0)" "$D_A6/64"
ft_link d "$D_B4/24" b "$B_ADDR4/24"
ft_addr d "$(ft_ifname d b 1)" "$D_B6/64"
ft_addr b "$(ft_ifname b d 1)" "$B_ADDR6/64"

# ---- helpers ------------------------------------------------------------------
SOFT_FAILS=0
all_established() { "dut_${DUT}_established" && "${PEER}_established" A && "${PEER}_established" B; }

# expect WHERE FIELDS REGEX WANT: the routes at WHERE (A, B or D) whose prefix
# matches REGEX, printed with FIELDS, must equal WANT (polled until they do).
routes_at() {
  if [[ $1 == D ]]; then "dut_${DUT}_routes"; else "${PEER}_routes" "$1"; fi
}
matches() {
  local got
  got=$(routes_at "$1" | python3 "$FT_LIB/bgp_routes.py" lines --fields "$2" --only "$3")
  [[ "$got" == "$4" ]]
}
expect() {
  local where=$1 fields=$2 only=$3 want=$4 deadline got
  deadline=$(($(date +%s) + ${EXPECT_TIMEOUT:-20}))
  until matches "$where" "$fields" "$only" "$want"; do
    if (($(date +%s) > deadline)); then
      got=$(routes_at "$where" | python3 "$FT_LIB/bgp_routes.py" lines --fields "$fields" --only "$only")
      if [[ "${KEEP_GOING:-0}" == 1 ]]; then  # diagnosis: report every mismatch, fail at the end
        (ft_expect_eq "routes at $where ($fields, $only)" "$got" "$want") || true
        SOFT_FAILS=$((SOFT_FAILS + 1))
        return 0
      fi
      ft_expect_eq "routes at $where ($fields, $only)" "$got" "$want"
    fi
    sleep 0.3
  done
  ft_log "ok: routes at $where match ($fields, /$only/)"
}
lines() { printf '%s\n' "$@"; }

# ---- 1. sessions ------------------------------------------------------------------
ft_log "DUT=$DUT peers=$PEER"
"dut_${DUT}_start"
"${PEER}_start" A
"${PEER}_start" B
ft_wait 30 "all 4 sessions Established" all_established
ft_hold 7 "sessions stay Established across 3 keepalive intervals (hold 6s)" all_established

# ---- 2. attributes end to end ------------------------------------------------------
A_ONLY='^(10\.102\.|2001:db8:102:)'
B_ONLY='^(10\.103\.|2001:db8:103:)'
D_ONLY='^(10\.101\.|2001:db8:101:)'
ATT_A="c=65002:100 lc=65002:1:2 ec=rt:65002:7"
ATT_B="c=65001:300 lc=65001:3:4 ec=rt:65001:9"
# At D itself, through its own CLI: exactly what A and B sent.
expect D as,med,c,lc,ec "$A_ONLY" "$(lines \
  "10.102.0.0/16 as=65002 med=50 $ATT_A" "10.102.1.0/24 as=65002 med=50 $ATT_A" \
  "2001:db8:102:1::/64 as=65002 med=50 $ATT_A" "2001:db8:102::/48 as=65002 med=50 $ATT_A")"
expect D as,med,lp,c,lc,ec "$B_ONLY" "$(lines \
  "10.103.0.0/16 as=- med=30 lp=200 $ATT_B" "10.103.1.0/24 as=- med=30 lp=200 $ATT_B" \
  "2001:db8:103:1::/64 as=- med=30 lp=200 $ATT_B" "2001:db8:103::/48 as=- med=30 lp=200 $ATT_B")"
# At B (iBGP from D): A's routes with AS_PATH 65002, LOCAL_PREF added by D
# (RFC 4271 §5.1.5), all communities intact; D's own routes with an empty path.
expect B as,lp,c,lc,ec "$A_ONLY" "$(lines \
  "10.102.0.0/16 as=65002 lp=100 $ATT_A" "10.102.1.0/24 as=65002 lp=100 $ATT_A" \
  "2001:db8:102:1::/64 as=65002 lp=100 $ATT_A" "2001:db8:102::/48 as=65002 lp=100 $ATT_A")"
expect B as,lp "$D_ONLY" "$(lines "10.101.0.0/16 as=- lp=100" "2001:db8:101::/48 as=- lp=100")"
# MED from a neighbouring AS MAY be passed on inside the AS (RFC 4271 §5.1.4):
# reported, not required (BIRD does not, FRR and GoBGP do).
ft_log "info: MED of A's routes as seen by B: $(routes_at B | python3 "$FT_LIB/bgp_routes.py" \
  lines --fields med --only "$A_ONLY" | awk '{print $2}' | sort -u | tr '\n' ' ')"
# At A (eBGP from D): B's routes with D's AS prepended and communities intact.
expect A as,c,lc,ec "$B_ONLY" "$(lines \
  "10.103.0.0/16 as=65001 $ATT_B" "10.103.1.0/24 as=65001 $ATT_B" \
  "2001:db8:103:1::/64 as=65001 $ATT_B" "2001:db8:103::/48 as=65001 $ATT_B")"
expect A as "$D_ONLY" "$(lines "10.101.0.0/16 as=65001" "2001:db8:101::/48 as=65001")"

# ---- 3. withdrawals ------------------------------------------------------------------
"${PEER}_withdraw" A
"${PEER}_withdraw" B
expect B as "$A_ONLY" "$(lines "10.102.0.0/16 as=65002" "2001:db8:102::/48 as=65002")"
expect A as "$B_ONLY" "$(lines "10.103.0.0/16 as=65001" "2001:db8:103::/48 as=65001")"
expect D as "$A_ONLY|$B_ONLY" "$(lines "10.102.0.0/16 as=65002" "10.103.0.0/16 as=-" \
  "2001:db8:102::/48 as=65002" "2001:db8:103::/48 as=-")"

# ---- 4. route refresh ------------------------------------------------------------------
for R in A B; do
  before=$("${PEER}_rx_updates" "$R")
  rc=0
  "${PEER}_refresh" "$R" || rc=$?
  if ((rc == 2)); then
    ft_log "note: $PEER cannot send ROUTE-REFRESH; refresh not exercised"
    continue
  fi
  ((rc == 0)) || ft_fail "$R: refresh command failed"
  rx_grew() { local n; n=$("${PEER}_rx_updates" "$R"); [[ -n "$n" && "$n" -gt "$before" ]]; }
  ft_wait 15 "$R received D's routes again after ROUTE-REFRESH (counter was $before)" rx_grew
done
# D asks each peer to resend (D's side of RFC 2918).
# Skipped for peers that, even with BIRD as D, do not resend on a refresh here
# (OpenBGPD logs "route refresh: AID IPv4 unicast not negotiated"; ExaBGP's
# static routes are not re-announced): the check would blame D for the peer.
# (FRR holds a ROUTE-REFRESH that arrives before it has sent End-of-RIB, and it
# sends End-of-RIB only to speakers that advertise the Graceful Restart
# capability, which D therefore always does.)
for N in a4 b4; do
  if [[ " openbgpd exabgp " == *" $PEER "* ]]; then
    ft_log "note: $PEER does not answer ROUTE-REFRESH in this setup; D's refresh not exercised"
    break
  fi
  before=$("dut_${DUT}_rx_updates" "$N")
  "dut_${DUT}_refresh" "$N"
  dut_rx_grew() { local n; n=$("dut_${DUT}_rx_updates" "$N"); [[ -n "$n" && "$n" -gt "$before" ]]; }
  ft_wait 15 "D received $N's routes again after its ROUTE-REFRESH (counter was $before)" dut_rx_grew
done
ft_wait 5 "sessions still Established after refresh" all_established

# ---- 5. Cease on shutdown ----------------------------------------------------------
"dut_${DUT}_stop"
# ExaBGP 4.2.21 crashes (TypeError) on any non-empty RFC 8203/9003 shutdown
# communication (fixed upstream later) and logs only a broken connection, so
# for it we check that the session went away rather than the logged reason.
if [[ "$PEER" == exabgp && "$DUT" == ferryd ]]; then
  for R in A B; do
    went_down() { [[ -n "$("${PEER}_last_error" "$R")" ]]; }
    ft_wait 15 "$R saw the session to D end" went_down
  done
  ft_log "note: ExaBGP 4.2.21 cannot decode shutdown communications; Cease text not checked"
  ((SOFT_FAILS == 0)) || ft_fail "$SOFT_FAILS route checks failed (KEEP_GOING=1)"
  ft_pass "$PEER <-> $DUT"
fi
for R in A B; do
  got_cease() { "${PEER}_last_error" "$R" | grep -Eqi 'cease|administrative|shut ?down'; }
  ft_wait 15 "$R logged the Cease from D" got_cease
  ft_log "$R: $("${PEER}_last_error" "$R" | head -3 | tr '\n' ' ')"
done
((SOFT_FAILS == 0)) || ft_fail "$SOFT_FAILS route checks failed (KEEP_GOING=1)"
ft_pass "$PEER <-> $DUT"
