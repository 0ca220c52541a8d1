# shellcheck shell=bash
# BGP speaker adapters for interop tests (source after netns.sh).
#
# Topology used by tests/integration/bgp (see bgp_interop.sh):
#
#   A (peer, eBGP, AS 65002) ---- D (device under test, AS 65001) ---- B (peer, iBGP, AS 65001)
#
# Each of A and B runs one speaker of a given type with two sessions to D: one
# over IPv4 carrying IPv4 unicast, one over IPv6 carrying IPv6 unicast. A role
# R (A or B) is described by variables the test sets:
#   R_NS R_ASN R_RID R_ADDR4 R_ADDR6 R_NBR4 R_NBR6 (D's addresses on that link)
#   R_NET4 R_NET6        prefixes announced for the whole test
#   R_NET4_WD R_NET6_WD  prefixes the test withdraws later
#   R_MED R_LP R_COMM R_LCOMM R_EXT  attributes put on every announced route
#                        (R_EXT is a route target "ASN:N"; R_LP only matters on iBGP)
# and D by D_ASN D_RID D_NS D_A4 D_A6 D_B4 D_B6 D_NET4 D_NET6.
#
# Every peer type T implements:
#   T_start R         start the daemon for role R (in R_NS), configured as above
#   T_established R   succeeds when both sessions to D are Established
#   T_routes R        prints the best routes (IPv4 and IPv6) normalised by bgp_routes.py
#   T_withdraw R      withdraws R_NET4_WD and R_NET6_WD
#   T_refresh R       asks D for a ROUTE-REFRESH (RFC 2918) on the IPv4 session
#                     (returns 2 when the peer has no way to send one)
#   T_rx_updates R    prints a counter of UPDATEs/routes received on the IPv4 session
#   T_last_error R    prints what the daemon recorded about the last NOTIFICATION
#                     received on the IPv4 session
# and every DUT type T implements dut_T_start, dut_T_established, dut_T_routes,
# dut_T_refresh N / dut_T_rx_updates N (N = session name a4, a6, b4, b6: send a
# ROUTE-REFRESH to that peer / count what came back), dut_T_stop (graceful
# shutdown: must send a Cease).

