#!/usr/bin/env bash
# The Debian package (`make deb`): built with CPack from this build tree, then
# installed by dpkg into a clean, empty root (--root, maintainer scripts run
# chrootless with DPKG_ROOT, as dpkg does for bootstrap roots). Checks:
#   - the files: binaries, unit, man pages, examples, docs;
#   - postinst created the system user and group "ferry" (nologin) in that
#     root's /etc and made /etc/ferry root:ferry 0750;
#   - ferryd from the installed tree validates the shipped example config
#     (--check prints ok), its man page renders, the unit file verifies;
#   - dpkg removes the package cleanly.
# The host's own dpkg database and /etc are never touched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FERRY_BUILD=${FERRY_BUILD:-$here/../../../build}
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (dpkg --root)"; exit 77; }
for c in cpack dpkg dpkg-deb groupadd useradd; do
  command -v "$c" >/dev/null || { echo "SKIP: missing $c"; exit 77; }
done
tmp=$(mktemp -d /tmp/ferry-deb-$$.XXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$tmp" && cpack -G DEB -B "$tmp/pkg" --config "$FERRY_BUILD/CPackConfig.cmake" >"$tmp/cpack.log" 2>&1) ||
  { cat "$tmp/cpack.log"; fail "cpack failed"; }
deb=$(ls "$tmp"/pkg/ferry_*.deb)
echo "built $(basename "$deb")"
dpkg-deb -f "$deb" Package | grep -qx ferry || fail "package name"

# A clean root: an empty dpkg database and the minimal account files.
root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo 'root:*:19000:0:99999:7:::' >"$root/etc/shadow"
echo 'root:*::' >"$root/etc/gshadow"
chmod 640 "$root/etc/shadow" "$root/etc/gshadow"

dpkg --root="$root" --log=/dev/null --force-script-chrootless --force-depends -i "$deb" \
  >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i failed"; }
dpkg --root="$root" -s ferry | grep -qx 'Status: install ok installed' || fail "not installed"

for f in usr/sbin/ferryd usr/bin/ferryctl usr/lib/systemd/system/ferryd.service \
  usr/share/man/man8/ferryd.8 usr/share/man/man8/ferryctl.8 usr/share/man/man5/ferry.toml.5 \
  usr/share/doc/ferry/examples/site-a.toml usr/share/doc/ferry/grafana-ferry.json; do
  [[ -e "$root/$f" ]] || fail "missing /$f"
done
grep -qE '^ferry:x:[0-9]+:[0-9]+:.*:/usr/sbin/nologin$' "$root/etc/passwd" ||
  fail "postinst did not create the ferry user: $(cat "$root/etc/passwd")"
grep -q '^ferry:' "$root/etc/group" || fail "no ferry group"
ferry_gid=$(grep '^ferry:' "$root/etc/group" | cut -d: -f3)
[[ $(stat -c '%a %g' "$root/etc/ferry") == "750 $ferry_gid" ]] ||
  fail "/etc/ferry is $(stat -c '%a %g' "$root/etc/ferry"), want 750 $ferry_gid"
# Idempotent: configuring again keeps one user.
DPKG_ROOT=$root sh "$root/var/lib/dpkg/info/ferry.postinst" configure
[[ $(grep -c '^ferry:' "$root/etc/passwd") == 1 ]] || fail "postinst is not idempotent"

out=$("$root/usr/sbin/ferryd" --check --config "$root/usr/share/doc/ferry/examples/site-a.toml")
[[ $out == ok ]] || fail "installed ferryd --check: $out"
"$root/usr/sbin/ferryd" --version | grep -q '^ferryd ' || fail "ferryd --version"
"$root/usr/bin/ferryctl" genkey | "$root/usr/bin/ferryctl" pubkey | grep -qE '^[A-Za-z0-9+/]{43}=$' ||
  fail "installed ferryctl genkey | pubkey"
LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$root/usr/share/man/man8/ferryd.8" 2>/dev/null | grep -q -- '--check' ||
  fail "installed ferryd(8) does not render"
if command -v systemd-analyze >/dev/null; then
  sed -e "s#/usr/sbin/ferryd#$root/usr/sbin/ferryd#g" -e "s#/usr/bin/ferryctl#$root/usr/bin/ferryctl#g" \
    "$root/usr/lib/systemd/system/ferryd.service" >"$tmp/ferryd.service"
  systemd-analyze verify --man=no "$tmp/ferryd.service" || fail "installed unit does not verify"
fi

dpkg --root="$root" --log=/dev/null --force-script-chrootless -r ferry >"$tmp/dpkg-r.log" 2>&1 ||
  { cat "$tmp/dpkg-r.log"; fail "dpkg -r failed"; }
[[ ! -e "$root/usr/sbin/ferryd" ]] || fail "ferryd left behind after removal"
echo "PASS: package installs into a clean root, creates the ferry user, ferryd --check ok"
