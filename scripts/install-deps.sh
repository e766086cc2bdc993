#!/usr/bin/env bash
# Installs what memprof, its samples and its tests need on a Debian/Ubuntu machine.
# Idempotent: installs only what is missing.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# libbpf1: the collector's kernel interface. binutils: c++filt/addr2line/readelf oracles in tests.
# clang-14 + libbpf-dev + llvm-14: only to check that the committed BPF object rebuilds identically.
# golang-go: `go tool pprof` checks the pprof export. gdb: the unwinder's oracle (`bt`).
# elfutils: eu-addr2line, a second symbolization oracle. tmux: the terminal UI's end-to-end test.
# g++, libc6-dbg, libstdc++6-12-dbg: C++ test programs and separate debug info for the DWARF tests.
# libjemalloc2/-dev: the dynamically linked jemalloc sample; dpkg-dev, autoconf, make: building
# jemalloc 5.3.0 from Debian's source package for the statically linked samples.
# ripgrep: a real stripped Debian program whose stacks the stack-completeness test unwinds.
# redis-server + redis-tools: a real Debian program over libjemalloc.so.2 with profiling compiled in,
# driven by redis-benchmark: recorded on launch and injected into on attach.
for pkg in ripgrep libbpf1 binutils gcc g++ make clang-14 llvm-14 libbpf-dev linux-libc-dev golang-go gdb elfutils tmux libc6-dbg libstdc++6-12-dbg libjemalloc2 libjemalloc-dev dpkg-dev autoconf redis-server redis-tools; do
    have "$pkg" || need+=("$pkg")
done
# npm installs the Firefox Profiler's own loader (and the Node 24 it needs) for the tests.
command -v npm >/dev/null || need+=(npm)
if ((${#need[@]})); then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "install-deps: cargo (Rust) is needed to build the samples" >&2; exit 1; }
command -v dotnet >/dev/null || { echo "install-deps: the .NET 10 SDK is needed" >&2; exit 1; }