FT_LIB=${FT_LIB:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

# rv R KEY: value of variable R_KEY.
rv() {
  local n="$1_$2"
  printf '%s' "${!n}"
}

norm() { python3 "$FT_LIB/bgp_routes.py" "$@"; }

# ---------------------------------------------------------------------- BIRD 2

bird__attrs_filter() {  # R: BIRD filter statements setting R's attributes
  local R=$1 c l e
  c=$(rv "$R" COMM)
  l=$(rv "$R" LCOMM)
  e=$(rv "$R" EXT)
  echo "bgp_med = $(rv "$R" MED);"
  [[ -n "$(rv "$R" LP)" ]] && echo "bgp_local_pref = $(rv "$R" LP);"
  echo "bgp_community.add((${c/:/,}));"
  echo "bgp_large_community.add((${l//:/,}));"
  echo "bgp_ext_community.add((rt, ${e/:/,}));"
}

bird__statics() {  # NAME FAMILY PREFIXES...
  local name=$1 fam=$2
  shift 2
  echo "protocol static $name { $fam { import filter attrs; };"
  local p
  for p in "$@"; do echo "  route $p blackhole;"; done
  echo "}"
}

bird_start() {
  local R=$1 ibgp="" gw="" direct=""
  local dir="$FT_TMP/$R-bird"
  mkdir -p "$dir"
  [[ "$(rv "$R" ASN)" == "$D_ASN" ]] && ibgp=1
  if [[ -n "$ibgp" ]]; then
    gw="next hop self;"
    direct="direct;"
  fi
  # shellcheck disable=SC2046
  cat >"$dir/bird.conf" <<EOF
router id $(rv "$R" RID);
log "$FT_TMP/$R-bird.log" all;
protocol device {}
filter attrs {
  accept;
}
# Attributes go on in the export filter: BIRD drops an eBGP MED set any earlier.
filter to_dut {
  if source = RTS_STATIC then {
$(bird__attrs_filter "$R")
  }
  accept;
}
$(bird__statics s4 ipv4 $(rv "$R" NET4))
$(bird__statics s6 ipv6 $(rv "$R" NET6))
$(bird__statics w4 ipv4 $(rv "$R" NET4_WD))
$(bird__statics w6 ipv6 $(rv "$R" NET6_WD))
template bgp dut {
  local as $(rv "$R" ASN);
  hold time 6;
  keepalive time 2;
  connect retry time 1;
  error wait time 1, 2;
  $direct
}
protocol bgp dut4 from dut {
  local $(rv "$R" ADDR4);
  neighbor $(rv "$R" NBR4) as $D_ASN;
  ipv4 { import all; export filter to_dut; $gw };
}
protocol bgp dut6 from dut {
  local $(rv "$R" ADDR6);
  neighbor $(rv "$R" NBR6) as $D_ASN;
  ipv6 { import all; export filter to_dut; $gw };
}
EOF
  ft_in "$(rv "$R" NS)" bird -c "$dir/bird.conf" -s "$dir/ctl" -P "$dir/pid" ||
    ft_fail "bird ($R) did not start"
  ft_kill_pidfile "$dir/pid"
}

bird__c() {
  local R=$1
  shift
  ft_in "$(rv "$R" NS)" birdc -s "$FT_TMP/$R-bird/ctl" "$@"
}

bird_established() {
  bird__c "$1" show protocols dut4 | grep Established >/dev/null &&
    bird__c "$1" show protocols dut6 | grep Established >/dev/null
}

bird_routes() { bird__c "$1" show route all | norm bird; }
bird_withdraw() { bird__c "$1" disable w4 >/dev/null && bird__c "$1" disable w6 >/dev/null; }
bird_refresh() { bird__c "$1" reload in dut4 >/dev/null; }
bird_rx_updates() {
  bird__c "$1" show protocols all dut4 | awk '/Import updates:/ {print $3; exit}'
}
bird_last_error() { bird__c "$1" show protocols all dut4 | grep -i 'error' || true; }

# BIRD as the device under test (validates this harness before ferryd speaks BGP).
dut_bird_start() {
  local dir="$FT_TMP/D-bird"
  mkdir -p "$dir"
  cat >"$dir/bird.conf" <<EOF
router id $D_RID;
log "$FT_TMP/D-bird.log" all;
protocol device {}
protocol static o4 { ipv4; $(for p in $D_NET4; do echo "route $p blackhole;"; done) }
protocol static o6 { ipv6; $(for p in $D_NET6; do echo "route $p blackhole;"; done) }
template bgp peer {
  local as $D_ASN;
  hold time 6;
  keepalive time 2;
  connect retry time 1;
  error wait time 1, 2;
}
protocol bgp a4 from peer { local $D_A4; neighbor $A_ADDR4 as $A_ASN; ipv4 { import all; export all; }; }
protocol bgp a6 from peer { local $D_A6; neighbor $A_ADDR6 as $A_ASN; ipv6 { import all; export all; }; }
protocol bgp b4 from peer { local $D_B4; neighbor $B_ADDR4 as $B_ASN; direct; ipv4 { import all; export all; next hop self; }; }
protocol bgp b6 from peer { local $D_B6; neighbor $B_ADDR6 as $B_ASN; direct; ipv6 { import all; export all; next hop self; }; }
EOF
  ft_in "$D_NS" bird -c "$dir/bird.conf" -s "$dir/ctl" -P "$dir/pid" || ft_fail "DUT bird did not start"
  ft_kill_pidfile "$dir/pid"
}
dut_bird_established() {
  local p
  for p in a4 a6 b4 b6; do
    ft_in "$D_NS" birdc -s "$FT_TMP/D-bird/ctl" show protocols "$p" | grep Established >/dev/null || return 1
  done
}
dut_bird_routes() { ft_in "$D_NS" birdc -s "$FT_TMP/D-bird/ctl" show route all | norm bird; }
dut_bird_refresh() { ft_in "$D_NS" birdc -s "$FT_TMP/D-bird/ctl" reload in "$1" >/dev/null; }
dut_bird_rx_updates() {
  ft_in "$D_NS" birdc -s "$FT_TMP/D-bird/ctl" show protocols all "$1" |
    awk '/Import updates:/ {print $3; exit}'
}
dut_bird_stop() { ft_in "$D_NS" birdc -s "$FT_TMP/D-bird/ctl" down >/dev/null; }

# ---------------------------------------------------------------------- ferryd

# FERRYD, FERRYCTL and the config generator (ferry_toml_*).
# shellcheck source=ferry.sh
. "$FT_LIB/ferry.sh"

dut_ferryd_start() {
  [[ -x "$FERRYD" && -x "$FERRYCTL" ]] || ft_fail "ferryd/ferryctl not built in $FERRY_BUILD"
  local conf="$FT_TMP/ferry.toml"
  ferry_toml_new ferry "$D_ASN" "$D_RID"
  ferry_toml_section "[fib]" "install = false"
  # shellcheck disable=SC2086
  ferry_toml_bgp "networks = [$(ferry__quoted $D_NET4 $D_NET6)]"
  local n addr asn fam other nhs
  for n in a4 a6 b4 b6; do
    case $n in
      a4) addr=$A_ADDR4 asn=$A_ASN fam=ipv4 other=ipv6 ;;
      a6) addr=$A_ADDR6 asn=$A_ASN fam=ipv6 other=ipv4 ;;
      b4) addr=$B_ADDR4 asn=$B_ASN fam=ipv4 other=ipv6 ;;
      b6) addr=$B_ADDR6 asn=$B_ASN fam=ipv6 other=ipv4 ;;
    esac
    nhs=""
    [[ $asn == "$D_ASN" ]] && nhs="next-hop-self = true"
    ferry_toml_neighbor "$n" "$addr" "$asn" "hold-time = 6" "connect-retry = 1" "$fam = true" \
      "$other = false" "$nhs"
  done
  ferry_toml_write "$conf"
  ft_bg "$D_NS" "$FT_TMP/D-ferryd.log" "$FERRYD" --config "$conf"
  DUT_PID=$FT_BG_PID
  ft_wait 10 "ferryd control socket" test -S "$FT_TMP/ferry.sock"
}
ferry__ctl() { ft_in "$D_NS" "$FERRYCTL" --socket "$FT_TMP/ferry.sock" "$@"; }
dut_ferryd_established() {
  ferry__ctl --json show neighbors | python3 -c '
import json, sys
d = json.load(sys.stdin)
ns = d.get("neighbors", d) if isinstance(d, dict) else d
st = {n.get("name"): str(n.get("state", "")).lower() for n in ns}
sys.exit(0 if all(st.get(x) == "established" for x in ("a4", "a6", "b4", "b6")) else 1)'
}
dut_ferryd_routes() { ferry__ctl --json show routes | norm ferry; }
dut_ferryd_refresh() { ferry__ctl clear neighbor "$1" --soft >/dev/null; }
dut_ferryd_rx_updates() {
  ferry__ctl --json show neighbors | python3 -c '
import json, sys
for n in json.load(sys.stdin)["neighbors"]:
    if n["name"] == sys.argv[1]:
        print(n["updates_in"])' "$1"
}
dut_ferryd_stop() { kill -TERM "$DUT_PID"; }

