#!/usr/bin/env bash
# Conditional advertisement: health checks of the site's LAN decide what the
# gateway advertises, without resetting any session.
#
#   L (LAN host) 10.50.0.10 ---- D (ferryd, AS 65001) ---- B (BIRD, AS 65002)
#                10.50.0.1/24          |  10.9.1.1 <-> .2
#                                      +------------------ C (BIRD, AS 65003)
#                                         10.9.2.1 <-> .2
# D originates 10.50.0.0/24 (the LAN; ICMP check "lan" on 10.50.0.10) and
# 10.60.0.0/24 (no check), and sends C anything only while the TCP check
# "app" (10.50.0.10:8080) is up. Checks:
#  1. with L answering ping and a listener on 8080: B has both prefixes, C too;
#  2. L's link down: B keeps 10.60.0.0/24 only, C gets nothing at all;
#     `show health` says both checks are down; `show route` gives the reason;
#  3. L back: everything returns; no session was ever reset.
# shellcheck disable=SC2034
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=../lib/bgp_peers.sh
. "$HERE/../lib/bgp_peers.sh"
ft_init healthcheck
ft_require bird birdc jq python3

ft_ns l
ft_ns d
ft_ns b
ft_ns c
ft_link d 10.50.0.1/24 l 10.50.0.10/24
ft_link d 10.9.1.1/24 b 10.9.1.2/24
ft_link d 10.9.2.1/24 c 10.9.2.2/24
L_IF=$(ft_ifname l d 0)

CONF="$FT_TMP/ferry.toml"
rl_ferry_conf "$CONF" 65001 10.255.0.1
ferry_toml_bgp 'networks = ["10.50.0.0/24", "10.60.0.0/24"]'
T=("hold-time = 6" "connect-retry = 1" "ipv6 = false")
rl_ferry_nbr "$CONF" b 10.9.1.2 65002 "${T[@]}" 'local-address = "10.9.1.1"'
rl_ferry_nbr "$CONF" c 10.9.2.2 65003 "${T[@]}" 'local-address = "10.9.2.1"'
ferry_toml_section "[[health-checks]]" 'name = "lan"' 'target = "10.50.0.10"' \
  "interval-ms = 200" "timeout-ms = 150" "rise = 2" "fall = 2" 'networks = ["10.50.0.0/24"]'
ferry_toml_section "[[health-checks]]" 'name = "app"' 'type = "tcp"' 'target = "10.50.0.10"' \
  "port = 8080" "interval-ms = 200" "timeout-ms = 150" "rise = 2" "fall = 2" 'neighbors = ["c"]'
ferry_toml_write "$CONF"
ft_bg l "$FT_TMP/app.log" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.50.0.10", 8080)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()'
rl_ferry_start d "$CONF"

for n in b c; do
  mkdir -p "$FT_TMP/$n-bird"
  asn=$([[ $n == b ]] && echo 65002 || echo 65003)
  idx=$([[ $n == b ]] && echo 1 || echo 2)
  cat >"$FT_TMP/$n-bird/bird.conf" <<EOF
router id 10.255.0.$((idx + 1));
log "$FT_TMP/$n-bird/bird.log" all;
protocol device {}
protocol bgp d {
  local 10.9.$idx.2 as $asn; neighbor 10.9.$idx.1 as 65001;
  hold time 6; keepalive time 2; connect retry time 1; connect delay time 1; error wait time 1, 2;
  ipv4 { import all; export none; };
}
EOF
  rl_bird_start "$n" "$FT_TMP/$n-bird"
done

bird_prefixes() {
  rl_birdc "$1" "$FT_TMP/$1-bird" show route protocol d |
    awk '$1 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\/[0-9]+$/ {print $1}' | sort | xargs
}
health() { rl_ctl d --json show health | jq -r --arg n "$1" '.health_checks[] | select(.name == $n) | .up'; }
reason() {
  rl_ctl d --json show route "$1" | jq -r --arg n "$2" '.exports[] | select(.neighbor == $n) | .reason'
}

# ---- 1. all healthy ----------------------------------------------------------------
all_up() {
  [[ "$(bird_prefixes b)" == "10.50.0.0/24 10.60.0.0/24" &&
    "$(bird_prefixes c)" == "10.50.0.0/24 10.60.0.0/24" ]]
}
ft_wait 40 "B and C have both prefixes while the LAN and the app answer" all_up

# ---- 2. the LAN host goes away --------------------------------------------------------
ft_in l ip link set "$L_IF" down
lan_down() {
  [[ "$(bird_prefixes b)" == "10.60.0.0/24" && "$(bird_prefixes c)" == "" &&
    "$(health lan)" == false && "$(health app)" == false ]]
}
ft_wait 30 "LAN dead: B keeps only 10.60.0.0/24, C gets nothing" lan_down
[[ "$(reason 10.60.0.0/24 c)" == health_check ]] || ft_fail "show route gives no health_check reason for c"
rl_ctl d show health | tee -a "$FT_TMP/show-health.txt" >/dev/null

# ---- 3. back ---------------------------------------------------------------------------
ft_in l ip link set "$L_IF" up
ft_wait 40 "LAN back: both prefixes to B and C again" all_up
for n in b c; do
  [[ "$(rl_nbr d "$n" established_count)" == 1 ]] || ft_fail "session $n was reset"
done
kill -0 "$RL_FERRYD_PID" || ft_fail "ferryd died"
ft_pass "health checks withdraw and restore networks and a neighbor's export, no reset"
