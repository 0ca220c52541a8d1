#!/usr/bin/env bash
# ferry's IKEv2 control plane (ike_driver) against strongSwan 5.9 charon, over a veth pair:
#
#   ns f: ike_driver 192.168.78.1 (UDP 500/4500) --- ns s: charon-systemd 192.168.78.2
#
# Scenarios (each with a fresh charon and driver):
#   1. ferry initiates, PSK, AES-GCM-256 / ECP-256; charon lists the SAs ESTABLISHED and
#      INSTALLED with the same SPIs and algorithms the driver installed, NAT-T (UDP 4500),
#      and the ESP keys charon logs (chd 4) equal the driver's; CHILD rekey from each
#      side; IKE rekey from charon; DPD notices a killed charon.
#   2. charon initiates (ferry responds), AES-CBC-128/HMAC-SHA2-256, MODP 2048; IKE
#      rekey initiated by ferry (short IKE lifetime).
#   3. ferry initiates with ECP-256 first, charon accepts only MODP 2048: INVALID_KE_PAYLOAD
#      is reached and the retry establishes.
# usage: strongswan_ike.sh path/to/ike_driver
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=../lib/strongswan.sh
. "$HERE/../lib/strongswan.sh"
DRIVER=${1:?usage: $0 ike_driver}

ft_init ikeswan
ft_require charon-systemd swanctl python3 "$DRIVER"
ft_ns f
ft_ns s
ft_link f 192.168.78.1/24 s 192.168.78.2/24
FADDR=192.168.78.1
SADDR=192.168.78.2
PSK=ferry-interop-secret-0123456789

# swan_start DIR IKE_PROPOSAL ESP_PROPOSAL START_ACTION [EXTRA_CONN_LINES]
swan_start() {
  local d=$1 ike=$2 esp=$3 start=$4
  mkdir -p "$d"
  swan_conf "$d" "ike = 4" "chd = 4" "cfg = 2" "enc = 1"
  cat >"$d/swanctl.conf" <<EOF
connections {
  ferry {
    version = 2
    local_addrs = $SADDR
    remote_addrs = $FADDR
    proposals = $ike
    mobike = no
    encap = yes
    dpd_delay = 2s
    rekey_time = 0
    local { auth = psk
            id = swan.example }
    remote { auth = psk
             id = ferry.example }
    children {
      ferry {
        local_ts = 0.0.0.0/0,::/0
        remote_ts = 0.0.0.0/0,::/0
        esp_proposals = $esp
        mode = tunnel
        start_action = $start
        dpd_action = clear
        rekey_time = 0
      }
    }
  }
}
secrets {
  ike-ferry {
    id-1 = swan.example
    id-2 = ferry.example
    secret = "$PSK"
  }
}
EOF
  ip netns exec "$FT_NS_s" env STRONGSWAN_CONF="$d/strongswan.conf" charon-systemd \
    >"$d/charon-stdout.log" 2>&1 &
  SWAN_PID=$!
  ft_on_exit "kill $SWAN_PID; sleep 0.3; kill -9 $SWAN_PID"
  SWAN_DIR=$d
  ft_wait 10 "charon's vici socket" test -S "$d/charon.vici"
  swanctl_ --load-all --file "$d/swanctl.conf" >"$d/load.log" 2>&1 || ft_fail "swanctl --load-all"
}
swanctl_() { STRONGSWAN_CONF="$SWAN_DIR/strongswan.conf" swanctl "$@" 2>/dev/null; }
swan_stop() {
  kill "$SWAN_PID" 2>/dev/null
  for _ in $(seq 30); do kill -0 "$SWAN_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SWAN_PID" 2>/dev/null
  wait "$SWAN_PID" 2>/dev/null
}

