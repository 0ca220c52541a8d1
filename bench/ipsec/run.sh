#!/usr/bin/env bash
# IPsec throughput: ferry <-> ferry (IKEv2 + ESP in UDP, AES-GCM-256) against
# strongSwan <-> strongSwan (charon with kernel-libipsec, ESP in userspace, the
# same transform), plus ferry's WireGuard path, same topology, same run.
#
#   ns a --- veth (192.168.85.1/.2) --- ns b; inner 169.254.85.1 <-> 169.254.85.2
#
# iperf3 TCP a->b through each for SECONDS; prints the three and the ratio
# ferry IPsec / strongSwan. Not a test: numbers depend on the machine.
# usage: bench/ipsec/run.sh [SECONDS] [PARALLEL_STREAMS]   (BUILD: the build directory)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export FERRY_BUILD=${BUILD:-$ROOT/build}
SECS=${1:-10}
PAR=${2:-1}
# shellcheck source=../../tests/integration/lib/ferry.sh
. "$ROOT/tests/integration/lib/ferry.sh"

ferry_test_init ipsecbench iperf3 charon-systemd swanctl
PSKV="ferry-bench-$FT_ID"
printf '%s\n' "$PSKV" >"$FT_TMP/psk"
chmod 600 "$FT_TMP/psk"
IKE=aes256gcm16-prfsha256-ecp256
ESP=aes256gcm16

topology() {
  ft_ns a
  ft_ns b
  ft_link a 192.168.85.1/24 b 192.168.85.2/24
}
teardown() {
  ip netns pids "$FT_ID-a" | xargs -r kill
  ip netns pids "$FT_ID-b" | xargs -r kill
  for _ in $(seq 30); do
    [[ -z "$(ip netns pids "$FT_ID-a")$(ip netns pids "$FT_ID-b")" ]] && break
    sleep 0.1
  done
  ip netns del "$FT_ID-a"
  ip netns del "$FT_ID-b"
  FT_LINKS=0
}
iperf_run() {  # prints Gbit/s a->b to 169.254.85.2
  ft_in b iperf3 -s -1 -B 169.254.85.2 >/dev/null 2>&1 &
  local spid=$!
  ft_wait 5 "iperf3 server" ft_in b sh -c "ss -ltn | grep -q ':5201'"
  ft_in a iperf3 -c 169.254.85.2 -t "$SECS" -P "$PAR" -J >"$FT_TMP/iperf.json" 2>&1 ||
    { cat "$FT_TMP/iperf.json" >&2; ft_fail "iperf3 failed"; }
  wait "$spid" 2>/dev/null
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.3f" % (j["end"]["sum_received"]["bits_per_second"]/1e9))' \
    "$FT_TMP/iperf.json"
}

# --- ferry <-> ferry over IPsec
ferry_ipsec() {  # NODE OWN PEER INNER INITIATE
  ferry_toml_new "$1" 65001 "$2"
  ferry_toml_section "[ipsec]" "interface = \"${FT_ID}i\"" "addresses = [\"$4/30\"]" "mtu = 1400"
  ferry_toml_section "[[ipsec.peers]]" "name = \"peer\"" "endpoint = \"$3:500\"" \
    "local-id = \"$2\"" "psk-file = \"$FT_TMP/psk\"" "initiate = $5" \
    "ike-proposals = [\"$IKE\"]" "esp-proposals = [\"$ESP\"]" "allowed-ips = [\"169.254.85.0/30\"]"
  ferry_toml_write
  ft_bg "$1" "$FT_TMP/$1-ferryd.log" "$FERRYD" --config "$FT_TMP/$1.toml"
  ft_wait 10 "$1: ferryd control socket" test -S "$FT_TMP/$1.sock"
}
topology
ferry_ipsec a 192.168.85.1 192.168.85.2 169.254.85.1 true
ferry_ipsec b 192.168.85.2 192.168.85.1 169.254.85.2 false
ft_wait 20 "ferry IPsec tunnel up" ft_in a ping -c1 -W1 169.254.85.2
FERRY_IPSEC=$(iperf_run)
ft_log "ferry IPsec (ESP $ESP):       $FERRY_IPSEC Gbit/s"
teardown

