#!/usr/bin/env bash
# ferryd under a stand-in for systemd's notification socket (NOTIFY_SOCKET)
# with WATCHDOG_USEC set, in a network namespace. Checks that ferryd sends
#   READY=1 once started, WATCHDOG=1 pings (counted, not timed),
#   RELOADING=1 then READY=1 around `ferryctl reload`,
#   STOPPING=1 on SIGTERM, and then exits 0;
# and that without WATCHDOG_USEC it sends READY=1 but no WATCHDOG=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/netns.sh"
FERRY_BUILD=${FERRY_BUILD:-$here/../../../build}
FERRYD=${FERRYD:-$FERRY_BUILD/bin/ferryd}
FERRYCTL=${FERRYCTL:-$FERRY_BUILD/bin/ferryctl}
ft_init notify
ft_require "$FERRYD" "$FERRYCTL" python3

ft_ns gw
cat >"$FT_TMP/gw.toml" <<TOML
[router]
asn = 65001
router-id = "10.255.0.1"
control-socket = "$FT_TMP/gw.sock"

[bgp]
networks = ["10.1.0.0/16"]
TOML

# Each phase has its own socket and log, so a check never sees the other phase's lines.
log=$FT_TMP/notify.log
count() { grep -c -- " $1\$" "$log" || true; }
has_at_least() { (($(count "$1") >= $2)); }

# --- with the watchdog --------------------------------------------------------
ft_bg gw "$FT_TMP/notify.log" python3 "$here/notify_listener.py" "$FT_TMP/notify.sock"
ft_wait 10 "listener ready" grep -q listening "$FT_TMP/notify.log"
ft_bg gw "$FT_TMP/ferryd.log" env NOTIFY_SOCKET="$FT_TMP/notify.sock" WATCHDOG_USEC=200000 \
  "$FERRYD" --config "$FT_TMP/gw.toml" --log-level debug
pid=$FT_BG_PID
ft_wait 20 "READY=1" has_at_least READY=1 1
grep -q "STATUS=running: AS 65001, router-id 10.255.0.1" "$FT_TMP/notify.log" ||
  ft_fail "no STATUS with READY=1"
ft_wait 20 "three WATCHDOG=1 pings" has_at_least WATCHDOG=1 3
"$FERRYCTL" --socket "$FT_TMP/gw.sock" show status >/dev/null || ft_fail "ferryctl failed"

"$FERRYCTL" --socket "$FT_TMP/gw.sock" reload >/dev/null || ft_fail "reload failed"
ft_wait 10 "RELOADING=1 then READY=1" has_at_least READY=1 2
python3 - "$FT_TMP/notify.log" <<'PY' || ft_fail "reload messages out of order"
import sys
lines = [l.split(" ", 1) for l in open(sys.argv[1]) if l[0].isdigit()]
seq = [(int(n), v.strip()) for n, v in lines]
reloading = [n for n, v in seq if v == "RELOADING=1"]
ready = [n for n, v in seq if v == "READY=1"]
mono = [v for n, v in seq if v.startswith("MONOTONIC_USEC=")]
assert len(reloading) == 1 and len(ready) == 2, (reloading, ready)
assert ready[0] < reloading[0] < ready[1], seq
assert mono and mono[0].split("=")[1].isdigit(), mono
PY

kill -TERM "$pid"
ft_wait 10 "STOPPING=1" has_at_least STOPPING=1 1
rc=0
wait "$pid" || rc=$?
ft_expect_eq "ferryd exit status after SIGTERM" "$rc" 0

# --- without the watchdog -----------------------------------------------------------
log=$FT_TMP/notify2.log
ft_bg gw "$log" python3 "$here/notify_listener.py" "$FT_TMP/notify2.sock"
ft_wait 10 "listener ready" grep -q listening "$log"
ft_bg gw "$FT_TMP/ferryd2.log" env NOTIFY_SOCKET="$FT_TMP/notify2.sock" \
  "$FERRYD" --config "$FT_TMP/gw.toml" --log-level debug
pid=$FT_BG_PID
ft_wait 20 "READY=1 without watchdog" has_at_least READY=1 1
kill -TERM "$pid"
ft_wait 10 "STOPPING=1 without watchdog" has_at_least STOPPING=1 1
wait "$pid" || true
ft_expect_eq "WATCHDOG=1 without WATCHDOG_USEC" "$(count WATCHDOG=1)" 0
ft_pass "READY, WATCHDOG, RELOADING, STOPPING as systemd expects"
