#!/usr/bin/env bash
# Safety soak for attach by injection: `memprof record --pid P --mode inject` attached and
# detached N times (default 100, each its own memprof process) to a server whose 16 threads
# allocate without pause while short-lived threads start and end (the integration test's
# churn_server.c, which checks every block's contents before freeing it). Fails at the first
# cycle that does not exit 0, does not say it injected, or leaves the server dead; at the end
# the server must stop cleanly with its own checks passed. Prints the time per cycle.
#
# Needs root (eBPF, ptrace).   usage: sudo bench/attach-cycles.sh [CYCLES]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cycles="${1:-100}"
[[ "$cycles" =~ ^[1-9][0-9]*$ ]] || { echo "usage: sudo bench/attach-cycles.sh [CYCLES]" >&2; exit 64; }
[[ $(id -u) -eq 0 ]] || { echo "bench/attach-cycles.sh needs root (eBPF, ptrace)" >&2; exit 77; }

work="$(mktemp -d)"
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill -9 "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cc -Wall -Wextra -Werror -O2 -pthread -o "$work/churn_server" "$root/tests/Profiler.Integration.Tests/Inject/churn_server.c"
"$root/memprof" --help >/dev/null # builds memprof first, outside the timing

"$work/churn_server" 16 "$work/stop" >"$work/out" 2>"$work/err" </dev/null &
server_pid=$!
until grep -q ready "$work/out"; do sleep 0.01; done

start=$(date +%s.%N)
for ((i = 1; i <= cycles; i++)); do
    if ! "$root/memprof" record --mode inject --pid "$server_pid" --duration 300ms --no-firefox \
            -o "$work/cycle.memprof" >"$work/cycle.log" 2>&1 \
        || ! grep -q "in-process sampling injected" "$work/cycle.log"; then
        echo "cycle $i failed:" >&2; cat "$work/cycle.log" >&2; exit 1
    fi
    kill -0 "$server_pid" 2>/dev/null || { echo "cycle $i: the server died: $(cat "$work/err")" >&2; exit 1; }
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)

touch "$work/stop"
rc=0; wait "$server_pid" || rc=$?
server_pid=""
cat "$work/out"
[[ $rc -eq 0 && ! -s "$work/err" ]] || { echo "the server exited $rc: $(cat "$work/err")" >&2; exit 1; }
printf '%d attach/detach cycles in %.1f s: %.2f s per cycle, server intact\n' "$cycles" "$elapsed" "$(echo "$elapsed / $cycles" | bc -l)"