# --- strongSwan <-> strongSwan (kernel-libipsec)
swan() {  # NODE OWN PEER INNER START
  local d="$FT_TMP/swan-$1"
  mkdir -p "$d"
  cat >"$d/strongswan.conf" <<EOC
charon-systemd {
  journal { default = -1 }
}
charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac gcm gmp curve25519 kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
  plugins {
    vici { socket = unix://$d/charon.vici }
    kernel-netlink { fwmark = 0x2200 }
  }
  filelog { swan { path = $d/charon.log
                   default = 1 } }
}
swanctl { socket = unix://$d/charon.vici }
EOC
  cat >"$d/swanctl.conf" <<EOC
connections {
  bench {
    version = 2
    local_addrs = $2
    remote_addrs = $3
    proposals = $IKE
    mobike = no
    encap = yes
    local { auth = psk
            id = $2 }
    remote { auth = psk
             id = $3 }
    children {
      bench {
        local_ts = 0.0.0.0/0
        remote_ts = 0.0.0.0/0
        esp_proposals = $ESP-ecp256
        start_action = $5
      }
    }
  }
}
secrets {
  ike-bench {
    id-1 = $2
    id-2 = $3
    secret = "$PSKV"
  }
}
EOC
  ip netns exec "$FT_ID-$1" env STRONGSWAN_CONF="$d/strongswan.conf" charon-systemd \
    >"$d/stdout.log" 2>&1 &
  ft_on_exit "kill $!"
  ft_wait 10 "$1: charon's vici socket" test -S "$d/charon.vici"
  STRONGSWAN_CONF="$d/strongswan.conf" swanctl --load-all --file "$d/swanctl.conf" \
    >"$d/load.log" 2>&1 || ft_fail "$1: swanctl --load-all"
  ft_wait 10 "$1: ipsec0" ft_in "$1" ip link show ipsec0
  ft_in "$1" ip addr replace "$4/30" dev ipsec0
  ft_in "$1" ip link set ipsec0 up mtu 1400
}
topology
swan b 192.168.85.2 192.168.85.1 169.254.85.2 none
swan a 192.168.85.1 192.168.85.2 169.254.85.1 start
ft_wait 20 "strongSwan tunnel up" ft_in a ping -c1 -W1 169.254.85.2
SWAN=$(iperf_run)
ft_log "strongSwan libipsec (ESP $ESP): $SWAN Gbit/s"
teardown

# --- ferry <-> ferry over WireGuard
ferry_wg() {  # NODE OWN PEER_NODE PEER INNER PEER_INNER
  ferry_toml_new "$1" 65001 "$2"
  ferry_toml_tunnel "$5/30"
  ferry_toml_peer "$3" "$3" "$4" "$6/32"
  ferry_toml_write
  ft_bg "$1" "$FT_TMP/$1-ferryd.log" "$FERRYD" --config "$FT_TMP/$1.toml"
  ft_wait 10 "$1: ferryd control socket" test -S "$FT_TMP/$1.sock"
}
topology
ferry_keys a b
ferry_wg a 192.168.85.1 b 192.168.85.2 169.254.85.1 169.254.85.2
ferry_wg b 192.168.85.2 a 192.168.85.1 169.254.85.2 169.254.85.1
ft_wait 20 "ferry WireGuard tunnel up" ft_in a ping -c1 -W1 169.254.85.2
FERRY_WG=$(iperf_run)
ft_log "ferry WireGuard:                   $FERRY_WG Gbit/s"
teardown

RATIO=$(python3 -c "import sys; a,b=map(float,sys.argv[1:]); print('%.2f' % (a/b if b else 0))" \
  "$FERRY_IPSEC" "$SWAN")
printf 'ferry IPsec %s Gbit/s, strongSwan libipsec %s Gbit/s (ferry/strongSwan %sx), ferry WireGuard %s Gbit/s (%ss, %s stream(s))\n' \
  "$FERRY_IPSEC" "$SWAN" "$RATIO" "$FERRY_WG" "$SECS" "$PAR"
