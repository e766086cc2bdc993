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

VARIANTS=(allocs-fp allocs-nofp allocs-nofp-nodebug)

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
