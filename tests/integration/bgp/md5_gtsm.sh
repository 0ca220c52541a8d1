#!/usr/bin/env bash
# TCP-MD5 (RFC 2385) and GTSM (RFC 5082) against a reference peer.
#
#   md5_gtsm.sh PEER        PEER: bird | frr (the directly connected peer A)
#
#   A (PEER, AS 65002) ===== D (ferryd, AS 65001) ---- R (router) ---- C (BIRD, AS 65003)
#     4 address pairs 10.9.1.1x <-> 10.9.1.2x            10.9.2.0/24      10.9.3.0/24
#
# Sessions between A and D (one per address pair, hold time 6 s):
#   md5act  right password, D connects (A passive): D's active socket is keyed
#   md5pas  right password, A connects (D passive): D's listening socket is keyed
#   md5bad  different passwords on each side
#   gtsm1   GTSM on both sides, 1 hop: packets arrive with TTL 255
#   md5v6   IPv6, right password, A connects (D's listener keyed for an IPv6 peer)
#   gtsm1v6 IPv6, GTSM on both sides (hop limit 255, IPV6_MINHOPCOUNT)
# and between C and D, two hops apart (R decrements the TTL):
#   gtsm2   GTSM on both (C expects 2 hops): C's packets reach D with TTL 254
#   hop2    no GTSM, multihop 2 on both: the control, proving the path works
# Checks:
#  1. md5act, md5pas, gtsm1, md5v6, gtsm1v6 and hop2 reach Established (seen by ferryd and by
#     the peer) and A's/C's routes are in ferryd's RIB through each of them;
#  2. for 10 s (> hold time) they stay up, while md5bad and gtsm2 never
#     establish (established_count stays 0);
#  3. the kernel counted the refusals in D's namespace (TcpExt TCPMD5Failure:
#     A's wrongly signed SYNs hit the key ferryd put on its listener;
#     TCPMinTTLDrop: C's TTL-254 segments dropped by ferryd's IP_MINTTL);
#     ferryd is still alive and answers.
#  4. ferryd read no BGP message at all from gtsm2: the TTL of the SYN of C's
#     connections is checked at accept (gtsm_refused counts them), before any
#     data is read; and md5bad's last_error names the likely TCP-MD5 mismatch.
# shellcheck disable=SC2034
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
PEER=${1:?usage: md5_gtsm.sh bird|frr}
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=../lib/bgp_peers.sh
. "$HERE/../lib/bgp_peers.sh"
ft_init "md5gtsm-$PEER"
ft_require bird birdc jq
case $PEER in
  bird) ;;
  frr) ft_require /usr/lib/frr/bgpd /usr/lib/frr/zebra vtysh ;;
  *) ft_fail "unknown peer type $PEER" ;;
esac

GOOD=ferry-md5-s3cret
# ---- topology ---------------------------------------------------------------
ft_ns a
ft_ns d
ft_ns r
ft_ns c
ft_link a "" d ""
IA=$(ft_ifname a d 0) ID=$(ft_ifname d a 0)
for i in 1 2 3 4; do
  ft_addr a "$IA" "10.9.1.2$i/24"
  ft_addr d "$ID" "10.9.1.1$i/24"
done
for i in 5 6; do
  ft_addr a "$IA" "fd00:9:1::2$i/64"
  ft_addr d "$ID" "fd00:9:1::1$i/64"
done
ft_link d 10.9.2.1/24 r 10.9.2.2/24
ft_addr d "$(ft_ifname d r 1)" 10.9.2.11/24
ft_link r 10.9.3.1/24 c 10.9.3.2/24
ft_addr c "$(ft_ifname c r 2)" 10.9.3.3/24
ft_in r sysctl -qw net.ipv4.ip_forward=1
ft_in d ip route add 10.9.3.0/24 via 10.9.2.2
ft_in c ip route add 10.9.2.0/24 via 10.9.3.1

# ---- ferryd -----------------------------------------------------------------
CONF="$FT_TMP/ferry.toml"
rl_ferry_conf "$CONF" 65001 10.255.0.1
T=("hold-time = 6" "connect-retry = 1" "ipv6 = false")
rl_ferry_nbr "$CONF" md5act 10.9.1.21 65002 "${T[@]}" 'local-address = "10.9.1.11"' \
  "password = \"$GOOD\""
rl_ferry_nbr "$CONF" md5pas 10.9.1.22 65002 "${T[@]}" 'local-address = "10.9.1.12"' \
  "password = \"$GOOD\"" "passive = true"
rl_ferry_nbr "$CONF" md5bad 10.9.1.23 65002 "${T[@]}" 'local-address = "10.9.1.13"' \
  "password = \"$GOOD\""
rl_ferry_nbr "$CONF" gtsm1 10.9.1.24 65002 "${T[@]}" 'local-address = "10.9.1.14"' \
  "ttl-security = true"
T6=("hold-time = 6" "connect-retry = 1" "ipv4 = false")
rl_ferry_nbr "$CONF" md5v6 fd00:9:1::25 65002 "${T6[@]}" 'local-address = "fd00:9:1::15"' \
  "password = \"$GOOD\"" "passive = true"
