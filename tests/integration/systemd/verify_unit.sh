#!/usr/bin/env bash
# contrib/ferryd.service passes `systemd-analyze verify` (syntax, known
# directives, executable paths) with its binaries pointed at this build, and
# keeps the settings ferryd relies on: Type=notify, a watchdog, reload through
# ferryctl, /run/ferry, and exactly CAP_NET_ADMIN + CAP_NET_BIND_SERVICE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
unit=$here/../../../contrib/ferryd.service
build=${FERRY_BUILD:-$here/../../../build}
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e "s#/usr/sbin/ferryd#$build/bin/ferryd#g" -e "s#/usr/bin/ferryctl#$build/bin/ferryctl#g" \
  "$unit" >"$tmp/ferryd.service"
systemd-analyze verify --man=no "$tmp/ferryd.service"
for want in "Type=notify" "WatchdogSec=" "ExecReload=/usr/bin/ferryctl --socket /run/ferry/ferry.sock reload" \
  "RuntimeDirectory=ferry" "User=ferry" "ProtectSystem=strict" "NoNewPrivileges=yes" \
  "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE" \
  "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE"; do
  grep -qx -- "$want.*" "$unit" || { echo "FAIL: $unit lacks $want"; exit 1; }
done
echo "PASS: ferryd.service verifies"
