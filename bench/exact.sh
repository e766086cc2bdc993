#!/usr/bin/env bash
# Exact mode on real Debian programs: memprof --rate 1 beside heaptrack and DHAT, every
# allocation recorded. Prints a Markdown table (see bench/README.md, "Exact mode").
#
#   bench/exact.sh             all three jobs (several minutes on an idle 2-CPU machine)
#   bench/exact.sh bat rg      only the named jobs (bat, rg, cppcheck)
#
# Needs root (eBPF) and the Debian packages bat, ripgrep, cppcheck, heaptrack, valgrind (installed
# with apt-get when missing). The inputs exist on every Debian machine with a C compiler (headers
# of libc6-dev and linux-libc-dev) or come from this repository, so runs are comparable.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $(id -u) -eq 0 ]] || { echo "bench/exact.sh: needs root (eBPF)" >&2; exit 1; }

need=()
for pkg in bat ripgrep cppcheck heaptrack valgrind time; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
load_at_start=$(cut -d' ' -f1 /proc/loadavg)

# A snapshot of memprof's build, so a source edit during the run changes nothing.
"$root/memprof" --help >/dev/null
source "$root/bench/snapshot.sh"
snapshot_memprof "$root/.build/memprof" "$tmp"
memprof=("$tmp/memprof")

# The jobs' fixed inputs.
headers=(stdio.h stdlib.h unistd.h string.h signal.h pthread.h elf.h)
(cd /usr/include && cat "${headers[@]}") >"$tmp/bat-input.c"
declare -A JOB=(
    [bat]="batcat --color=always --paging=never --style=full $tmp/bat-input.c"
    [rg]="rg -j2 -n static|struct\\s+[a-z_]+ /usr/include"
    [cppcheck]="cppcheck -q --enable=warning $root/samples/c/stress.c $root/collectors/preload/memprof_preload.c"
)
declare -A INPUT=(
    [bat]="/usr/include/{$(IFS=,; echo "${headers[*]}")} concatenated ($(stat -c %s "$tmp/bat-input.c") B)"
    [rg]="/usr/include ($(du -sh /usr/include | cut -f1)), 2 threads"
    [cppcheck]="samples/c/stress.c + collectors/preload/memprof_preload.c"
)
jobs=("$@"); ((${#jobs[@]})) || jobs=(bat rg cppcheck)

# timed NAME CMD...: runs CMD under /usr/bin/time -v; sets WALL (s) and RSS (MB, the largest
# process of the command's tree), keeps stderr in $tmp/NAME.err.
timed() {
    local name="$1"; shift
    local start end
    start=$(date +%s%N)
    /usr/bin/time -v -o "$tmp/$name.time" "$@" >/dev/null 2>"$tmp/$name.err" || {
        echo "bench/exact.sh: $name failed:" >&2; tail -5 "$tmp/$name.err" >&2; WALL=failed; RSS=failed; return 1; }
    end=$(date +%s%N)
    WALL=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 1e9 }')
    RSS=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$tmp/$name.time")
}

mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; }

rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 | $8 | $9 |"); }

for job in "${jobs[@]}"; do
    read -r -a cmd <<<"${JOB[$job]}"
    echo "bench: $job …" >&2
    # Native: the best of three (the page cache warm for every tool).
    best=""
    for _ in 1 2 3; do
        timed native "${cmd[@]}"
        [[ -z "$best" ]] || awk -v a="$WALL" -v b="$best" 'BEGIN { exit !(a < b) }' && best=$WALL
    done
    native=$best
    row "$job" "native" "$native" "1.0×" "–" "–" "–" "–" "–"

    # memprof --rate 1: every allocation and free, with stacks.
    rec="$tmp/$job.memprof"
    if timed memprof "${memprof[@]}" record --rate 1 --no-firefox -o "$rec" -- "${cmd[@]}"; then
        wall=$WALL
        own=$(sed -n 's/^memprof used .* and \([0-9,]*\) MB of memory.*/\1/p' "$tmp/memprof.err" | tr -d ,)
        lost=$(sed -n 's/.*; \([0-9,]*\) events LOST.*/\1/p' "$tmp/memprof.err" | tr -d ,)
        events=$(sed -n 's/^memprof: recorded \([0-9,]*\) events.*/\1/p' "$tmp/memprof.err" | tr -d ,)
        size=$(mb "$rec")
        timed report "${memprof[@]}" report "$rec" && report="$WALL s / $RSS MB" || report=failed
        timed export "${memprof[@]}" export "$rec" -o "$tmp/$job.json.gz" && export="$WALL s / $RSS MB" || export=failed
        row "$job" "memprof --rate 1" "$wall" "$(ratio "$wall" "$native")" "${own:-?} MB" "$report; export $export" \
            "$size MB" "${events:-?}" "${lost:-0}"
    else
        row "$job" "memprof --rate 1" "failed" "" "" "" "" "" ""
    fi

    # heaptrack: LD_PRELOAD, every call; heaptrack_print is its report.
    ht="$tmp/$job.heaptrack"
    if timed heaptrack heaptrack -o "$ht" "${cmd[@]}"; then
        wall=$WALL rss=$RSS
        file=$(ls "$ht".* | head -1)
        calls=$(sed -n 's/^[[:space:]]*allocations:[[:space:]]*\([0-9]*\).*/\1/p' "$tmp/heaptrack.err" | head -1)
        timed heaptrack_print heaptrack_print "$file" && report="$WALL s / $RSS MB" || report=failed
        row "$job" "heaptrack" "$wall" "$(ratio "$wall" "$native")" "$rss MB" "heaptrack_print $report" "$(mb "$file") MB" \
            "${calls:-?} allocations" "0 (in-process)"
    else
        row "$job" "heaptrack" "failed" "" "" "" "" "" ""
    fi

    # DHAT: every call and every access under translation; its JSON is read by the browser viewer.
    dh="$tmp/$job.dhat.json"
    if timed dhat valgrind --tool=dhat "--dhat-out-file=$dh" "${cmd[@]}"; then
        blocks=$(sed -n 's/.*Total:.* in \([0-9,]*\) blocks.*/\1/p' "$tmp/dhat.err" | head -1 | tr -d ,)
        row "$job" "valgrind --tool=dhat" "$WALL" "$(ratio "$WALL" "$native")" "$RSS MB" "– (viewer in the browser)" "$(mb "$dh") MB" \
            "${blocks:-?} blocks" "0 (in-process)"
    else
        row "$job" "valgrind --tool=dhat" "failed" "" "" "" "" "" ""
    fi
done

echo
echo "Exact mode on Debian programs — $(date -u +%F), $(nproc) CPUs, load average at start $load_at_start"
echo
for job in "${jobs[@]}"; do
    shown=${JOB[$job]//$tmp\//}
    echo "* $job: \`${shown//$root\//}\` — ${INPUT[$job]}"
done
echo
echo "| job | tool | wall s | vs native | recorder peak RSS | report / export (wall s / peak RSS) | data file | events recorded | events lost |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