# ---------------------------------------------------------------------- FRR bgpd

frr_start() {
  local R=$1 nhs="" p asn
  local dir="$FT_TMP/$R-frr"
  asn=$(rv "$R" ASN)
  mkdir -p "$dir"
  [[ "$asn" == "$D_ASN" ]] && nhs=1
  local n4 n6 lp
  n4=$(rv "$R" NBR4)
  n6=$(rv "$R" NBR6)
  lp=$(rv "$R" LP)
  {
    echo "frr defaults datacenter"
    echo "hostname $R"
    echo "log file $FT_TMP/$R-frr.log debugging"
    echo "route-map attrs permit 10"
    echo " set metric $(rv "$R" MED)"
    [[ -n "$lp" ]] && echo " set local-preference $lp"
    echo " set community $(rv "$R" COMM)"
    echo " set large-community $(rv "$R" LCOMM)"
    echo " set extcommunity rt $(rv "$R" EXT)"
    echo "exit"
    echo "router bgp $asn"
    echo " bgp router-id $(rv "$R" RID)"
    echo " no bgp ebgp-requires-policy"
    echo " no bgp network import-check"
    echo " no bgp default ipv4-unicast"
    for p in "$n4" "$n6"; do
      echo " neighbor $p remote-as $D_ASN"
      echo " neighbor $p timers 2 6"
      echo " neighbor $p timers connect 1"
    done
    echo " address-family ipv4 unicast"
    for p in $(rv "$R" NET4) $(rv "$R" NET4_WD); do echo "  network $p route-map attrs"; done
    echo "  neighbor $n4 activate"
    echo "  neighbor $n4 send-community all"
    [[ -n "$nhs" ]] && echo "  neighbor $n4 next-hop-self"
    echo " exit-address-family"
    echo " address-family ipv6 unicast"
    for p in $(rv "$R" NET6) $(rv "$R" NET6_WD); do echo "  network $p route-map attrs"; done
    echo "  neighbor $n6 activate"
    echo "  neighbor $n6 send-community all"
    [[ -n "$nhs" ]] && echo "  neighbor $n6 next-hop-self"
    echo " exit-address-family"
    echo "exit"
  } >"$dir/bgpd.conf"
  touch "$FT_TMP/$R-frr.log" "$dir/zebra.conf"
  chown -R frr:frr "$dir" "$FT_TMP/$R-frr.log"
  # zebra gives bgpd interface data: without it (bgpd -Z) FRR withdraws every
  # IPv6 route whose next hop includes a link-local address (RFC 2545 §3).
  # bgpd -n keeps it from installing routes in the (private) kernel table.
  ft_in "$(rv "$R" NS)" /usr/lib/frr/zebra -d -f "$dir/zebra.conf" -i "$dir/zebra.pid" \
    -z "$dir/zserv.api" --vty_socket "$dir" >"$FT_TMP/$R-frr-start.log" 2>&1 ||
    ft_fail "frr zebra ($R) did not start"
  ft_kill_pidfile "$dir/zebra.pid"
  ft_wait 10 "$R zebra socket" test -S "$dir/zserv.api"
  ft_in "$(rv "$R" NS)" /usr/lib/frr/bgpd -z "$dir/zserv.api" -n -f "$dir/bgpd.conf" \
    -i "$dir/bgpd.pid" --vty_socket "$dir" -d >>"$FT_TMP/$R-frr-start.log" 2>&1 ||
    ft_fail "frr bgpd ($R) did not start"
  ft_kill_pidfile "$dir/bgpd.pid"
}

