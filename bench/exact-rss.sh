#!/usr/bin/env bash
# memprof's own peak memory (max RSS) in exact mode (--rate 1, through the shared rings), beside
# heaptrack's on the same commands: /bin/true (the floor: .NET, the BPF maps, the rings), the
# realistic workload, ripgrep over a source tree and bat on a large C file. Prints one line per
# run: the tool, the job, max RSS in MiB (of the tool's process tree's largest process, as
# /usr/bin/time -f %M reports it), events recorded and lost.
#   bench/exact-rss.sh [REPS]                       (default 1)
#   MEMPROF="dotnet /path/memprof.dll" bench/exact-rss.sh   another memprof build
#   JOBS="true rg" bench/exact-rss.sh                only these jobs (true workload rg bat)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
reps=${1:-1}
read -r -a memprof <<<"${MEMPROF:-$root/memprof}"
workload="$root/samples/bin/workload"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${memprof[@]}" --help >/dev/null 2>&1   # builds once, outside the measurements
corpus="$root/src"                       # ripgrep's input: memprof's own sources
big="$tmp/big.c"                         # bat's input: ~1.6 MB of C
for _ in $(seq 1 40); do cat "$root"/collectors/preload/*.c "$root"/collectors/bpf/memprof.bpf.c; done > "$big"

run() { # tool, job, then the command
    local tool=$1 job=$2; shift 2
    /usr/bin/time -f 'maxrss %M' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || true
    local kib events lost
    kib=$(awk '$1 == "maxrss" {print $2}' "$tmp/time")
    events=$(grep -o 'recorded [0-9,]* events' "$tmp/err" | tr -dc 0-9 || true)
    lost=$(grep -o '[0-9,]* events LOST' "$tmp/err" | tr -dc 0-9 || true)
    printf '%-10s %-9s maxrss %6.1f MiB  events %-10s lost %s\n' "$tool" "$job" "$(echo "$kib / 1024" | bc -l)" "${events:--}" "${lost:-0}"
}
jobs=${JOBS:-true workload rg bat}

for _ in $(seq 1 "$reps"); do
    for job in "true:/bin/true" "workload:$workload 0.25" "rg:/usr/bin/rg -c fn $corpus" "bat:/usr/bin/batcat --color=always --paging=never $big"; do
        name=${job%%:*}; cmd=(${job#*:})
        [[ " $jobs " == *" $name "* ]] || continue
        run memprof "$name" "${memprof[@]}" record --rate 1 --no-firefox -o "$tmp/r.memprof" -- "${cmd[@]}"
        if command -v heaptrack >/dev/null; then run heaptrack "$name" heaptrack -o "$tmp/h" "${cmd[@]}"; rm -f "$tmp"/h*; fi
    done
done
