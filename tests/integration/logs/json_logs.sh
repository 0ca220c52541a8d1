#!/usr/bin/env bash
# ferryd --log-format json and the operational events, with two sites joined
# by a ferry tunnel with BGP and BFD. Checks on site 1's log:
#   - every line is one JSON object with ts, level and msg;
#   - the events bgp_session_established, bfd_session_state (to up),
#     tunnel_peer_up appear with their fields; after site 2 stops,
#     bgp_session_down and bfd_session_state (to down); after site 1's reload
#     without the tunnel peer, tunnel_peer_down (reason removed);
#   - each event is logged once per change (one line per session and state);
# and `ferryctl show bfd` prints the session table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
. "$here/../system/sites.sh"
ferry_test_init jsonlogs

sites_topology 2 1-2
sites_config 1
sites_config 2
export FERRY_LOG_ARGS="--log-format json" FERRY_LOG_LEVEL=info
sites_start 1
sites_start 2
log=$FT_TMP/gw1.log

# events LOG [KEY=VALUE...]: prints the number of event records matching all pairs.
events() {
  python3 - "$@" <<'PY'
import json, sys
want = dict(a.split("=", 1) for a in sys.argv[2:])
n = 0
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if all(str(j.get(k)).lower() == v.lower() for k, v in want.items()):
        n += 1
print(n)
PY
}
has_event() { (($(events "$log" "$@") >= 1)); }

ft_wait 40 "site 1 sessions established" sites_established 1
ft_wait 10 "event bgp_session_established site2" has_event event=bgp_session_established peer=site2 peer_as=65002
ft_wait 10 "event bgp_session_established site2-v6" has_event event=bgp_session_established peer=site2-v6
ft_wait 20 "event bfd_session_state to up" has_event event=bfd_session_state to=up peer=169.254.12.2
ft_wait 20 "event tunnel_peer_up" has_event event=tunnel_peer_up peer=site2 interface=ferry0
ft_expect_eq "tunnel_peer_up logged once" "$(events "$log" event=tunnel_peer_up peer=site2)" 1
ft_expect_eq "bgp_session_established logged once per session" \
  "$(events "$log" event=bgp_session_established peer=site2)" 1

# --- show bfd as a table ---------------------------------------------------------------
out=$(sites_ctl 1 show bfd)
echo "$out" | head -1 | grep -qE '^peer +local +state +remote +diag +tx interval +detect +up/down +rx/tx packets$' ||
  ft_fail "show bfd header: $out"
echo "$out" | grep -qE '^169\.254\.12\.2 +- +up +up +' || ft_fail "show bfd row: $out"
ft_log "ok: show bfd table"

# --- down events -----------------------------------------------------------------------
kill -TERM "$(sites_pid 2)"
ft_wait 20 "event bgp_session_down site2" has_event event=bgp_session_down peer=site2 graceful_restart=false
ft_wait 20 "event bfd_session_state to down" has_event event=bfd_session_state to=down peer=169.254.12.2
python3 - "$FT_TMP/gw1.toml" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"\n\[\[tunnel\.peers\]\]\n(?:[^\[\n][^\n]*\n)*", "\n", s)
open(p, "w").write(s)
PY
grep -q 'tunnel.peers' "$FT_TMP/gw1.toml" && ft_fail "config edit failed"
sites_ctl 1 reload >/dev/null || ft_fail "reload without the tunnel peer failed"
ft_wait 20 "event tunnel_peer_down (removed)" has_event event=tunnel_peer_down peer=site2 reason=removed

# --- every line is a JSON record ---------------------------------------------------------
python3 - "$log" <<'PY' || ft_fail "site 1 log is not one JSON object per line"
import json, sys
n = 0
for i, line in enumerate(open(sys.argv[1]), 1):
    j = json.loads(line)
    assert isinstance(j, dict), f"line {i}: not an object"
    for k in ("ts", "level", "msg"):
        assert k in j, f"line {i}: no {k}: {line}"
    assert j["ts"].endswith("Z") and "T" in j["ts"], f"line {i}: ts {j['ts']}"
    n += 1
assert n > 5, n
print(f"{n} JSON lines", file=sys.stderr)
PY
sites_alive 1 || ft_fail "site 1 died"
ft_pass "json logs with stable events; show bfd table"
