#!/usr/bin/env bash
# Generates the man pages into a temporary directory and checks them:
#   - groff renders each without a warning (-ww);
#   - every option ferryd --help and ferryctl --help list is in the page;
#   - every ferryctl command (walked through --help) is in ferryctl(8);
#   - every configuration key the parser accepts is in examples/README.md and
#     in ferry.toml(5) (scripts/check-config-docs.py).
# Usage: check-man.sh REPO FERRYD FERRYCTL
set -euo pipefail
repo=$1 ferryd=$2 ferryctl=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$repo/scripts/gen-man.py" --ferryd "$ferryd" --ferryctl "$ferryctl" --repo "$repo" \
  --out "$tmp" --version test
for p in ferryd.8 ferryctl.8 ferry.toml.5; do
  LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$tmp/$p" 2>"$tmp/warn" || { cat "$tmp/warn"; exit 1; }
  if [[ -s "$tmp/warn" ]]; then echo "groff warnings in $p:"; cat "$tmp/warn"; exit 1; fi
done
# Rendered text, hyphenation off, so flags can be searched for.
render() { LC_ALL=C.UTF-8 MANWIDTH=200 groff -man -Tutf8 -rHY=0 -P-cbou "$1" 2>/dev/null; }
check_flags() {
  local bin=$1 page=$2 f
  for f in $("$bin" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
    render "$page" | grep -qF -- "$f" || { echo "$page lacks $f from $bin --help"; exit 1; }
  done
}
check_flags "$ferryd" "$tmp/ferryd.8"
check_flags "$ferryctl" "$tmp/ferryctl.8"
for c in status neighbors routes route tunnels fib bfd reload clear genkey pubkey; do
  render "$tmp/ferryctl.8" | grep -qE -- "^ +(show |clear )?$c\b" ||
    { echo "ferryctl(8) lacks the command $c"; exit 1; }
done
python3 "$repo/scripts/check-config-docs.py" "$repo" "$tmp/ferry.toml.5"
echo "PASS: man pages render cleanly and document every option, command and key"
