# Sourced by bench/run.sh: the attach rows. The same two workloads, started on their own, warmed
# up, then attached to while they run: memprof (auto: the sampler injected), memprof --mode probe
# (a uprobe on every allocator call) and heaptrack -p (gdb injects its preload library), against
# the same programs left alone in the same run. The targets print their own speed per time window
# (allocs bench-windows, workload --windows), in wall time and in the thread's CPU time; a tool's
# slowdown is the median window while it is attached over the median window of the unattached run.
# On a shared machine the CPU time is the fairer figure (the target's own cost, kernel time in
# probes included, not the time other work took its CPU); the wall time shows the contention too.
#
# Expects from the caller: $allocs, $workload, $memprof, $tmp, $naive_lib, log().

ATTACH_TOOLS=(none memprof-attach memprof-attach-exact memprof-attach-exact-markers memprof-attach-probe heaptrack-attach)
ATTACH_WARMUP_S=2      # the target runs this long before the tool comes
ATTACH_SECONDS=4       # how long the tool stays attached
ATTACH_WINDOW_MS=250   # the targets' measuring window

attach_label() {
    case "$1" in
        none) echo "none (running, not attached)" ;;
        memprof-attach) echo "memprof --pid (auto: sampler injected)" ;;
        memprof-attach-exact) echo "memprof --pid --rate 1 (injected, shared rings)" ;;
        memprof-attach-exact-markers) echo "memprof --pid --rate 1 (injected, MEMPROF_RINGS=off: a trap per event)" ;;
        memprof-attach-probe) echo "memprof --pid --mode probe" ;;
        heaptrack-attach) echo "heaptrack -p" ;;
    esac
}

# attach_command TOOL PID: sets CMD; ATTACHED is the text its output shows once it is attached.
attach_command() {
    case "$1" in
        memprof-attach) CMD=("$memprof" record --pid "$2" --no-firefox -o "$tmp/attach.memprof"); ATTACHED=", probes: " ;;
        memprof-attach-exact) CMD=("$memprof" record --rate 1 --pid "$2" --no-firefox -o "$tmp/attach.memprof"); ATTACHED=", probes: " ;;
        memprof-attach-exact-markers) CMD=(env MEMPROF_RINGS=off "$memprof" record --rate 1 --pid "$2" --no-firefox -o "$tmp/attach.memprof"); ATTACHED=", probes: " ;;
        memprof-attach-probe) CMD=("$memprof" record --mode probe --pid "$2" --no-firefox -o "$tmp/attach.memprof"); ATTACHED=", probes: " ;;
        heaptrack-attach) CMD=(heaptrack -o "$tmp/attach.heaptrack" -p "$2"); ATTACHED="injection finished" ;;
    esac
}

now_ns() { date +%s%N; }

# windows_between FROM_NS TO_NS: how many of the target's windows lie wholly inside.
windows_between() { awk -v a="$1" -v b="$2" '$1 == "window" && $2 >= a && $3 <= b' "$tmp/target.out" | wc -l; }

