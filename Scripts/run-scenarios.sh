#!/usr/bin/env bash
# run-scenarios.sh NAME...: runs each QEMU scenario (two at a time) and prints one verdict line
# each, then "N passed, N failed". Exit status is non-zero when any failed.
set -uo pipefail
results=$(mktemp -d)
printf '%s\n' "$@" | xargs -P 2 -I{} sh -c 'Scripts/run-scenario.sh {} > "$0/{}.out" 2>&1; echo $? > "$0/{}.rc"' "$results"
passed=0; failed=0
for name in "$@"; do
    cat "$results/$name.out"
    if [ "$(cat "$results/$name.rc")" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
rm -rf "$results"
echo "qemu: $passed passed, $failed failed"
[ "$failed" = 0 ]
