# shellcheck shell=bash
# Multi-site ferry topologies for system tests and `make demo`.
# Source after tests/integration/lib/ferry.sh (ferry_test_init or ft_init).
#
# Site i (1..N) has two namespaces: "gw<i>" (the ferry gateway) and "lan<i>"
# (a host on the site's LAN). Addressing:
#   LAN i            10.i.0.0/24, fd00:i::/64      gw .1 / ::1, host .10 / ::10
#   site prefixes    10.i.0.0/16, fd00:i::/48      advertised by the gateway in BGP
#   underlay i<j     192.168.ij.0/24               i .1, j .2   (veth between gateways)
#   tunnel inner i<j 169.254.ij.0/30, fd99:ij::/64 i .1/::1, j .2/::2 (on ferry0)
# Gateways peer over eBGP (AS 6500i) across the tunnel: one session on the
# inner IPv4 address for IPv4 routes, one on the inner IPv6 address for IPv6.

SITES_HELPER=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/check.py

# sites_topology N LINKS: LINKS are pairs "i-j" of gateways joined by an underlay.
sites_topology() {
  local n=$1
  shift
  SITES_N=$n
  SITES_LINKS=("$@")
  local i
  for ((i = 1; i <= n; i++)); do
    ft_ns "gw$i"
    ft_ns "lan$i"
    ft_in "gw$i" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    # The tunnel is the only way between sites: no ICMP redirects back into it.
    ft_in "gw$i" sysctl -qw net.ipv4.conf.all.send_redirects=0
    ft_link "gw$i" "10.$i.0.1/24" "lan$i" "10.$i.0.10/24"
    local gif lif
    gif=$(ft_ifname "gw$i" "lan$i" $((FT_LINKS - 1)))
    lif=$(ft_ifname "lan$i" "gw$i" $((FT_LINKS - 1)))
    ft_addr "gw$i" "$gif" "fd00:$i::1/64"
    ft_addr "lan$i" "$lif" "fd00:$i::10/64"
    ft_in "lan$i" ip route add default via "10.$i.0.1"
    ft_in "lan$i" ip -6 route add default via "fd00:$i::1"
  done
  local l a b
  for l in "${SITES_LINKS[@]}"; do
    a=${l%-*}
    b=${l#*-}
    ft_link "gw$a" "192.168.$a$b.1/24" "gw$b" "192.168.$a$b.2/24"
    printf -v "SITES_UIF_${a}_${b}" '%s' "$(ft_ifname "gw$a" "gw$b" $((FT_LINKS - 1)))"
    printf -v "SITES_UIF_${b}_${a}" '%s' "$(ft_ifname "gw$b" "gw$a" $((FT_LINKS - 1)))"
  done
  for ((i = 1; i <= n; i++)); do ferry_keys "gw$i"; done
}

# sites_linked i j: true when an underlay joins i and j.
sites_linked() {
  local l
  for l in "${SITES_LINKS[@]}"; do
    [[ "$l" == "$1-$2" || "$l" == "$2-$1" ]] && return 0
  done
  return 1
}

# Inner/underlay address of site x on the i<j pair.
sites__pair() { if (($1 < $2)); then echo "$1$2"; else echo "$2$1"; fi; }
sites__host() { if (($1 < $2)); then echo 1; else echo 2; fi; }

# sites_config i [EXTRA_BGP_TOML]: writes $FT_TMP/gw<i>.toml.
# SITES_BFD: bfd key of the IPv4 sessions (default true); SITES_BFD6: bfd key of
# the IPv6 sessions (default unset: on, as for every neighbour across a tunnel);
# SITES_NEIGHBOR_EXTRA: more lines for every neighbour (e.g. "hold-time = 90").
sites_config() {
  local i=$1 extra=${2:-} j
  local addrs=()
  ferry_toml_new "gw$i" $((65000 + i)) "10.255.0.$i"
  for ((j = 1; j <= SITES_N; j++)); do
    ((j == i)) && continue
    sites_linked "$i" "$j" || continue
    local p me them
    p=$(sites__pair "$i" "$j")
    me=$(sites__host "$i" "$j")
    them=$((3 - me))
    addrs+=("169.254.$p.$me/30" "fd99:$p::$me/64")
    ferry_toml_peer "site$j" "gw$j" "192.168.$p.$them" "169.254.$p.$them/32" "fd99:$p::$them/128"
    ferry_toml_neighbor "site$j" "169.254.$p.$them" $((65000 + j)) "ipv6 = false" \
      "bfd = ${SITES_BFD:-true}" "${SITES_NEIGHBOR_EXTRA:-}"
    ferry_toml_neighbor "site$j-v6" "fd99:$p::$them" $((65000 + j)) "ipv4 = false" \
      "${SITES_BFD6:+bfd = $SITES_BFD6}" "${SITES_NEIGHBOR_EXTRA:-}"
  done
  ferry_toml_tunnel "${addrs[@]}"
  ferry_toml_bgp "networks = [\"10.$i.0.0/16\", \"fd00:$i::/48\"]" \
    "max-paths = ${SITES_MAX_PATHS:-1}" "$extra"
  ferry_toml_bfd "${SITES_BFD_MS:-100}"
  ferry_toml_write
}

# sites_start i: runs ferryd for site i in its gateway namespace.
sites_start() {
  local i=$1
  # FERRY_LOG_ARGS: extra ferryd options, e.g. "--log-format json".
  # shellcheck disable=SC2086
  ft_bg "gw$i" "$FT_TMP/gw$i.log" "$FERRYD" --config "$FT_TMP/gw$i.toml" --log-level "${FERRY_LOG_LEVEL:-debug}" ${FERRY_LOG_ARGS:-}
  printf -v "SITES_PID_$i" '%s' "$FT_BG_PID"
}

sites_ctl() {
  local i=$1
  shift
  "$FERRYCTL" --socket "$FT_TMP/gw$i.sock" "$@"
}

# sites_established i: every BGP neighbor of site i is Established.
sites_established() {
  sites_ctl "$1" show neighbors --json | python3 "$SITES_HELPER" all-established
}

# sites_has_route i PREFIX: site i's kernel has PREFIX from ferry.
sites_has_route() {
  local fam=-4
  [[ "$2" == *:* ]] && fam=-6
  ft_in "gw$1" ip "$fam" route show proto 200 | grep "^$2 " >/dev/null
}

# sites_fib_matches_rib i: the kernel's ferry routes equal ferryctl's best BGP routes.
sites_fib_matches_rib() {
  local i=$1
  {
    sites_ctl "$i" show routes --json
    echo "---KERNEL---"
    ft_in "gw$i" ip -j -4 route show proto 200
    echo
    ft_in "gw$i" ip -j -6 route show proto 200
    echo "---FIB---"
    sites_ctl "$i" show fib --json
  } | python3 "$SITES_HELPER" fib-matches-rib
}

# ---- Helpers for redistribute.sh, faults.sh and flap_memory.sh ------------------

# sites_pid i: pid of site i's ferryd (ip netns exec execs it, so it is ferryd's own).
sites_pid() {
  local v="SITES_PID_$1"
  echo "${!v}"
}

# sites_alive i: site i's ferryd is still running (not a zombie).
sites_alive() {
  local pid
  pid=$(sites_pid "$1")
  [[ -n "$pid" && -r /proc/$pid/status ]] && ! grep -q '^State:.*Z' "/proc/$pid/status"
}

# sites_rss_kb i: resident set size of site i's ferryd in KiB.
sites_rss_kb() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$(sites_pid "$1")/status"
}

