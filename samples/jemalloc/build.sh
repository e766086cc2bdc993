#!/usr/bin/env bash
# Builds jemalloc from Debian's source package the way tikv-jemalloc-sys does: prefixed public
# symbols (_rjem_malloc …) and private namespace (_rjem_je_…), static. Two builds: without and
# with profiling. Results are cached under samples/jemalloc/build/ (rerunning is instant).
#
#   samples/jemalloc/build.sh         builds build/{noprof,prof}/lib/libjemalloc_pic.a (cached)
#   samples/jemalloc/build.sh --print-dir FLAVOR   prints the cached install directory of FLAVOR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$HERE/build"

if [[ "${1:-}" == "--print-dir" ]]; then
    echo "$BUILD/${2:?flavor}"
    exit 0
fi

# shellcheck source=samples/deb-src.sh
. "$(dirname "${BASH_SOURCE[0]}")/../deb-src.sh"

# The sources of the jemalloc Debian ships, fetched once.
ensure_source() {
    local src
    src=$(ls -d "$BUILD"/src/jemalloc-*/ 2>/dev/null | head -1 || true)
    if [[ -n "$src" && -f "$src/configure.ac" ]]; then
        echo "${src%/}"
        return
    fi
    ensure_deb_src jemalloc
    mkdir -p "$BUILD/src"
    (cd "$BUILD/src" && apt-get source --download-only jemalloc >&2 && dpkg-source -x --no-check ./jemalloc_*.dsc >&2)
    src=$(ls -d "$BUILD"/src/jemalloc-*/ | head -1)
    echo "${src%/}"
}

# build FLAVOR EXTRA_CONFIGURE_ARGS...
build() {
    local flavor="$1"
    shift
    local out="$BUILD/$flavor"
    if [[ -f "$out/lib/libjemalloc_pic.a" && -f "$out/.done" ]]; then
        echo "up to date: jemalloc $flavor"
        return
    fi
    local src
    src=$(ensure_source)
    local work="$BUILD/work-$flavor"
    rm -rf "$work" "$out"
    mkdir -p "$work"
    # Debian's tarball ships configure; regenerate it only if missing.
    [[ -x "$src/configure" ]] || (cd "$src" && autoconf >&2)
    (cd "$work" && "$src/configure" --quiet --prefix="$out" \
        --with-jemalloc-prefix=_rjem_ --with-private-namespace=_rjem_ \
        --disable-cxx --disable-shared --enable-static --disable-initial-exec-tls \
        --with-version=5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c \
        "$@" >&2 && make -s -j"$(nproc)" build_lib_static >&2 && make -s install_include install_lib_static >&2)
    touch "$out/.done"
    echo "built: jemalloc $flavor"
}

build noprof
build prof --enable-prof
