#!/usr/bin/env bash
# The peer's BGP daemon is killed (SIGKILL: no Cease, the kernel closes its
# sockets) and started again, ROUNDS (2) times.
#
#   peer_restart.sh PEER     PEER: bird | frr (bgpd is killed, zebra stays)
#
#   A (PEER, AS 65002, 3 routes) ---- D (ferryd, AS 65001, FIB on) ---- B (BIRD, AS 65003, 1 route)
#
# Checks each round:
#  1. before: a Established, A's routes in ferryd's RIB and D's kernel table;
#  2. after the kill: ferryd notices the closed connection (no NOTIFICATION
#     came), drops a and withdraws A's routes from its RIB and from the
#     kernel; B's session and route are untouched;
#  3. after the restart: a re-establishes (established_count grows by one),
#     A's routes are re-learned and re-installed.
# At the end ferryd is alive and b was never reset.
# shellcheck disable=SC2034
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
PEER=${1:?usage: peer_restart.sh bird|frr}
ROUNDS=${ROUNDS:-2}
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=../lib/bgp_peers.sh
. "$HERE/../lib/bgp_peers.sh"
ft_init "restart-$PEER"
ft_require bird birdc jq
case $PEER in
  bird) ;;
  frr) ft_require /usr/lib/frr/bgpd /usr/lib/frr/zebra vtysh ;;
  *) ft_fail "unknown peer type $PEER" ;;
esac

ft_ns a
ft_ns d
ft_ns b
ft_link a 10.9.1.2/24 d 10.9.1.1/24
ft_link d 10.9.2.1/24 b 10.9.2.2/24

CONF="$FT_TMP/ferry.toml"
rl_ferry_conf "$CONF" 65001 10.255.0.1 true
T=("hold-time = 6" "connect-retry = 1" "ipv6 = false")
rl_ferry_nbr "$CONF" a 10.9.1.2 65002 "${T[@]}"
rl_ferry_nbr "$CONF" b 10.9.2.2 65003 "${T[@]}"
rl_ferry_start d "$CONF"

A_ROUTES=$(printf '%s\n' 10.102.0.0/24 10.102.1.0/24 10.102.2.0/24)
B_ROUTES=10.103.0.0/24
ADIR="$FT_TMP/A-$PEER" BDIR="$FT_TMP/B-bird"
mkdir -p "$ADIR" "$BDIR"
cat >"$BDIR/bird.conf" <<EOF
router id 10.255.0.3;
log "$BDIR/bird.log" all;
protocol device {}
protocol static s4 { ipv4; route 10.103.0.0/24 blackhole; }
protocol bgp dut {
  local 10.9.2.2 as 65003; neighbor 10.9.2.1 as 65001;
  hold time 6; keepalive time 2; connect retry time 1; connect delay time 1; error wait time 1, 2;
  ipv4 { import all; export where source = RTS_STATIC; };
}
EOF
if [[ $PEER == bird ]]; then
  cat >"$ADIR/bird.conf" <<EOF
router id 10.255.0.2;
log "$ADIR/bird.log" all;
protocol device {}
protocol static s4 { ipv4; $(for p in $A_ROUTES; do echo "route $p blackhole;"; done) }
protocol bgp dut {
  local 10.9.1.2 as 65002; neighbor 10.9.1.1 as 65001;
  hold time 6; keepalive time 2; connect retry time 1; connect delay time 1; error wait time 1, 2;
  ipv4 { import all; export where source = RTS_STATIC; };
}
EOF
  a_start() { rl_bird_start a "$ADIR"; }
  a_kill() { rl_bird_stop_hard "$ADIR"; }
  a_peer_up() { [[ "$(rl_bird_proto_state a "$ADIR" dut)" == Established ]]; }
else
  {
    echo "frr defaults datacenter"
    echo "hostname A"
    echo "log file $ADIR/frr.log debugging"
    echo "router bgp 65002"
    echo " bgp router-id 10.255.0.2"
    echo " no bgp ebgp-requires-policy"
    echo " no bgp network import-check"
    echo " neighbor 10.9.1.1 remote-as 65001"
    echo " neighbor 10.9.1.1 timers 2 6"
    echo " neighbor 10.9.1.1 timers connect 1"
    echo " address-family ipv4 unicast"
    for p in $A_ROUTES; do echo "  network $p"; done
    echo "  neighbor 10.9.1.1 activate"
    echo " exit-address-family"
    echo "exit"
  } >"$ADIR/bgpd.conf"
  touch "$ADIR/frr.log"
  started=""
  a_start() {
    if [[ -z $started ]]; then
      rl_frr_start a "$ADIR"
      started=1
    else
      rl_frr_bgpd_start a "$ADIR"
    fi
  }
  a_kill() { rl_frr_bgpd_stop_hard "$ADIR"; }
  a_peer_up() { [[ "$(rl_frr_nbr_state a "$ADIR" 10.9.1.1)" == Established ]]; }
fi

b_ok() {
  [[ "$(rl_nbr_state d b)" == established && "$(rl_nbr d b established_count)" == 1 &&
    "$(rl_routes_from d b)" == "$B_ROUTES" ]]
}
a_up() {
  [[ "$(rl_nbr_state d a)" == established && "$(rl_routes_from d a)" == "$A_ROUTES" ]]
}
a_gone() {
  [[ "$(rl_nbr_state d a)" != established && "$(rl_routes_from d a)" == "" ]]
}
a_both_up() { a_up && a_peer_up; }
kernel_is() { [[ "$(rl_kernel_routes d 200)" == "$1" ]]; }
ALL=$(printf '%s\n%s\n' "$A_ROUTES" "$B_ROUTES" | sort)

rl_bird_start b "$BDIR"
a_start
all_up() { a_up && b_ok && a_peer_up; }
ft_wait 40 "a and b Established with their routes" all_up
ft_wait 20 "kernel holds A's and B's routes" kernel_is "$ALL"

for ((r = 1; r <= ROUNDS; r++)); do
  n=$(rl_nbr d a established_count)
  notif=$(rl_nbr d a notifications_in)
  a_kill
  ft_log "round $r: $PEER killed"
  ft_wait 30 "round $r: a down, A's routes withdrawn from ferryd's RIB" a_gone
  ft_wait 20 "round $r: A's routes removed from the kernel, B's kept" kernel_is "$B_ROUTES"
  b_ok || ft_fail "round $r: b disturbed by A's death"
  # A crash sends no NOTIFICATION: ferryd saw the TCP connection close.
  [[ "$(rl_nbr d a notifications_in)" == "$notif" ]] ||
    ft_fail "round $r: ferryd counted a NOTIFICATION from a killed daemon"
  ft_log "round $r: ferryd's reason: $(rl_nbr d a last_error)"
  a_start
  ft_log "round $r: $PEER started again"
  ft_wait 40 "round $r: a re-established with A's routes" a_both_up
  ((n + 1 == $(rl_nbr d a established_count))) ||
    ft_fail "round $r: established_count $(rl_nbr d a established_count), want $((n + 1))"
  ft_wait 20 "round $r: kernel holds A's and B's routes again" kernel_is "$ALL"
  b_ok || ft_fail "round $r: b disturbed by A's return"
done
kill -0 "$RL_FERRYD_PID" || ft_fail "ferryd died"
ft_pass "$PEER killed and restarted $ROUNDS times"
