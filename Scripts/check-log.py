#!/usr/bin/env python3
"""check-log.py EXPECT LOG STATUS [qemu|bochs]: judges one scenario run under QEMU (the default) or Bochs.

EXPECT lines: `exit pass|fail` (required: the verdict the run must end with; under QEMU the
isa-debug-exit status, 33 or 35, and the hypervisor's "test: exiting QEMU with PASS|FAIL" line;
under Bochs, which has no isa-debug-exit, STATUS 0 means the run ended through the hypervisor's
"Shutdown" on port 0x8900 and the verdict line decides),
`expect REGEX` (must match a serial-log line, in file order), `anywhere REGEX` (must match some
line, in any order: for lines from domains running side by side), `reject REGEX` (must match no
line); `timeout SECONDS` and `memory MIB` are for run-scenario.sh. Blank lines and `#` comments are skipped. It prints what failed and exits non-zero;
it never edits the log or the expectations.
"""
import re
import sys

EXIT_CODES = {"pass": 33, "fail": 35}   # isa-debug-exit: (value << 1) | 1 for 0x10 / 0x11
TIMED_OUT = (124, 137)                   # timeout(1): the limit passed; 137 when it had to kill -9
VERDICT = re.compile(r"^\(apus\) test: exiting QEMU with ([A-Z]*)")


def verdict_problems(lines, want_exit, status, emulator):
    """What is wrong with how the run ended, or an empty list."""
    if status in TIMED_OUT:
        return [f"{emulator.capitalize() if emulator == 'bochs' else 'QEMU'} timed out (status {status}): "
                "the hypervisor never ended the run"]
    if emulator == "qemu" and status != EXIT_CODES[want_exit]:
        return [f"QEMU exited {status}, expected {EXIT_CODES[want_exit]} ({want_exit})"]
    if emulator == "bochs" and status != 0:
        return [f"Bochs ended with status {status}, not through the hypervisor's Shutdown on port 0x8900"]
    said = [m.group(1) for m in map(VERDICT.match, lines) if m]
    # Bochs may exit before its UART sends the last bytes: a verdict cut to "PA" still counts.
    word = said[-1] if said else ""
    if not word or not want_exit.upper().startswith(word):
        return [f"the hypervisor's verdict line says {word or 'nothing'!r}, expected {want_exit.upper()}"]
    return []


def main() -> int:
    expect_path, log_path, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
    emulator = sys.argv[4] if len(sys.argv) > 4 else "qemu"
    if emulator not in ("qemu", "bochs"):
        print(f"unknown emulator {emulator!r}")
        return 2
    try:
        with open(log_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        print(f"  no serial log to judge: {e}")
        return 1
    want_exit = None
    ordered, rejected, unordered = [], [], []
    with open(expect_path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            word, _, rest = line.partition(" ")
            if word == "exit":
                want_exit = rest.strip()
                if want_exit not in EXIT_CODES:
                    print(f"{expect_path}:{n}: exit must be pass or fail, not {want_exit!r}")
                    return 2
            elif word == "expect":
                ordered.append((n, re.compile(rest)))
            elif word == "anywhere":
                unordered.append((n, re.compile(rest)))
            elif word in ("timeout", "memory"):
                pass                      # read by run-scenario.sh
            elif word == "reject":
                rejected.append((n, re.compile(rest)))
            else:
                print(f"{expect_path}:{n}: unknown directive {word!r}")
                return 2
    if want_exit is None:
        print(f"{expect_path}: no `exit pass|fail` line: every scenario names the verdict it must end with")
        return 2
    problems = verdict_problems(lines, want_exit, status, emulator)
    at = 0
    for n, pattern in ordered:
        while at < len(lines) and not pattern.search(lines[at]):
            at += 1
        if at == len(lines):
            problems.append(f"missing (expect line {n}): {pattern.pattern}")
            break
        at += 1
    for n, pattern in unordered:
        if not any(pattern.search(line) for line in lines):
            problems.append(f"missing anywhere (line {n}): {pattern.pattern}")
    for n, pattern in rejected:
        for line in lines:
            if pattern.search(line):
                problems.append(f"forbidden line (reject line {n}): {line}")
                break
    if problems:
        for p in problems:
            print("  " + p)
        print("  --- last lines of the serial log ---")
        for line in lines[-15:]:
            print("  | " + line)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
