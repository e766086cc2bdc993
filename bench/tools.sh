# Sourced by bench/run.sh: how each profiler is launched on a target, and how a run is checked
# to have really been profiled (so a broken tool shows as "failed", never as a fast number).
#
# Expects from the caller: $root, $tmp, $memprof, $naive_lib (a directory holding a private
# copy of the target's libc.so.6). Every tool writes its output under $tmp/run.*.

# tool_command TOOL TARGET ARGS... : sets the array CMD to run TARGET under TOOL.
tool_command() {
    local tool="$1"; shift
    case "$tool" in
        none) CMD=("$@") ;;
        memprof-rate1) CMD=("$memprof" record --rate 1 --no-firefox -o "$tmp/run.memprof" -- "$@") ;;
        memprof) CMD=("$memprof" record --no-firefox -o "$tmp/run.memprof" -- "$@") ;;
        memprof-probe) CMD=("$memprof" record --mode probe --no-firefox -o "$tmp/run.memprof" -- "$@") ;;
        heaptrack) CMD=(heaptrack -o "$tmp/run.heaptrack" "$@") ;;
        dhat) CMD=(valgrind --tool=dhat "--dhat-out-file=$tmp/run.dhat.json" "$@") ;;
        # bpftrace -c splits its command on spaces; env gives only the target the private libc.
        naive-ebpf) CMD=(bpftrace -o "$tmp/run.bt" -c "/usr/bin/env LD_LIBRARY_PATH=$naive_lib $*"
                         "$root/bench/naive-memleak.bt" "$naive_lib/libc.so.6") ;;
        *) echo "bench: unknown tool $tool" >&2; exit 2 ;;
    esac
}

# tool_label TOOL: the name shown in the table.
tool_label() {
    case "$1" in
        none) echo "none (native)" ;;
        memprof-rate1) echo "memprof --rate 1" ;;
        memprof) echo "memprof (default: in-process sampling)" ;;
        memprof-probe) echo "memprof --mode probe" ;;
        heaptrack) echo "heaptrack" ;;
        dhat) echo "valgrind --tool=dhat" ;;
        naive-ebpf) echo "naive eBPF (bpftrace)" ;;
    esac
}

# strip_number "6,403,887" -> 6403887
strip_number() { tr -d ',' <<<"$1"; }

# check_tool TOOL ALLOCS BYTES DEEP: prints "ok" or why the run does not count. ALLOCS is a
# lower bound on the allocation calls the target made (realloc not included), BYTES the bytes
# it allocated. DEEP=1 also runs the slower checks (memprof report).
check_tool() {
    local tool="$1" allocs="$2" bytes="$3" deep="$4" seen
    case "$tool" in
        none) echo ok; return ;;
        memprof|memprof-rate1|memprof-probe)
            [[ -s "$tmp/run.memprof" ]] || { echo "failed: no recording written"; return; }
            [[ "$deep" == 1 ]] || { echo ok; return; }
            check_memprof_report "$tool" "$allocs" "$bytes"
            return ;;
        heaptrack)
            compgen -G "$tmp/run.heaptrack.*" >/dev/null || { echo "failed: no heaptrack file written"; return; }
            # heaptrack_interpret's closing stats: "	allocations:          	1889785"
            seen=$(awk '$1 == "allocations:" {print $2}' "$tmp/err" | tail -1) ;;
        dhat)
            [[ -s "$tmp/run.dhat.json" ]] || { echo "failed: no DHAT profile written"; return; }
            seen=$(grep -o '"tbk":[0-9]*' "$tmp/run.dhat.json" | awk -F: '{s += $2} END {print s + 0}') ;;
        naive-ebpf)
            [[ -s "$tmp/run.bt" ]] || { echo "failed: bpftrace wrote nothing"; return; }
            seen=$(awk '$1 == "@allocs:" {print $2}' "$tmp/run.bt") ;;
    esac
    if [[ -z "$seen" ]] || ((seen < allocs)); then
        echo "failed: saw ${seen:-no} allocations, expected >= $allocs"
    else
        echo ok
    fi
}

# check_memprof_report TOOL ALLOCS BYTES: the recording must account for the target's
# allocations: its exact call counters must have seen every call; at --rate 1 every allocation
# must be an event; at the default (sampling) rate the estimated bytes must be within a factor of
# two of the truth (the sizes are chosen so that means dozens of samples or more).
check_memprof_report() {
    local tool="$1" allocs="$2" bytes="$3" counted got got_bytes got_allocs unit
    "$memprof" report "$tmp/run.memprof" >"$tmp/report" 2>/dev/null ||
        { echo "failed: memprof report cannot read the recording"; return; }
    # "Counters:   6,404,427 B in 200,018 calls; freed ..."   (exact allocator counters)
    counted=$(sed -nE 's/^Counters: *[0-9,]+ B in ([0-9,]+) calls.*/\1/p' "$tmp/report" | head -1)
    # "Attributed: 6,403,887 B in 200,016 blocks; freed ..."   (from the recorded events; "Allocated:"
    # without counters; sampled: "… B ± 1.00 MiB in ~1,234 blocks, estimated from …")
    # (large counts are shown rounded: "20.0 M blocks")
    got=$(sed -nE 's/^(Allocated|Attributed): *([0-9,]+) B( ± [0-9.,]+ [KMGi]*B)? in ~?([0-9,.]+)( [KMG])? blocks.*/\2 \4\5/p' "$tmp/report" | head -1)
    read -r got_bytes got_allocs unit <<<"$(strip_number "$got")"
    case "${unit:-}" in
        K) got_allocs=$(awk -v n="$got_allocs" 'BEGIN {printf "%d", n * 1e3}') ;;
        M) got_allocs=$(awk -v n="$got_allocs" 'BEGIN {printf "%d", n * 1e6}') ;;
        G) got_allocs=$(awk -v n="$got_allocs" 'BEGIN {printf "%d", n * 1e9}') ;;
    esac
    [[ "${got_bytes:-}" =~ ^[0-9]+$ && "${got_allocs:-}" =~ ^[0-9]+$ ]] ||
        { echo "failed: no Allocated/Attributed line in memprof report"; return; }
    counted=$(strip_number "$counted")
    if [[ -n "$counted" ]] && ((counted < allocs)); then
        echo "failed: counters saw $counted calls, expected >= $allocs"
    elif [[ "$tool" == memprof-rate1 ]] && ((got_allocs < allocs)); then
        echo "failed: recorded $got_allocs allocations, expected >= $allocs"
    elif ((got_bytes * 2 < bytes || got_bytes > bytes * 2)); then
        echo "failed: recorded $got_bytes bytes, expected about $bytes"
    else
        echo ok
    fi
}

# memprof_usage: "CPU_S MEM_MB" from memprof's closing stderr line, or "n/a n/a".
memprof_usage() {
    local line
    line=$(grep -Eo 'memprof used ([0-9.]+) s CPU and ([0-9]+) MB of memory' "$tmp/err" | tail -1) || true
    if [[ -n "$line" ]]; then
        sed -E 's/memprof used ([0-9.]+) s CPU and ([0-9]+) MB of memory/\1 \2/' <<<"$line"
    else
        echo "n/a n/a"
    fi
}
