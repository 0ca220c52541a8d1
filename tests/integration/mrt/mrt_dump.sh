#!/usr/bin/env bash
# ferryctl dump routes --mrt FILE (RFC 6396 TABLE_DUMP_V2) read back with an
# independent reader, bgpdump. Two sites joined by a ferry tunnel with BGP;
# site 1 tags its export with a community and MED. Checks site 2's dump:
#   - bgpdump parses the whole file (no errors) and reports the peers;
#   - site 1's prefixes 10.1.0.0/16 and fd00:1::/48 appear as learned from
#     site 1's inner address, AS path 65001, origin IGP, the BGP next hop,
#     MED 42 and community 65001:7; the IPv6 one with its IPv6 next hop
#     (MP_REACH, RFC 6396 §4.3.4);
#   - site 2's own prefixes appear (from the local peer entry);
#   - exactly the prefixes `ferryctl show routes` lists, no more.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
. "$here/../system/sites.sh"
ferry_test_init mrtdump bgpdump

sites_topology 2 1-2
sites_config 1
sites_config 2
# Site 1 exports with MED and a community, so the dump has attributes to check.
cat >>"$FT_TMP/gw1.toml" <<'TOML'

[[policies]]
name = "tag"
default-action = "accept"

[[policies.terms]]
name = "mark"
set = { med = 42, community-add = ["65001:7"] }
TOML
sed -i 's/^export = \["accept-all"\]/export = ["tag"]/' "$FT_TMP/gw1.toml"
"$FERRYD" --check --config "$FT_TMP/gw1.toml" >/dev/null || ft_fail "site 1 config rejected"
sites_start 1
sites_start 2
ft_wait 40 "site 2 sessions established" sites_established 2
for p in 10.1.0.0/16 fd00:1::/48; do ft_wait 20 "site 2 has $p" sites_rib_has 2 "$p"; done

out=$(sites_ctl 2 dump routes --mrt "$FT_TMP/rib.mrt") || ft_fail "dump failed: $out"
ft_log "ferryctl: $out"
[[ -s "$FT_TMP/rib.mrt" ]] || ft_fail "empty MRT file"
bgpdump -m "$FT_TMP/rib.mrt" >"$FT_TMP/rib.txt" 2>"$FT_TMP/bgpdump.err" || ft_fail "bgpdump failed"
if grep -qiE 'error|warn|unknown|bad' "$FT_TMP/bgpdump.err"; then
  cat "$FT_TMP/bgpdump.err" >&2
  ft_fail "bgpdump complained"
fi
cat "$FT_TMP/rib.txt" >&2
sites_ctl 2 show routes --json >"$FT_TMP/routes.json"

python3 - "$FT_TMP/rib.txt" "$FT_TMP/routes.json" <<'PY' || ft_fail "dump content wrong"
import json, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("|")
    assert f[0] == "TABLE_DUMP2" and f[2] == "B", line
    rows[f[5]] = f
want = {r["prefix"] for r in json.load(open(sys.argv[2]))["routes"]}
assert set(rows) == want, f"dump has {sorted(rows)}, show routes has {sorted(want)}"
# type|time|B|peer ip|peer as|prefix|as path|origin|next hop|local pref|med|communities|...
v4 = rows["10.1.0.0/16"]
assert v4[3] == "169.254.12.1" and v4[4] == "65001", v4
assert v4[6] == "65001" and v4[7] == "IGP" and v4[8] == "169.254.12.1", v4
assert v4[10] == "42" and "65001:7" in v4[11].split(), v4
v6 = rows["fd00:1::/48"]
assert v6[3] == "fd99:12::1" and v6[6] == "65001" and v6[8] == "fd99:12::1", v6
assert v6[10] == "42" and "65001:7" in v6[11].split(), v6
own = rows["10.2.0.0/16"]
assert own[4] == "65002" and own[6] == "", own  # local route: our AS, empty AS path
print(f"{len(rows)} prefixes match show routes", file=sys.stderr)
PY
ft_pass "MRT dump read back by bgpdump with prefixes and attributes"
