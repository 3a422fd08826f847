#!/usr/bin/env bash
# fuzz.sh build|check|run [SECONDS]: the coverage-guided fuzzer (libFuzzer, `swiftc -sanitize=fuzzer`)
# over every parser of guest bytes in ApusCore, dom0's xenstored core and its console ring (Tests/Fuzz). `check` replays the saved corpus and fuzzes
# briefly from it (make test); `run` fuzzes longer and merges what it finds into the saved corpus
# (make fuzz). A crash, a trap or a timeout fails; it never edits sources.
set -euo pipefail
mode=${1:-check}
seconds=${2:-}
out=build/fuzz
corpus=Tests/Fuzz/corpus
ring_files="Sources/GuestKit/Toolstack/ConsoleRing.swift Sources/GuestKit/Toolstack/ConsoleLines.swift Sources/GuestKit/Toolstack/ConsoleHistory.swift $(find Sources/GuestKit/Backends -name '*.swift' | sort | tr '\n' ' ') $(find Sources/GuestKit/Frontends -maxdepth 1 -name '*.swift' | sort | tr '\n' ' ')"
# dom0's HTTP API server's parser, routes and JSON (issue #15), with the domain reference it routes to.
ring_files="$ring_files Sources/GuestKit/Toolstack/ShellCommand.swift Sources/GuestKit/Toolstack/DomainConfig.swift Sources/GuestKit/Toolstack/DeviceSpec.swift $(find Sources/GuestKit/Http -name '*.swift' | sort | tr '\n' ' ')"
mkdir -p "$out/modules" "$corpus"
flags=(-sanitize=fuzzer -O -parse-as-library -wmo -I "$out/modules")

build() {
    local pvabi core
    pvabi=$(find Sources/PVABI -name '*.swift' | sort)
    core=$(find Sources/ApusCore -name '*.swift' | sort)
    # shellcheck disable=SC2086
    swiftc "${flags[@]}" -module-name PVABI -emit-module-path "$out/modules/PVABI.swiftmodule" -c $pvabi -o "$out/PVABI.o"
    # shellcheck disable=SC2086
    swiftc "${flags[@]}" -module-name ApusCore -emit-module-path "$out/modules/ApusCore.swiftmodule" -c $core -o "$out/ApusCore.o"
    # dom0's xenstored core (GuestKit/Store: standard library only) and the console ring's moves and line
    # sanitiser (standard library and PVABI), as a module of their own here.
    # shellcheck disable=SC2046,SC2086
    swiftc "${flags[@]}" -module-name GuestKit -emit-module-path "$out/modules/GuestKit.swiftmodule" -c $(find Sources/GuestKit/Store -name '*.swift' | sort) $ring_files -o "$out/GuestKitStore.o"
    swiftc "${flags[@]}" -module-name DecoderFuzzer Tests/Fuzz/*.swift "$out/PVABI.o" "$out/ApusCore.o" "$out/GuestKitStore.o" -o "$out/decoders"
}

# Rebuild when any input is newer than the fuzzer.
if [ ! -x "$out/decoders" ] || [ -n "$(find Sources/PVABI Sources/ApusCore Sources/GuestKit/Store $ring_files Tests/Fuzz Scripts/fuzz.sh -newer "$out/decoders" -name '*.swift' -o -newer "$out/decoders" -name '*.sh' | head -1)" ]; then
    echo "fuzz: building build/fuzz/decoders"
    build
fi
[ "$mode" = build ] && exit 0

work=$out/corpus
rm -rf "$work"; mkdir -p "$work"
cp "$corpus"/* "$work"/ 2>/dev/null || true
log=$out/fuzz.log
case $mode in
    check) seconds=${seconds:-20} ;;
    run) seconds=${seconds:-600} ;;
    *) echo "usage: fuzz.sh build|check|run [SECONDS]"; exit 2 ;;
esac
# -timeout: one input may take at most 5 s; -rss_limit_mb: the machine has 24 GiB, the fuzzer 2.
# SWIFT_BACKTRACE off: Swift's own crash handler would take the trap first, and libFuzzer would
# never write the input that caused it ($out/crash-*).
if ! SWIFT_BACKTRACE=enable=no "$out/decoders" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=4096 \
        -artifact_prefix="$out/" -print_final_stats=1 "$work" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "FAIL fuzz: the fuzzer stopped on a finding (log: $log; the input is $out/crash-* or $out/timeout-*)"
    exit 1
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
echo "PASS fuzz: $execs inputs in ${seconds}s from $(ls "$corpus" | wc -l) saved, $cov edges, no finding"
if [ "$mode" = run ]; then
    # Keep the saved corpus minimal: the inputs that reach all the coverage of the old and new ones.
    rm -rf "$out/merged"; mkdir -p "$out/merged"
    "$out/decoders" -merge=1 "$out/merged" "$corpus" "$work" >"$out/merge.log" 2>&1
    rm -f "$corpus"/*
    cp "$out/merged"/* "$corpus"/
    echo "fuzz: saved corpus now $(ls "$corpus" | wc -l) inputs ($corpus)"
fi
