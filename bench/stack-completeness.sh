#!/usr/bin/env bash
# How complete memprof's sampled stacks are on real programs: records each one doing real work
# and prints, per program, the share of sampled stacks that reach the program's entry or a
# thread's start (by their symbols), the share the collector marked complete, and where the cut
# stacks end.
#
#   sudo bench/stack-completeness.sh                 # every program, memprof's defaults
#   sudo bench/stack-completeness.sh rg bat          # only these
#   MEMPROF_ARGS="--mode probe" sudo bench/stack-completeness.sh
#
# Needs root (eBPF); installs bat, sd, exa, ripgrep and cppcheck with apt-get when missing.
# MEMPROF names the memprof command to run (default: ./memprof of this checkout), e.g.
# MEMPROF="dotnet /some/build/memprof.dll".
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
read -r -a memprof <<< "${MEMPROF:-$root/memprof}"
read -r -a extra <<< "${MEMPROF_ARGS:-}"
out="$(mktemp -d /tmp/memprof-stacks.XXXXXX)"
trap 'rm -rf "$out"' EXIT

need=()
for pkg_cmd in bat:batcat sd:sd exa:exa ripgrep:rg cppcheck:cppcheck; do
    command -v "${pkg_cmd#*:}" >/dev/null || need+=("${pkg_cmd%%:*}")
done
if (( ${#need[@]} )); then
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

big_c=/usr/include/sqlite3.h
[[ -f "$big_c" ]] || big_c="$(find /usr/include -name '*.h' -size +100k | head -n 1)"
# sd replaces in a file of a few MB, so that it allocates more than a handful of times.
for _ in $(seq 8); do cat "$big_c"; done > "$out/sd-input.h"

cat > "$out/work.py" <<'PY'
import json, threading, collections
def work(n):
    words = collections.Counter()
    for i in range(n):
        record = {"id": i, "name": "item%d" % i, "tags": [str(j) * (i % 7) for j in range(i % 13)]}
        words.update(json.loads(json.dumps(record))["tags"])
    return words
threads = [threading.Thread(target=work, args=(20000,)) for _ in range(2)]
for t in threads: t.start()
print(sum(work(30000).values()))
for t in threads: t.join()
PY

declare -A programs=(
    [rg]="rg --no-messages -c alloc /usr/share/doc /usr/include"
    [bat]="batcat --color=always --paging=never $big_c"
    [sd]="sd int long $out/sd-input.h"
    [exa]="exa -lR /usr/share/doc"
    [python3]="/usr/bin/python3 $out/work.py"
    [cppcheck]="cppcheck --quiet --enable=warning $root/collectors/preload/memprof_preload.c $root/collectors/bpf/memprof.bpf.c"
)
order=(rg bat sd exa python3 cppcheck)
(( $# )) && order=("$@")

recordings=()
for name in "${order[@]}"; do
    [[ -n "${programs[$name]:-}" ]] || { echo "unknown program $name (known: ${!programs[*]})" >&2; exit 64; }
    eval "command=(${programs[$name]})"
    # shellcheck disable=SC2154 # set by the eval above
    "${memprof[@]}" record --no-firefox "${extra[@]}" -o "$out/$name.memprof" -- "${command[@]}" >/dev/null 2>"$out/$name.log" ||
        { echo "$name: recording failed:" >&2; cat "$out/$name.log" >&2; exit 1; }
    recordings+=("$out/$name.memprof")
done

dotnet build "$root/bench/stacks" -c Release --nologo -v quiet -clp:ErrorsOnly >/dev/null
dotnet "$root/bench/stacks/bin/Release/net10.0/StackCompleteness.dll" "${recordings[@]}"
