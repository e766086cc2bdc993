#!/usr/bin/env bash
# The main job on a built-in sample: records `allocs-nofp heavy` — a plain `cargo build --release`
# (no frame pointers) allocating about 10 GiB — at the default sampling rate with DWARF-unwound
# stacks, writes out/allocs.memprof and the Firefox profile out/allocs.json.gz, and prints the
# report. Needs root (eBPF).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-deps.sh
samples/build.sh allocs-nofp
mkdir -p out
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
$SUDO ./memprof record -o out/allocs.memprof -- samples/bin/allocs-nofp heavy
./memprof report out/allocs.memprof
echo
echo "Open out/allocs.json.gz at https://profiler.firefox.com/ (\"Load a profile from file\")."
