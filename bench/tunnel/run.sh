#!/usr/bin/env bash
# Tunnel throughput: ferry vs wireguard-go, same topology, same run.
#
#   ns a --- veth (192.168.79.1/.2) --- ns b, tunnel 10.79.0.1 <-> 10.79.0.2
#
# Built twice: two ferry tunnels (tunnel_node), then two wireguard-go. iperf3
# TCP a->b through each for SECONDS; prints both throughputs and the ratio.
# usage: bench/tunnel/run.sh [path/to/tunnel_node] [SECONDS] [PARALLEL_STREAMS]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TN_BIN=${1:-$ROOT/build/bin/tunnel_node}
SECS=${2:-10}
PAR=${3:-1}
# shellcheck source=../../tests/integration/lib/netns.sh
. "$ROOT/tests/integration/lib/netns.sh"
# shellcheck source=../../tests/integration/tunnel/tunnel_lib.sh
. "$ROOT/tests/integration/tunnel/tunnel_lib.sh"

ft_init tunbench
ft_require wireguard-go wg iperf3 python3 "$TN_BIN"
tn_keys a
tn_keys b
APUB=$(cat "$FT_TMP/a.pub")
BPUB=$(cat "$FT_TMP/b.pub")

iperf_run() {  # prints Gbit/s a->b
  ft_in b iperf3 -s -1 -B 10.79.0.2 >/dev/null 2>&1 &
  local spid=$!
  ft_wait 5 "iperf3 server" ft_in b sh -c "ss -ltn | grep -q ':5201'"
  ft_in a iperf3 -c 10.79.0.2 -t "$SECS" -P "$PAR" -J >"$FT_TMP/iperf.json" 2>&1 ||
    { cat "$FT_TMP/iperf.json" >&2; ft_fail "iperf3 failed"; }
  wait "$spid" 2>/dev/null
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.3f" % (j["end"]["sum_received"]["bits_per_second"]/1e9))' \
    "$FT_TMP/iperf.json"
}

# --- ferry <-> ferry
ft_ns a
ft_ns b
ft_link a 192.168.79.1/24 b 192.168.79.2/24
tn_ferry_config a "${FT_ID}a" 51820 10.79.0.1/24 b "$BPUB" 192.168.79.2:51820 '"10.79.0.2/32"'
tn_ferry_config b "${FT_ID}b" 51820 10.79.0.2/24 a "$APUB" 192.168.79.1:51820 '"10.79.0.1/32"'
tn_ferry_start a a
tn_ferry_start b b
ft_wait 10 "ferry tunnel up" ft_in a ping -c1 -W1 10.79.0.2
FERRY=$(iperf_run)
ft_log "ferry:        $FERRY Gbit/s"
tn_ferry_stop a
tn_ferry_stop b
ip netns del "$FT_ID-a"
ip netns del "$FT_ID-b"
FT_LINKS=0

# --- wireguard-go <-> wireguard-go
ft_ns a
ft_ns b
ft_link a 192.168.79.1/24 b 192.168.79.2/24
tn_wg_start a "${FT_ID}wa" 51820 10.79.0.1/24 "$FT_TMP/a.key" "$BPUB" 192.168.79.2:51820 10.79.0.2/32
tn_wg_start b "${FT_ID}wb" 51820 10.79.0.2/24 "$FT_TMP/b.key" "$APUB" 192.168.79.1:51820 10.79.0.1/32
ft_wait 10 "wireguard-go tunnel up" ft_in a ping -c1 -W1 10.79.0.2
WGGO=$(iperf_run)
ft_log "wireguard-go: $WGGO Gbit/s"
tn_wg_stop "${FT_ID}wa"
tn_wg_stop "${FT_ID}wb"

RATIO=$(python3 -c "print('%.2f' % ($FERRY / $WGGO))")
echo "tunnel throughput (iperf3 TCP, ${SECS}s, ${PAR} stream(s)): ferry $FERRY Gbit/s, wireguard-go $WGGO Gbit/s, ratio ${RATIO}x"
ft_pass
