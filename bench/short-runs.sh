#!/usr/bin/env bash
# What memprof costs a short program: `memprof record --rate 1` of /bin/true and of ripgrep over
# memprof's sources beside the program alone and heaptrack, each run REPS times (default 5).
# Prints the median wall time, CPU (user + system, every process of the run) and peak RSS of the
# largest process, and the load average, which distorts all of them on a busy machine.
#   bench/short-runs.sh [REPS]
#   MEMPROF="dotnet /path/to/memprof.dll" bench/short-runs.sh   another build of memprof
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
reps=${1:-5}
read -r -a memprof <<< "${MEMPROF:-$root/memprof}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${memprof[@]}" --help >/dev/null 2>&1   # builds once, outside the timings

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
measure() { # name, then the command
    local name=$1; shift
    : > "$tmp/walls"; : > "$tmp/cpus"; : > "$tmp/rss"
    for _ in $(seq 1 "$reps"); do
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$@" >/dev/null 2>&1 || true
        read -r wall user sys rss < "$tmp/t"
        echo "$wall" >> "$tmp/walls"; echo "$user + $sys" | bc >> "$tmp/cpus"; echo "$rss" >> "$tmp/rss"
    done
    printf '%-26s wall %5.2f s  cpu %5.2f s  rss %4d MB  load %s\n' "$name" "$(median < "$tmp/walls")" "$(median < "$tmp/cpus")" \
        "$(( $(median < "$tmp/rss") / 1024 ))" "$(cut -d' ' -f1 /proc/loadavg)"
}
for job in "true:/bin/true" "rg:/usr/bin/rg -c fn $root/src"; do
    name=${job%%:*}; cmd=(${job#*:})
    measure "$name native" "${cmd[@]}"
    measure "$name memprof --rate 1" "${memprof[@]}" record --rate 1 --no-firefox -o "$tmp/r.memprof" -- "${cmd[@]}"
    if command -v heaptrack >/dev/null; then measure "$name heaptrack" heaptrack -o "$tmp/h" "${cmd[@]}"; rm -f "$tmp"/h*; fi
done