frr__c() {
  local R=$1 a=()
  shift
  for c in "$@"; do a+=(-c "$c"); done
  ft_in "$(rv "$R" NS)" vtysh --vty_socket "$FT_TMP/$R-frr" "${a[@]}"
}

frr__neighbor() {  # R ADDR KEY...: prints the JSON values at the path
  frr__c "$1" "show bgp neighbors $2 json" | python3 -c '
import json, sys
d = json.load(sys.stdin).get(sys.argv[1], {})
for k in sys.argv[2:]:
    v = d
    for part in k.split("."):
        v = v.get(part, {}) if isinstance(v, dict) else {}
    print(v if v != {} else "")' "$2" "${@:3}"
}

frr_established() {
  [[ "$(frr__neighbor "$1" "$(rv "$1" NBR4)" bgpState)" == Established ]] &&
    [[ "$(frr__neighbor "$1" "$(rv "$1" NBR6)" bgpState)" == Established ]]
}

frr_routes() {
  local R=$1 fam cmds=() p
  for fam in ipv4 ipv6; do
    for p in $(frr__c "$R" "show bgp $fam unicast json" |
      python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin).get("routes", {})))'); do
      cmds+=("show bgp $fam unicast $p json")
    done
  done
  ((${#cmds[@]})) || return 0
  frr__c "$R" "${cmds[@]}" | norm frr
}

frr_withdraw() {
  local R=$1
  frr__c "$R" "configure terminal" "router bgp $(rv "$R" ASN)" "address-family ipv4 unicast" \
    "no network $(rv "$R" NET4_WD)" "exit-address-family" "address-family ipv6 unicast" \
    "no network $(rv "$R" NET6_WD)" "exit-address-family" >/dev/null
}
frr_refresh() { frr__c "$1" "clear bgp ipv4 unicast $(rv "$1" NBR4) soft in" >/dev/null; }
frr_rx_updates() { frr__neighbor "$1" "$(rv "$1" NBR4)" messageStats.updatesRecv; }
frr_last_error() {
  frr__neighbor "$1" "$(rv "$1" NBR4)" lastNotificationReason lastResetDueTo lastErrorCodeSubcode
}

# ---------------------------------------------------------------------- GoBGP

gobgp__c() {
  local R=$1
  shift
  ft_in "$(rv "$R" NS)" gobgp -p 50051 "$@"
}

gobgp__add() {  # R FAMILY PREFIX
  local R=$1 lp
  lp=$(rv "$R" LP)
  gobgp__c "$R" global rib add -a "$2" "$3" med "$(rv "$R" MED)" ${lp:+local-pref $lp} \
    community "$(rv "$R" COMM)" large-community "$(rv "$R" LCOMM)" rt "$(rv "$R" EXT)"
}

gobgp_start() {
  local R=$1 n
  local dir="$FT_TMP/$R-gobgp"
  mkdir -p "$dir"
  {
    cat <<EOT
[global.config]
  as = $(rv "$R" ASN)
  router-id = "$(rv "$R" RID)"
  local-address-list = ["$(rv "$R" ADDR4)", "$(rv "$R" ADDR6)"]
EOT
    for n in 4 6; do
      cat <<EOT
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$(rv "$R" NBR$n)"
    peer-as = $D_ASN
  [neighbors.timers.config]
    hold-time = 6
    keepalive-interval = 2
    connect-retry = 1
  [neighbors.transport.config]
    local-address = "$(rv "$R" ADDR$n)"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv$n-unicast"
EOT
    done
  } >"$dir/gobgpd.toml"
  ft_bg "$(rv "$R" NS)" "$FT_TMP/$R-gobgp.log" gobgpd -f "$dir/gobgpd.toml" \
    --api-hosts 127.0.0.1:50051 -l info
  ft_wait 10 "$R gobgpd API up" gobgp__c "$R" global
  local p
  for p in $(rv "$R" NET4) $(rv "$R" NET4_WD); do gobgp__add "$R" ipv4 "$p"; done
  for p in $(rv "$R" NET6) $(rv "$R" NET6_WD); do gobgp__add "$R" ipv6 "$p"; done
}

gobgp__neighbor() {  # R ADDR KEY: value at dotted path of `gobgp neighbor ADDR -j`
  gobgp__c "$1" neighbor "$2" -j | python3 -c '
import json, sys
v = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    v = v.get(part, {}) if isinstance(v, dict) else {}
print(v if v != {} else "")' "$3"
}

gobgp_established() {
  local n s
  for n in 4 6; do
    s=$(gobgp__neighbor "$1" "$(rv "$1" NBR$n)" state.session_state)
    [[ "$s" == 6 || "${s,,}" == established ]] || return 1
  done
}
gobgp_routes() {
  { gobgp__c "$1" global rib -a ipv4 -j; gobgp__c "$1" global rib -a ipv6 -j; } | norm gobgp
}
gobgp_withdraw() {
  gobgp__c "$1" global rib del -a ipv4 "$(rv "$1" NET4_WD)" &&
    gobgp__c "$1" global rib del -a ipv6 "$(rv "$1" NET6_WD)"
}
# GoBGP keeps an Adj-RIB-In: `softresetin` re-runs policy locally and never
# sends a ROUTE-REFRESH, so this peer cannot exercise D's refresh handling.
gobgp_refresh() { return 2; }
gobgp_rx_updates() { gobgp__neighbor "$1" "$(rv "$1" NBR4)" state.messages.received.update; }
gobgp_last_error() { grep -i "$(rv "$1" NBR4)" "$FT_TMP/$1-gobgp.log" | grep -i notification | tail -3; }

# ---------------------------------------------------------------------- OpenBGPD

openbgpd__set() {  # R: the "set { ... }" body for R's routes
  local R=$1 lp
  lp=$(rv "$R" LP)
  echo "med $(rv "$R" MED) ${lp:+localpref $lp} community $(rv "$R" COMM)" \
    "large-community $(rv "$R" LCOMM) ext-community rt $(rv "$R" EXT)"
}

openbgpd_start() {
  local R=$1 p n
  local dir="$FT_TMP/$R-openbgpd"
  mkdir -p "$dir" /run/openbgpd
  {
    echo "AS $(rv "$R" ASN)"
    echo "router-id $(rv "$R" RID)"
    echo "fib-update no"
    echo "socket \"$dir/bgpd.sock\""
    echo "listen on $(rv "$R" ADDR4)"
    echo "listen on $(rv "$R" ADDR6)"
    for p in $(rv "$R" NET4) $(rv "$R" NET6); do
      echo "network $p set { $(openbgpd__set "$R") }"
    done
    for n in 4 6; do
      echo "neighbor $(rv "$R" NBR$n) {"
      echo "  remote-as $D_ASN"
      echo "  local-address $(rv "$R" ADDR$n)"
      echo "  holdtime 6"
      if [[ $n == 4 ]]; then
        echo "  announce IPv4 unicast"
        echo "  announce IPv6 none"
      else
        echo "  announce IPv6 unicast"
        echo "  announce IPv4 none"
      fi
      echo "}"
    done
    echo "allow from any"
    echo "allow to any"
  } >"$dir/bgpd.conf"
  chmod 600 "$dir/bgpd.conf"
  ft_bg "$(rv "$R" NS)" "$FT_TMP/$R-openbgpd.log" bgpd -d -v -f "$dir/bgpd.conf"
  ft_wait 10 "$R bgpd control socket" test -S "$dir/bgpd.sock"
  # Withdrawable routes are added at run time: bgpctl can only delete those.
  for p in $(rv "$R" NET4_WD) $(rv "$R" NET6_WD); do
    # shellcheck disable=SC2046
    openbgpd__c "$R" network add "$p" $(openbgpd__set "$R") >/dev/null ||
      ft_fail "bgpctl network add $p failed"
  done
}

openbgpd__c() {
  local R=$1
  shift
  ft_in "$(rv "$R" NS)" bgpctl -s "$FT_TMP/$R-openbgpd/bgpd.sock" "$@"
}

openbgpd__neighbor() {  # R ADDR KEY: dotted path in `bgpctl -j show neighbor ADDR`
  openbgpd__c "$1" -j show neighbor "$2" | python3 -c '
import json, sys
d = json.load(sys.stdin)
v = (d.get("neighbors") or [{}])[0]
for part in sys.argv[1].split("."):
    v = v.get(part, {}) if isinstance(v, dict) else {}
print(v if v != {} else "")' "$3"
}

openbgpd_established() {
  [[ "$(openbgpd__neighbor "$1" "$(rv "$1" NBR4)" state)" == Established ]] &&
    [[ "$(openbgpd__neighbor "$1" "$(rv "$1" NBR6)" state)" == Established ]]
}
openbgpd_routes() { openbgpd__c "$1" -j show rib detail | norm openbgpd; }
openbgpd_withdraw() {
  openbgpd__c "$1" network delete "$(rv "$1" NET4_WD)" >/dev/null &&
    openbgpd__c "$1" network delete "$(rv "$1" NET6_WD)" >/dev/null
}
openbgpd_refresh() { openbgpd__c "$1" neighbor "$(rv "$1" NBR4)" refresh >/dev/null; }
openbgpd_rx_updates() {
  openbgpd__neighbor "$1" "$(rv "$1" NBR4)" stats.message.received.updates
}
openbgpd_last_error() {
  openbgpd__c "$1" show neighbor "$(rv "$1" NBR4)" | grep -i 'error' || true
  grep -i "$(rv "$1" NBR4).*notification" "$FT_TMP/$1-openbgpd.log" | tail -2 || true
}

# ---------------------------------------------------------------------- ExaBGP

exabgp__route() {  # R PREFIX: the attribute part of a route statement
  local R=$1 lp
  lp=$(rv "$R" LP)
  echo "$2 next-hop self med $(rv "$R" MED) ${lp:+local-preference $lp}" \
    "community [$(rv "$R" COMM)] large-community [$(rv "$R" LCOMM)]" \
    "extended-community [target:$(rv "$R" EXT)]"
}

exabgp_start() {
  local R=$1 n p fam
  local dir="$FT_TMP/$R-exabgp"
  mkdir -p "$dir"
  mkfifo "$dir/cmd"
  {
    echo "process api {"
    echo "  run /usr/bin/python3 $FT_LIB/exabgp_api.py $dir/state.json $dir/cmd;"
    echo "  encoder json;"
    echo "}"
    for n in 4 6; do
      echo "neighbor $(rv "$R" NBR$n) {"
      echo "  router-id $(rv "$R" RID);"
      echo "  local-address $(rv "$R" ADDR$n);"
      echo "  local-as $(rv "$R" ASN);"
      echo "  peer-as $D_ASN;"
      echo "  hold-time 6;"
      echo "  family { ipv$n unicast; }"
      echo "  capability { route-refresh; }"
      echo "  api { processes [ api ]; neighbor-changes; receive { parsed; update; notification; } }"
      echo "  static {"
      for p in $(rv "$R" NET$n) $(rv "$R" NET${n}_WD); do
        echo "    route $(exabgp__route "$R" "$p");"
      done
      echo "  }"
      echo "}"
    done
  } >"$dir/exabgp.conf"
  ft_bg "$(rv "$R" NS)" "$FT_TMP/$R-exabgp.log" env exabgp_daemon_user=root \
    exabgp_api_cli=false exabgp_log_destination=stdout exabgp "$dir/exabgp.conf"
  ft_wait 15 "$R exabgp API process up" test -s "$dir/state.json"
}

exabgp__state() {  # R PYTHON-EXPR over the state dict s
  python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$FT_TMP/$1-exabgp/state.json" "$2"
}
exabgp__cmd() { echo "$2" >"$FT_TMP/$1-exabgp/cmd"; }

exabgp_established() {
  [[ "$(exabgp__state "$1" "s['state'].get('$(rv "$1" NBR4)')")" == up ]] &&
    [[ "$(exabgp__state "$1" "s['state'].get('$(rv "$1" NBR6)')")" == up ]]
}
exabgp_routes() { norm exabgp <"$FT_TMP/$1-exabgp/state.json"; }
exabgp_withdraw() {
  exabgp__cmd "$1" "neighbor $(rv "$1" NBR4) withdraw route $(rv "$1" NET4_WD) next-hop self"
  exabgp__cmd "$1" "neighbor $(rv "$1" NBR6) withdraw route $(rv "$1" NET6_WD) next-hop self"
}
exabgp_refresh() { exabgp__cmd "$1" "neighbor $(rv "$1" NBR4) announce route-refresh ipv4 unicast"; }
exabgp_rx_updates() { exabgp__state "$1" "s['updates'].get('$(rv "$1" NBR4)', 0)"; }
exabgp_last_error() {
  exabgp__state "$1" "s['notification'].get('$(rv "$1" NBR4)', '')"
  exabgp__state "$1" "s.get('reason', {}).get('$(rv "$1" NBR4)', '')"
  grep -i "notification" "$FT_TMP/$1-exabgp.log" | grep -i "$(rv "$1" NBR4)" | tail -2 || true
}

# ======================================================================
# Reliability-test helpers (md5_gtsm.sh, max_prefix.sh, flap.sh,
# peer_restart.sh). Independent of the role variables above: each test
# describes ferryd's neighbours and the peers' configs itself.
#
#   rl_ferry_conf FILE ASN RID [INSTALL]   [router]/[fib]/[bgp] head of a config
#   rl_ferry_nbr FILE NAME ADDR ASN [TOML-LINE]...   appends a [[bgp.neighbors]]
#   rl_ferry_start NS FILE                 starts ferryd; sets RL_FERRYD_PID, RL_SOCK
#   rl_ctl NS ARGS...                      ferryctl against that daemon
#   rl_nbr NS NAME FIELD                   one field of `show neighbors --json`
#   rl_nbr_state NS NAME                   FSM state, lower case
#   rl_routes_from NS NAME                 sorted best prefixes learned from NAME
#   rl_bird_start NS DIR                   runs BIRD on DIR/bird.conf (ctl DIR/ctl)
#   rl_bird_stop_hard DIR                  SIGKILL the BIRD of DIR (no Cease)
#   rl_birdc NS DIR ARGS...                birdc for that BIRD
#   rl_bird_proto_state NS DIR PROTO       BIRD's BGP state of PROTO (Established...)
#   rl_rss_kb PID                          VmRSS of PID in kB
#   rl_kernel_routes NS PROTO              sorted prefixes in NS's main table from PROTO
# JSON is read with jq (fast to start; tests call ft_require jq). Sorted lists
# use byte order (jq's sort, LC_ALL=C sort).
# ======================================================================

rl_ferry_conf() {
  local file=$1 asn=$2 rid=$3 install=${4:-false}
  ferry_toml_new ferry "$asn" "$rid"
  ferry_toml_section "[fib]" "install = $install"
  ferry_toml_bgp
  ferry_toml_write "$file"
}

rl_ferry_nbr() {
  local file=$1 name=$2 addr=$3 asn=$4
  shift 4
  ferry_toml_neighbor "$name" "$addr" "$asn" "$@"
  ferry_toml_write "$file"
}

rl_ferry_start() {
  local ns=$1 conf=$2
  [[ -x "$FERRYD" && -x "$FERRYCTL" ]] || ft_fail "ferryd/ferryctl not built in $FERRY_BUILD"
  RL_SOCK="$FT_TMP/ferry.sock"
  "$FERRYD" --check --config "$conf" >"$FT_TMP/ferry-check.out" 2>&1 ||
    { cat "$FT_TMP/ferry-check.out" >&2; ft_fail "ferryd rejects $conf"; }
  ft_bg "$ns" "$FT_TMP/D-ferryd.log" "$FERRYD" --config "$conf"
  # shellcheck disable=SC2034  # read by the tests
  RL_FERRYD_PID=$FT_BG_PID
  ft_wait 10 "ferryd control socket" test -S "$RL_SOCK"
}

rl_ctl() {
  local ns=$1
  shift
  ft_in "$ns" "$FERRYCTL" --socket "$FT_TMP/ferry.sock" "$@"
}

rl_nbr() {
  rl_ctl "$1" --json show neighbors | jq -r --arg n "$2" --arg f "$3" \
    'first(.neighbors[] | select(.name == $n)) | .[$f] | if . == null then "" else . end'
}

rl_nbr_state() { rl_nbr "$1" "$2" state | tr '[:upper:]' '[:lower:]'; }

rl_routes_from() {
  rl_ctl "$1" --json show routes |
    jq -r --arg n "$2" '[.routes[] | select(.peer == $n) | .prefix] | sort | .[]'
}

rl_bird_start() {
  local ns=$1 dir=$2
  rm -f "$dir/ctl"
  ft_in "$ns" bird -c "$dir/bird.conf" -s "$dir/ctl" -P "$dir/pid" ||
    ft_fail "bird in $dir did not start"
  ft_kill_pidfile "$dir/pid"
  ft_wait 10 "bird control socket $dir/ctl" test -S "$dir/ctl"
}

# rl_bird_dut_conf FILE RID ASN ROUTES PROTOCOLS: a BIRD that originates ROUTES
# (static ipv4 lines) to DUT sessions declared in PROTOCOLS ("protocol bgp x
# from dut { ... }"), with fast timers; logs next to FILE.
rl_bird_dut_conf() {
  cat >"$1" <<EOF
router id $2;
log "${1%.conf}.log" all;
protocol device {}
protocol static s4 { ipv4; $4 }
template bgp dut {
  local as $3;
  hold time 6; keepalive time 2; connect retry time 1; connect delay time 1; error wait time 1, 2;
  ipv4 { import all; export where source = RTS_STATIC; };
}
$5
EOF
}

rl_bird_stop_hard() {
  local dir=$1 pid
  pid=$(cat "$dir/pid")
  kill -9 "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$dir/pid"
}

rl_birdc() {
  local ns=$1 dir=$2
  shift 2
  ft_in "$ns" birdc -s "$dir/ctl" "$@"
}

rl_bird_proto_state() {
  rl_birdc "$1" "$2" show protocols "$3" | awk -v p="$3" '$1 == p {print $6; exit}'
}

rl_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

rl_kernel_routes() {
  ft_in "$1" ip -4 route show table main proto "$2" | awk '{print $1}' | LC_ALL=C sort
}

# rl_routes_via NS NAME: sorted prefixes accepted from neighbour NAME (best or not).
rl_routes_via() {
  rl_ctl "$1" --json show routes --neighbor "$2" | jq -r '[.routes[].prefix] | sort | .[]'
}

# rl_netstat NS COUNTER: value of a TcpExt counter (e.g. TCPMD5Failure) in NS.
rl_netstat() {
  ft_in "$1" cat /proc/net/netstat | awk -v k="$2" '
    /^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 } else
                 for (i = 2; i <= NF; i++) if (n[i] == k) { print $i; exit } }'
}

