#!/usr/bin/env bash
# fetch-lwip.sh DEST: Debian's `lwip` source package (upstream lwIP 2.1 with Debian's patches), fetched
# with apt-get source through a private sources list under build/ (the system's lists are never
# touched) and unpacked to DEST. Nothing of it is committed; make builds dom0's TCP/IP stack from DEST.
set -euo pipefail
dest=$1
mkdir -p "$(dirname "$dest")"
[ -f "$dest/src/core/tcp.c" ] && exit 0
work=$(cd "$(dirname "$dest")" && pwd)/lwip-apt
rm -rf "$work" && mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || { echo "fetch-lwip: $keyring is missing (package debian-archive-keyring)" >&2; exit 1; }
echo "deb-src [signed-by=$keyring] http://deb.debian.org/debian bookworm main" > "$work/sources.list"
apt=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Debug::NoLocking=1 -qq)
apt-get "${apt[@]}" update
(cd "$work" && apt-get "${apt[@]}" source --download-only lwip=2.1.3+dfsg1-2 2>&1 | grep -v "unsandboxed" || true)
dsc=$(ls "$work"/lwip_*.dsc)
rm -rf "$dest"
# dpkg-source unpacks the upstream tarball and applies Debian's patches (debian/patches/series).
(cd "$work" && dpkg-source --no-check -x "$(basename "$dsc")" unpacked >/dev/null)
mv "$work/unpacked" "$dest"
echo "fetch-lwip: lwIP $(sed -n 's/^Version: //p' "$dsc") from Debian's source package in $dest"
