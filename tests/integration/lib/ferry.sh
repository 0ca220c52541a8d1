# shellcheck shell=bash
# What every ferryd integration test (and `make demo`) starts with, and the one
# generator of ferryd configurations.
#
#   . "$(dirname "$0")/../lib/ferry.sh"    # also sources netns.sh
#   ferry_test_init NAME [TOOL...]          # ft_init NAME; ft_require ferryd ferryctl python3 TOOL...
#   ferry_keys NODE...                      # $FT_TMP/NODE.key (0600) and NODE.pub via ferryctl
#
# Writing a config: sections may be added in any order; ferry_toml_write puts them in
# schema order ([router], [tunnel], [[tunnel.peers]], [bgp], [bgp.bfd],
# [[bgp.neighbors]], [[static-routes]], [fib], anything else).
#
#   ferry_toml_new NODE ASN ROUTER_ID          [router]; control socket $FT_TMP/NODE.sock
#   ferry_toml_tunnel ADDRESS...               [tunnel] ferry0, port 51820, key $FT_TMP/NODE.key
#   ferry_toml_peer NAME PEER_NODE ENDPOINT ALLOWED_IP...
#                                              [[tunnel.peers]]: PEER_NODE's public key,
#                                              ENDPOINT host (port 51820), keepalive 5
#   ferry_toml_bgp [LINE...]                   [bgp] with extra TOML lines
#   ferry_toml_bfd MS                          [bgp.bfd] MS x 3
#   ferry_toml_neighbor NAME ADDR ASN [LINE...]
#                                              [[bgp.neighbors]] accept-all both ways, LINEs,
#                                              hold-time 9 and connect-retry 1 unless in LINEs
#   ferry_toml_section HEADER [LINE...]        any other section (e.g. "[fib]", "[[static-routes]]")
#   ferry_toml_write [FILE]                    writes $FT_TMP/NODE.toml (or FILE)
#
# Values are TOML: strings carry their quotes (ferry_toml_bgp 'networks = ["10.1.0.0/16"]').

FERRY_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Once only: sourcing netns.sh again would forget its cleanups.
# shellcheck source=netns.sh
declare -F ft_init >/dev/null || . "$FERRY_LIB/netns.sh"
FERRY_BUILD=${FERRY_BUILD:-$(cd "$FERRY_LIB/../../.." && pwd)/build}
FERRYD=${FERRYD:-$FERRY_BUILD/bin/ferryd}
FERRYCTL=${FERRYCTL:-$FERRY_BUILD/bin/ferryctl}

ferry_test_init() {
  local name=$1
  shift
  ft_init "$name"
  ft_require "$FERRYD" "$FERRYCTL" python3 "$@"
}

ferry_keys() {
  local n
  for n in "$@"; do
    "$FERRYCTL" genkey >"$FT_TMP/$n.key"
    chmod 600 "$FT_TMP/$n.key"
    "$FERRYCTL" pubkey <"$FT_TMP/$n.key" >"$FT_TMP/$n.pub"
  done
}

# ---- config generator -----------------------------------------------------------

ferry__join() {  # SEP ITEM...: items joined by SEP
  local sep=$1 out="" x
  shift
  for x in "$@"; do out+="${out:+$sep}$x"; done
  printf '%s' "$out"
}

ferry__quoted() {  # ITEM...: "a", "b"
  local q=() x
  for x in "$@"; do q+=("\"$x\""); done
  ferry__join ", " "${q[@]}"
}

ferry_toml_new() {
  FERRY_TOML_NODE=$1
  FERRY_TOML_ROUTER="[router]
asn = $2
router-id = \"$3\"
control-socket = \"$FT_TMP/$1.sock\"
"
  FERRY_TOML_TUNNEL="" FERRY_TOML_PEERS="" FERRY_TOML_BGP="" FERRY_TOML_BFD=""
  FERRY_TOML_NEIGHBORS="" FERRY_TOML_OTHER=""
}

ferry_toml_tunnel() {
  FERRY_TOML_TUNNEL="
[tunnel]
interface = \"ferry0\"
private-key-file = \"$FT_TMP/$FERRY_TOML_NODE.key\"
listen-port = 51820
addresses = [$(ferry__quoted "$@")]
"
}

ferry_toml_peer() {
  local name=$1 node=$2 endpoint=$3
  shift 3
  FERRY_TOML_PEERS+="
[[tunnel.peers]]
name = \"$name\"
public-key = \"$(cat "$FT_TMP/$node.pub")\"
endpoint = \"$endpoint:51820\"
allowed-ips = [$(ferry__quoted "$@")]
persistent-keepalive = 5
"
}

ferry_toml_bgp() {
  FERRY_TOML_BGP="
[bgp]
$(printf '%s\n' "$@")
"
}

ferry_toml_bfd() {
  FERRY_TOML_BFD="
[bgp.bfd]
min-tx-ms = $1
min-rx-ms = $1
multiplier = 3
"
}

ferry_toml_neighbor() {
  local name=$1 addr=$2 asn=$3 lines
  shift 3
  lines=$(printf '%s\n' "$@")
  [[ "$lines" == *hold-time* ]] || lines+=$'\nhold-time = 9'
  [[ "$lines" == *connect-retry* ]] || lines+=$'\nconnect-retry = 1'
  FERRY_TOML_NEIGHBORS+="
[[bgp.neighbors]]
name = \"$name\"
address = \"$addr\"
remote-asn = $asn
import = [\"accept-all\"]
export = [\"accept-all\"]
${lines#$'\n'}
"
}

ferry_toml_section() {
  local header=$1
  shift
  FERRY_TOML_OTHER+="
$header
$(printf '%s\n' "$@")
"
}

ferry_toml_write() {
  local f=${1:-$FT_TMP/$FERRY_TOML_NODE.toml}
  # [bgp.bfd] and the neighbours need a [bgp] table before them.
  if [[ -z "$FERRY_TOML_BGP" && -n "$FERRY_TOML_BFD$FERRY_TOML_NEIGHBORS" ]]; then
    FERRY_TOML_BGP=$'\n[bgp]\n'
  fi
  printf '%s' "$FERRY_TOML_ROUTER" "$FERRY_TOML_TUNNEL" "$FERRY_TOML_PEERS" "$FERRY_TOML_BGP" \
    "$FERRY_TOML_BFD" "$FERRY_TOML_NEIGHBORS" "$FERRY_TOML_OTHER" >"$f"
}