# rl_frr_start NS DIR: zebra + bgpd on DIR/bgpd.conf (DIR/zebra.conf may be empty);
# bgpd -n never touches the kernel table. rl_frr_bgpd_start restarts bgpd alone.
rl_frr_start() {
  local ns=$1 dir=$2
  touch "$dir/zebra.conf"
  chown -R frr:frr "$dir"
  ft_in "$ns" /usr/lib/frr/zebra -d -f "$dir/zebra.conf" -i "$dir/zebra.pid" \
    -z "$dir/zserv.api" --vty_socket "$dir" >"$dir/start.log" 2>&1 || ft_fail "zebra in $dir did not start"
  ft_kill_pidfile "$dir/zebra.pid"
  ft_wait 10 "zebra socket in $dir" test -S "$dir/zserv.api"
  rl_frr_bgpd_start "$ns" "$dir"
  ft_kill_pidfile "$dir/bgpd.pid"
}
rl_frr_bgpd_start() {
  local ns=$1 dir=$2
  rm -f "$dir/bgpd.vty"
  ft_in "$ns" /usr/lib/frr/bgpd -z "$dir/zserv.api" -n -f "$dir/bgpd.conf" -i "$dir/bgpd.pid" \
    --vty_socket "$dir" -d >>"$dir/start.log" 2>&1 || ft_fail "bgpd in $dir did not start"
  ft_wait 10 "bgpd vty in $dir" test -S "$dir/bgpd.vty"
}
rl_frr_bgpd_stop_hard() {
  local dir=$1 pid
  pid=$(cat "$dir/bgpd.pid")
  kill -9 "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$dir/bgpd.pid" "$dir/bgpd.vty"
}
rl_vtysh() {
  local ns=$1 dir=$2 a=() c
  shift 2
  for c in "$@"; do a+=(-c "$c"); done
  ft_in "$ns" vtysh --vty_socket "$dir" "${a[@]}"
}
# rl_frr_nbr_state NS DIR ADDR: FRR's bgpState for neighbour ADDR.
rl_frr_nbr_state() {
  rl_vtysh "$1" "$2" "show bgp neighbors $3 json" | jq -r --arg a "$3" '.[$a].bgpState // ""'
}

# rl_poll TIMEOUT_S CMD...: like ft_wait but silent, returns 1 on timeout (the
# caller reports); for loops where ft_wait's per-call log would be noise.
rl_poll() {
  local deadline
  deadline=$(($(date +%s%N) + $1 * 1000000000))
  shift
  until "$@" >/dev/null 2>&1; do
    (($(date +%s%N) > deadline)) && return 1
    sleep 0.1
  done
  return 0
}
