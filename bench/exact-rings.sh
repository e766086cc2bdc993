#!/usr/bin/env bash
# Exact mode (--rate 1) through the shared rings against the markers (every event a trap,
# MEMPROF_RINGS=off) and native, on the malloc loop, the realistic workload and real Debian
# programs (ripgrep over a source tree, bat on a large C file). The stacks: DWARF unwound in the
# process (the default), DWARF from stack copies unwound by memprof (--unwind dwarf-copy), frame
# pointers (--unwind fp); heaptrack beside them when installed. Prints one line per run: wall
# seconds and its ratio to native, the program's own ns/pair (micro), events recorded and lost,
# memprof's waits, the recording's size (MB and bytes an event; heaptrack's file for it), memprof's
# own CPU seconds (as it reports them), the load average.
#   bench/exact-rings.sh [REPS]      (default 1; run on a quiet machine for real numbers)
#   JOBS="rg bat" bench/exact-rings.sh   only these jobs (micro workload rg bat)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
reps=${1:-1}
memprof="$root/memprof"
allocs="$root/samples/bin/allocs-fp"
workload="$root/samples/bin/workload"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$memprof" --help >/dev/null 2>&1   # builds once, outside the timings
corpus="$root/src"                   # ripgrep's input: memprof's own sources
big="$tmp/big.c"                     # bat's input: ~1.6 MB of C
for _ in $(seq 1 40); do cat "$root"/collectors/preload/*.c "$root"/collectors/bpf/memprof.bpf.c; done > "$big"

native_wall=1
last_events=
run() { # name, the recording it writes (- for none), then the command
    local name=$1 file=$2; shift 2
    local start end
    start=$(date +%s.%N)
    "$@" >"$tmp/out" 2>"$tmp/err" || true
    end=$(date +%s.%N)
    local wall events lost waits ns bytes cpu
    wall=$(echo "$end - $start" | bc)
    events=$(grep -o 'recorded [0-9,]* events' "$tmp/err" | tr -dc 0-9 || true)
    lost=$(grep -o '[0-9,]* events LOST' "$tmp/err" | tr -dc 0-9 || true)
    waits=$(grep -o 'waited [0-9,]* times' "$tmp/err" | tr -dc 0-9 || true)
    ns=$(awk '$1 == "ns_per_pair" {print $2}' "$tmp/out")
    cpu=$(grep -o 'memprof used [0-9.]* s CPU' "$tmp/err" | tr -dc 0-9. || true)
    bytes=
    if [[ $file != - ]]; then
        bytes=$(cat "$file"* 2>/dev/null | wc -c)
        rm -f "$file"*
    fi
    local size=-
    if [[ -n $bytes && $bytes -gt 0 ]]; then
        size=$(printf '%.1fMB' "$(echo "$bytes / 1000000" | bc -l)")
        # heaptrack does not say how many events: its B/event is against memprof's count of the same run.
        local per=${events:-$last_events}
        [[ -n $per && $per -gt 0 ]] && size="$size $(printf '%.2f' "$(echo "$bytes / $per" | bc -l)")B/ev"
    fi
    [[ -n $events ]] && last_events=$events
    [[ $name == *" native" ]] && native_wall=$wall
    printf '%-28s wall %7.2f s  x%-6.1f ns/pair %-10s events %-10s lost %-8s waits %-8s size %-18s cpu %-6s load %s\n' "$name" "$wall" \
        "$(echo "$wall / $native_wall" | bc -l)" "${ns:--}" "${events:--}" "${lost:-0}" "${waits:-0}" "$size" "${cpu:--}" "$(cut -d' ' -f1 /proc/loadavg)"
}
jobs=${JOBS:-micro workload rg bat}

for _ in $(seq 1 "$reps"); do
    for job in "micro:$allocs bench 200000" "workload:$workload 0.25" "rg:/usr/bin/rg -c fn $corpus" "bat:/usr/bin/batcat --color=always --paging=never $big"; do
        name=${job%%:*}; cmd=(${job#*:})
        [[ " $jobs " == *" $name "* ]] || continue
        run "$name native" - "${cmd[@]}"
        run "$name rate1 rings" "$tmp/r.memprof" "$memprof" record --rate 1 --no-firefox -o "$tmp/r.memprof" -- "${cmd[@]}"
        run "$name rate1 rings dwarf-copy" "$tmp/c.memprof" "$memprof" record --rate 1 --unwind dwarf-copy --no-firefox -o "$tmp/c.memprof" -- "${cmd[@]}"
        MEMPROF_RINGS=off run "$name rate1 markers" "$tmp/m.memprof" "$memprof" record --rate 1 --no-firefox -o "$tmp/m.memprof" -- "${cmd[@]}"
        run "$name rate1 rings fp" "$tmp/f.memprof" "$memprof" record --rate 1 --unwind fp --no-firefox -o "$tmp/f.memprof" -- "${cmd[@]}"
        # heaptrack names its file itself (h.PID.zst or .gz): the prefix finds it.
        if command -v heaptrack >/dev/null; then run "$name heaptrack" "$tmp/h" heaptrack -o "$tmp/h" "${cmd[@]}"; fi
    done
done
