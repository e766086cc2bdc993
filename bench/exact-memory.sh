#!/usr/bin/env bash
# Peak memory of memprof at --rate 1 on a real program: the recorder, `report`, the pprof and
# the Firefox exports, each as its own process measured by /usr/bin/time -v (maximum resident
# set size), with wall time and the sizes of what they wrote.
#   workload  batcat --paging=never --color=always INPUT.c   (INPUT: ~1.6 MB of C made from
#             /usr/include, the same bytes on every Debian 12 machine with libc6-dev)
# The goal (issue: memory proportional to distinct stacks and live blocks, not to events):
# at most 300 MB for each step.
#
# Needs root (recording loads eBPF programs). Installs bat when missing.
#   usage: sudo bench/exact-memory.sh [--keep DIR] [--memprof BUILD_DIR]
#   --keep DIR          keep the recording and outputs in DIR
#   --memprof BUILD_DIR measure that build of memprof (a directory with the native memprof or memprof.dll), e.g. an
#                       older one for a before/after table; default: this checkout's
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

keep=""
build=""
while (($#)); do
    case "$1" in
        --keep) keep="${2:?--keep needs a directory}"; shift 2 ;;
        --memprof) build="${2:?--memprof needs a build directory}"; shift 2 ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: sudo bench/exact-memory.sh [--keep DIR] [--memprof BUILD_DIR]" >&2; exit 64 ;;
    esac
done
if [[ $(id -u) -ne 0 ]]; then
    echo "bench/exact-memory.sh needs root (memprof record loads eBPF programs)" >&2
    exit 77
fi
command -v batcat >/dev/null || apt-get install -y -qq bat >/dev/null
[[ -x /usr/bin/time ]] || apt-get install -y -qq time >/dev/null

tmp="${keep:-$(mktemp -d)}"
mkdir -p "$tmp"
[[ -n "$keep" ]] || trap 'rm -rf "$tmp"' EXIT

# The input: the first 1.6 MB of /usr/include/*.h, in name order.
input="$tmp/input.c"
ls /usr/include/*.h | LC_ALL=C sort | xargs cat 2>/dev/null | head -c 1600000 >"$input" || true

# memprof is built once and a copy of that build runs every step (no build step is measured,
# and source edits during the run change nothing).
if [[ -z "$build" ]]; then
    "$root/memprof" --help >/dev/null
    build="$root/.build/memprof"
fi
source "$root/bench/snapshot.sh"
snapshot_memprof "$build" "$tmp"
mp=("$tmp/memprof")

# measure LABEL OUTPUT CMD...: runs CMD under /usr/bin/time -v; prints a table row.
measure() {
    local label="$1" output="$2"; shift 2
    local stats="$tmp/time.$RANDOM"
    if ! /usr/bin/time -v -o "$stats" "$@" >"$tmp/stdout" 2>"$tmp/stderr"; then
        echo "bench: $label failed:" >&2; tail -5 "$tmp/stderr" >&2
        printf '| %-28s | failed | | |\n' "$label"; return
    fi
    local rss_kb wall size="-"
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$stats")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$stats")
    [[ "$output" != "-" && -f "$output" ]] && size="$(( $(stat -c %s "$output") / 1000000 )) MB"
    printf '| %-28s | %6d MB | %8s | %8s |\n' "$label" "$((rss_kb / 1024))" "$wall" "$size"
}

echo "bench: load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| step (bat, --rate 1) | peak RSS | wall | output |"
echo "|---|---|---|---|"
measure "record --rate 1 --no-firefox" "$tmp/bat.memprof" \
    "${mp[@]}" record --rate 1 --no-firefox -o "$tmp/bat.memprof" -- batcat --paging=never --color=always "$input"
grep -o 'recorded [^;]*' "$tmp/stderr" | head -1 | sed 's/^/bench: /' >&2 || true
measure "report" - "${mp[@]}" report "$tmp/bat.memprof"
measure "check --max-leaked 1GiB" - "${mp[@]}" check "$tmp/bat.memprof" --max-leaked 1GiB
measure "export --format pprof" "$tmp/bat.pb.gz" "${mp[@]}" export "$tmp/bat.memprof" --format pprof -o "$tmp/bat.pb.gz"
measure "export (Firefox, .json.gz)" "$tmp/bat.json.gz" "${mp[@]}" export "$tmp/bat.memprof" -o "$tmp/bat.json.gz"
grep -i 'sampl\|kept' "$tmp/stderr" | sed 's/^/bench: /' >&2 || true
