#!/usr/bin/env bash
# make-iso.sh OUT.iso SCENARIO [INITRD]: wraps build/apus.elf, build/dom0.elf (module 1) and
# build/initrd.cpio or INITRD (module 2) in a GRUB (BIOS) ISO that boots at once. An empty SCENARIO is the
# normal boot; otherwise both the hypervisor (apus.test=) and dom0 (test=) are told its name, and the
# hypervisor gets the words of Tests/Scenarios/SCENARIO.cmdline when there is one.
# Scenario fuzz-dom0 boots build/guests/fuzz.elf as dom0 instead. DOM0_ARGS adds words to dom0's command line
# (make run's api_token=). It never changes the images themselves.
# The images come from OUT's folder (build/, or build/debug for the debug build, whose ISO carries
# copies stripped of their DWARF: gdb reads the originals).
set -euo pipefail
out=$1
scenario=$2
dir=$(dirname "$out")
initrd=${3:-$dir/initrd.cpio}
hv_cmdline=""
dom0_cmdline="console=hvc0${DOM0_ARGS:+ $DOM0_ARGS}"
if [ -n "$scenario" ]; then
    hv_cmdline="apus.test=$scenario"
    dom0_cmdline="console=hvc0 test=$scenario${DOM0_ARGS:+ $DOM0_ARGS}"
    # Tests/Scenarios/NAME.cmdline: more words for the hypervisor (loglvl=warning, console_to_ring, ...).
    if [ -f "Tests/Scenarios/$scenario.cmdline" ]; then hv_cmdline="$hv_cmdline $(tr '\n' ' ' < "Tests/Scenarios/$scenario.cmdline" | sed 's/ *$//')"; fi
fi
root=$(mktemp -d "${out%.iso}.tree.XXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/boot/grub"
# copy SRC DEST: as it is, or without DWARF when it has some (the debug build).
copy() {
    if readelf -S "$1" | grep -q '\.debug_info'; then objcopy --strip-debug "$1" "$2"; else cp "$1" "$2"; fi
}
copy "$dir/apus.elf" "$root/boot/apus.elf"
cp "$initrd" "$root/boot/initrd.cpio"
dom0=$dir/dom0.elf
# FUZZ_ARGS (for instance "seed=7 calls=5000 avoid=2,29.3") reaches the fuzz kernel's command line.
if [ "$scenario" = fuzz-dom0 ]; then dom0=$dir/guests/fuzz.elf; dom0_cmdline="$dom0_cmdline ${FUZZ_ARGS:-seed=1130}"; fi
copy "$dom0" "$root/boot/dom0.elf"
cat > "$root/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "Apus" {
    multiboot /boot/apus.elf $hv_cmdline
    module /boot/dom0.elf dom0.elf $dom0_cmdline
    module /boot/initrd.cpio initrd
    boot
}
CFG
grub-mkrescue -d /usr/lib/grub/i386-pc -o "$out.tmp" "$root" >/dev/null 2>"$out.log" || { cat "$out.log"; exit 1; }
mv "$out.tmp" "$out"
rm -f "$out.log"
