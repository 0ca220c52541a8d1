#!/usr/bin/env bash
# ferryd with `router.user` (least privilege): two sites joined by a
# ferry tunnel with BGP across it; site 1 runs as a throwaway system user.
# Checks, for site 1's ferryd:
#   - every thread runs as that user (Uid/Gid != 0), the main thread holds
#     exactly CAP_NET_ADMIN + CAP_NET_BIND_SERVICE (CapPrm/CapEff), no thread
#     holds more, the bounding set is cut down and no_new_privs is set;
#   - the tunnel still works (handshake + LAN-to-LAN ping), BGP routes get
#     installed and removed in the kernel after the drop (netlink);
#   - sessions and the tunnel come back after the peer restarts, and a
#     graceful stop still removes ferry's kernel routes;
#   - `ferryctl reload` (as root) re-reads the config as that user and applies it;
#   - the control socket is 0660, group = router.control-group; a member of
#     that group may read but not reload; a non-member cannot connect.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/ferry.sh"
. "$here/../system/sites.sh"
ferry_test_init privdrop ping useradd groupadd userdel groupdel setpriv

# Throwaway accounts, unique per run, removed even on failure.
suffix=${FT_ID#ft}
daemon_user="fpd$suffix"
ctl_group="fpg$suffix"
member="fpm$suffix"
outsider="fpo$suffix"
groupadd --system "$ctl_group" || ft_fail "groupadd $ctl_group"
ft_on_exit "groupdel '$ctl_group'"
for u in "$daemon_user" "$member" "$outsider"; do
  useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$u" || ft_fail "useradd $u"
  # -f: a killed ferryd may not be reaped yet when this runs.
  ft_on_exit "userdel -f '$u'; groupdel '$u'"
done
usermod -a -G "$ctl_group" "$member"
daemon_uid=$(id -u "$daemon_user")
daemon_gid=$(id -g "$daemon_user")
ctl_gid=$(getent group "$ctl_group" | cut -d: -f3)

# as USER CMD...: runs CMD with USER's uid, gid and supplementary groups.
as() {
  local u=$1
  shift
  setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}

sites_topology 2 1-2
sites_config 1
sites_config 2
sed -i "/^control-socket = /a user = \"$daemon_user\"\ncontrol-group = \"$ctl_group\"" "$FT_TMP/gw1.toml"
grep -q "^user = \"$daemon_user\"" "$FT_TMP/gw1.toml" || ft_fail "config edit failed"
# The key stays root's (0600): it is read before the drop. The config must be
# readable by the daemon user for reload.
chmod 644 "$FT_TMP/gw1.toml"
sites_start 1
sites_start 2
pid=$SITES_PID_1

ft_wait 20 "site 1 drops privileges" grep -q "running as user $daemon_user" "$FT_TMP/gw1.log"
[[ $(cat "/proc/$pid/comm") == ferryd ]] || ft_fail "pid $pid is not ferryd"

# --- credentials, as the kernel sees them -------------------------------------
python3 - "$pid" "$daemon_uid" "$daemon_gid" "$ctl_gid" <<'PY' || ft_fail "credentials are not as expected"
import os, sys
pid, uid, gid, ctl_gid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
NAMES = {0: "chown", 1: "dac_override", 2: "dac_read_search", 3: "fowner", 4: "fsetid",
         5: "kill", 6: "setgid", 7: "setuid", 8: "setpcap", 9: "linux_immutable",
         10: "net_bind_service", 11: "net_broadcast", 12: "net_admin", 13: "net_raw",
         14: "ipc_lock", 15: "ipc_owner", 16: "sys_module", 17: "sys_rawio", 18: "sys_chroot",
         19: "sys_ptrace", 20: "sys_pacct", 21: "sys_admin", 22: "sys_boot", 23: "sys_nice",
         24: "sys_resource", 25: "sys_time", 26: "sys_tty_config", 27: "mknod", 28: "lease",
         29: "audit_write", 30: "audit_control", 31: "setfcap", 32: "mac_override",
         33: "mac_admin", 34: "syslog", 35: "wake_alarm", 36: "block_suspend", 37: "audit_read",
         38: "perfmon", 39: "bpf", 40: "checkpoint_restore"}
def decode(mask):
    return ",".join(NAMES.get(b, f"cap_{b}") for b in range(64) if mask >> b & 1) or "none"
WANT = (1 << 12) | (1 << 10)  # CAP_NET_ADMIN | CAP_NET_BIND_SERVICE
bad = []
tids = sorted(os.listdir(f"/proc/{pid}/task"), key=lambda t: t != pid)
for tid in tids:
    st = {}
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.split()
    who = f"thread {tid}{' (main)' if tid == pid else ''}"
    if st["Uid"] != [uid] * 4: bad.append(f"{who}: Uid {st['Uid']}, want {uid}")
    if st["Gid"] != [gid] * 4: bad.append(f"{who}: Gid {st['Gid']}, want {gid}")
    groups = sorted(int(g) for g in st["Groups"])
    if groups != sorted({int(gid), ctl_gid}): bad.append(f"{who}: Groups {groups}")
    prm, eff, bnd, inh, amb = (int(st[k][0], 16) for k in ("CapPrm", "CapEff", "CapBnd", "CapInh", "CapAmb"))
    if tid == pid:
        if prm != WANT or eff != WANT:
            bad.append(f"{who}: CapPrm={decode(prm)} CapEff={decode(eff)}, want exactly net_admin,net_bind_service")
    elif (prm | eff) & ~WANT:
        bad.append(f"{who}: holds {decode((prm | eff) & ~WANT)}")
    if bnd & ~WANT: bad.append(f"{who}: CapBnd still has {decode(bnd & ~WANT)}")
    if inh or amb: bad.append(f"{who}: CapInh={decode(inh)} CapAmb={decode(amb)}")
    if st["NoNewPrivs"] != ["1"]: bad.append(f"{who}: NoNewPrivs={st['NoNewPrivs']}")
print(f"{len(tids)} threads checked; main thread CapEff={decode(WANT)}", file=sys.stderr)
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
ft_log "ok: all threads run as $daemon_user; main thread has exactly net_admin,net_bind_service"

# --- the product still works ----------------------------------------------------
ft_wait 40 "site 1 sessions established" sites_established 1
ft_wait 40 "site 2 sessions established" sites_established 2
for p in 10.2.0.0/16 fd00:2::/48; do ft_wait 20 "site 1 (unprivileged) installs $p" sites_has_route 1 $p; done
for p in 10.1.0.0/16 fd00:1::/48; do ft_wait 20 "site 2 kernel route $p" sites_has_route 2 $p; done
ft_wait 20 "ping lan1 -> lan2 over the tunnel" ft_in lan1 ping -c1 -W1 10.2.0.10
ft_wait 20 "ping lan2 -> lan1 over the tunnel" ft_in lan2 ping -c1 -W1 10.1.0.10
sites_ctl 1 show tunnels --json | python3 -c '
import json, sys
t = json.load(sys.stdin)
p = [p for p in t["peers"] if p["name"] == "site2"][0]
assert p["latest_handshake"], "no handshake with site2"
' || ft_fail "site 1 has no handshake with site 2"
sites_fib_matches_rib 1 || ft_fail "site 1: kernel FIB differs from RIB"

# Netlink deletes after the drop: site 2 withdraws its IPv6 prefix.
sed -i 's|networks = \["10.2.0.0/16", "fd00:2::/48"\]|networks = ["10.2.0.0/16"]|' "$FT_TMP/gw2.toml"
sites_ctl 2 reload >/dev/null || ft_fail "site 2 reload failed"
ft_wait 20 "site 1 (unprivileged) removes fd00:2::/48" \
  bash -c "! ip netns exec $(ft_nsname gw1) ip -6 route show proto 200 | grep '^fd00:2::/48' >/dev/null"

# --- reload as the unprivileged daemon --------------------------------------------
sed -i 's|networks = \["10.1.0.0/16", "fd00:1::/48"\]|networks = ["10.1.0.0/16"]|' "$FT_TMP/gw1.toml"
out=$(sites_ctl 1 reload 2>&1) || ft_fail "ferryctl reload (root) failed: $out"
ft_wait 20 "site 2 sees site 1's reload (fd00:1::/48 withdrawn)" \
  bash -c "! ip netns exec $(ft_nsname gw2) ip -6 route show proto 200 | grep '^fd00:1::/48' >/dev/null"
sites_ctl 1 show status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["reloads"] == 1 and s["last_reload_error"] is None, s
' || ft_fail "site 1 status does not show the reload"
# A config the daemon user cannot read: reload fails cleanly, the daemon keeps running.
chmod 600 "$FT_TMP/gw1.toml"
if out=$(sites_ctl 1 reload 2>&1); then ft_fail "reload of an unreadable config succeeded"; fi
ft_log "ok: unreadable config refused: $out"
chmod 644 "$FT_TMP/gw1.toml"
kill -0 "$pid" || ft_fail "ferryd died on a failed reload"

# --- control socket ------------------------------------------------------------
sock="$FT_TMP/gw1.sock"
ft_expect_eq "control socket mode and group" "$(stat -c '%a %G' "$sock")" "660 $ctl_group"
as "$member" "$FERRYCTL" --socket "$sock" show status >/dev/null ||
  ft_fail "control-group member cannot read"
if out=$(as "$member" "$FERRYCTL" --socket "$sock" reload 2>&1); then
  ft_fail "control-group member could reload"
fi
[[ "$out" == *"permission denied"* ]] || ft_fail "member reload: unexpected error: $out"
ft_log "ok: member is read-only ($out)"
if out=$(as "$outsider" "$FERRYCTL" --socket "$sock" show status 2>&1); then
  ft_fail "non-member could use the control socket"
fi
[[ "$out" == *"Permission denied"* ]] || ft_fail "non-member: unexpected error: $out"
ft_log "ok: non-member refused ($out)"

# --- sessions come back after the drop (connect/accept as the unprivileged user) -----
kill "$SITES_PID_2"
wait "$SITES_PID_2" || true
ft_wait 20 "site 1 removes site 2's routes" bash -c "! ip netns exec $(ft_nsname gw1) ip route show proto 200 | grep '^10.2.0.0/16' >/dev/null"
sites_start 2
ft_wait 40 "site 1 sessions re-established" sites_established 1
ft_wait 20 "site 1 (unprivileged) re-installs 10.2.0.0/16" sites_has_route 1 10.2.0.0/16
ft_wait 20 "ping lan1 -> lan2 after site 2 restarted" ft_in lan1 ping -c1 -W1 10.2.0.10

# Private keys never appear in the logs or in --json output.
for k in "$FT_TMP/gw1.key" "$FT_TMP/gw2.key"; do
  key=$(cat "$k")
  if grep -qF "$key" "$FT_TMP"/gw*.log; then ft_fail "a private key appears in a ferryd log"; fi
  for i in 1 2; do
    for c in "show status" "show tunnels" "show neighbors"; do
      # shellcheck disable=SC2086
      json=$(sites_ctl "$i" $c --json) || ft_fail "$c --json failed on site $i"
      if grep -qF "$key" <<<"$json"; then ft_fail "private key in '$c --json' of site $i"; fi
    done
  done
done

kill -0 "$pid" || ft_fail "ferryd exited"

# Graceful stop as the unprivileged user still removes ferry's kernel routes.
ft_in gw1 ip route show proto 200 | grep . >/dev/null || ft_fail "site 1 has no ferry routes before stop"
kill "$pid"
wait "$pid" || ft_fail "site 1 ferryd exited with an error on SIGTERM"
[[ -z "$(ft_in gw1 ip route show proto 200; ft_in gw1 ip -6 route show proto 200)" ]] ||
  ft_fail "site 1 left kernel routes behind after stopping"
grep -q "ferryd exited" "$FT_TMP/gw1.log" || ft_fail "site 1 did not exit cleanly"
ft_pass "ferryd as $daemon_user with net_admin,net_bind_service: tunnel, BGP, FIB, reload, control socket"
