#!/usr/bin/env bash
# Runs every libFuzzer target a build made, one at a time.
#
#   scripts/fuzz.sh BUILD_DIR [TARGET...]
#
# For each target (default: all of them) it first replays the committed seed
# corpus tests/fuzz/<area>/corpus/<target>/ file by file (every committed
# input, including regression inputs of fixed crashes, must run clean), then
# fuzzes for FUZZ_SECONDS on a temporary copy of that corpus, so a run never
# dirties the git tree. It prints a table target / execs / exec/s / corpus /
# result and exits non-zero if any target crashed, hung, leaked or failed its
# replay. Crash reproducers land in tests/fuzz/artifacts/ (gitignored);
# reproduce one with  BUILD_DIR/bin/<target> tests/fuzz/artifacts/<file>.
#
# Targets are found by name (executables fuzz_* under BUILD_DIR) and kept only
# if they define LLVMFuzzerTestOneInput (generators like fuzz_wg_make_corpus
# are skipped). A dictionary tests/fuzz/<area>/<target>.dict is used if present.
#
# Environment:
#   FUZZ_SECONDS=60      fuzzing time per target (libFuzzer -max_total_time)
#   FUZZ_REPLAY_ONLY=1   only replay the committed corpora (no fuzzing)
#   FUZZ_MERGE=1         afterwards merge new coverage-increasing inputs into
#                        the committed corpus (libFuzzer -merge=1); review and
#                        commit them yourself
#   FUZZ_RSS_MB=2048     libFuzzer -rss_limit_mb
#   FUZZ_TIMEOUT=10      seconds one input may take before it counts as a hang
#   FUZZ_LOG_DIR=DIR     keep the full libFuzzer logs there (default: a temp dir)
#   FUZZ_FLAGS="..."     extra libFuzzer flags for every run
set -uo pipefail

usage() {
  sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || usage

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || {
  echo "fuzz.sh: build directory '$1' not found" >&2
  exit 2
}
shift
want=("$@")

seconds=${FUZZ_SECONDS:-60}
rss=${FUZZ_RSS_MB:-2048}
per_input=${FUZZ_TIMEOUT:-10}
replay_only=${FUZZ_REPLAY_ONLY:-0}
merge=${FUZZ_MERGE:-0}
read -r -a extra <<<"${FUZZ_FLAGS:-}"
# ferry's libraries are built with recoverable UBSan checks: make any report fatal.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
artifacts=$repo/tests/fuzz/artifacts
mkdir -p "$artifacts"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
logs=${FUZZ_LOG_DIR:-$tmp/logs}
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)

# ---- discover targets: name -> binary
declare -A bin_of=()
while IFS= read -r -d '' f; do
  name=$(basename "$f")
  [[ -n ${bin_of[$name]:-} ]] && continue  # bin/ first, then any other copy
  if nm "$f" 2>/dev/null | grep -q ' T LLVMFuzzerTestOneInput$' ||
    grep -qa LLVMFuzzerTestOneInput "$f"; then
    bin_of[$name]=$f
  fi
