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
#   T_rx_updates R    prints a counter of UPDATEs/routes received on the IPv4 session
#   T_last_error R    prints what the daemon recorded about the last NOTIFICATION
#                     received on the IPv4 session
# and every DUT type T implements dut_T_start, dut_T_established, dut_T_routes,
# dut_T_stop (graceful shutdown: must send a Cease).

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
  bird__c "$1" show protocols dut4 | grep -q Established &&
    bird__c "$1" show protocols dut6 | grep -q Established
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
    ft_in "$D_NS" birdc -s "$FT_TMP/D-bird/ctl" show protocols "$p" | grep -q Established || return 1
  done
}
dut_bird_routes() { ft_in "$D_NS" birdc -s "$FT_TMP/D-bird/ctl" show route all | norm bird; }
dut_bird_stop() { ft_in "$D_NS" birdc -s "$FT_TMP/D-bird/ctl" down >/dev/null; }

# ---------------------------------------------------------------------- ferryd

FERRY_BUILD=${FERRY_BUILD:-$(cd "$FT_LIB/../../.." && pwd)/build}
FERRYD=${FERRYD:-$FERRY_BUILD/bin/ferryd}
FERRYCTL=${FERRYCTL:-$FERRY_BUILD/bin/ferryctl}

ferry__toml_list() {  # words -> TOML array of strings
  local out="" x
  for x in "$@"; do out+="${out:+, }\"$x\""; done
  echo "[$out]"
}

dut_ferryd_start() {
  [[ -x "$FERRYD" && -x "$FERRYCTL" ]] || ft_fail "ferryd/ferryctl not built in $FERRY_BUILD"
  local conf="$FT_TMP/ferry.toml"
  # shellcheck disable=SC2086
  cat >"$conf" <<EOF
[router]
asn = $D_ASN
router-id = "$D_RID"
control-socket = "$FT_TMP/ferry.sock"

[fib]
install = false

[bgp]
networks = $(ferry__toml_list $D_NET4 $D_NET6)
EOF
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
    cat >>"$conf" <<EOF

[[bgp.neighbors]]
name = "$n"
address = "$addr"
remote-asn = $asn
import = ["accept-all"]
export = ["accept-all"]
hold-time = 6
connect-retry = 1
$fam = true
$other = false
$nhs
EOF
  done
  ft_bg "$D_NS" "$FT_TMP/D-ferryd.log" "$FERRYD" --config "$conf"
  DUT_PID=$FT_BG_PID
  ft_wait 10 "ferryd control socket" test -S "$FT_TMP/ferry.sock"
}
ferry__ctl() { ft_in "$D_NS" "$FERRYCTL" --socket "$FT_TMP/ferry.sock" "$@"; }
dut_ferryd_established() {
  ferry__ctl show neighbors --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
ns = d.get("neighbors", d) if isinstance(d, dict) else d
st = {n.get("name"): str(n.get("state", "")).lower() for n in ns}
sys.exit(0 if all(st.get(x) == "established" for x in ("a4", "a6", "b4", "b6")) else 1)'
}
dut_ferryd_routes() { ferry__ctl show routes --json | norm ferry; }
dut_ferryd_stop() { kill -TERM "$DUT_PID"; }
