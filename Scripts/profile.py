#!/usr/bin/env python3
"""profile.py: make profile. Boots a scenario ISO under QEMU with -icount shift=0 and the pcprof
plugin (Tools/profile/pcprof.c), then says where the hypervisor's instructions went: per function,
with how often each was entered, or, with --trace, the exact path of one operation as runs of
(instructions, running total, function). Addresses are named from build/apus.elf's symbols
(demangled by swift-demangle when it is on PATH); anything outside the image is guest code.
A development tool: it reports, it never judges.

  python3 Scripts/profile.py [--iso build/test-bench.iso] [--top 40]
  python3 Scripts/profile.py --trace 'XenVersionHypercall.*run' --skip 300 --len 700
"""
import argparse
import bisect
import os
import re
import shutil
import subprocess
import sys

HYPERVISOR_AREA = 0xF5800000   # XenLayout.hypervisorVirtStart: below it, every address is a guest's


def symbols(elf):
    out = subprocess.run(["nm", "-n", elf], capture_output=True, text=True, check=True).stdout
    # Only the image's virtual addresses (the hypervisor area): the boot code's low, physically linked
    # labels would otherwise name guest addresses.
    syms = [(int(p[0], 16), p[2]) for p in (l.split() for l in out.splitlines())
            if len(p) == 3 and p[1] in "tTwW" and int(p[0], 16) >= HYPERVISOR_AREA]
    return syms, [a for a, _ in syms]


def demangle(names):
    if not shutil.which("swift-demangle"):
        return {n: n for n in names}
    out = subprocess.run(["swift-demangle", "--simplified", "--compact"], input="\n".join(names),
                         capture_output=True, text=True).stdout.splitlines()
    return dict(zip(names, out)) if len(out) == len(names) else {n: n for n in names}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iso", default="build/test-bench.iso")
    ap.add_argument("--elf", default="build/apus.elf")
    ap.add_argument("--plugin", default="build/host/pcprof.so")
    ap.add_argument("--memory", default="1536")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--trace", help="a regular expression naming the function whose entry starts the trace")
    ap.add_argument("--skip", type=int, default=300, help="entries of that function to let pass first")
    ap.add_argument("--len", type=int, default=2000, help="instructions to record")
    ap.add_argument("--timeout", type=int, default=1200)
    a = ap.parse_args()
    os.makedirs("build/profile", exist_ok=True)
    syms, addrs = symbols(a.elf)
    plugin = f"{a.plugin},out=build/profile/counts.txt"
    if a.trace:
        match = [(addr, n) for addr, n in syms if re.search(a.trace, n) or re.search(a.trace, demangle([n])[n])]
        if not match:
            sys.exit(f"profile: no function in {a.elf} matches '{a.trace}'")
        plugin += f",trace={match[0][0]:x},skip={a.skip},len={a.len},tracefile=build/profile/trace.txt"
        print(f"profile: tracing {a.len} instructions from entry {a.skip + 1} of {demangle([match[0][1]])[match[0][1]]}")
    cmd = ["timeout", "-k", "5", str(a.timeout), "qemu-system-x86_64", "-icount", "shift=0,sleep=off",
           "-rtc", "base=2026-01-01T00:00:00,clock=vm", "-nodefaults", "-display", "none", "-no-reboot",
           "-serial", "file:build/profile/serial.log", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
           "-m", a.memory, "-cdrom", a.iso, "-boot", "d", "-plugin", plugin]
    status = subprocess.run(cmd, stdin=subprocess.DEVNULL).returncode
    if status not in ((0,) if a.trace else (33, 35)):
        sys.exit(f"profile: the run did not finish through isa-debug-exit (QEMU exit {status}); see build/profile/serial.log")
    top_address = addrs[-1] + 0x4000

    def name_of(address):
        i = bisect.bisect_right(addrs, address) - 1
        return syms[i][1] if i >= 0 and HYPERVISOR_AREA <= address < top_address else "(guest)"

    if a.trace:
        runs = []
        with open("build/profile/trace.txt") as f:
            for line in f:
                n = name_of(int(line, 16))
                if runs and runs[-1][0] == n:
                    runs[-1][1] += 1
                else:
                    runs.append([n, 1])
        names = demangle(sorted({n for n, _ in runs}))
        total = 0
        for n, c in runs:
            total += c
            print(f"{c:>6} {total:>7}  {names[n][:110]}")
        return
    totals, entries = {}, {}
    starts = {addr for addr, _ in syms}
    with open("build/profile/counts.txt") as f:
        for line in f:
            address, count = line.split()
            address, count = int(address, 16), int(count)
            if not HYPERVISOR_AREA <= address < top_address:
                continue
            n = name_of(address)
            totals[n] = totals.get(n, 0) + count
            if address in starts:
                entries[n] = entries.get(n, 0) + count
    best = sorted(totals, key=lambda n: -totals[n])[:a.top]
    names = demangle(best)
    print(f"{'instructions':>14} {'entries':>10}  function (hypervisor only)")
    for n in best:
        print(f"{totals[n]:>14} {entries.get(n, 0):>10}  {names[n][:110]}")


if __name__ == "__main__":
    main()
