#!/usr/bin/env bash
# Overhead benchmark: how much slower a program runs under memprof (every allocation, and the
# default sampling rate) than natively, next to heaptrack, valgrind's DHAT and a naive
# every-call eBPF tracer (bench/naive-memleak.bt), on two workloads, all in one run:
#   micro     samples/bin/allocs-fp bench N   malloc(32)+free pairs in a tight loop
#   workload  samples/bin/workload SCALE      ordinary Rust code (HashMaps of Strings: build,
#                                             query, sort, drop); allocation is a minority
# Then the attach rows (bench/attach.sh): the same workloads started on their own, warmed up and
# attached to by memprof --pid (the sampler injected), memprof --pid --mode probe and heaptrack -p,
# as slowdowns against the unattached program in the same run, with the time to attach and to
# detach, and the measured cost of one uprobe hit on this machine.
# Each measurement is repeated (--reps, default 3), runs interleaved across tools, and the table
# shows medians. Slow tools run fewer iterations; results are normalised (ns per pair; slowdown
# against a native run of the same size). Each profiled run is checked to have really seen the
# target's allocations, or it shows as failed.
#
# Needs root (eBPF). Installs heaptrack, valgrind and bpftrace with apt-get when missing.
#   usage: sudo bench/run.sh [--reps N] [--only launch|attach]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

reps=3
only=""
while (($#)); do
    case "$1" in
        --reps) reps="${2:?--reps needs a number}"; shift 2 ;;
        --only) only="${2:?--only needs launch or attach}"; shift 2 ;;
        -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: sudo bench/run.sh [--reps N] [--only launch|attach]" >&2; exit 64 ;;
    esac
done
[[ -z "$only" || "$only" == launch || "$only" == attach ]] || { echo "bench: --only takes launch or attach" >&2; exit 64; }
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --reps must be a positive number" >&2; exit 64; }
if [[ $(id -u) -ne 0 ]]; then
    echo "bench/run.sh needs root: memprof and the naive tracer load eBPF programs. Run: sudo bench/run.sh" >&2
    exit 77
fi

# Tools in table order, and the size each runs at: pairs for micro, SCALE for workload
# (workload 1 is ~1.5 s natively). The slow tools get less work so a full run stays near 5 min.
TOOLS=(none memprof-rate1 memprof memprof-probe heaptrack dhat naive-ebpf)
declare -A MICRO_SIZE=([none]=20000000 [memprof-rate1]=200000 [memprof]=20000000 [memprof-probe]=1000000
                       [heaptrack]=1000000 [dhat]=200000 [naive-ebpf]=20000)
declare -A WORKLOAD_SIZE=([none]=1 [memprof-rate1]=0.25 [memprof]=1 [memprof-probe]=1
                          [heaptrack]=1 [dhat]=0.05 [naive-ebpf]=0.05)
MICRO_BLOCK_BYTES=32   # allocs' BENCH_SIZE
RUN_TIMEOUT_S=180      # a hung tool fails its row instead of stalling the benchmark

log() { echo "bench: $*" >&2; }

