# shellcheck shell=bash
# Shared helpers for integration tests that build netns topologies.
#
# Source it from a bash script, then call ft_init once:
#
#   . "$(dirname "$0")/../lib/netns.sh"
#   ft_init bgpbird                 # unique id, temp dir, cleanup trap
#   ft_ns a; ft_ns b                # namespaces "$FT_ID-a", "$FT_ID-b" (lo up)
#   ft_link a 10.9.0.1/24 b 10.9.0.2/24    # veth pair between them (+ more addrs below)
#   ft_addr a 0 fd00:9::1/64        # extra address on a's end of link 0
#   ft_bg a "$FT_TMP/x.log" sleep 100      # background process, killed at cleanup
#   ft_wait 10 "b answers ping" ft_in a ping -c1 -W1 10.9.0.2
#   ft_pass "all good"              # or ft_fail "message" / ft_skip "why"
#
# Everything is named after FT_ID (short, includes the PID) so tests can run
# in parallel; every namespace, process and file is removed by the EXIT trap
# even when the test fails or is interrupted. Exit codes: 0 pass, 1 fail,
# 77 skip (register tests with SKIP_RETURN_CODE 77).
#
# Variables after ft_init:
#   FT_NAME  test name given to ft_init
#   FT_ID    short unique id, e.g. "ft3a9f" (also the prefix of every name)
#   FT_TMP   private temp directory (kept on failure if FT_KEEP=1)
#   FT_NS_<x> full namespace name of short name x

set -o pipefail

FT_CLEANUP=()  # commands run in reverse order at exit
FT_LINKS=0     # number of veth pairs created (link index for ft_addr)
FT_START=$(date +%s%N)

ft_log() {
  local ms=$((($(date +%s%N) - FT_START) / 1000000))
  printf '[%s %3d.%03ds] %s\n' "${FT_NAME:-test}" $((ms / 1000)) $((ms % 1000)) "$*" >&2
}

ft_fail() {
  printf '[%s] FAIL: %s\n' "${FT_NAME:-test}" "$*" >&2
  exit 1
}

ft_skip() {
  printf '[%s] SKIP: %s\n' "${FT_NAME:-test}" "$*" >&2
  exit 77
}

ft_pass() {
  printf '[%s] PASS%s\n' "${FT_NAME:-test}" "${1:+: $1}" >&2
  exit 0
}

