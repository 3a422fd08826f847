#!/usr/bin/env bash
# gdb-test.sh: source-level debugging works on the debug build (make debug-build DEBUG_SCENARIO=dom0):
# qemu-system-i386 halted at reset with its gdb stub on a free port (timeout, -no-reboot,
# isa-debug-exit), and gdb -batch with Scripts/apus.gdb and Tests/Gdb/check.py, which breaks at the
# hypercall dispatcher and at a dom0 function and checks files, lines, locals and the apus-* commands.
# Passes only when gdb reports GDB-TEST OK, QEMU ends with the scenario's PASS (exit 33) and dom0's
# console shows the check line gdb read from dom0's arguments. Both are killed on timeout.
set -uo pipefail
iso=build/debug/test-dom0.iso
log=build/logs/gdb.log
serial=build/logs/gdb-serial.log
expect=build/logs/gdb-expect.txt
mkdir -p build/logs
rm -f "$log" "$serial" "$expect"
[ -f "$iso" ] || { echo "FAIL gdb: no $iso (make debug-build DEBUG_SCENARIO=dom0)"; exit 1; }
start=$(date +%s)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout -k 5 60 qemu-system-i386 -nodefaults -display none -no-reboot -serial "file:$serial" \
    -device isa-debug-exit,iobase=0xf4,iosize=4 -m 256 -cdrom "$iso" -boot d \
    -gdb "tcp:127.0.0.1:$port" -S </dev/null >/dev/null 2>&1 &
qemu=$!
APUS_GDB_PORT=$port APUS_GDB_EXPECT=$expect timeout -k 5 55 gdb -q -nx -batch \
    -x Scripts/apus.gdb -x Tests/Gdb/check.py </dev/null >"$log" 2>&1
gdb_status=$?
wait "$qemu"
qemu_status=$?
elapsed=$(( $(date +%s) - start ))
grep '^GDB-TEST' "$log"
ok=true
grep -q '^GDB-TEST FAIL' "$log" && ok=false
grep -q '^GDB-TEST OK$' "$log" || { echo "gdb: no GDB-TEST OK (gdb exit $gdb_status)"; grep '^gdb\.error' "$log"; ok=false; }
[ "$qemu_status" = 33 ] || { echo "gdb: QEMU exit $qemu_status, not the scenario's PASS (33)"; ok=false; }
if [ -f "$expect" ] && ! grep -qF "(d0) $(cat "$expect")" "$serial"; then
    echo "gdb: dom0's console lacks the line gdb read: $(cat "$expect")"; ok=false
fi
if $ok; then echo "PASS gdb (${elapsed}s)"; exit 0; fi
echo "FAIL gdb (${elapsed}s, log: $log, serial: $serial)"
exit 1
