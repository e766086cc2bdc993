#!/usr/bin/env bash
# Builds every sample variant into samples/bin/.
#
#   samples/build.sh            build all variants (incremental: fast when up to date)
#   samples/build.sh NAME...    build only the named variants (e.g. allocs-fp)
#   samples/build.sh --list     list the variant names
#
# Each variant is one small function `variant_<name>` (dashes become underscores) that is
# listed in VARIANTS; each uses its own cargo --target-dir, so variants built with different
# RUSTFLAGS never invalidate each other's build cache.
set -euo pipefail

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN_DIR="$SAMPLES_DIR/bin"
ALLOCS_DIR="$SAMPLES_DIR/rust/allocs"
IDIOMS_DIR="$SAMPLES_DIR/rust/idioms"

VARIANTS=(allocs-fp allocs-nofp allocs-nofp-nodebug idioms-fp idioms-nofp workload allocs-jemalloc allocs-jemalloc-prof allocs-jemalloc-dyn stress signal-storm many-threads ripgrep dotnet)

# build_rust CRATE_DIR BIN_NAME VARIANT RUSTFLAGS [extra cargo args...]
# Release-builds BIN_NAME of the crate at CRATE_DIR with RUSTFLAGS into
# CRATE_DIR/target/VARIANT, and installs it as bin/VARIANT (only if it changed).
build_rust() {
    local crate_dir="$1" bin_name="$2" variant="$3" rustflags="$4"
    shift 4
    local target_dir="$crate_dir/target/$variant"
    RUSTFLAGS="$rustflags" cargo build --quiet --release --offline --locked \
        --manifest-path "$crate_dir/Cargo.toml" --target-dir "$target_dir" \
        --bin "$bin_name" "$@"
    install_bin "$target_dir/release/$bin_name" "$variant"
}

# install_bin SRC VARIANT: copies SRC to bin/VARIANT unless identical; reports what it did.
install_bin() {
    local src="$1" dest="$BIN_DIR/$2"
    mkdir -p "$BIN_DIR"
    if [[ -f "$dest" ]] && cmp -s "$src" "$dest"; then
        echo "up to date: bin/$2"
    else
        cp -f "$src" "$dest.tmp"
        mv -f "$dest.tmp" "$dest"
        echo "built: bin/$2"
    fi
}

# --- variants ------------------------------------------------------------------------------

# allocs with frame pointers in every function the crate compiles (glibc malloc).
variant_allocs_fp() {
    build_rust "$ALLOCS_DIR" allocs allocs-fp "-C force-frame-pointers=yes"
}

# allocs as a plain `cargo build --release`: no frame pointers, line tables (debug = 1).
variant_allocs_nofp() {
    build_rust "$ALLOCS_DIR" allocs allocs-nofp ""
}

# allocs without frame pointers and without any DWARF (debug = 0): symbols and CFI only.
variant_allocs_nofp_nodebug() {
    CARGO_PROFILE_RELEASE_DEBUG=0 build_rust "$ALLOCS_DIR" allocs allocs-nofp-nodebug ""
}

# idioms (rust/idioms, std collections as programs use them) with and without frame pointers,
# each with its calibrating twin bin/VARIANT-calibrate, which `idioms --manifest` runs.
build_idioms() {
    local variant="$1" rustflags="$2"
    build_rust "$IDIOMS_DIR" idioms "$variant" "$rustflags" --bin idioms-calibrate
    install_bin "$IDIOMS_DIR/target/$variant/release/idioms-calibrate" "$variant-calibrate"
}

variant_idioms_fp() {
    build_idioms idioms-fp "-C force-frame-pointers=yes"
}

variant_idioms_nofp() {
    build_idioms idioms-nofp ""
}

# workload (rust/workload, the overhead benchmark's realistic program) with frame pointers.
variant_workload() {
    build_rust "$SAMPLES_DIR/rust/workload" workload workload "-C force-frame-pointers=yes"
}

# allocs on jemalloc 5.3.0 as tikv-jemallocator links it: static, _rjem_-prefixed, without
# profiling (jemalloc itself is built once and cached by jemalloc/build.sh).
variant_allocs_jemalloc() {
    "$SAMPLES_DIR/jemalloc/build.sh" >/dev/null
    RJEM_LIB_DIR="$("$SAMPLES_DIR/jemalloc/build.sh" --print-dir noprof)/lib" \
        build_rust "$ALLOCS_DIR" allocs allocs-jemalloc "-C force-frame-pointers=yes" --features jemalloc
}

