#!/usr/bin/env bash
# run-bochs.sh NAME: boots build/test-NAME.iso under Bochs, whose CPU enforces segment limits
# (QEMU's does not), headless, serial to build/logs/bochs-NAME.log, with a timeout, and checks
# the log against Tests/Scenarios/bochs-NAME.expect, including how the run ended (a timeout fails).
# It never retries.
set -uo pipefail
name=$1
log=build/logs/bochs-$name.log
expect=Tests/Scenarios/bochs-$name.expect
seconds=$(sed -n 's/^timeout \([0-9]*\)$/\1/p' "$expect"); seconds=${seconds:-240}
mkdir -p build/logs build/bochs
[ -f "build/test-$name.iso" ] || { echo "FAIL bochs-$name: no build/test-$name.iso (build it first)"; exit 1; }
rc=build/bochs/$name.bxrc
# ips=1e9: one instruction per nanosecond of virtual time, as QEMU's -icount shift=0 gives the
# other scenarios, so timer deadlines mean the same on both. (At 1e8, dom0's non-preemptible
# domain build and teardown take tens of virtual milliseconds and the clock domain misses ticks.)
cat > "$rc" <<RC
megs: 256
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=build/test-$name.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$log
display_library: rfb, options="timeout=0"
sound: driver=dummy
cpu: ips=1000000000
clock: sync=none
log: build/logs/bochs-$name.bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
RC
rm -f "$log"
start=$(date +%s)
# Bochs stops at its debugger prompt first: "c" continues. The hypervisor ends the run by
# writing "Shutdown" to port 0x8900 when its test verdict is in.
printf 'c\n' > "build/bochs/$name.stdin"
timeout --foreground -k 5 "$seconds" bochs -q -f "$rc" <"build/bochs/$name.stdin" >"build/logs/bochs-$name.out" 2>&1
status=$?
elapsed=$(( $(date +%s) - start ))
[ -f "$log" ] || { echo "FAIL bochs-$name (${elapsed}s): Bochs wrote no serial log; see build/logs/bochs-$name.out"; exit 1; }
# How the run ended, for check-log.py: 124 when the time limit passed, 0 only when Bochs says the
# hypervisor asked it to stop (port 0x8900), else Bochs's own status (at least 1).
if [ "$status" != 124 ] && [ "$status" != 137 ]; then
    if grep -q 'Shutdown port: shutdown requested' "build/logs/bochs-$name.out"; then status=0
    elif [ "$status" = 0 ]; then status=1
    fi
fi
if python3 Scripts/check-log.py "$expect" "$log" "$status" bochs; then
    echo "PASS bochs-$name (${elapsed}s)"
    exit 0
fi
echo "FAIL bochs-$name (${elapsed}s, log: $log)"
exit 1
