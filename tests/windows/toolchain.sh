#!/usr/bin/env bash
# Prepares what the Windows build (x86_64-pc-windows-gnu, cross-built here and run under Wine)
# needs on a Debian 12 machine, installing or fetching only what is missing, and prints the path
# of an env file, $CACHE/env.sh, as its last line of stdout (everything else goes to stderr).
#
#   env=$(tests/windows/toolchain.sh) && ( . "$env" && cargo build --target x86_64-pc-windows-gnu -p tokentray )
#
# env.sh sets RUSTC_BOOTSTRAP=1 and cargo's build-std variables. Source it ONLY for the Windows
# cargo invocation (in a subshell of the Makefile's Windows recipe), never for the normal Linux
# build: those variables change cargo's fingerprints and would throw away the Linux build cache.
#
# Why build-std: rustup cannot download the Windows standard library here, so std is built from
# source, from Debian's rust-src package of exactly rustc's version (unpacked, not installed).
#
# Everything large lives outside the clone, so a fresh clone on the same machine reuses it:
#   $CACHE = $TOKENTRAY_WINDOWS_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/tokentray-windows
#   $CACHE/rust-src-<rustc version>/library   std's sources from Debian's rust-src (68 MB)
#   $CACHE/wine/                       the Wine prefix (about 700 MB)
#   $CACHE/env.sh                      the exports
# A second run touches no network and takes well under a second.
set -euo pipefail
# (No `grep -q` at the end of a pipe: with pipefail, the writer's SIGPIPE would fail the pipe.)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
CACHE=${TOKENTRAY_WINDOWS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokentray-windows}

say() { printf '%s\n' "$*" >&2; }
die() { say "tests/windows/toolchain.sh: $*"; exit 1; }
took() { say "  ... done in $((SECONDS - $1)) s"; }

command -v dpkg >/dev/null && command -v apt-get >/dev/null ||
  die "this needs Debian or Ubuntu (dpkg and apt-get). Elsewhere install a MinGW-w64 gcc for x86_64 and Wine, and see this script for the rest."
[ "$(dpkg --print-architecture)" = amd64 ] || die "this needs an amd64 machine (Wine runs x86_64 Windows programs only there)."

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
# One run at a time (parallel make, two clones): the others wait here.
exec 9>"$CACHE/.lock"
flock 9

