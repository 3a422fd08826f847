#!/usr/bin/env bash
# test-all.sh SCENARIO...: everything `make test` runs: the guest-arithmetic check over
# Sources/Apus, the host unit tests (swift test), the heap allocator's host test, the fuzzer over ApusCore's guest-byte parsers
# (briefly, from its saved corpus), the freestanding build, every QEMU scenario, then Bochs, then the
# debug build (build/debug) and gdb against it (Scripts/gdb-test.sh). Each stage's own exit status decides; a failed build or host-test stage stops the run with
# a FAIL line naming it, so an image left from an earlier build is never tested after this build
# failed. The source check, being static, does not stop the later stages but fails the run.
set -uo pipefail

fail() { echo "FAIL make test: $*"; exit 1; }

echo "== no arithmetic on guest addresses (Scripts/check-guest-arithmetic.py)"
arithmetic=ok
python3 Scripts/check-guest-arithmetic.py || arithmetic=failed

echo "== host tests (swift test)"
out=$(mktemp)
swift test >"$out" 2>&1
status=$?
tail -n 25 "$out"
rm -f "$out"
[ "$status" = 0 ] || fail "host tests (swift test exited $status)"

echo "== heap allocator (Boot/heap.c against a first-fit reference, Tests/Heap/heap_check.c)"
mkdir -p build/host
cc -O2 -Wall -Werror -o build/host/heap_check Tests/Heap/heap_check.c || fail "heap allocator test (build)"
build/host/heap_check || fail "heap allocator test"

echo "== fuzzer (libFuzzer over every parser of guest bytes, from Tests/Fuzz/corpus)"
Scripts/fuzz.sh check "${FUZZ_CHECK_SECONDS:-20}" || fail "fuzzer (Scripts/fuzz.sh check)"

echo "== freestanding build"
images=(build/apus.iso)
for s in "$@"; do images+=("build/test-$s.iso"); done
out=$(mktemp)
make --no-print-directory "${images[@]}" >"$out" 2>&1
status=$?
grep -v '^make' "$out" | tail -n 40
rm -f "$out"
[ "$status" = 0 ] || fail "freestanding build (make exited $status)"
for image in "${images[@]}"; do
    [ -f "$image" ] || fail "freestanding build did not produce $image"
done

echo "== QEMU scenarios"
summary=$(mktemp)
Scripts/run-scenarios.sh "$@" | tee "$summary"
passed=$(sed -n 's/^qemu: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$summary")
failed=$(sed -n 's/^qemu: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$summary")
rm -f "$summary"
passed=${passed:-0}; failed=${failed:-1}
[ "$((passed + failed))" = "$#" ] || { echo "FAIL: $# scenarios asked for, $((passed + failed)) judged"; failed=$((failed + 1)); }
echo "== Bochs (segment-limit isolation)"
if Scripts/run-bochs.sh hostile; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
echo "== gdb (the debug build, qemu-system-i386 and gdb -batch: Scripts/gdb-test.sh)"
out=$(mktemp)
if make --no-print-directory debug-build DEBUG_SCENARIO=dom0 >"$out" 2>&1; then
    if Scripts/gdb-test.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
else
    grep -v '^make' "$out" | tail -n 40
    echo "FAIL gdb: the debug build failed"; failed=$((failed + 1))
fi
rm -f "$out"
echo "scenarios: $passed passed, $failed failed"
[ "$failed" = 0 ] || fail "$failed scenario(s) failed"
[ "$arithmetic" = ok ] || fail "arithmetic on guest addresses in Sources/Apus (see the first stage)"
