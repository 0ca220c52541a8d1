#!/usr/bin/env bash
# make bench: ferry side by side with the reference implementations, in the same run.
#   BGP propagation of N prefixes: ferryd vs BIRD            (bench/bgp/run.sh, N=1000000)
#   Tunnel TCP throughput: ferry vs wireguard-go              (bench/tunnel/run.sh)
#   IPsec TCP throughput: ferry vs strongSwan (libipsec)      (bench/ipsec/run.sh)
#   Micro benchmarks: crypto, cryptokey LPM, RIB (Google Benchmark)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
export BUILD
rc=0
echo "== BGP propagation: ferryd vs BIRD"
"$root/bench/bgp/run.sh" || rc=1
echo "== Tunnel throughput: ferry vs wireguard-go"
"$root/bench/tunnel/run.sh" || rc=1
echo "== IPsec throughput: ferry vs strongSwan (kernel-libipsec), and ferry WireGuard"
"$root/bench/ipsec/run.sh" || rc=1
echo "== Micro benchmarks"
# The RIB benchmark is ferry-bench-rib, the others bench_*.
for b in "$BUILD"/bin/bench_* "$BUILD"/bin/ferry-bench-*; do
  [[ -x "$b" ]] || continue
  case "$(basename "$b")" in bench_fib_install) continue ;; esac  # needs a netns: see bench/fib
  echo "-- $(basename "$b")"
  "$b" --benchmark_min_time=0.2 2>/dev/null || rc=1
done
exit $rc
