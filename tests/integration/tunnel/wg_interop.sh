#!/usr/bin/env bash
# ferry's tunnel (tunnel_node) against wireguard-go, over a veth pair:
#
#   ns a: tunnel_node, 10.77.0.1 --- underlay 192.168.77.1/.2 --- ns b: wireguard-go, 10.77.0.2
#
# wireguard-go initiates; ping and iperf3 both ways; roaming (wireguard-go changes
# its listen port); ferry restart (ferry initiates); wireguard-go restart;
# preshared key; wrong peer key (handshake refused and counted, nothing decrypted).
# usage: wg_interop.sh path/to/tunnel_node
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=tunnel_lib.sh
. "$HERE/tunnel_lib.sh"
TN_BIN=${1:?usage: $0 tunnel_node}

ft_init tunwg
ft_require wireguard-go wg iperf3 python3 "$TN_BIN"
ft_ns a
ft_ns b
ft_link a 192.168.77.1/24 b 192.168.77.2/24
FIF="${FT_ID}f"
WIF="${FT_ID}w"
tn_keys a
tn_keys b
APUB=$(cat "$FT_TMP/a.pub")
BPUB=$(cat "$FT_TMP/b.pub")

tn_ferry_config a "$FIF" 51820 10.77.0.1/24 wg "$BPUB" 192.168.77.2:51821 '"10.77.0.2/32"'
tn_wg_start b "$WIF" 51821 10.77.0.2/24 "$FT_TMP/b.key" "$APUB" 192.168.77.1:51820 10.77.0.1/32
tn_ferry_start a a

ft_log "1. wireguard-go initiates"
ft_wait 15 "b pings a through the tunnel" ft_in b ping -c1 -W1 10.77.0.1
ft_wait 5 "ferry reports the handshake" tn_stat a 's["peers"][0]["latest_handshake"]'
ft_wait 5 "a pings b" ft_in a ping -c1 -W1 10.77.0.2
tn_stat a 's["peers"][0]["rx_bytes"] > 0 and s["peers"][0]["tx_bytes"] > 0' >/dev/null ||
  ft_fail "byte counters did not move"

ft_log "2. TCP both ways"
G1=$(tn_iperf a b 10.77.0.1 2) || ft_fail "iperf3 b->a failed"
G2=$(tn_iperf b a 10.77.0.2 2) || ft_fail "iperf3 a->b failed"
ft_log "iperf3 wireguard-go->ferry ${G1} Gbit/s, ferry->wireguard-go ${G2} Gbit/s"

ft_log "3. roaming: wireguard-go moves to port 51822"
ft_in b wg set "$WIF" listen-port 51822
ft_wait 10 "b pings a from its new port" ft_in b ping -c1 -W1 10.77.0.1
ft_wait 5 "ferry follows the endpoint" tn_stat a 's["peers"][0]["endpoint"] == "192.168.77.2:51822"'
ft_wait 5 "a pings b at the new endpoint" ft_in a ping -c1 -W1 10.77.0.2
ft_in b wg set "$WIF" listen-port 51821
ft_wait 10 "b pings a from its old port again" ft_in b ping -c1 -W1 10.77.0.1
ft_wait 5 "ferry follows back" tn_stat a 's["peers"][0]["endpoint"] == "192.168.77.2:51821"'

ft_log "4. ferry restarts and initiates"
tn_ferry_stop a
tn_ferry_start a a
ft_wait 15 "a pings b after ferry restart" ft_in a ping -c1 -W1 10.77.0.2
ft_wait 5 "handshake shown after restart" tn_stat a 's["peers"][0]["latest_handshake"]'

ft_log "5. wireguard-go restarts and initiates"
tn_wg_stop "$WIF"
tn_wg_start b "$WIF" 51821 10.77.0.2/24 "$FT_TMP/b.key" "$APUB" 192.168.77.1:51820 10.77.0.1/32
ft_wait 20 "b pings a after wireguard-go restart" ft_in b ping -c1 -W1 10.77.0.1
ft_wait 10 "a pings b" ft_in a ping -c1 -W1 10.77.0.2

ft_log "6. preshared key on both sides"
(umask 077 && wg genpsk >"$FT_TMP/psk")
tn_ferry_stop a
tn_ferry_config a "$FIF" 51820 10.77.0.1/24 wg "$BPUB" 192.168.77.2:51821 '"10.77.0.2/32"' "$FT_TMP/psk"
ft_in b wg set "$WIF" peer "$APUB" preshared-key "$FT_TMP/psk"
tn_ferry_start a a
ft_wait 15 "a pings b with a preshared key" ft_in a ping -c1 -W1 10.77.0.2
ft_wait 10 "b pings a with a preshared key" ft_in b ping -c1 -W1 10.77.0.1

ft_log "7. wrong peer key on the ferry side"
tn_ferry_stop a
WRONG=$(wg genkey | wg pubkey)
tn_ferry_config a "$FIF" 51820 10.77.0.1/24 wg "$WRONG" 192.168.77.2:51821 '"10.77.0.2/32"'
tn_ferry_start a a
ft_in b ping -c3 -i0.3 -W1 10.77.0.1 >/dev/null 2>&1 && ft_fail "ping worked with a wrong key"
# wireguard-go retries its initiation after REKEY_TIMEOUT; the first one suffices.
ft_wait 30 "ferry counts the refused handshake" tn_stat a 's["drops"]["handshake_failed"] >= 1'
tn_stat a 's["peers"][0]["rx_bytes"] == 0 and s["peers"][0]["latest_handshake"] is None' >/dev/null ||
  ft_fail "something was decrypted with a wrong key"
ft_in a ping -c1 -W1 10.77.0.2 >/dev/null 2>&1 && ft_fail "a reached b with a wrong key"

ft_pass "wireguard-go interop"