rl_ferry_nbr "$CONF" gtsm1v6 fd00:9:1::26 65002 "${T6[@]}" 'local-address = "fd00:9:1::16"' \
  "ttl-security = true"
rl_ferry_nbr "$CONF" gtsm2 10.9.3.2 65003 "${T[@]}" 'local-address = "10.9.2.1"' \
  "ttl-security = true"
rl_ferry_nbr "$CONF" hop2 10.9.3.3 65003 "${T[@]}" 'local-address = "10.9.2.11"' "multihop = 2"
rl_ferry_start d "$CONF"

# ---- A: the peer under test -------------------------------------------------
ADIR="$FT_TMP/A-$PEER"
mkdir -p "$ADIR"
if [[ $PEER == bird ]]; then
  cat >"$ADIR/bird.conf" <<EOF
router id 10.255.0.2;
log "$FT_TMP/A-bird.log" all;
protocol device {}
protocol static s4 { ipv4; route 10.102.0.0/16 blackhole; route 10.102.1.0/24 blackhole; }
template bgp dut {
  local as 65002;
  hold time 6; keepalive time 2; connect retry time 1; connect delay time 1; error wait time 1, 2;
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp md5act from dut { local 10.9.1.21; neighbor 10.9.1.11 as 65001; password "$GOOD"; passive on; }
protocol bgp md5pas from dut { local 10.9.1.22; neighbor 10.9.1.12 as 65001; password "$GOOD"; }
protocol bgp md5bad from dut { local 10.9.1.23; neighbor 10.9.1.13 as 65001; password "not-$GOOD"; }
protocol bgp gtsm1 from dut { local 10.9.1.24; neighbor 10.9.1.14 as 65001; ttl security on; }
protocol static s6 { ipv6; route 2001:db8:102::/48 blackhole; }
template bgp dut6 {
  local as 65002;
  hold time 6; keepalive time 2; connect retry time 1; connect delay time 1; error wait time 1, 2;
  ipv6 { import all; export where source = RTS_STATIC; };
}
protocol bgp md5v6 from dut6 { local fd00:9:1::25; neighbor fd00:9:1::15 as 65001; password "$GOOD"; }
protocol bgp gtsm1v6 from dut6 { local fd00:9:1::26; neighbor fd00:9:1::16 as 65001; ttl security on; }
EOF
  rl_bird_start a "$ADIR"
  a_state() {  # NAME -> BGP state as the peer sees it
    rl_bird_proto_state a "$ADIR" "$1"
  }
else
  {
    echo "frr defaults datacenter"
    echo "hostname A"
    echo "log file $FT_TMP/A-frr.log debugging"
    echo "router bgp 65002"
    echo " bgp router-id 10.255.0.2"
    echo " no bgp ebgp-requires-policy"
    echo " no bgp network import-check"
    for i in 1 2 3 4; do
      echo " neighbor 10.9.1.1$i remote-as 65001"
      echo " neighbor 10.9.1.1$i update-source 10.9.1.2$i"
      echo " neighbor 10.9.1.1$i timers 2 6"
      echo " neighbor 10.9.1.1$i timers connect 1"
    done
    echo " neighbor 10.9.1.11 password $GOOD"
    echo " neighbor 10.9.1.11 passive"
    echo " neighbor 10.9.1.12 password $GOOD"
    echo " neighbor 10.9.1.13 password not-$GOOD"
    echo " neighbor 10.9.1.14 ttl-security hops 1"
    for i in 5 6; do
      echo " neighbor fd00:9:1::1$i remote-as 65001"
      echo " neighbor fd00:9:1::1$i update-source fd00:9:1::2$i"
      echo " neighbor fd00:9:1::1$i timers 2 6"
      echo " neighbor fd00:9:1::1$i timers connect 1"
    done
    echo " neighbor fd00:9:1::15 password $GOOD"
    echo " neighbor fd00:9:1::16 ttl-security hops 1"
    echo " address-family ipv4 unicast"
    echo "  network 10.102.0.0/16"
    echo "  network 10.102.1.0/24"
    for i in 1 2 3 4; do echo "  neighbor 10.9.1.1$i activate"; done
    for i in 5 6; do echo "  no neighbor fd00:9:1::1$i activate"; done
    echo " exit-address-family"
    echo " address-family ipv6 unicast"
    echo "  network 2001:db8:102::/48"
    for i in 5 6; do echo "  neighbor fd00:9:1::1$i activate"; done
    echo " exit-address-family"
    echo "exit"
  } >"$ADIR/bgpd.conf"
  touch "$FT_TMP/A-frr.log"
  chown frr:frr "$FT_TMP/A-frr.log"
  rl_frr_start a "$ADIR"
  a_state() {
    local addr
    case $1 in
      md5act) addr=10.9.1.11 ;; md5pas) addr=10.9.1.12 ;;
      md5bad) addr=10.9.1.13 ;; gtsm1) addr=10.9.1.14 ;;
      md5v6) addr=fd00:9:1::15 ;; gtsm1v6) addr=fd00:9:1::16 ;;
    esac
    rl_frr_nbr_state a "$ADIR" "$addr"
  }
