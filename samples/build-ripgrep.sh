#!/usr/bin/env bash
# Builds ripgrep — a real Rust program nobody here wrote — from Debian's source package, with
# symbols and line tables, into samples/bin/rg. Debian's own rg is stripped and its debug
# package is not in the archive, so memprof could name none of its functions.
#
# The crates come from Debian too: the source package's librust-*-dev build dependencies put
# them under /usr/share/cargo/registry, which cargo reads as a directory source (as dh-cargo
# does), offline. Any cargo of Rust >= 1.63 works; the build uses the cargo on PATH.
#
#   samples/build-ripgrep.sh    build bin/rg (cached: rerunning is instant once built)
#
# Work files (source, cargo target) stay under samples/bin/ripgrep-build/, which is git-ignored.
set -euo pipefail

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN_DIR="$SAMPLES_DIR/bin"
WORK="$BIN_DIR/ripgrep-build"
REGISTRY=/usr/share/cargo/registry

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"

log() { echo "build-ripgrep: $*" >&2; }

# shellcheck source=samples/deb-src.sh
. "$(dirname "${BASH_SOURCE[0]}")/deb-src.sh"

# Unpacks the source package once; prints the source directory.
ensure_source() {
    local dsc
    dsc=$(ls "$WORK"/rust-ripgrep_*.dsc 2>/dev/null | head -1 || true)
    if [[ -z "$dsc" ]]; then
        ensure_deb_src ripgrep
        mkdir -p "$WORK"
        local out
        out=$(cd "$WORK" && apt-get source --download-only ripgrep 2>&1) || { log "apt-get source ripgrep failed:"; echo "$out" >&2; exit 1; }
        dsc=$(ls "$WORK"/rust-ripgrep_*.dsc | head -1)
    fi
    local src="${dsc%.dsc}"
    src="$WORK/$(basename "${src%-*}" | sed 's/_/-/')"
    if [[ ! -f "$src/.unpacked" ]]; then
        rm -rf "$src"
        (cd "$WORK" && dpkg-source --no-check -x "$(basename "$dsc")" >/dev/null)
        # Debian's grep crate has no simd-accel feature (its packaging dropped it); current cargo
        # refuses a manifest whose feature names a missing one, Debian's old cargo did not.
        sed -i '/^simd-accel = /d' "$src/Cargo.toml"
        # The lock names crates.io's versions; Debian's registry has its own.
        rm -f "$src/Cargo.lock"
        touch "$src/.unpacked"
    fi
    echo "$src"
}

# The librust-*-dev packages the source package builds with (only those: not Debian's own
# rustc/cargo, debhelper or the man-page tool chain).
install_crates() {
    local dsc="$1"
    local crates
    crates=$(sed -n '/^Build-Depends:/{s/^Build-Depends://;p;q}' "$dsc" | tr ',' '\n' |
        sed -E 's/\(.*\)//; s/\[.*\]//; s/:native//; s/[[:space:]]//g' | grep '^librust-' || true)
    [[ -n "$crates" ]] || { log "no librust build dependencies found in $dsc"; exit 1; }
    # shellcheck disable=SC2086
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $crates >/dev/null 2>&1; then
        $SUDO apt-get update -qq >&2
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $crates >/dev/null
    fi
}

main() {
    command -v cargo >/dev/null || { log "cargo not found"; exit 1; }
    command -v dpkg-source >/dev/null || { log "dpkg-source not found (apt-get install dpkg-dev)"; exit 1; }
    local src dsc stamp
    src=$(ensure_source)
    dsc=$(ls "$WORK"/rust-ripgrep_*.dsc | head -1)
    stamp="$WORK/.built-$(basename "$dsc" .dsc)"
    if [[ -x "$BIN_DIR/rg" && -f "$stamp" ]] && cmp -s "$WORK/target/release/rg" "$BIN_DIR/rg"; then
        echo "up to date: bin/rg"
        return
    fi
    local started=$SECONDS
    install_crates "$dsc"
    log "building $(basename "$src") against $REGISTRY (takes a few minutes)"
    # Release as Debian builds it, plus line tables (debug = 1) and no stripping; the crates'
    # own lint warnings are not ours to read. GIT_DIR: ripgrep's build script would stamp this
    # repository's commit into `rg --version`.
    GIT_DIR=/nonexistent RUSTFLAGS="--cap-lints allow" CARGO_PROFILE_RELEASE_DEBUG=1 CARGO_PROFILE_RELEASE_STRIP=false \
        cargo build --quiet --release --offline \
        --config 'source.crates-io.replace-with="debian-registry"' \
        --config "source.debian-registry.directory=\"$REGISTRY\"" \
        --manifest-path "$src/Cargo.toml" --target-dir "$WORK/target" --bin rg
    cp -f "$WORK/target/release/rg" "$BIN_DIR/rg.tmp"
    mv -f "$BIN_DIR/rg.tmp" "$BIN_DIR/rg"
    touch "$stamp"
    echo "built: bin/rg ($((SECONDS - started)) s)"
}

main "$@"
