# shellcheck shell=bash
# strongSwan 5.9 (charon-systemd) as a test peer in a network namespace; see
# ../shared/peer-notes.md: no journald, its own vici socket per instance,
# userspace ESP through kernel-libipsec, and fwmark 0x2200 so the 0/0 routes it
# puts in table 220 match nothing (routing comes from the main table).
#
#   swan_conf DIR "LOG LEVELS"   writes DIR/strongswan.conf; LOG LEVELS are
#                                filelog subsystem lines, e.g. "ike = 2" "chd = 2"

swan_conf() {
  local d=$1
  shift
  local levels="" l
  for l in "$@"; do levels+="      $l"$'\n'; done
  cat >"$d/strongswan.conf" <<EOF
charon-systemd {
  journal { default = -1 }
}
charon {
  port = 500
  port_nat_t = 4500
  install_routes = no
  retransmit_timeout = 1.0
  retransmit_base = 1.2
  retransmit_tries = 3
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac gcm gmp curve25519 kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
  plugins {
    vici { socket = unix://$d/charon.vici }
    kernel-netlink { fwmark = 0x2200 }
  }
  filelog {
    swan {
      path = $d/charon.log
      default = 1
${levels}      flush_line = yes
    }
  }
}
swanctl { socket = unix://$d/charon.vici }
EOF
}
