#!/usr/bin/env bash
# BGP propagation benchmark: ferryd vs BIRD, same topology, same generator.
#
#   bench/bgp/run.sh                 # N=1000000, both DUTs
#   N=100000 DUTS="bird" bench/bgp/run.sh
#
# Topology (two network namespaces joined by a veth):
#   gen: 10.77.0.2 (feeder, AS 65002) + 10.77.0.3 (monitor, AS 65003)
#   dut: 10.77.0.1 (AS 65001, both sessions passive, no kernel FIB install)
# ferry-bgp-loadgen feeds N IPv4 prefixes on the feeder session and times how
# long until the monitor session has all of them, then withdraws them all and
# times again, and samples the DUT's VmRSS/VmHWM. Prints one JSON line per
# DUT and a summary with the ferryd/BIRD ratios. Needs root.
#
# Environment: N, SEED, DUTS ("bird ferryd"), BUILD (build dir holding
# bin/ferryd and bin/ferry-bgp-loadgen; default <repo>/build), LOADGEN,
# FERRYD, TIMEOUT (s per phase), RESULTS (file to append JSON lines to).
# A second ferryd binary (e.g. before a change) joins the same run as DUT
# "ferryd-base" with FERRYD_BASE=/path/to/ferryd DUTS="bird ferryd ferryd-base".
# Besides wall-clock convergence, the DUT's CPU seconds per phase are
# reported (utime+stime from /proc): steadier on a shared machine.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-1000000}
SEED=${SEED:-1}
DUTS=${DUTS:-"bird ferryd"}
BUILD=${BUILD:-$ROOT/build}
LOADGEN=${LOADGEN:-$BUILD/bin/ferry-bgp-loadgen}
FERRYD=${FERRYD:-$BUILD/bin/ferryd}
FERRYD_BASE=${FERRYD_BASE:-}
TIMEOUT=${TIMEOUT:-900}

# shellcheck source=../../tests/integration/lib/netns.sh
. "$ROOT/tests/integration/lib/netns.sh"
ft_init bgpbench
[[ -x "$LOADGEN" ]] || ft_fail "loadgen not built: $LOADGEN (ninja -C $BUILD ferry-bgp-loadgen)"

declare -A RESULT

start_topology() {
  ft_ns gen
  ft_ns dut
  ft_link dut 10.77.0.1/24 gen 10.77.0.2/24
  ft_addr gen "$(ft_ifname gen dut 0)" 10.77.0.3/24
}