# driver_start NAME [ARGS...]: ike_driver in ns f; events in $FT_TMP/NAME.events.
driver_start() {
  local name=$1
  shift
  DRV_EVENTS=$FT_TMP/$name.events
  DRV_STATUS=$FT_TMP/$name.status
  ip netns exec "$FT_NS_f" "$DRIVER" --local $FADDR --remote $SADDR --psk "$PSK" \
    --local-id ferry.example --remote-id swan.example --status "$DRV_STATUS" "$@" \
    >"$DRV_EVENTS" 2>"$FT_TMP/$name-driver.log" &
  DRV_PID=$!
  ft_on_exit "kill $DRV_PID; sleep 0.2; kill -9 $DRV_PID"
}
driver_stop() {
  kill "$DRV_PID" 2>/dev/null
  wait "$DRV_PID" 2>/dev/null
}

# The child SA pair charon lists, as "in_spi out_spi" (charon's view), plus algorithms.
swan_child() {
  swanctl_ --list-sas --raw 2>/dev/null | python3 -c '
import re, sys
raw = sys.stdin.read()
m = re.search(r"spi-in=([0-9a-f]+) spi-out=([0-9a-f]+)", raw)
st = re.search(r"child-sas \{\S+ \{.*?state=(\w+)", raw)
enc = re.search(r"child-sas \{\S+ \{.*?encr-alg=(\w+)(?: encr-keysize=(\d+))?", raw)
integ = re.search(r"child-sas \{\S+ \{.*?integ-alg=(\w+)", raw)
if not m: sys.exit(1)
print(m.group(1), m.group(2), st.group(1) if st else "?",
      (enc.group(1) + "_" + (enc.group(2) or "")) if enc else "?", integ.group(1) if integ else "-")
'
}
swan_ike_state() {
  swanctl_ --list-sas --raw 2>/dev/null | grep -o 'state=[A-Z_]*' | head -1 | cut -d= -f2
}
swan_ike_spis() {
  swanctl_ --list-sas --raw 2>/dev/null | grep -o 'initiator-spi=[0-9a-f]* responder-spi=[0-9a-f]*' | head -1
}

# Python over the driver's event lines: the installed pairs minus the removed ones.
drv_live() {
  python3 - "$DRV_EVENTS" <<'EOF'
import json, sys
live = {}
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except Exception: continue
    if e["event"] == "install": live[e["spi_in"]] = e
    if e["event"] == "remove": live.pop(e["spi_in"], None)
for k, e in live.items(): print(e["spi_in"], e["spi_out"], e["cipher"], e["integ"] or "-")
EOF
}
drv_count() { grep -c "\"event\":\"$1\"" "$DRV_EVENTS" 2>/dev/null || true; }

# The driver's single live pair equals charon's (charon's in = our out), both directions.
pairs_match() {
  local s d
  s=$(swan_child) || return 1
  d=$(drv_live)
  [[ $(echo "$d" | wc -l) -eq 1 ]] || return 1
  read -r s_in s_out s_state _ _ <<<"$s"
  read -r d_in d_out _ _ <<<"$d"
  [[ $s_state == INSTALLED && $s_in == "$d_out" && $s_out == "$d_in" ]]
}

