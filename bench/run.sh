#!/usr/bin/env bash
# Overhead benchmark: the cost of a malloc/free pair in a tight loop (samples/bin/allocs-fp bench),
# natively and under `memprof record`, measured in the same run. Prints both and their ratio.
# Needs root (eBPF).   usage: bench/run.sh [PAIRS]   (default 200000)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pairs="${1:-200000}"
"$root/samples/build.sh" allocs-fp >/dev/null
sample="$root/samples/bin/allocs-fp"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$root/memprof" --help >/dev/null   # build outside the measurement

best() { sort -g | head -1; }
native=$(for _ in 1 2 3; do "$sample" bench "$pairs" | awk '/ns_per_pair/ {print $2}'; done | best)
traced=$(for _ in 1 2 3; do "$root/memprof" record --no-firefox -o "$tmp/b.memprof" -- "$sample" bench "$pairs" 2>/dev/null | awk '/ns_per_pair/ {print $2}'; done | best)
awk -v n="$native" -v t="$traced" 'BEGIN {
    printf "malloc+free pair, native:          %10.1f ns\n", n
    printf "malloc+free pair, memprof record:  %10.1f ns\n", t
    printf "overhead per pair:                 %10.1f ns (%.0fx)\n", t - n, t / n
}'