# Runs cleanup commands newest first; never fails.
ft__cleanup() {
  local rc=$?
  set +eu
  trap - EXIT INT TERM
  # Each command runs in a subshell, so nothing it does (an unset variable,
  # an exit, a clobbered variable) can stop the remaining cleanups, and the
  # counter has a name no cleanup command uses.
  local __ft_cleanup_idx
  for ((__ft_cleanup_idx = ${#FT_CLEANUP[@]} - 1; __ft_cleanup_idx >= 0; __ft_cleanup_idx--)); do
    (eval "${FT_CLEANUP[__ft_cleanup_idx]}") >/dev/null 2>&1
  done
  if [[ $rc -ne 0 && $rc -ne 77 && -n "${FT_TMP:-}" && -d "$FT_TMP" ]]; then
    ft__dump_logs
  fi
  if [[ -n "${FT_TMP:-}" && "${FT_KEEP:-0}" != 1 ]]; then
    rm -rf "$FT_TMP"
  elif [[ -n "${FT_TMP:-}" ]]; then
    echo "[$FT_NAME] kept $FT_TMP" >&2
  fi
  exit "$rc"
}

# On failure, the tail of every *.log in FT_TMP goes to stderr (ctest keeps it).
ft__dump_logs() {
  local f
  for f in "$FT_TMP"/*.log; do
    [[ -f "$f" ]] || continue
    echo "----- $(basename "$f") (last 40 lines) -----" >&2
    tail -n 40 "$f" >&2
  done
}

# Registers a shell command for cleanup (runs even on failure).
ft_on_exit() { FT_CLEANUP+=("$*"); }

# ft_init NAME: checks root, makes FT_ID/FT_TMP and installs the trap.
ft_init() {
  FT_NAME=$1
  [[ $(id -u) -eq 0 ]] || ft_skip "needs root (network namespaces)"
  command -v ip >/dev/null || ft_skip "iproute2 missing"
  FT_ID=$(printf 'ft%x' $(($$ % 1048576)))
  FT_TMP=$(mktemp -d "/tmp/ferry-${FT_NAME}-$$.XXXX")
  chmod 755 "$FT_TMP"
  trap ft__cleanup EXIT
  trap 'exit 130' INT TERM
}

# ft_require CMD...: skip (not fail) when a tool is not installed.
ft_require() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || [[ -x "$c" ]] || ft_skip "missing $c"
  done
}

# ft_ns SHORT: creates namespace $FT_ID-SHORT with lo up; sets FT_NS_SHORT.
ft_ns() {
  local ns="$FT_ID-$1"
  ip netns add "$ns" || ft_fail "cannot create netns $ns"
  ft_on_exit "ip netns pids '$ns' | xargs -r kill -9; ip netns del '$ns'"
  ip -n "$ns" link set lo up
  # IPv6 DAD would delay usable addresses by ~2 s.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  printf -v "FT_NS_$1" '%s' "$ns"
}

# ft_nsname SHORT: prints the full namespace name.
ft_nsname() { echo "$FT_ID-$1"; }

# ft_in SHORT CMD...: runs CMD inside namespace SHORT.
ft_in() {
  local ns="$FT_ID-$1"
  shift
  ip netns exec "$ns" "$@"
}

# ft_link A ADDR_A B ADDR_B: veth pair A<->B, addresses in CIDR form ("" for none).
# Interfaces are named <B>N in A and <A>N in B (N = link index), e.g. "b0" in a.
# Prints nothing; link index is FT_LINKS-1 afterwards.
ft_link() {
  local a=$1 aa=$2 b=$3 ba=$4 n=$FT_LINKS
  local ia="${b:0:8}$n" ib="${a:0:8}$n" tmp="${FT_ID}v$n"
  ip link add "$tmp" type veth peer name "${tmp}p" || ft_fail "veth create failed"
  ip link set "$tmp" netns "$FT_ID-$a" name "$ia"
  ip link set "${tmp}p" netns "$FT_ID-$b" name "$ib"
  ip -n "$FT_ID-$a" link set "$ia" up
  ip -n "$FT_ID-$b" link set "$ib" up
  [[ -z "$aa" ]] || ft_addr "$a" "$ia" "$aa"
  [[ -z "$ba" ]] || ft_addr "$b" "$ib" "$ba"
  FT_LINKS=$((n + 1))
}

# ft_ifname A B N: name of A's end of link N towards B.
ft_ifname() { echo "${2:0:8}$3"; }

# ft_addr NS IFNAME ADDR: adds another address (e.g. IPv6) to an interface.
ft_addr() {
  if [[ "$3" == *:* ]]; then
    ip -n "$FT_ID-$1" addr add "$3" dev "$2" nodad || ft_fail "cannot add $3 to $2 in $1"
  else
    ip -n "$FT_ID-$1" addr add "$3" dev "$2" || ft_fail "cannot add $3 to $2 in $1"
  fi
}

# ft_bg NS LOGFILE CMD...: starts CMD in namespace NS in the background, output
# to LOGFILE; the process is killed (TERM, then KILL) at cleanup. Sets FT_BG_PID.
ft_bg() {
  local ns="$FT_ID-$1" log=$2
  shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  FT_BG_PID=$!
  # TERM, up to 3 s to exit (a daemon holding a big table takes a while), then KILL.
  ft_on_exit "kill $FT_BG_PID; for __ft_w in \$(seq 30); do kill -0 $FT_BG_PID || break; sleep 0.1; done; kill -9 $FT_BG_PID"
}

# ft_kill_pidfile FILE: registers cleanup for a daemon that writes a pid file.
ft_kill_pidfile() {
  ft_on_exit "[ -f '$1' ] && kill \$(cat '$1'); sleep 0.2; [ -f '$1' ] && kill -9 \$(cat '$1')"
}

# ft_wait TIMEOUT_S DESCRIPTION CMD...: polls CMD every 0.2 s until it succeeds;
# fails the test with DESCRIPTION when TIMEOUT_S passes. No fixed sleeps.
ft_wait() {
  local timeout=$1 desc=$2
  shift 2
  local deadline
  deadline=$(($(date +%s%N) + timeout * 1000000000))
  while ! "$@" >/dev/null 2>&1; do
    if (($(date +%s%N) > deadline)); then
      ft_log "last attempt of: $*"
      "$@" >&2 || true
      ft_fail "timed out after ${timeout}s waiting for: $desc"
    fi
    sleep 0.2
  done
  ft_log "ok: $desc"
}

# ft_hold SECONDS DESCRIPTION CMD...: CMD must keep succeeding for SECONDS
# (checked every 0.5 s), e.g. a session staying Established.
ft_hold() {
  local secs=$1 desc=$2
  shift 2
  local end
  end=$(($(date +%s%N) + secs * 1000000000))
  while (($(date +%s%N) < end)); do
    "$@" >/dev/null 2>&1 || { "$@" >&2 || true; ft_fail "stopped holding: $desc"; }
    sleep 0.5
  done
  ft_log "ok: $desc (held ${secs}s)"
}

# ft_expect_eq WHAT GOT WANT: compares two strings (multi-line ok), fails with a diff.
ft_expect_eq() {
  if [[ "$2" != "$3" ]]; then
    ft_log "mismatch in $1:"
    diff <(echo "$3") <(echo "$2") | sed 's/^/    /' >&2
    ft_fail "$1 differs (< want, > got)"
  fi
  ft_log "ok: $1"
}
