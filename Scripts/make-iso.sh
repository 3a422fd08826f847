#!/usr/bin/env bash
# make-iso.sh OUT.iso "COMMAND LINE": wraps build/apus.elf in a GRUB (BIOS) ISO whose single
# menu entry boots it at once with that command line. It never changes the image itself.
set -euo pipefail
out=$1
cmdline=$2
root=$(mktemp -d "${out%.iso}.tree.XXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/boot/grub"
cp build/apus.elf "$root/boot/apus.elf"
cat > "$root/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "Apus" {
    multiboot /boot/apus.elf $cmdline
    boot
}
CFG
grub-mkrescue -d /usr/lib/grub/i386-pc -o "$out.tmp" "$root" >/dev/null 2>"$out.log" || { cat "$out.log"; exit 1; }
mv "$out.tmp" "$out"
rm -f "$out.log"