# The same with jemalloc's profiling compiled in (--enable-prof).
variant_allocs_jemalloc_prof() {
    "$SAMPLES_DIR/jemalloc/build.sh" >/dev/null
    RJEM_LIB_DIR="$("$SAMPLES_DIR/jemalloc/build.sh" --print-dir prof)/lib" \
        build_rust "$ALLOCS_DIR" allocs allocs-jemalloc-prof "-C force-frame-pointers=yes" --features jemalloc
}

# allocs on Debian's libjemalloc.so.2 (unprefixed, dynamically linked).
variant_allocs_jemalloc_dyn() {
    build_rust "$ALLOCS_DIR" allocs allocs-jemalloc-dyn "-C force-frame-pointers=yes" --features jemalloc-dyn
}

# stress (c/stress.c): threads, fork, exec, dlopen and allocating signal handlers, in C.
variant_stress() {
    local out="$SAMPLES_DIR/c/build"
    mkdir -p "$out"
    cc -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o "$out/stress" "$SAMPLES_DIR/c/stress.c" -ldl -lpthread
    install_bin "$out/stress" stress
}

# signal-storm (c/signal_storm.c): a main thread interrupted all the time by signal handlers that
# allocate above the per-thread cache; counts every queued signal it was sent.
variant_signal_storm() {
    local out="$SAMPLES_DIR/c/build"
    mkdir -p "$out"
    cc -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o "$out/signal-storm" "$SAMPLES_DIR/c/signal_storm.c" -lpthread
    install_bin "$out/signal-storm" signal-storm
}

# many-threads (c/many_threads.c): more threads allocating at once than memprof has shared rings.
variant_many_threads() {
    local out="$SAMPLES_DIR/c/build"
    mkdir -p "$out"
    cc -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o "$out/many-threads" "$SAMPLES_DIR/c/many_threads.c" -lpthread
    install_bin "$out/many-threads" many-threads
}

# ripgrep 13 from Debian's source package with symbols and line tables (build-ripgrep.sh): a
# real program nobody here wrote. Cached: a few minutes the first time, instant after.
variant_ripgrep() {
    "$SAMPLES_DIR/build-ripgrep.sh"
}

# dotnet (dotnet/app, C#) calling the Rust cdylib dotnet/rustlib through [LibraryImport]: a plain
# `cargo build --release` of the library (no frame pointers, line tables) and a Release build of
# the program, together in bin/dotnet/ (the program is bin/dotnet/DotnetSample).
variant_dotnet() {
    local rustlib="$SAMPLES_DIR/dotnet/rustlib" out="$SAMPLES_DIR/dotnet/build"
    command -v dotnet >/dev/null || { echo "build.sh: dotnet not found (the .NET 10 SDK)" >&2; exit 1; }
    cargo build --quiet --release --offline --locked --manifest-path "$rustlib/Cargo.toml" --target-dir "$rustlib/target"
    dotnet build "$SAMPLES_DIR/dotnet/app/DotnetSample.csproj" -c Release --nologo -v quiet -clp:ErrorsOnly \
        -o "$out" >/dev/null
    cp -f "$rustlib/target/release/librustlib.so" "$out/librustlib.so"
    mkdir -p "$BIN_DIR/dotnet"
    local file changed=0
    for file in "$out"/*; do
        if ! cmp -s "$file" "$BIN_DIR/dotnet/$(basename "$file")"; then
            cp -f "$file" "$BIN_DIR/dotnet/"
            changed=1
        fi
    done
    ((changed)) && echo "built: bin/dotnet" || echo "up to date: bin/dotnet"
}

# -------------------------------------------------------------------------------------------

main() {
    command -v cargo >/dev/null || { echo "build.sh: cargo not found" >&2; exit 1; }
    if [[ "${1:-}" == "--list" ]]; then
        printf '%s\n' "${VARIANTS[@]}"
        return
    fi
    local selected=("$@")
    ((${#selected[@]})) || selected=("${VARIANTS[@]}")
    local v fn
    for v in "${selected[@]}"; do
        fn="variant_${v//-/_}"
        if ! declare -F "$fn" >/dev/null; then
            echo "build.sh: unknown variant '$v' (known: ${VARIANTS[*]})" >&2
            exit 2
        fi
        "$fn"
    done
}

main "$@"