# ESP keys: charon's chd-4 log of the newest CHILD_SA against the driver's install event.
keys_match() {
  python3 - "$SWAN_DIR/charon.log" "$DRV_EVENTS" "$1" <<'EOF'
import json, re, sys
log = open(sys.argv[1]).read()
initiator = sys.argv[3] == "ferry"  # who initiated the exchange that made the pair
def dump(label):
    # strongSwan %B: "NN[CHD] <label> => N bytes @ 0x..." then "NN[CHD]   0: HEX HEX ...  ascii"
    out, lines = [], log.splitlines()
    for i, l in enumerate(lines):
        m = re.search(re.escape(label) + r" => (\d+) bytes @", l)
        if not m: continue
        n, hexes = int(m.group(1)), []
        for l2 in lines[i + 1:]:
            mm = re.match(r"\d+\[\w+\]\s+\d+: ((?:[0-9A-F]{2} )+)", l2)
            if not mm: break
            hexes += mm.group(1).split()
        out.append("".join(hexes)[: 2 * n].lower())
    return out
ei, er = dump("encryption initiator key"), dump("encryption responder key")
ii, ir = dump("integrity initiator key"), dump("integrity responder key")
if not ei: print("charon logged no CHILD_SA keys"); sys.exit(1)
ev = [json.loads(l) for l in open(sys.argv[2]) if '"install"' in l][0]
# ferry initiated: our out = initiator keys. charon initiated: our in = initiator keys.
want_out, want_in = (ei[0], er[0]) if initiator else (er[0], ei[0])
ok = ev["enc_out"] == want_out and ev["enc_in"] == want_in
if ii:
    wi_out, wi_in = (ii[0], ir[0]) if initiator else (ir[0], ii[0])
    ok = ok and ev["integ_out"] == wi_out and ev["integ_in"] == wi_in
print("match" if ok else "differ", ev["enc_out"][:16], want_out[:16])
sys.exit(0 if ok else 1)
EOF
}

# ---------------------------------------------------------------------------
ft_log "1. ferry initiates: PSK, aes256gcm16-prfsha256-ecp256 / aes256gcm16"
swan_start "$FT_TMP/s1" aes256gcm16-prfsha256-ecp256 aes256gcm16 none
driver_start d1 --ike aes256gcm16-prfsha256-ecp256 --esp aes256gcm16 --dpd-interval 2 --dpd-timeout 6
ft_wait 20 "charon ESTABLISHED with the CHILD_SA INSTALLED" pairs_match
[[ $(swan_ike_state) == ESTABLISHED ]] || ft_fail "charon's IKE SA is $(swan_ike_state)"
read -r _ _ _ alg _ <<<"$(swan_child)"
ft_expect_eq "charon's ESP algorithm" "$alg" "AES_GCM_16_256"
swanctl_ --list-sas | grep -q "TUNNEL-in-UDP" || ft_fail "charon does not list TUNNEL-in-UDP (NAT-T)"
swanctl_ --list-sas | grep -q "AES_GCM_16-256/PRF_HMAC_SHA2_256/ECP_256" ||
  ft_fail "charon's IKE algorithms: $(swanctl_ --list-sas | head -3)"
keys_match ferry >&2 || ft_fail "ESP keys differ between charon's log and the driver"
ft_log "ok: ESP keys equal charon's"

ft_log "1b. CHILD rekey initiated by charon"
n0=$(drv_count install)
swanctl_ --rekey --child ferry >/dev/null || ft_fail "swanctl --rekey --child"
ft_wait 15 "a second install, the old pair removed, charon's new pair matching" \
  bash -c "[[ \$(grep -c '\"install\"' $DRV_EVENTS) -gt $n0 ]] && $(declare -f swan_child drv_live pairs_match swanctl_); SWAN_DIR=$SWAN_DIR DRV_EVENTS=$DRV_EVENTS pairs_match"

ft_log "1c. CHILD rekey initiated by ferry"
n0=$(drv_count install)
kill -USR1 "$DRV_PID"
ft_wait 15 "ferry's rekey: installed, old removed, charon matching" \
  bash -c "[[ \$(grep -c '\"install\"' $DRV_EVENTS) -gt $n0 ]] && $(declare -f swan_child drv_live pairs_match swanctl_); SWAN_DIR=$SWAN_DIR DRV_EVENTS=$DRV_EVENTS pairs_match"
python3 - "$DRV_EVENTS" <<'EOF' || ft_fail "make-before-break violated (a remove before its replacement's install)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
live = 0
for e in ev:
    if e["event"] == "install": live += 1
    if e["event"] == "remove":
        live -= 1
        if live < 1: sys.exit(1)
EOF

