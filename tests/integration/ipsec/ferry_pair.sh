#!/usr/bin/env bash
# ferry <-> ferry over IPsec (IKEv2 + ESP in UDP) between two namespaces:
# IKE establishes the CHILD_SA, LAN-to-LAN pings go both ways through ESP,
# `ferryctl clear tunnel` rekeys the CHILD_SA while a ping stream runs and no
# ping is lost, and a clean link counts no authentication failure.
#
#   ns a: LAN 10.83.1.1 --- [ipsec] 192.168.83.1 === veth === 192.168.83.2 [ipsec] --- LAN 10.83.2.1 :ns b
#
# The remote LAN is routed into the IPsec interface by hand (ip route): routing
# does not yet take the IPsec tunnel's view (docs/ipsec.md, "Status").
# usage: ferry_pair.sh   (FERRY_BUILD points at the build directory)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/ferry.sh
. "$HERE/../lib/ferry.sh"

ferry_test_init ipsecpair ping
ft_ns a
ft_ns b
ft_link a 192.168.83.1/24 b 192.168.83.2/24
IF="${FT_ID}i"
PSK="$FT_TMP/psk"
printf 'integration test pre-shared key %s\n' "$FT_ID" >"$PSK"
chmod 600 "$PSK"

node() {  # NODE ASN OWN_OUTER PEER_OUTER OWN_LAN PEER_LAN INNER INITIATE
  ferry_toml_new "$1" "$2" "$3"
  ferry_toml_section "[ipsec]" "interface = \"$IF\"" "addresses = [\"$7\"]" "mtu = 1400" \
    "workers = 1"
  ferry_toml_section "[[ipsec.peers]]" "name = \"peer\"" "endpoint = \"$4:500\"" \
    "local-id = \"$3\"" "psk-file = \"$PSK\"" "initiate = $8" \
    "ike-proposals = [\"aes256gcm16-prfsha256-ecp256\"]" "esp-proposals = [\"aes256gcm16\"]" \
    "allowed-ips = [\"$6\", \"169.254.83.0/30\"]"
  ferry_toml_write
  # The LAN: one host address of it on lo (no dummy interfaces in every kernel).
  ip -n "$(ft_nsname "$1")" addr add "$5" dev lo
  ft_bg "$1" "$FT_TMP/$1-ferryd.log" "$FERRYD" --config "$FT_TMP/$1.toml"
  ft_wait 10 "$1: ferryd control socket" test -S "$FT_TMP/$1.sock"
}
node a 65001 192.168.83.1 192.168.83.2 10.83.1.1/32 10.83.2.0/24 169.254.83.1/30 true
node b 65002 192.168.83.2 192.168.83.1 10.83.2.1/32 10.83.1.0/24 169.254.83.2/30 false

ctl() {
  local n=$1
  shift
  ft_in "$n" "$FERRYCTL" --socket "$FT_TMP/$n.sock" "$@"
}
ipsec_json() { ft_in "$1" "$FERRYCTL" --socket "$FT_TMP/$1.sock" --json show tunnels; }
peer_field() {  # NODE PYTHON-EXPR on p (the IPsec peer)
  ipsec_json "$1" | python3 -c "import json,sys; p=json.load(sys.stdin)['ipsec']['peers'][0]; print($2)"
}
up() { [[ $(peer_field "$1" "p['up']") == True ]]; }

ft_log "1. IKE establishes the CHILD_SA"
ft_wait 20 "a: peer up" up a
ft_wait 10 "b: peer up" up b
ft_in a ip route add 10.83.2.0/24 dev "$IF" src 10.83.1.1
ft_in b ip route add 10.83.1.0/24 dev "$IF" src 10.83.2.1

ft_log "2. LAN-to-LAN pings both ways"
ft_wait 10 "a pings b's LAN" ft_in a ping -c1 -W1 -I 10.83.1.1 10.83.2.1
ft_wait 10 "b pings a's LAN" ft_in b ping -c1 -W1 -I 10.83.2.1 10.83.1.1
[[ $(peer_field a "p['child_sas'][0]['encryption']") == aes256gcm16 ]] ||
  ft_fail "a: unexpected ESP transform: $(peer_field a "p['child_sas']")"

ft_log "3. CHILD_SA rekey under a ping stream loses nothing"
OLD_SPI=$(peer_field a "p['child_sas'][0]['spi_in']")
TX0=$(peer_field a "p['child_sas'][0]['tx_packets']")
ft_in a ping -q -i 0.05 -c 120 -I 10.83.1.1 10.83.2.1 >"$FT_TMP/ping.txt" 2>&1 &
PING=$!
streaming() { (($(peer_field a "p['child_sas'][0]['tx_packets']") >= TX0 + 10)); }
ft_wait 10 "the stream runs under the old SA" streaming
ctl a clear tunnel peer >/dev/null || ft_fail "clear tunnel failed"
new_sa() { [[ $(peer_field a "[s['spi_in'] for s in p['child_sas'] if s['current']][0]") != "$OLD_SPI" ]]; }
ft_wait 10 "a: a new CHILD_SA is current" new_sa
wait $PING
cat "$FT_TMP/ping.txt" >&2
grep -q ' 0% packet loss' "$FT_TMP/ping.txt" || ft_fail "pings lost across the rekey"

ft_log "4. counters and drops"
DROPS=$(ipsec_json b | python3 -c "import json,sys; j=json.load(sys.stdin)['ipsec']; print(j['drops']['auth_failed'] + j['peers'][0]['drops']['auth_failed'])")
[[ $DROPS == 0 ]] || ft_fail "b: authentication failures on a clean link: $DROPS"
ft_pass