fi

# ---- C: two hops away (always BIRD) ----------------------------------------
CDIR="$FT_TMP/C-bird"
mkdir -p "$CDIR"
cat >"$CDIR/bird.conf" <<EOF
router id 10.255.0.3;
log "$FT_TMP/C-bird.log" all;
protocol device {}
protocol static s4 { ipv4; route 10.103.0.0/16 blackhole; }
template bgp dut {
  local as 65003; multihop 2;
  hold time 6; keepalive time 2; connect retry time 1; connect delay time 1; error wait time 1, 2;
  ipv4 { import all; export where source = RTS_STATIC; next hop self; };
}
# BIRD with GTSM and multihop 2 accepts TTL >= 254 and sends 255.
protocol bgp gtsm2 from dut { local 10.9.3.2; neighbor 10.9.2.1 as 65001; ttl security on; }
protocol bgp hop2 from dut { local 10.9.3.3; neighbor 10.9.2.11 as 65001; }
EOF
rl_bird_start c "$CDIR"

# ---- 1. the good sessions come up and carry routes --------------------------
up() { [[ "$(rl_nbr_state d "$1")" == established ]]; }
good_up() { up md5act && up md5pas && up gtsm1 && up md5v6 && up gtsm1v6 && up hop2; }
ft_wait 45 "md5act, md5pas, gtsm1, md5v6, gtsm1v6, hop2 Established at ferryd" good_up
a_up() { [[ "$(a_state "$1")" == Established ]]; }
c_up() { [[ "$(rl_bird_proto_state c "$CDIR" "$1")" == Established ]]; }
via_is() { [[ "$(rl_routes_via d "$1")" == "$2" ]]; }
for n in md5act md5pas gtsm1 md5v6 gtsm1v6; do ft_wait 15 "A sees $n Established" a_up "$n"; done
ft_wait 15 "C sees hop2 Established" c_up hop2
A_ROUTES=$(printf '%s\n' 10.102.0.0/16 10.102.1.0/24)
for n in md5act md5pas gtsm1; do
  ft_wait 20 "A's routes learned through $n" via_is "$n" "$A_ROUTES"
done
for n in md5v6 gtsm1v6; do
  ft_wait 20 "A's IPv6 route learned through $n" via_is "$n" 2001:db8:102::/48
done
# (C's next hop is not on a connected network, so ferryd does not resolve it:
# the route is received but not a best path; the session is what matters here.)
rx_is() { [[ "$(rl_nbr d "$1" prefixes_received)" == "$2" ]]; }
ft_wait 20 "C's route received through hop2" rx_is hop2 1

# ---- 2. the bad ones never establish, the good ones stay up -----------------
never_up() { [[ "$(rl_nbr d "$1" established_count)" == 0 ]] && ! up "$1"; }
steady() { good_up && never_up md5bad && never_up gtsm2 && kill -0 "$RL_FERRYD_PID"; }
ft_hold 10 "good sessions up, md5bad and gtsm2 never Established" steady
[[ "$(rl_routes_via d md5bad)" == "" && "$(rl_routes_via d gtsm2)" == "" ]] ||
  ft_fail "routes learned through a refused session"
ft_log "md5bad: state $(rl_nbr_state d md5bad), last error: $(rl_nbr d md5bad last_error)"
ft_log "gtsm2: state $(rl_nbr_state d gtsm2), last error: $(rl_nbr d gtsm2 last_error)"

# ---- 3. refusals were counted; ferryd healthy -------------------------------
md5_fail=$(rl_netstat d TCPMD5Failure)
ttl_drop=$(rl_netstat d TCPMinTTLDrop)
ft_log "D netns: TCPMD5Failure=$md5_fail TCPMinTTLDrop=$ttl_drop"
((${md5_fail:-0} > 0)) || ft_fail "no TCP-MD5 failure counted in D (wrong key not rejected by D's key?)"
((${ttl_drop:-0} > 0)) || ft_fail "no TTL drop counted in D: ferryd's GTSM did not refuse C's packets"
# ---- 4. nothing read from gtsm2; md5bad explains itself ---------------------
gm=$(rl_nbr d gtsm2 messages_in)
((${gm:-0} == 0)) || ft_fail "ferryd read $gm BGP message(s) from gtsm2 despite GTSM"
gr=$(rl_nbr d gtsm2 gtsm_refused)
((${gr:-0} > 0)) || ft_fail "gtsm2: no connection refused by the SYN TTL check (gtsm_refused=$gr)"
ft_log "gtsm2: $gr connection(s) refused at accept"
me=$(rl_nbr d md5bad last_error)
[[ "$me" == *TCP-MD5* ]] || ft_fail "md5bad: last_error does not point at TCP-MD5: '$me'"
kill -0 "$RL_FERRYD_PID" || ft_fail "ferryd died"
rl_ctl d show neighbors >/dev/null || ft_fail "ferryd stopped answering"
ft_pass "TCP-MD5 and GTSM with $PEER"
