# shellcheck shell=bash
# Helpers for the tunnel integration tests (source after ../lib/netns.sh and ft_init).
#
# A "ferry node" is tunnel_node (tunnel::Tunnel from a config file) in a namespace,
# a "wg node" is wireguard-go + wg in a namespace. Interface names are unique per
# test (they start with FT_ID) because wireguard-go's UAPI socket directory
# /var/run/wireguard is shared by all namespaces.
#
#   TN_BIN=path/to/tunnel_node
#   tn_keys NAME                 -> $FT_TMP/NAME.key (0600) and $FT_TMP/NAME.pub
#   tn_ferry_config NODE IFNAME PORT ADDR PEERNAME PEERPUB ENDPOINT ALLOWED [PSKFILE] [EXTRA]
#   tn_ferry_start NODE NS       start tunnel_node with $FT_TMP/NODE.toml (stats: NODE.json)
#   tn_ferry_stop NODE
#   tn_stat NODE PYEXPR          evaluates PYEXPR with s = the "show tunnels" JSON
#   tn_wg_start NS IFNAME PORT ADDR KEYFILE PEERPUB ENDPOINT ALLOWED
#   tn_wg_stop IFNAME

tn_keys() {
  (umask 077 && wg genkey >"$FT_TMP/$1.key")
  wg pubkey <"$FT_TMP/$1.key" >"$FT_TMP/$1.pub"
}

tn_ferry_config() {
  local node=$1 ifname=$2 port=$3 addr=$4 pname=$5 ppub=$6 ep=$7 allowed=$8 psk=${9:-} extra=${10:-}
  {
    echo "[router]"
    echo "asn = 65001"
    echo "router-id = \"10.255.0.1\""
    echo "control-socket = \"$FT_TMP/$node.sock\""
    echo "[tunnel]"
    echo "interface = \"$ifname\""
    echo "private-key-file = \"$FT_TMP/$node.key\""
    echo "listen-port = $port"
    echo "addresses = [\"$addr\"]"
    echo "workers = 2"
    [[ -n "$extra" ]] && echo "$extra"
    echo "[[tunnel.peers]]"
    echo "name = \"$pname\""
    echo "public-key = \"$ppub\""
    [[ -n "$ep" ]] && echo "endpoint = \"$ep\""
    echo "allowed-ips = [$allowed]"
    [[ -n "$psk" ]] && echo "preshared-key-file = \"$psk\""
  } >"$FT_TMP/$node.toml"
}

tn_ferry_start() {
  local node=$1 ns=$2
  rm -f "$FT_TMP/$node.json"
  ip netns exec "$FT_ID-$ns" "$TN_BIN" --config "$FT_TMP/$node.toml" --stats "$FT_TMP/$node.json" \
    --log-level debug >>"$FT_TMP/$node.log" 2>&1 &
  echo $! >"$FT_TMP/$node.pid"
  ft_on_exit "kill -9 \$(cat '$FT_TMP/$node.pid') 2>/dev/null"
  ft_wait 10 "$node running" test -s "$FT_TMP/$node.json"
}

tn_ferry_stop() {
  local pid
  pid=$(cat "$FT_TMP/$1.pid")
  kill "$pid" 2>/dev/null
  local i
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null
}

tn_stat() {
  python3 - "$FT_TMP/$1.json" "$2" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v)
sys.exit(0 if v not in (False, None) else 1)
EOF
}

tn_wg_start() {
  local ns=$1 ifname=$2 port=$3 addr=$4 key=$5 ppub=$6 ep=$7 allowed=$8
  ip netns exec "$FT_ID-$ns" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$ifname" \
    >>"$FT_TMP/wg-$ifname.log" 2>&1 &
  echo $! >"$FT_TMP/wg-$ifname.pid"
  ft_on_exit "kill \$(cat '$FT_TMP/wg-$ifname.pid') 2>/dev/null; rm -f /var/run/wireguard/$ifname.sock"
  ft_wait 10 "wireguard-go $ifname up" test -S "/var/run/wireguard/$ifname.sock"
  ft_in "$ns" wg set "$ifname" private-key "$key" listen-port "$port" \
    peer "$ppub" endpoint "$ep" allowed-ips "$allowed" || ft_fail "wg set failed"
  ft_in "$ns" ip addr add "$addr" dev "$ifname"
  ft_in "$ns" ip link set "$ifname" up
}

tn_wg_stop() {
  local pid
  pid=$(cat "$FT_TMP/wg-$1.pid")
  kill "$pid" 2>/dev/null
  local i
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "/var/run/wireguard/$1.sock"
}

# tn_iperf SERVER_NS CLIENT_NS SERVER_IP SECONDS: prints Gbit/s received by the server.
tn_iperf() {
  local sns=$1 cns=$2 ip=$3 secs=$4
  ft_in "$sns" iperf3 -s -1 -B "$ip" >/dev/null 2>&1 &
  local spid=$!
  ft_wait 5 "iperf3 server on $ip" ft_in "$sns" sh -c "ss -ltn | grep -q ':5201'"
  ft_in "$cns" iperf3 -c "$ip" -t "$secs" -J >"$FT_TMP/iperf.json" 2>&1
  local rc=$?
  wait "$spid" 2>/dev/null
  [[ $rc -eq 0 ]] || { cat "$FT_TMP/iperf.json" >&2; return 1; }
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.3f" % (j["end"]["sum_received"]["bits_per_second"]/1e9))' \
    "$FT_TMP/iperf.json"
}
