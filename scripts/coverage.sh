#!/usr/bin/env bash
# How many lines of the Linux collector (collectors/Profiler.Collectors.Linux) the tests that run
# without root (tests/Profiler.Tests) execute: coverlet counts them, scripts/coverage-summary.py
# prints the total and one row per source file, so the figure can be quoted before and after a
# change. A measurement, not a test: scripts/test.sh and CI do not run it.
#
#   scripts/coverage.sh                          build, run the whole pure suite, summarise
#   scripts/coverage.sh --no-build               use the current Release build
#   scripts/coverage.sh --filter "FullyQualifiedName~Collector"   only some tests
#   scripts/coverage.sh --keep DIR               also keep the Cobertura XML in DIR
#
# The run instruments the Release build of tests/Profiler.Tests in place (coverlet restores the
# assemblies afterwards): do not run the pure tests from the same checkout at the same time.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build=1; keep=""; test_args=()
while (($#)); do
    case "$1" in
        --no-build) build=0; shift ;;
        --filter) test_args+=(--filter "${2:?--filter needs an expression}"); shift 2 ;;
        --keep) keep="${2:?--keep needs a directory}"; shift 2 ;;
        -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: scripts/coverage.sh [--no-build] [--filter EXPR] [--keep DIR]" >&2; exit 64 ;;
    esac
done

assembly=Profiler.Collectors.Linux
results="$(mktemp -d /tmp/memprof-coverage.XXXXXX)"
trap 'rm -rf "$results"' EXIT

if ((build)); then
    dotnet build tests/Profiler.Tests -c Release --nologo -v quiet -clp:ErrorsOnly || exit 1
fi

# The settings after "--" are runsettings entries for coverlet's data collector: measure only the
# collector's assembly, write Cobertura.
collector=DataCollectionRunSettings.DataCollectors.DataCollector.Configuration
dotnet test tests/Profiler.Tests -c Release --no-build --nologo "${test_args[@]}" \
    --collect:"XPlat Code Coverage" --results-directory "$results" \
    -- "$collector.Include=[$assembly]*" "$collector.Format=cobertura" >"$results/test.log" 2>&1
test_status=$?
grep -E "(Passed|Failed)! +- +Failed:" "$results/test.log" || tail -n 30 "$results/test.log"
((test_status == 0)) || echo "coverage: some tests failed; the figures below count what ran." >&2

report=$(find "$results" -name coverage.cobertura.xml | head -n 1)
[[ -n "$report" ]] || { echo "coverage: no Cobertura report was written" >&2; tail -n 30 "$results/test.log" >&2; exit 1; }
if [[ -n "$keep" ]]; then mkdir -p "$keep" && cp "$report" "$keep/"; fi
python3 scripts/coverage-summary.py "$report" "collectors/$assembly" || exit 1
exit "$test_status"
