#!/usr/bin/env bash
# A clean Debian 12 root for the packaging test (tests/tests/package.rs): debootstrap's minimal
# base, nothing else, created once in the cache folder given and reused (the test installs into
# an overlay above it, so the root itself stays clean). Prints the root's path.
#
#   tests/package/root.sh CACHE_DIR
#
# Needs root (debootstrap). The mirror is the one the host's apt uses unless DEBIAN_MIRROR says.
set -euo pipefail
cache=${1:?usage: root.sh CACHE_DIR}
root=$cache/debian-12
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

if [ -f "$root/.tokentray-root" ]; then
  echo "$root"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "root.sh: debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "root.sh: debootstrap is missing; run \`make test-deps\`" >&2; exit 1; }

echo "Creating a clean Debian 12 root for the packaging test in $root (once; about a minute)" >&2
rm -rf "$root.partial"
mkdir -p "$cache"
debootstrap --variant=minbase bookworm "$root.partial" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
  echo "root.sh: debootstrap failed; its log:" >&2; tail -n 30 "$cache/debootstrap.log" >&2; exit 1; }
# The suites a real Debian 12 installation has, so apt resolves what a user's apt would.
cat >"$root.partial/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
# No package lists or downloads in the cached root: the test fetches the lists it installs from.
rm -rf "$root.partial"/var/lib/apt/lists/* "$root.partial"/var/cache/apt/archives/*.deb
touch "$root.partial/.tokentray-root"
mv "$root.partial" "$root"
echo "$root"