# ---------------------------------------------------------------------------------------------
# 1. System packages: the MinGW-w64 cross compiler (linker and C compiler of the Windows target)
#    and Wine. wine64 is the 64-bit loader; wine holds the commands (wine, wineboot, wineserver).
#    No wine32 (that would need the i386 architecture): the build is 64-bit only.
#    xz-utils reads the mirror's Packages.xz below; curl fetches from the mirror.
pkgs=(gcc-mingw-w64-x86-64 wine64 wine curl ca-certificates xz-utils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -x 'Status: install ok installed' >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  t=$SECONDS
  say "Updating apt's package lists..."
  $sudo apt-get update -qq >&2
  took "$t"
  mb=$(apt-get install -qq --no-install-recommends --print-uris "${missing[@]}" |
    awk '{ s += $3 } END { printf "%d", s / 1e6 + 0.5 }')
  t=$SECONDS
  say "Installing mingw-w64 and Wine (about $mb MB to download, up to 1.2 GB on disk): ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  took "$t"
fi

# ---------------------------------------------------------------------------------------------
# 2. The std sources: Debian's rust-src of exactly `rustc --version` (e.g. 1.95.0 is
#    rust-src_1.95.0+dfsg1-2~bpo13+1_all.deb in trixie-backports), from the mirror the machine's
#    apt sources already use.
rustc_line=$(cd "$root" && rustc --version) || die "rustc is not installed; install Rust from https://rustup.rs"
ver=$(sed -nE 's/^rustc ([0-9]+\.[0-9]+\.[0-9]+)( .*)?$/\1/p' <<<"$rustc_line")
[ -n "$ver" ] || die "'$rustc_line' is not a stable release, and Debian packages rust-src only for those. Use a stable Rust whose version Debian packages (e.g. rustup default 1.95.0)."
src=$CACHE/rust-src-$ver
library=$src/library
if [ -f "$src/.unpacked" ] && [ -f "$library/std/Cargo.toml" ]; then
  : # unpacked by an earlier run
else
  # The Debian mirror of apt's sources (apt itself parses sources.list and sources.list.d/*,
  # one-line and deb822 alike); deb.debian.org when none is a Debian archive.
  mirror=$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null | awk '/\/debian\/?$/ && !n++' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  mirror=${mirror%/}
  fetch() { curl -fsSL --retry 3 --connect-timeout 20 "$@"; }

  # Candidates as lines "<debian version> <path in the mirror> [sha256]"; the highest wins.
  candidates() {
    local listing suite
    # a) The pool folder's listing, when the mirror serves one (deb.debian.org does not).
    if listing=$(fetch "$mirror/pool/main/r/rustc/" 2>/dev/null); then
      grep -oE "rust-src_[^\"'<> /]+_all\.deb" <<<"$listing" | sed 's/%2[Bb]/+/g; s/%7[Ee]/~/g' | sort -u |
        while read -r f; do v=${f#rust-src_}; v=${v%_all.deb}; echo "$v pool/main/r/rustc/$f"; done |
        grep -E "^${ver//./\\.}([+~-]|$)" && return
    fi
    # b) The suites' Packages indexes (binary-all; the backports ones are small, about 140 KB).
    for suite in trixie-backports bookworm-backports forky-backports trixie forky sid; do
      fetch "$mirror/dists/$suite/main/binary-all/Packages.xz" 2>/dev/null | xz -dc 2>/dev/null |
        awk -v RS= -F '\n' '{ p = v = f = s = ""
            for (i = 1; i <= NF; i++) {
              if ($i ~ /^Package: /) p = substr($i, 10); else if ($i ~ /^Version: /) v = substr($i, 10)
              else if ($i ~ /^Filename: /) f = substr($i, 11); else if ($i ~ /^SHA256: /) s = substr($i, 9)
            }
            if (p == "rust-src") print v, f, s }' |
        grep -E "^${ver//./\\.}([+~-]|$)" && return
    done
    # c) The name known to match rustc 1.95.0.
    if [ "$ver" = 1.95.0 ]; then
      echo "1.95.0+dfsg1-2~bpo13+1 pool/main/r/rustc/rust-src_1.95.0+dfsg1-2~bpo13+1_all.deb"
    fi
    return 0
  }
  best=
  while read -r v f s; do
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "${best%% *}"; then best="$v $f $s"; fi
  done < <(candidates)
  [ -n "$best" ] || die "found no rust-src $ver (for '$rustc_line') on $mirror: neither in pool/main/r/rustc/ nor in the Packages of trixie-backports, bookworm-backports, forky-backports, trixie, forky or sid. Switch to a Rust version Debian packages (see https://packages.debian.org/search?keywords=rust-src, then e.g. rustup default <version>), or put the library/ folder of a rust-src of exactly $ver at $library yourself and create $src/.unpacked."
  read -r debver path sha <<<"$best"

  tmp=$CACHE/tmp
  rm -rf "$tmp" && mkdir -p "$tmp"
  t=$SECONDS
  say "Fetching Debian's rust-src $debver (about 45 MB) from $mirror..."
  fetch -o "$tmp/rust-src.deb" "$mirror/$path" ||
    die "could not download $mirror/$path; check the network, or that the mirror still has it."
  if [ -n "$sha" ]; then
    echo "$sha  $tmp/rust-src.deb" | sha256sum -c --quiet - >&2 || die "$mirror/$path does not match its SHA256 in the mirror's index."
  fi
  # Only usr/src/rustc-<version>/library is needed (68 of its 430 MB); it is self-contained
  # (its own Cargo.lock; its dependencies come from crates.io). Extracting just it takes 3 s
  # where `dpkg-deb -x` of everything takes 20 s here.
  mkdir "$tmp/unpacked"
  dpkg-deb --fsys-tarfile "$tmp/rust-src.deb" |
    tar -x -C "$tmp/unpacked" --wildcards --no-wildcards-match-slash './usr/src/*/library' ||
    die "could not unpack $mirror/$path."
  unpacked_library=$(find "$tmp/unpacked/usr/src" -mindepth 2 -maxdepth 2 -type d -name library -print -quit)
  [ -n "$unpacked_library" ] && [ -f "$unpacked_library/std/Cargo.toml" ] && [ -f "$unpacked_library/Cargo.lock" ] ||
    die "rust-src $debver from $mirror/$path has no library/ folder with std and its Cargo.lock."
  rm -rf "$src" && mkdir -p "$src" && mv "$unpacked_library" "$library" && rm -rf "$tmp"
  printf '%s\n' "$debver" >"$src/.unpacked"
  took "$t"
fi

# ---------------------------------------------------------------------------------------------
# 3. The Wine prefix, made once. mscoree/mshtml are disabled while it is made so that wineboot
#    does not offer to install Wine Mono and Gecko (neither is needed); no display is used.
export WINEARCH=win64 WINEPREFIX=$CACHE/wine WINEDEBUG=-all
if [ ! -f "$WINEPREFIX/.tokentray-prefix-done" ]; then
  t=$SECONDS
  say "Creating the Wine prefix in $WINEPREFIX (about 700 MB)..."
  rm -rf "$WINEPREFIX"
  env -u DISPLAY -u WAYLAND_DISPLAY WINEDLLOVERRIDES='mscoree,mshtml=' wineboot -i >&2 2>/dev/null || true
  wineserver -w
  [ -d "$WINEPREFIX/drive_c/windows/system32" ] || die "wineboot did not create $WINEPREFIX (run: WINEPREFIX=$WINEPREFIX WINEARCH=win64 wineboot -i, to see why)."
  touch "$WINEPREFIX/.tokentray-prefix-done"
  took "$t"
fi

# Every Rust >= 1.78 program imports ProcessPrng from bcryptprimitives.dll, which Wine < 9
# (Debian 12 has 8.0) lacks: the .exe then exits with code 53 at once. So: when the prefix's
# system32 has no bcryptprimitives.dll exporting ProcessPrng, put there a small shim
# (bcp.c, ProcessPrng over RtlGenRandom). Checking the DLL rather than `wine --version` keeps it
# right on any Wine: Wine >= 9 puts its own (a real PE DLL) there, and the shim is left out.
dll=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
if ! { [ -f "$dll" ] && x86_64-w64-mingw32-objdump -p "$dll" 2>/dev/null | grep -w ProcessPrng >/dev/null; }; then
  say "Wine $(wine --version 2>/dev/null) lacks ProcessPrng: installing the bcryptprimitives.dll shim into the prefix"
  x86_64-w64-mingw32-gcc -shared -O2 -s -o "$dll.tmp" "$here/bcp.c" "$here/bcp.def" -ladvapi32
  mv "$dll.tmp" "$dll"
fi

# ---------------------------------------------------------------------------------------------
# 4. The env file, rewritten only when it changes.
env_file=$CACHE/env.sh
{
  echo "# Written by tests/windows/toolchain.sh. Source it only for the Windows cargo invocation:"
  echo "# RUSTC_BOOTSTRAP and build-std would throw away the Linux build's cache."
  printf 'export RUSTC_BOOTSTRAP=1\n'
  printf 'export CARGO_UNSTABLE_BUILD_STD=std,panic_abort\n'
  printf 'export __CARGO_TESTS_ONLY_SRC_ROOT=%q\n' "$library"
  printf 'export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc\n'
  printf 'export WINEARCH=win64\n'
  printf 'export WINEPREFIX=%q\n' "$WINEPREFIX"
  printf 'export WINEDEBUG=-all\n'
} >"$env_file.tmp"
if cmp -s "$env_file.tmp" "$env_file"; then rm -f "$env_file.tmp"; else mv "$env_file.tmp" "$env_file"; fi
echo "$env_file"