# median_window FILE FROM_NS TO_NS FIELD: the median of FIELD (4: wall, 5: CPU per unit) over the
# windows lying wholly inside [FROM, TO].
median_window() {
    awk -v a="$2" -v b="$3" -v f="$4" '$1 == "window" && $2 >= a && $3 <= b {print $f}' "$1" | sort -g |
        awk '{v[NR] = $1} END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# attach_once WL TOOL: appends "wl tool wall cpu attach_s stop_s restored_s windows status" to $tmp/attach.results.
attach_once() {
    rm -rf "$tmp"/attach.memprof "$tmp"/attach.heaptrack.*
    local wl="$1" tool="$2" target_pid tool_pid from to stopped exited status="ok" attach_s="-" stop_s="-" restored="-" windows
    # Emptied first: a background job's own redirection may come after the first look at the file.
    : >"$tmp/target.out"; : >"$tmp/tool.log"
    if [[ $wl == micro ]]; then
        "$allocs" bench-windows "$ATTACH_WINDOW_MS" >"$tmp/target.out" 2>"$tmp/target.err" </dev/null &
    else
        "$workload" --windows "$ATTACH_WINDOW_MS" >"$tmp/target.out" 2>"$tmp/target.err" </dev/null &
    fi
    target_pid=$!
    until grep -q '^ready' "$tmp/target.out" 2>/dev/null; do sleep 0.05; done
    sleep "$ATTACH_WARMUP_S"
    local began; began=$(now_ns)
    if [[ $tool == none ]]; then
        from=$began
        sleep "$ATTACH_SECONDS"
        to=$(now_ns)
    else
        attach_command "$tool" "$target_pid"
        # A background job of a script starts with SIGINT ignored: given back, so Ctrl-C's signal
        # stops the tool. In a process group of its own, so that what it leaves running goes too.
        env --default-signal=INT setsid "${CMD[@]}" >"$tmp/tool.log" 2>&1 </dev/null &
        tool_pid=$!
        # Attached: from the line the tool prints once it is (bounded: a tool that never says so fails).
        local waited=0
        until grep -q -- "$ATTACHED" "$tmp/tool.log" 2>/dev/null || ((waited >= 1200)) || ! kill -0 "$tool_pid" 2>/dev/null; do
            sleep 0.05; waited=$((waited + 1))
        done
        from=$(now_ns)
        attach_s=$(awk -v a="$began" -v b="$from" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
        if ! grep -q -- "$ATTACHED" "$tmp/tool.log"; then
            status="failed: never attached ($(tail -1 "$tmp/tool.log" | cut -c1-80))"
        else
            sleep "$ATTACH_SECONDS"
            # Under a slow tool a window (at least one round of the workload) may outlast the
            # attach: it stays attached until two windows are whole (at most 40 s).
            while (($(windows_between "$from" "$(now_ns)") < 2)) && (($(now_ns) - from < 40000000000)); do sleep 0.5; done
        fi
        to=$(now_ns)
        kill -INT "$tool_pid" 2>/dev/null || true
        wait "$tool_pid" || true
        exited=$(now_ns)
        # heaptrack -p leaves its helpers waiting on the target.
        kill -TERM -- "-$tool_pid" 2>/dev/null || true
        stop_s=$(awk -v a="$to" -v b="$exited" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
        # memprof: "…; allocator slots restored in 0.31 s"
        restored=$(grep -oE 'allocator slots restored in [0-9.]+ s' "$tmp/tool.log" | grep -oE '[0-9.]+' || echo "-")
        if [[ $status == ok && $tool == heaptrack-attach ]] && ! compgen -G "$tmp/attach.heaptrack.*" >/dev/null; then
            status="failed: heaptrack wrote no data"
        elif [[ $status == ok && $tool == memprof-* && ! -s "$tmp/attach.memprof" ]]; then
            status="failed: no recording written"
        elif [[ $status == ok && $tool == memprof-attach ]] && ! grep -q "in-process sampling injected" "$tmp/tool.log"; then
            status="failed: not injected ($(grep -oE 'attach by injection not possible \([^)]*' "$tmp/tool.log" | head -1 | cut -c1-90))"
        elif [[ $status == ok && $tool == memprof-attach-exact ]] && ! grep -q "events through shared rings" "$tmp/tool.log"; then
            status="failed: no shared rings ($(grep -oE 'shared rings not used \([^)]*' "$tmp/tool.log" | head -1 | cut -c1-90))"
        elif [[ $status == ok && $tool == memprof-attach-exact* ]] && grep -q "events LOST" "$tmp/tool.log"; then
            status="failed: $(grep -oE '[0-9,]+ events LOST' "$tmp/tool.log" | head -1)"
        fi
    fi
    sleep 0.5
    kill -0 "$target_pid" 2>/dev/null || status="failed: the target died ($(tail -1 "$tmp/target.err" | cut -c1-80))"
    kill "$target_pid" 2>/dev/null || true
    wait "$target_pid" 2>/dev/null || true
    windows=$(windows_between "$from" "$to")
    ((windows > 0)) || [[ $status != ok ]] || status="failed: no whole window while attached"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$tool" "$(median_window "$tmp/target.out" "$from" "$to" 4)" \
        "$(median_window "$tmp/target.out" "$from" "$to" 5)" "$attach_s" "$stop_s" "$restored" "$windows" "$status" >>"$tmp/attach.results"
    log "attach $wl $(attach_label "$tool"): attached after ${attach_s} s, stopped in ${stop_s} s — $status"
}

# uprobe_hit_ns: the cost of one uprobe hit on this machine: allocs bench (one malloc per pair)
# with an empty bpftrace uprobe on malloc of a private copy of libc, against the same run without.
uprobe_hit_ns() {
    local pairs=200000 plain probed
    plain=$(env LD_LIBRARY_PATH="$naive_lib" "$allocs" bench "$pairs" | awk '$1 == "ns_per_pair" {print $2}')
    bpftrace -e "uprobe:$naive_lib/libc.so.6:malloc { }" -c "/usr/bin/env LD_LIBRARY_PATH=$naive_lib $allocs bench $pairs" \
        >"$tmp/uprobe.out" 2>&1 || true
    probed=$(awk '$1 == "ns_per_pair" {print $2}' "$tmp/uprobe.out")
    awk -v a="$plain" -v b="$probed" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.0f", b - a }'
}

attach_table() {
    : >"$tmp/attach.results"
    local wl tool rep
    for ((rep = 1; rep <= reps; rep++)); do
        for wl in micro workload; do
            for tool in "${ATTACH_TOOLS[@]}"; do attach_once "$wl" "$tool"; done
        done
    done
    local hit; hit=$(uprobe_hit_ns)
    echo
    echo "Attach: the target started alone, warmed up ${ATTACH_WARMUP_S} s, then attached to for ${ATTACH_SECONDS} s (median of $reps run(s);"
    echo "slowdown: the target's median ${ATTACH_WINDOW_MS} ms window while attached / its median window unattached, same run;"
    echo "CPU: the target thread's CPU time per unit of work, wall: elapsed time per unit)"
    echo
    echo "| workload | tool | slowdown (CPU) | slowdown (wall) | CPU per unit | wall per unit | attach s | stop s | slots restored s | windows |"
    echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
    local wall_base cpu_base unit
    for wl in micro workload; do
        unit=$([[ $wl == micro ]] && echo "ns/pair" || echo "ms/round")
        wall_base=$(attach_median "$wl" none 3); cpu_base=$(attach_median "$wl" none 4)
        for tool in "${ATTACH_TOOLS[@]}"; do
            local bad; bad=$(awk -F'\t' -v wl="$wl" -v t="$tool" '$1 == wl && $2 == t && $9 != "ok" {print $9; exit}' "$tmp/attach.results")
            if [[ -n "$bad" ]]; then echo "| $wl | $(attach_label "$tool") | $bad | | | | | | | |"; continue; fi
            local wall cpu; wall=$(attach_median "$wl" "$tool" 3); cpu=$(attach_median "$wl" "$tool" 4)
            echo "| $wl | $(attach_label "$tool") | $(ratio "$cpu" "$cpu_base" "%.2fx") | $(ratio "$wall" "$wall_base" "%.2fx") |" \
                "$(per_unit "$wl" "$cpu") $unit | $(per_unit "$wl" "$wall") $unit | $(attach_median "$wl" "$tool" 5) | $(attach_median "$wl" "$tool" 6) |" \
                "$(attach_median "$wl" "$tool" 7) | $(attach_median "$wl" "$tool" 8) |"
        done
    done
    echo
    echo "attach s: from starting the tool to its saying it is attached. stop s: from SIGINT to the tool's exit"
    echo "(memprof: detach, drain, write the recording; heaptrack: detach and interpret). slots restored s:"
    echo "memprof putting the target's allocator slots back (the target runs unredirected from then on)."
    echo "one uprobe hit on this machine: ${hit} ns (an empty bpftrace uprobe on malloc, allocs bench with and without it)"
    local micro_ratio workload_ratio
    micro_ratio=$(ratio "$(attach_median micro memprof-attach 4)" "$(attach_median micro none 4)" "%.2f")
    workload_ratio=$(ratio "$(attach_median workload memprof-attach 4)" "$(attach_median workload none 4)" "%.3f")
    echo "memprof attach (auto), CPU: micro ${micro_ratio}x (target <= 2x), workload ${workload_ratio}x (target <= 1.1x), slots restored in $(attach_median micro memprof-attach 7) / $(attach_median workload memprof-attach 7) s (target < 1 s)"
}

# per_unit WL VALUE: ns per pair as is, ns per round as ms.
per_unit() {
    if [[ $1 == micro || $2 == "-" ]]; then echo "$2"; else awk -v v="$2" 'BEGIN {printf "%.1f", v / 1e6}'; fi
}

# attach_median WL TOOL COLUMN: the median of a column over the repetitions.
attach_median() {
    awk -F'\t' -v wl="$1" -v t="$2" -v c="$3" '$1 == wl && $2 == t && $c != "-" {print $c}' "$tmp/attach.results" | sort -g |
        awk '{v[NR] = $1} END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
