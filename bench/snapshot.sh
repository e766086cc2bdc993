# Sourced by the bench scripts: a copy of a memprof build, run the way that build runs, so that
# source edits (and rebuilds) during a run change nothing.
# snapshot_memprof BUILD_DIR DEST: copies BUILD_DIR to DEST/memprof-build and writes DEST/memprof,
# which runs it: the native executable `./memprof` builds, or memprof.dll through dotnet for a
# managed build (an older one, or one made without a C toolchain).
snapshot_memprof() {
    local build="$1" dest="$2"
    cp -r "$build" "$dest/memprof-build"
    if [[ -f "$dest/memprof-build/memprof.dll" ]]; then
        printf '#!/bin/sh\nexec dotnet "%s" "$@"\n' "$dest/memprof-build/memprof.dll" >"$dest/memprof"
    else
        printf '#!/bin/sh\nexec "%s" "$@"\n' "$dest/memprof-build/memprof" >"$dest/memprof"
    fi
    chmod +x "$dest/memprof"
}
