# Sourced by the sample builds that start from a Debian source package.
# ensure_deb_src PACKAGE: adds a deb-src entry for the running suite, unless `apt-get source`
# already reaches PACKAGE, so the sources are those of the very package Debian ships.
ensure_deb_src() {
    local package="${1:?package}" suite sudo=""
    apt-get source --print-uris "$package" >/dev/null 2>&1 && return
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
    $sudo tee /etc/apt/sources.list.d/memprof-deb-src.sources >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    $sudo apt-get update -qq >&2
}
