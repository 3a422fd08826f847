#!/usr/bin/env bash
# deps.sh: installs, only when missing, what building and testing Apus needs on Debian.
# Without root (or apt) it names the exact packages to install and stops; it never guesses.
set -euo pipefail
packages=(nasm grub-pc-bin grub-common xorriso mtools qemu-system-x86 gdb gcc-multilib python3 bochs bochsbios vgabios dpkg-dev debian-archive-keyring)
command -v ld.lld >/dev/null 2>&1 || packages+=(lld)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v swiftc >/dev/null 2>&1; then
    echo "deps: no swiftc on PATH. Install the Swift 6.x toolchain (swift.org) and put its usr/bin on PATH." >&2
    exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "deps: cannot install packages without root. Please run:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