ft_log "1d. IKE rekey initiated by charon"
spis0=$(swan_ike_spis)
swanctl_ --rekey --ike ferry >/dev/null || ft_fail "swanctl --rekey --ike"
ft_wait 15 "charon's IKE SA has new SPIs and is ESTABLISHED" \
  bash -c "s=\$($(declare -f swanctl_); SWAN_DIR=$SWAN_DIR; swanctl_ --list-sas --raw | grep -o 'initiator-spi=[0-9a-f]* responder-spi=[0-9a-f]*' | head -1); [[ -n \$s && \$s != '$spis0' ]]"
ft_wait 10 "the CHILD_SA survives the IKE rekey" pairs_match
n0=$(drv_count install)
kill -USR1 "$DRV_PID"
ft_wait 15 "a CHILD rekey over the rekeyed IKE SA" \
  bash -c "[[ \$(grep -c '\"install\"' $DRV_EVENTS) -gt $n0 ]] && $(declare -f swan_child drv_live pairs_match swanctl_); SWAN_DIR=$SWAN_DIR DRV_EVENTS=$DRV_EVENTS pairs_match"

ft_log "1e. DPD: charon killed, ferry notices"
kill -9 "$SWAN_PID"
ft_wait 20 "the driver reports the peer down after DPD" grep -q '"event":"down".*DPD' "$DRV_EVENTS"
[[ -z $(drv_live) ]] || ft_fail "CHILD_SA still installed after DPD declared the peer dead"
driver_stop

# ---------------------------------------------------------------------------
ft_log "2. charon initiates: aes128-sha256-modp2048 / aes128-sha256; ferry rekeys the IKE SA"
driver_start d2 --responder --ike aes128-sha256-modp2048 --esp aes128-sha256 \
  --ike-lifetime 24 --rekey-margin 12
swan_start "$FT_TMP/s2" aes128-sha256-modp2048 aes128-sha256 start
ft_wait 20 "charon ESTABLISHED with the CHILD_SA INSTALLED" pairs_match
read -r _ _ _ alg integ <<<"$(swan_child)"
ft_expect_eq "charon's ESP algorithms" "$alg $integ" "AES_CBC_128 HMAC_SHA2_256_128"
swanctl_ --list-sas | grep -q "AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" ||
  ft_fail "charon's IKE algorithms: $(swanctl_ --list-sas | head -3)"
keys_match swan >&2 || ft_fail "ESP keys differ between charon's log and the driver"
spis0=$(swan_ike_spis)
ft_wait 30 "ferry rekeys the IKE SA (new SPIs at charon)" \
  bash -c "s=\$($(declare -f swanctl_); SWAN_DIR=$SWAN_DIR; swanctl_ --list-sas --raw | grep -o 'initiator-spi=[0-9a-f]* responder-spi=[0-9a-f]*' | head -1); [[ -n \$s && \$s != '$spis0' ]]"
ft_wait 10 "the CHILD_SA survives ferry's IKE rekey" pairs_match
[[ $(drv_count remove) -eq 0 ]] || ft_fail "the IKE rekey removed a CHILD_SA"
swan_stop
driver_stop

# ---------------------------------------------------------------------------
ft_log "3. INVALID_KE_PAYLOAD: ferry offers ECP-256 first, charon takes MODP 2048 only"
swan_start "$FT_TMP/s3" aes128-sha256-modp2048 aes128-sha256 none
driver_start d3 --ike aes128-sha256-ecp256,aes128-sha256-modp2048 --esp aes128-sha256
ft_wait 20 "established after the retry" pairs_match
grep -q "N(INVAL_KE)" "$SWAN_DIR/charon.log" || ft_fail "charon never sent INVALID_KE_PAYLOAD"
swanctl_ --list-sas | grep -q "MODP_2048" || ft_fail "IKE SA not on MODP_2048"
grep -q '"invalid_ke": 1' "$DRV_STATUS" || ft_fail "the driver did not count INVALID_KE_PAYLOAD"
swan_stop
driver_stop

ft_pass "initiator, responder, GCM and CBC, groups 19 and 14 (INVALID_KE), CHILD and IKE rekeys, DPD"
