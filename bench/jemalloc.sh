#!/usr/bin/env bash
# jemalloc profiling mode benchmark: what memprof costs on a malloc-heavy loop when jemalloc's own
# sampling does the work (only its sampled path is probed). One binary, samples/bin/allocs-jemalloc-prof
# (static `_rjem_` jemalloc 5.3.0 with profiling compiled in), `bench N`: N malloc(32)+free pairs.
#   native            jemalloc profiling inactive (no MALLOC_CONF), memprof absent — the baseline
#   jemalloc-prof     profiling on at the default rate (lg_prof_sample 19), memprof absent
#   memprof           `memprof record` (turns profiling on at the default rate and probes its path)
# Runs are interleaved, repeated (--reps, default 5) and the table shows medians of ns per pair,
# with each row's ratio to the baseline measured in the same run. Each memprof run is checked to
# have used jemalloc's profiling and recorded samples, or it shows as failed. The figure to meet:
# memprof ≤ 1.3× native.
#
# Needs root (eBPF).
#   usage: sudo bench/jemalloc.sh [--reps N] [--pairs N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

reps=5
pairs=50000000
BOUND=1.3
while (($#)); do
    case "$1" in
        --reps) reps="${2:?--reps needs a number}"; shift 2 ;;
        --pairs) pairs="${2:?--pairs needs a number}"; shift 2 ;;
        -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: sudo bench/jemalloc.sh [--reps N] [--pairs N]" >&2; exit 64 ;;
    esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --reps must be a positive number" >&2; exit 64; }
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --pairs must be a positive number" >&2; exit 64; }
if [[ $(id -u) -ne 0 ]]; then
    echo "bench/jemalloc.sh needs root: memprof loads eBPF programs. Run: sudo bench/jemalloc.sh" >&2
    exit 77
fi

log() { echo "bench: $*" >&2; }

# Other work on the machine inflates every number; only the load before the runs says how quiet it was.
load_at_start=$(cut -d' ' -f1 /proc/loadavg)
"$root/samples/build.sh" allocs-jemalloc-prof >/dev/null
target="$root/samples/bin/allocs-jemalloc-prof"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# memprof builds itself on first use: do it outside the measurements, then run a snapshot of that build.
"$root/memprof" --help >/dev/null
memprof="$root/memprof"
if [[ -f "$root/.build/memprof/.stamp" ]]; then
    source "$root/bench/snapshot.sh"
    snapshot_memprof "$root/.build/memprof" "$tmp"
    memprof="$tmp/memprof"
fi

ROWS=(native jemalloc-prof memprof)

# run_once ROW REP: one measured run, appended to $tmp/results as "row rep ns_per_pair status".
run_once() {
    local row="$1" rep="$2" rc=0 ns status=ok
    case "$row" in
        native) env -u _RJEM_MALLOC_CONF "$target" bench "$pairs" >"$tmp/out" 2>"$tmp/err" || rc=$? ;;
        jemalloc-prof) _RJEM_MALLOC_CONF=prof:true,prof_active:true,lg_prof_sample:19,prof_recent_alloc_max:0 \
            "$target" bench "$pairs" >"$tmp/out" 2>"$tmp/err" || rc=$? ;;
        memprof) env -u _RJEM_MALLOC_CONF "$memprof" record --no-firefox -o "$tmp/run.memprof" -- \
            "$target" bench "$pairs" >"$tmp/out" 2>"$tmp/err" || rc=$? ;;
    esac
    ns=$(awk '$1 == "ns_per_pair" {print $2}' "$tmp/out")
    if ((rc != 0)); then
        status="failed: exit code $rc ($(grep -v '^$' "$tmp/err" | tail -1 | cut -c1-80))"
    elif [[ -z "$ns" ]]; then
        status="failed: the target printed no timing"
    elif [[ "$row" == memprof ]]; then
        # The recording must say jemalloc's profiling was used and hold samples (~1 per 512 KiB).
        local events
        events=$(sed -n 's/.*recorded \([0-9,]*\) events.*/\1/p' "$tmp/err" | tr -d , | head -1)
        if ! grep -q "jemalloc profiling (lg_prof_sample" "$tmp/err"; then
            status="failed: memprof did not use jemalloc profiling"
        elif ((${events:-0} < pairs * 32 / 524288 / 2)); then
            status="failed: only ${events:-0} events recorded, expected ~$((pairs * 32 / 524288)) samples"
        fi
    fi
    printf '%s\t%s\t%s\t%s\n' "$row" "$rep" "${ns:--}" "$status" >>"$tmp/results"
    log "run $rep/$reps $row: ${ns:--} ns/pair — $status"
}

: >"$tmp/results"
for ((rep = 1; rep <= reps; rep++)); do
    for row in "${ROWS[@]}"; do run_once "$row" "$rep"; done
done

# median ROW: the median ns per pair of a row's successful runs.
median() {
    awk -F'\t' -v row="$1" '$1 == row && $4 == "ok" {print $3}' "$tmp/results" | sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "jemalloc profiling mode benchmark: allocs-jemalloc-prof bench $pairs, median of $reps runs each; $(nproc) CPUs, kernel $(uname -r)"
echo "load average when started: $load_at_start$(awk -v l="$load_at_start" -v n="$(nproc)" \
    'BEGIN { if (l > n / 2) print " — the machine was busy: other work inflates every number" }')"
echo
echo "| run | ns/pair | vs native | runs ok |"
echo "|---|--:|--:|--:|"
base=$(median native)
verdict=0
for row in "${ROWS[@]}"; do
    m=$(median "$row")
    ok=$(awk -F'\t' -v row="$row" '$1 == row && $4 == "ok"' "$tmp/results" | wc -l)
    r=$(awk -v a="$m" -v b="$base" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f×", a / b }')
    echo "| $row | $m | $r | $ok/$reps |"
    if [[ "$row" == memprof ]]; then
        if [[ "$r" == - ]]; then
            verdict=1
            awk -F'\t' '$1 == "memprof" && $4 != "ok" {print "memprof: " $4; exit}' "$tmp/results"
        elif awk -v r="${r%×}" -v b="$BOUND" 'BEGIN { exit !(r > b) }'; then
            verdict=1
        fi
    fi
done
echo
if ((verdict == 0)); then
    echo "memprof in jemalloc profiling mode: within ${BOUND}× of native"
else
    echo "memprof in jemalloc profiling mode: NOT within ${BOUND}× of native"
fi
exit "$verdict"
