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
Scripts/run-scenarios.sh "$@"