stop_topology() {
  local i
  for ((i = ${#FT_CLEANUP[@]} - 1; i >= 0; i--)); do eval "${FT_CLEANUP[i]:-true}" >/dev/null 2>&1 || true; done
  FT_CLEANUP=()
  # shellcheck disable=SC2034  # read by ft_link in netns.sh
  FT_LINKS=0
}

start_bird() {
  command -v bird >/dev/null || return 1
  cat >"$FT_TMP/bird.conf" <<EOF
router id 10.77.0.1;
log "$FT_TMP/bird.log" { warning, error, fatal };
protocol device {}
protocol bgp feeder {
  local 10.77.0.1 as 65001;
  neighbor 10.77.0.2 as 65002;
  passive on;
  hold time 240;
  ipv4 { import all; export none; };
}
protocol bgp monitor {
  local 10.77.0.1 as 65001;
  neighbor 10.77.0.3 as 65003;
  passive on;
  hold time 240;
  ipv4 { import none; export all; };
}
EOF
  ft_in dut bird -c "$FT_TMP/bird.conf" -s "$FT_TMP/bird.ctl" -P "$FT_TMP/bird.pid" || return 1
  ft_kill_pidfile "$FT_TMP/bird.pid"
  ft_wait 10 "bird pid file" test -s "$FT_TMP/bird.pid"
  DUT_PID=$(cat "$FT_TMP/bird.pid")
  DUT_VERSION=$(bird --version 2>&1 | head -1)
}

start_ferryd-base() {
  [[ -n "$FERRYD_BASE" ]] || { echo "FERRYD_BASE not set" >&2; return 1; }
  FERRYD=$FERRYD_BASE start_ferryd
}

start_ferryd() {
  [[ -x "$FERRYD" ]] || { echo "ferryd not built at $FERRYD" >&2; return 1; }
  cat >"$FT_TMP/ferry.toml" <<EOF
[router]
asn = 65001
router-id = "10.77.0.1"
control-socket = "$FT_TMP/ferry.sock"

[fib]
install = false

[bgp]

[[bgp.neighbors]]
name = "feeder"
address = "10.77.0.2"
remote-asn = 65002
passive = true
hold-time = 240
import = ["accept-all"]
export = []

[[bgp.neighbors]]
name = "monitor"
address = "10.77.0.3"
remote-asn = 65003
passive = true
hold-time = 240
import = []
export = ["accept-all"]
EOF
  ft_bg dut "$FT_TMP/ferryd.log" "$FERRYD" --config "$FT_TMP/ferry.toml"
  DUT_PID=$FT_BG_PID
  sleep 0.5
  kill -0 "$DUT_PID" 2>/dev/null || { cat "$FT_TMP/ferryd.log" >&2; return 1; }
  DUT_VERSION=$("$FERRYD" --version 2>/dev/null | head -1 || echo ferryd)
}

run_one() {
  local dut=$1 out
  start_topology
  if ! "start_$dut"; then
    echo "{\"dut\":\"$dut\",\"ok\":false,\"error\":\"could not start\"}"
    stop_topology
    return 0
  fi
  ft_log "$dut ($DUT_VERSION) pid $DUT_PID: feeding $N prefixes"
  out=$(ft_in gen "$LOADGEN" --dut 10.77.0.1 --feeder-src 10.77.0.2 --monitor-src 10.77.0.3 \
    -n "$N" --seed "$SEED" --dut-pid "$DUT_PID" --timeout "$TIMEOUT" --label "$dut") || true
  [[ -n "$out" ]] || out="{\"dut\":\"$dut\",\"ok\":false,\"error\":\"loadgen failed\"}"
  echo "$out"
  [[ -n "${RESULTS:-}" ]] && echo "$out" >>"$RESULTS"
  RESULT[$dut]=$out
  stop_topology
}

for d in $DUTS; do run_one "$d"; done

python3 - "$N" "${RESULT[bird]:-}" "${RESULT[ferryd]:-}" "${RESULT[ferryd-base]:-}" <<'EOF'
import json, sys
def load(s):
    try:
        return json.loads(s) if s else None
    except ValueError:
        return None
n, b, f, fb = sys.argv[1], load(sys.argv[2]), load(sys.argv[3]), load(sys.argv[4])
rows = [("announce converged (s)", "announce_converged_s"),
        ("withdraw converged (s)", "withdraw_converged_s"),
        ("CPU announce (s)", "cpu_announce_s"), ("CPU withdraw (s)", "cpu_withdraw_s"),
        ("RSS full table (MiB)", "rss_kb_full"),
        ("RSS after withdraw (MiB)", "rss_kb_after_withdraw"),
        ("peak RSS VmHWM (MiB)", "hwm_kb")]
def val(r, k):
    if not r or not r.get("ok"):
        return None
    v = r.get(k)
    if v is None or v < 0:
        return None
    return v / 1024 if "_kb" in k else v
cols = [("ferryd", f)] + ([("ferryd-base", fb)] if fb else [])
print(f"\nBGP benchmark, N={n} IPv4 prefixes")
head = f"{'metric':26} {'bird':>10}"
for name, _ in cols:
    head += f" {name:>11} {name + '/bird':>16}"
print(head)
for label, k in rows:
    bv = val(b, k)
    line = f"{label:26} {(f'{bv:.2f}' if bv is not None else '-'):>10}"
    for _, r in cols:
        fv = val(r, k)
        ratio = f"{fv / bv:.2f}" if fv is not None and bv else "-"
        line += f" {(f'{fv:.2f}' if fv is not None else '-'):>11} {ratio:>16}"
    print(line)
EOF
