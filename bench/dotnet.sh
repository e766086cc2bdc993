#!/usr/bin/env bash
# .NET overhead benchmark: the .NET sample's allocation loop (samples/bin/dotnet/DotnetSample
# bench N: N calls from C# into Rust through [LibraryImport], one malloc and one free of 4,096 B
# each), timed by the sample itself, under memprof against the same loop unprofiled, in one run:
#   launch   memprof record -- DotnetSample bench N, at the default rate and at --rate 1, against
#            DotnetSample bench N run alone (each run starts a fresh runtime)
#   attach   DotnetSample serve started alone and warmed up; its "bench N" unattached, then with
#            memprof record --pid attached (default rate, then --rate 1), in the same process
# Slowdown: the loop's ns per call under memprof / unprofiled; median of --reps runs (default 3).
# Each profiled run is checked to have recorded the loop's calls (at --rate 1 every malloc and
# free: at least 2 N events), or it shows as failed.
#
# Needs root (eBPF).   usage: sudo bench/dotnet.sh [--reps N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

reps=3
while (($#)); do
    case "$1" in
        --reps) reps="${2:?--reps needs a number}"; shift 2 ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: sudo bench/dotnet.sh [--reps N]" >&2; exit 64 ;;
    esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --reps must be a positive number" >&2; exit 64; }
if [[ $(id -u) -ne 0 ]]; then
    echo "bench/dotnet.sh needs root: memprof loads eBPF programs. Run: sudo bench/dotnet.sh" >&2
    exit 77
fi

# Calls per measurement: the default rate sees few of them, --rate 1 every one (fewer calls).
CALLS=2000000
CALLS_RATE1=200000
ATTACH_WAIT_S=120     # a memprof that never says it is attached fails its row

log() { echo "bench: $*" >&2; }

load_at_start=$(cut -d' ' -f1 /proc/loadavg)
"$root/samples/build.sh" dotnet >/dev/null
sample="$root/samples/bin/dotnet/DotnetSample"
tmp="$(mktemp -d)"
target_pid=""
cleanup() {
    [[ -n "$target_pid" ]] && kill "$target_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# memprof builds itself on first use: outside the measurements, then a snapshot of that build runs.
"$root/memprof" --help >/dev/null
source "$root/bench/snapshot.sh"
snapshot_memprof "$root/.build/memprof" "$tmp"
memprof=("$tmp/memprof")

ns_of() { awk '$1 == "ns_per_call" {print $2}' "$1"; }

# recorded_check LOG CALLS RATE1: ok, or why the recording does not show the loop. Events the
# ring buffer dropped were seen (they count), and are noted below the table.
recorded_check() {
    local events lost
    events=$(grep -oE 'recorded [0-9,]+ events' "$1" | grep -oE '[0-9,]+' | tr -d , | head -1)
    lost=$(grep -oE '[0-9,]+ events LOST' "$1" | grep -oE '^[0-9,]+' | tr -d , | head -1)
    [[ -n "$lost" ]] && echo "$lost" >>"$tmp/lost.$4"
    if [[ -z "$events" ]]; then echo "failed: memprof recorded nothing ($(grep -v '^$' "$1" | tail -1 | cut -c1-80))"
    elif [[ $3 == 1 ]] && ((events + ${lost:-0} < 2 * $2)); then echo "failed: $events events (${lost:-0} lost) for $2 calls (fewer than 2 per call)"
    elif ((events == 0)); then echo "failed: no event recorded"
    else echo ok; fi
}

# result MODE TOOL NS STATUS: one measurement.
result() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$tmp/results"; log "$1 $2: ${3:--} ns/call — $4"; }

launch_once() {
    local out="$tmp/launch.out" err="$tmp/launch.err" status
    "$sample" bench "$CALLS" >"$out"
    result launch none "$(ns_of "$out")" ok
    for tool in memprof memprof-rate1; do
        local calls=$CALLS rate=()
        [[ $tool == memprof-rate1 ]] && calls=$CALLS_RATE1 rate=(--rate 1)
        rm -f "$tmp/launch.memprof"
        if "${memprof[@]}" record "${rate[@]}" --no-firefox -o "$tmp/launch.memprof" -- "$sample" bench "$calls" >"$out" 2>"$err"; then
            status=$(recorded_check "$err" "$calls" "$([[ $tool == memprof-rate1 ]] && echo 1 || echo 0)" "launch-$tool")
        else
            status="failed: exit code $? ($(tail -1 "$err" | cut -c1-80))"
        fi
        result launch "$tool" "$(ns_of "$out")" "$status"
    done
}

# bench_in_target CALLS: asks the serving sample for a timed loop; prints its ns per call.
bench_in_target() {
    local before; before=$(grep -c '^done' "$tmp/target.out" || true)
    echo "bench $1" >&5
    until (($(grep -c '^done' "$tmp/target.out" || true) > before)); do
        kill -0 "$target_pid" 2>/dev/null || { echo "-"; return; }
        sleep 0.05
    done
    awk '$1 == "ns_per_call" {v = $2} END {print v}' "$tmp/target.out"
}

attach_once() {
    : >"$tmp/target.out"
    rm -f "$tmp/in"; mkfifo "$tmp/in"
    "$sample" serve <"$tmp/in" >"$tmp/target.out" 2>"$tmp/target.err" &
    target_pid=$!
    exec 5>"$tmp/in"
    until grep -q '^ready' "$tmp/target.out" 2>/dev/null; do sleep 0.05; done
    bench_in_target "$CALLS" >/dev/null   # warm: jitted and tiered up
    result attach none "$(bench_in_target "$CALLS")" ok
    result attach none-rate1 "$(bench_in_target "$CALLS_RATE1")" ok
    for tool in memprof memprof-rate1; do
        local calls=$CALLS rate=() status ns="-" waited=0
        [[ $tool == memprof-rate1 ]] && calls=$CALLS_RATE1 rate=(--rate 1)
        rm -f "$tmp/attach.memprof"
        # Emptied first: the background job's own redirection may come after the first look at it.
        : >"$tmp/tool.log"
        env --default-signal=INT setsid "${memprof[@]}" record "${rate[@]}" --pid "$target_pid" --no-firefox -o "$tmp/attach.memprof" \
            >"$tmp/tool.log" 2>&1 </dev/null &
        local tool_pid=$!
        until grep -q ', probes: \|probes:' "$tmp/tool.log" 2>/dev/null || ((waited >= ATTACH_WAIT_S * 20)) || ! kill -0 "$tool_pid" 2>/dev/null; do
            sleep 0.05; waited=$((waited + 1))
        done
        if grep -q 'probes:' "$tmp/tool.log"; then
            ns=$(bench_in_target "$calls")
            kill -INT "$tool_pid" 2>/dev/null || true
            wait "$tool_pid" || true
            status=$(recorded_check "$tmp/tool.log" "$calls" "$([[ $tool == memprof-rate1 ]] && echo 1 || echo 0)" "attach-$tool")
            grep -oE 'in-process sampling injected|probing every allocator call|uprobe[a-z+-]*' "$tmp/tool.log" | head -1 >"$tmp/attach-mode.$tool" || true
        else
            kill -INT "$tool_pid" 2>/dev/null || true
            wait "$tool_pid" || true
            status="failed: never attached ($(tail -1 "$tmp/tool.log" | cut -c1-80))"
        fi
        kill -0 "$target_pid" 2>/dev/null || status="failed: the target died"
        result attach "$tool" "$ns" "$status"
    done
    exec 5>&-
    wait "$target_pid" 2>/dev/null || true
    target_pid=""
}

: >"$tmp/results"
for ((rep = 1; rep <= reps; rep++)); do
    launch_once
    attach_once
done

median() {
    awk -F'\t' -v m="$1" -v t="$2" '$1 == m && $2 == t && $3 != "-" && $3 != "" {print $3}' "$tmp/results" | sort -g |
        awk '{v[NR] = $1} END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2fx", a / b }'; }
bad() { awk -F'\t' -v m="$1" -v t="$2" '$1 == m && $2 == t && $4 != "ok" {print $4; exit}' "$tmp/results"; }

echo
echo ".NET sample's allocation loop (C# → Rust, one malloc + free of 4,096 B per call): median of $reps runs;"
echo "$(nproc) CPUs, kernel $(uname -r), load average when started: $load_at_start"
echo
echo "| mode | memprof | calls | ns/call | unprofiled ns/call | slowdown |"
echo "|---|---|--:|--:|--:|--:|"
for mode in launch attach; do
    for tool in memprof memprof-rate1; do
        calls=$([[ $tool == memprof-rate1 ]] && echo "$CALLS_RATE1" || echo "$CALLS")
        base_tool=none
        [[ $mode == attach && $tool == memprof-rate1 ]] && base_tool=none-rate1
        label=$([[ $tool == memprof-rate1 ]] && echo "--rate 1" || echo "default rate")
        [[ -s "$tmp/attach-mode.$tool" && $mode == attach ]] && label="$label ($(cat "$tmp/attach-mode.$tool"))"
        if [[ -n "$(bad "$mode" "$tool")" ]]; then
            echo "| $mode | $label | $calls | $(bad "$mode" "$tool") | | |"
            continue
        fi
        ns=$(median "$mode" "$tool"); base=$(median "$mode" "$base_tool")
        echo "| $mode | $label | $calls | $ns | $base | $(ratio "$ns" "$base") |"
    done
done
for f in "$tmp"/lost.*; do
    [[ -e "$f" ]] || continue
    echo "${f##*/lost.}: events lost (ring buffer full) in $(wc -l <"$f") of $reps runs: $(paste -sd, "$f")"
done
