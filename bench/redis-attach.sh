#!/usr/bin/env bash
# Debian's redis-server (over libjemalloc.so.2) attached to while redis-benchmark drives it:
# requests per second with memprof record --pid attached (the sampler injected) at the default
# rate, at --rate 1 through the shared rings, and at --rate 1 with a trap per event
# (MEMPROF_RINGS=off), against the same server unattached in the same run; events recorded and lost.
#   usage: sudo bench/redis-attach.sh [REQUESTS]     (default 50000 per run, three runs per row)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requests=${1:-50000}
memprof="$root/memprof"
tmp=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
"$memprof" --help >/dev/null 2>&1   # builds once, outside the timings

redis-server --port "$port" --save "" --appendonly no --daemonize no >"$tmp/server.log" 2>&1 &
server_pid=$!
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done

# rps: redis-benchmark's requests per second over SET and GET (the mean of both), the median of
# three runs (a single run on a shared machine varies by a factor of several).
rps_once() {
    redis-benchmark -p "$port" -q -n "$requests" -t set,get -d 256 -r 100000 -P 8 2>/dev/null | tr '\r' '\n' |
        awk -F'[:]' '/requests per second/ {split($2, w, " "); sum += w[1]; n++} END {printf "%.0f\n", n ? sum / n : 0}'
}
rps() { { rps_once; rps_once; rps_once; } | sort -g | sed -n 2p; }

rps >/dev/null   # warm-up: the keyspace filled
base=$(rps)
printf '%-52s %10s rps  %6s\n' "unattached" "$base" "1.00x"

measure() { # label, then memprof's extra arguments (an env assignment first, if any)
    local label=$1; shift
    local envs=()
    while [[ $# -gt 0 && $1 == *=* ]]; do envs+=("$1"); shift; done
    env --default-signal=INT "${envs[@]}" setsid "$memprof" record --pid "$server_pid" --no-firefox -o "$tmp/r.memprof" "$@" >"$tmp/tool.log" 2>&1 &
    local tool=$! waited=0
    until grep -q ", probes: " "$tmp/tool.log" || ((waited > 1200)) || ! kill -0 "$tool" 2>/dev/null; do sleep 0.05; waited=$((waited + 1)); done
    local r; r=$(rps)
    kill -INT "$tool" 2>/dev/null || true
    wait "$tool" || true
    local events lost rings
    events=$(grep -oE 'recorded [0-9,]+ events' "$tmp/tool.log" | tr -dc 0-9 || true)
    lost=$(grep -oE '[0-9,]+ events LOST' "$tmp/tool.log" | tr -dc 0-9 || true)
    rings=$(grep -q "events through shared rings" "$tmp/tool.log" && echo rings || echo markers)
    printf '%-52s %10s rps  %6sx slower  events %-9s lost %-8s %s\n' "$label" "$r" \
        "$(awk -v a="$base" -v b="$r" 'BEGIN {printf "%.2f", a / b}')" "${events:--}" "${lost:-0}" "$rings"
}

measure "memprof --pid (default rate)"
measure "memprof --pid --rate 1 (shared rings)" --rate 1
measure "memprof --pid --rate 1 (MEMPROF_RINGS=off: a trap per event)" MEMPROF_RINGS=off --rate 1
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
