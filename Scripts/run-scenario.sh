#!/usr/bin/env bash
# run-scenario.sh NAME: boots build/test-NAME.iso under deterministic QEMU (icount, no reboot,
# isa-debug-exit, a hard timeout) and checks build/logs/NAME.log against Tests/Scenarios/NAME.expect.
# It never retries: a flaky scenario is a bug to fix, not to hide.
set -uo pipefail
name=$1
expect=Tests/Scenarios/$name.expect
log=build/logs/$name.log
mkdir -p build/logs
[ -f "$expect" ] || { echo "FAIL $name: no $expect"; exit 1; }
[ -f "build/test-$name.iso" ] || { echo "FAIL $name: no build/test-$name.iso (build it first)"; exit 1; }
rm -f "$log"
seconds=$(sed -n 's/^timeout \([0-9]*\)$/\1/p' "$expect"); seconds=${seconds:-60}
memory=$(sed -n 's/^memory \([0-9]*\)$/\1/p' "$expect"); memory=${memory:-256}
start=$(date +%s)
# A scenario with an .input file gets it typed on the serial line (the shell scenario): the
# serial port is QEMU's stdio, fed from that file, with its output going to the log.
input=/dev/null
serial=(-serial "file:$log")
if [ -f "Tests/Scenarios/$name.input" ]; then
    input="Tests/Scenarios/$name.input"
    serial=(-serial stdio)
fi
# A scenario with a .dialogue file is typed into step by step, each line when the serial output has
# got that far (Scripts/serial-dialogue.py writes the log itself).
runner=()
if [ -f "Tests/Scenarios/$name.dialogue" ]; then
    runner=(python3 Scripts/serial-dialogue.py "Tests/Scenarios/$name.dialogue" "$log" --)
    serial=(-serial stdio)
fi
# A scenario with a .setup script gets the machine that script makes (a disk image, network cards):
# the script prints the extra QEMU arguments, one per line. A .verify script then checks, from the
# host's side, what the log claims (a checksum against the image, say).
extra=()
if [ -f "Tests/Scenarios/$name.setup" ]; then
    setup_out=$(python3 "Tests/Scenarios/$name.setup") || { echo "FAIL $name: Tests/Scenarios/$name.setup failed"; exit 1; }
    mapfile -t extra <<<"$setup_out"
fi
timeout --foreground -k 5 "$seconds" "${runner[@]}" qemu-system-x86_64 \
    -icount shift=0,sleep=off -rtc clock=vm -nodefaults -display none -no-reboot \
    "${serial[@]}" -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -m "$memory" -cdrom "build/test-$name.iso" -boot d "${extra[@]}" <"$input" >"$log.stdio" 2>&1
status=$?
if [ "$input" != /dev/null ]; then mv "$log.stdio" "$log"; else cat "$log.stdio"; rm -f "$log.stdio"; fi
elapsed=$(( $(date +%s) - start ))
verified=true
if [ -f "Tests/Scenarios/$name.verify" ] && ! python3 "Tests/Scenarios/$name.verify" "$log"; then verified=false; fi
if python3 Scripts/check-log.py "$expect" "$log" "$status" && $verified; then
    echo "PASS $name (${elapsed}s)"
    exit 0
fi
echo "FAIL $name (${elapsed}s, log: $log)"
exit 1