done < <(
  {
    [[ -d $build/bin ]] && find "$build/bin" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x -print0
    find "$build" -type f -name 'fuzz_*' -perm -u+x -not -path '*/CMakeFiles/*' -print0
  } 2>/dev/null
)
mapfile -t names < <(printf '%s\n' "${!bin_of[@]}" | sort)
if [[ ${#names[@]} -eq 0 || -z ${names[0]} ]]; then
  echo "fuzz.sh: no fuzz targets in $build (configure with clang and -DFERRY_FUZZ=ON)" >&2
  exit 2
fi
if [[ ${#want[@]} -gt 0 ]]; then
  for w in "${want[@]}"; do
    [[ -n ${bin_of[$w]:-} ]] || {
      echo "fuzz.sh: no target '$w' (have: ${names[*]})" >&2
      exit 2
    }
  done
  names=("${want[@]}")
fi

corpus_of() {  # committed corpus dir of a target, or empty
  find "$repo/tests/fuzz" -mindepth 3 -maxdepth 3 -type d -path "*/corpus/$1" -print -quit
}

# Last libFuzzer status line value, e.g. field cov -> "1234".
status_field() { grep -aoE "(INITED|DONE|NEW|REDUCE|pulse|RELOAD) .*\b$2: [0-9]+" "$1" | tail -1 |
  grep -oE "\b$2: [0-9]+" | awk '{print $2}'; }
stat_field() { grep -a "^stat::$2:" "$1" | tail -1 | awk '{print $2}'; }

failed=0
rows=()
for name in "${names[@]}"; do
  bin=${bin_of[$name]}
  corpus=$(corpus_of "$name")
  dict=
  if [[ -n $corpus ]]; then
    area=$(dirname "$(dirname "$corpus")")
    [[ -f $area/$name.dict ]] && dict=$area/$name.dict
  else
    echo "fuzz.sh: warning: $name has no committed corpus (tests/fuzz/<area>/corpus/$name/)" >&2
  fi
  common=(-rss_limit_mb="$rss" -timeout="$per_input" "${extra[@]}")
  [[ -n $dict ]] && common+=(-dict="$dict")
  result=ok

  # ---- replay: every committed input once
  nseeds=0
  if [[ -n $corpus ]]; then
    nseeds=$(find "$corpus" -type f | wc -l)
    echo "== $name: replaying $nseeds committed inputs"
    if [[ $nseeds -gt 0 ]] &&
      ! (cd "$tmp" && find "$corpus" -type f -print0 | sort -z |
        xargs -0 -n 256 "$bin" "${common[@]}" -runs=1 >"$logs/$name.replay.log" 2>&1); then
      result="REPLAY-FAIL"
      failed=1
      echo "   replay failed, log: $logs/$name.replay.log" >&2
      grep -aE "Running: |ERROR|SUMMARY|#[0-9]+ " "$logs/$name.replay.log" | tail -40 >&2
    fi
  fi
  if [[ $replay_only == 1 ]]; then
    rows+=("$name|-|-|$nseeds|${result/ok/replay-ok}")
    continue
  fi

  # ---- fuzz on a scratch copy of the corpus
  work=$tmp/corpus-$name
  mkdir -p "$work"
  [[ -n $corpus ]] && cp -r "$corpus/." "$work/"
  log=$logs/$name.log
  touch "$tmp/start-$name"
  echo "== $name: fuzzing ${seconds}s ($bin)"
  (cd "$tmp" && timeout --kill-after=30 $((seconds + per_input * 3 + 120)) \
    "$bin" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" "$work" >"$log" 2>&1)
  rc=$?
  execs=$(stat_field "$log" number_of_executed_units)
  rate=$(stat_field "$log" average_exec_per_sec)
  cov=$(status_field "$log" cov)
  ncorp=$(find "$work" -type f | wc -l)
  if [[ $rc -ne 0 ]]; then
    case $rc in
      124 | 137) r=HANG ;;
      *) r="CRASH(rc=$rc)" ;;
    esac
    grep -aq "ERROR: libFuzzer: timeout" "$log" && r=TIMEOUT
    grep -aq "ERROR: LeakSanitizer" "$log" && r=LEAK
    grep -aq "ERROR: libFuzzer: out-of-memory" "$log" && r=OOM
    [[ $result == ok ]] && result=$r || result="$result,$r"
    failed=1
    echo "---- $name failed ($r); last lines of $log:" >&2
    grep -avE "^#[0-9]+\s+(NEW|REDUCE|pulse)|NEW_FUNC" "$log" | tail -60 >&2
    find "$artifacts" -maxdepth 1 -name "$name-*" -newer "$tmp/start-$name" |
      sed 's/^/   artifact: /' >&2
  fi
  if [[ $merge == 1 && -n $corpus && $rc -eq 0 ]]; then
    before=$(find "$corpus" -type f | wc -l)
    (cd "$tmp" && "$bin" "${common[@]}" -merge=1 "$corpus" "$work" >"$logs/$name.merge.log" 2>&1) ||
      echo "   merge failed, log: $logs/$name.merge.log" >&2
    after=$(find "$corpus" -type f | wc -l)
    echo "   merged $((after - before)) new inputs into $corpus"
  fi
  rows+=("$name|${execs:-?}|${rate:-?}|$ncorp|$result${cov:+ (cov $cov)}")
done

echo
if [[ $replay_only == 1 ]]; then
  echo "corpus replay ($(date -u +%FT%TZ))"
else
  echo "fuzz run, ${seconds}s per target ($(date -u +%FT%TZ))"
fi
printf '%-24s %14s %10s %8s  %s\n' target execs exec/s corpus result
for r in "${rows[@]}"; do
  IFS='|' read -r n e s c res <<<"$r"
  printf '%-24s %14s %10s %8s  %s\n' "$n" "$e" "$s" "$c" "$res"
done
[[ -n ${FUZZ_LOG_DIR:-} ]] && echo "logs: $logs"
exit $failed