install_missing_packages() {
    local need=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
    done
    ((${#need[@]})) || return 0
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# Other work on the machine inflates every number; the benchmark itself keeps about 2 CPUs busy,
# so only the load before it starts says how quiet the machine was.
load_at_start=$(cut -d' ' -f1 /proc/loadavg)
install_missing_packages heaptrack valgrind bpftrace
"$root/samples/build.sh" allocs-fp workload >/dev/null
allocs="$root/samples/bin/allocs-fp"
workload="$root/samples/bin/workload"
memprof="$root/memprof"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
source "$root/bench/tools.sh"
source "$root/bench/attach.sh"

# memprof builds itself on first use: do it outside the measurements, then run a snapshot of
# that build, so a source edit during the benchmark can neither trigger a rebuild inside a
# measurement nor mix two versions. Without a working memprof (or without --rate) its rows show
# why instead of numbers.
declare -A UNAVAILABLE=()
if ! "$root/memprof" --help >/dev/null 2>"$tmp/build.log"; then
    tail -5 "$tmp/build.log" >&2
    UNAVAILABLE[memprof]="failed: memprof did not build"
    UNAVAILABLE[memprof-rate1]="failed: memprof did not build"
    UNAVAILABLE[memprof-probe]="failed: memprof did not build"
else
    if [[ -f "$root/.build/memprof/.stamp" ]]; then
        source "$root/bench/snapshot.sh"
        snapshot_memprof "$root/.build/memprof" "$tmp"
        memprof="$tmp/memprof"
    fi
    "$memprof" record --help 2>/dev/null | grep -q -- '--rate' ||
        UNAVAILABLE[memprof-rate1]="n/a: this memprof has no --rate"
    "$memprof" record --help 2>/dev/null | grep -q -- '--mode' ||
        UNAVAILABLE[memprof-probe]="n/a: this memprof has no --mode"
fi

# The naive tracer's probes go on a private copy of the targets' libc (see naive-memleak.bt).
naive_lib="$tmp/naive-lib"
mkdir -p "$naive_lib"
cp "$(ldd "$allocs" | awk '$1 == "libc.so.6" {print $3}')" "$naive_lib/libc.so.6"

# Ground truth per size: allocation calls (a lower bound for every tool), bytes, checksum.
declare -A TRUE_ALLOCS=() TRUE_BYTES=() TRUE_CHECKSUM=()
for tool in "${TOOLS[@]}"; do
    n="${MICRO_SIZE[$tool]}"
    TRUE_ALLOCS[micro/$n]="$n"; TRUE_BYTES[micro/$n]=$((n * MICRO_BLOCK_BYTES))
    s="${WORKLOAD_SIZE[$tool]}"
    [[ -n "${TRUE_CHECKSUM[workload/$s]:-}" ]] && continue
    "$workload" --count "$s" >"$tmp/count"
    TRUE_ALLOCS[workload/$s]=$(awk '$1 == "alloc_calls" {print $2}' "$tmp/count")
    TRUE_BYTES[workload/$s]=$(awk '$1 == "allocated_bytes" {print $2}' "$tmp/count")
    TRUE_CHECKSUM[workload/$s]=$(awk '$1 == "checksum" {print $2}' "$tmp/count")
done

# run_once WORKLOAD TOOL SIZE REP: one measured run, appended to $tmp/results as
# workload tool size rep wall_s target_s ns_per_pair cpu_s mem_mb status
run_once() {
    local wl="$1" tool="$2" size="$3" rep="$4" target start end rc=0 wall t ns="-" status usage
    if [[ "$wl" == micro ]]; then target=("$allocs" bench "$size"); else target=("$workload" "$size"); fi
    rm -rf "$tmp"/run.*
    tool_command "$tool" "${target[@]}"
    start=$(date +%s%N)
    timeout -k 10 "$RUN_TIMEOUT_S" "${CMD[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
    end=$(date +%s%N)
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    if [[ "$wl" == micro ]]; then
        ns=$(awk '$1 == "ns_per_pair" {print $2}' "$tmp/out")
        t=""
        [[ -n "$ns" ]] && t=$(awk -v ns="$ns" -v n="$size" 'BEGIN {printf "%.4f", ns * n / 1e9}')
    else
        t=$(awk '$1 == "elapsed_s" {print $2}' "$tmp/out")
    fi
    if ((rc == 124 || rc == 137)); then
        status="failed: still running after $RUN_TIMEOUT_S s"
    elif ((rc != 0)); then
        status="failed: exit code $rc ($(grep -v '^$' "$tmp/err" | tail -1 | cut -c1-80))"
    elif [[ -z "$t" ]]; then
        status="failed: the target printed no timing"
    elif [[ "$wl" == workload && "$(awk '$1 == "checksum" {print $2}' "$tmp/out")" != "${TRUE_CHECKSUM[$wl/$size]}" ]]; then
        status="failed: wrong checksum (the target misbehaved)"
    else
        status=$(check_tool "$tool" "${TRUE_ALLOCS[$wl/$size]}" "${TRUE_BYTES[$wl/$size]}" "$([[ $rep == 1 ]] && echo 1 || echo 0)")
    fi
    usage=$([[ "$tool" == memprof* ]] && memprof_usage || echo "- -")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$tool" "$size" "$rep" "$wall" "${t:--}" "${ns:--}" \
        ${usage} "$status" >>"$tmp/results"
    log "run $rep/$reps  $wl $(tool_label "$tool") size $size: ${wall} s wall, ${t:--} s target — $status"
}

# Native baselines at every size a tool uses (micro: the largest only — ns per pair is
# steady-state there, small runs measure start-up page faults).
plan=()
for tool in "${TOOLS[@]}"; do
    [[ -n "${UNAVAILABLE[$tool]:-}" ]] && continue
    plan+=("micro $tool ${MICRO_SIZE[$tool]}" "workload $tool ${WORKLOAD_SIZE[$tool]}")
done
for s in $(printf '%s\n' "${WORKLOAD_SIZE[@]}" | sort -u); do
    [[ "$s" == "${WORKLOAD_SIZE[none]}" ]] || plan+=("workload none $s")
done

began=$(date +%s)
: >"$tmp/results"
[[ "$only" == attach ]] && plan=()
for ((rep = 1; rep <= reps; rep++)); do
    for item in "${plan[@]}"; do
        read -r wl tool size <<<"$item"
        run_once "$wl" "$tool" "$size" "$rep"
    done
done
for tool in "${!UNAVAILABLE[@]}"; do
    for wl in micro workload; do
        if [[ $wl == micro ]]; then size="${MICRO_SIZE[$tool]}"; else size="${WORKLOAD_SIZE[$tool]}"; fi
        printf '%s\t%s\t%s\t1\t-\t-\t-\t-\t-\t%s\n' "$wl" "$tool" "$size" "${UNAVAILABLE[$tool]}" >>"$tmp/results"
    done
done

# ---- the table ------------------------------------------------------------------------------

# median COLUMN WL TOOL SIZE: the median of one column over the repetitions.
median() {
    awk -F'\t' -v c="$1" -v wl="$2" -v tool="$3" -v size="$4" \
        '$1 == wl && $2 == tool && $3 == size && $c != "-" {print $c}' "$tmp/results" |
        sort -g | awk '{v[NR] = $1} END {
            if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B FORMAT: A / B, or "-" when either is missing.
ratio() {
    awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf f, a / b }'
}

# group_status WL TOOL SIZE: ok, or the first reason a repetition does not count.
group_status() {
    awk -F'\t' -v wl="$1" -v tool="$2" -v size="$3" \
        '$1 == wl && $2 == tool && $3 == size && $10 != "ok" {print $10; exit}' "$tmp/results"
}

echo
echo "memprof overhead benchmark: median of $reps runs each; $(nproc) CPUs, kernel $(uname -r)"
if [[ "$only" != attach ]]; then
echo "load average when started: $load_at_start$(awk -v l="$load_at_start" -v n="$(nproc)" \
    'BEGIN { if (l > n / 2) print " — the machine was busy: other work inflates every number" }')"
echo
echo "| workload | tool | size | wall s | target s | slowdown | ns/pair | alloc MB/s | memprof CPU s | memprof MB |"
echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
micro_base=$(median 7 micro none "${MICRO_SIZE[none]}")
notes=()
for wl in micro workload; do
    for tool in "${TOOLS[@]}"; do
        sizes=$([[ $wl == micro ]] && echo "${MICRO_SIZE[$tool]}" || echo "${WORKLOAD_SIZE[$tool]}")
        [[ $wl == workload && $tool == none ]] && sizes=$(printf '%s\n' "${WORKLOAD_SIZE[@]}" | sort -gru)
        for size in $sizes; do
            label=$(tool_label "$tool")
            shown_size=$([[ $wl == micro ]] && echo "$size pairs" || echo "scale $size")
            bad=$(group_status "$wl" "$tool" "$size")
            if [[ -n "$bad" ]]; then
                echo "| $wl | $label | $shown_size | ${bad%%:*} | | | | | | |"
                notes+=("$wl, $label: $bad")
                continue
            fi
            wall=$(median 5 "$wl" "$tool" "$size"); t=$(median 6 "$wl" "$tool" "$size")
            ns=$(median 7 "$wl" "$tool" "$size"); cpu=$(median 8 "$wl" "$tool" "$size")
            mem=$(median 9 "$wl" "$tool" "$size")
            if [[ $wl == micro ]]; then
                slow=$(ratio "$ns" "$micro_base" "%.1fx")
                mbs="-"
            else
                base=$(median 6 workload none "$size")
                slow=$(ratio "$t" "$base" "%.2fx")
                mbs=$(ratio "${TRUE_BYTES[workload/$size]}" "$(awk -v t="$t" 'BEGIN {print t * 1e6}')" "%.0f")
                ns="-"
            fi
            [[ "$tool" == memprof* && "$cpu" == "-" ]] && { cpu="n/a"; mem="n/a"; }
            echo "| $wl | $label | $shown_size | $wall | $t | $slow | $ns | $mbs | $cpu | $mem |"
        done
    done
done
echo
echo "wall s: the whole command, tool start-up included. target s: the target's own timing of its"
echo "work. slowdown: target s / native target s at the same size (micro: ns/pair / native ns/pair)."
echo "alloc MB/s: bytes the workload allocates (workload --count) / target s."
((${#notes[@]})) && printf 'failed or n/a: %s\n' "${notes[@]}"
# The targets memprof's default mode is held to, from this run's medians.
micro_memprof=$(ratio "$(median 7 micro memprof "${MICRO_SIZE[memprof]}")" "$micro_base" "%.2f")
workload_memprof=$(ratio "$(median 6 workload memprof "${WORKLOAD_SIZE[memprof]}")" "$(median 6 workload none "${WORKLOAD_SIZE[memprof]}")" "%.3f")
echo "memprof default mode: micro ${micro_memprof}x native (target <= 1.5x), workload ${workload_memprof}x native (target <= 1.05x)"
fi
[[ "$only" == launch ]] || attach_table
echo "benchmark took $(($(date +%s) - began)) s"
