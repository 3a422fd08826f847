#!/usr/bin/env bash
# test-all.sh SCENARIO...: everything `make test` runs: the host unit tests (swift test), the
# freestanding build, then every QEMU scenario. Stops at the first stage that fails.
set -euo pipefail
echo "== host tests (swift test)"
swift test 2>&1 | tail -n 25
echo "== freestanding build"
isos=()
for s in "$@"; do isos+=("build/test-$s.iso"); done
make --no-print-directory iso "${isos[@]}" | grep -v '^make' || true
[ -f build/apus.iso ] || { echo "build failed"; exit 1; }
echo "== QEMU scenarios"
summary=$(mktemp)
Scripts/run-scenarios.sh "$@" | tee "$summary"
passed=$(sed -n 's/^qemu: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$summary")
failed=$(sed -n 's/^qemu: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$summary")
rm -f "$summary"
passed=${passed:-0}; failed=${failed:-1}
echo "== Bochs (segment-limit isolation)"
if Scripts/run-bochs.sh hostile; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
echo "scenarios: $passed passed, $failed failed"
[ "$failed" = 0 ]
