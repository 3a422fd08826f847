#!/usr/bin/env bash
# stack-names.sh [LOG]: names the return addresses of the `d` debug key's dump (lines
# "(apus)     #N [<0x...>]") in a serial log (default build/logs/debugkeys.log, or stdin with -),
# with addr2line on build/apus.elf and swift-demangle. It only reads; it changes nothing.
set -euo pipefail
log=${1:-build/logs/debugkeys.log}
demangle=$(command -v swift-demangle || echo "$(dirname "$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)")/swift-demangle")
[ "$log" = - ] && log=/dev/stdin
grep -o '#[0-9]* \[<0x[0-9a-f]*>\]' "$log" | while read -r depth addr; do
    addr=${addr#[<}; addr=${addr%>]}
    name=$(addr2line -f -e build/apus.elf "$addr" | head -1)
    if [ -x "$demangle" ]; then name=$("$demangle" --simplified --compact "$name" 2>/dev/null || echo "$name"); fi
    echo "$depth $addr $name"
done
