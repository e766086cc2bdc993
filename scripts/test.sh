#!/usr/bin/env bash
# Runs every test: the pure tests anywhere, the eBPF integration tests as root.
# Ends with one line "N passed, N failed, N skipped" summing all runs.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-deps.sh || exit 1
samples/build.sh || exit 1
dotnet build Profiler.sln -c Release --nologo -v quiet -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }
# The memprof users run (`./memprof`, compiled ahead of time to native code): the tests that start
# memprof as a process of its own run it.
./memprof --version >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
if [[ ! -f .build/memprof/memprof.dll ]]; then export MEMPROF_EXECUTABLE="$root/.build/memprof/memprof"; fi

passed=0; failed=0; skipped=0; status=0
for project in tests/Profiler.Tests tests/Profiler.Viewer.Tests tests/Profiler.Integration.Tests; do
    log=$(mktemp)
    dotnet test "$project" -c Release --no-build --nologo 2>&1 | tee "$log"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
    # "Passed!  - Failed:     0, Passed:    42, Skipped:     0, Total:    42"
    line=$(grep -E "(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+" "$log" | tail -1)
    if [[ -z "$line" ]]; then status=1; failed=$((failed + 1)); rm -f "$log"; continue; fi
    f=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line")
    p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")
    s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    rm -f "$log"
done
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 && $status -eq 0 ]]