# sites_rib_has i PREFIX [SOURCE]: site i's RIB has a best route for PREFIX
# (SOURCE: bgp, kernel, connected, static, network).
sites_rib_has() {
  sites_ctl "$1" show routes --json | python3 "$SITES_HELPER" rib-has "${@:2}"
}

# sites_rib_lacks i PREFIX: site i's RIB has no route for PREFIX.
sites_rib_lacks() {
  sites_ctl "$1" show routes --json | python3 "$SITES_HELPER" rib-lacks "$2"
}

# sites_lacks_route i PREFIX: site i's kernel has no ferry route for PREFIX.
sites_lacks_route() {
  local fam=-4
  [[ "$2" == *:* ]] && fam=-6
  ! ft_in "gw$1" ip "$fam" route show proto 200 | grep "^$2 " >/dev/null
}

# sites_route_via_tunnel i PREFIX: site i's kernel routes PREFIX into the tunnel
# interface with ferry's protocol.
sites_route_via_tunnel() {
  local fam=-4
  [[ "$2" == *:* ]] && fam=-6
  ft_in "gw$1" ip "$fam" route show "$2" proto 200 | grep "dev ferry" >/dev/null
}

# sites_converged i PREFIX...: sessions up, every PREFIX in the kernel (ferry's
# protocol) and the kernel's ferry routes equal the RIB's best BGP routes.
sites_converged() {
  local i=$1 p
  shift
  sites_established "$i" || return 1
  for p in "$@"; do sites_has_route "$i" "$p" || return 1; done
  sites_fib_matches_rib "$i"
}
