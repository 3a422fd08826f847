#!/usr/bin/env python3
"""check-log.py EXPECT LOG STATUS: judges one QEMU scenario run.

EXPECT lines: `exit pass|fail` (the isa-debug-exit verdict the run must end with),
`expect REGEX` (must match a serial-log line, in file order), `anywhere REGEX` (must match some
line, in any order: for lines from domains running side by side), `reject REGEX` (must match no
line); `timeout SECONDS` and `memory MIB` are for run-scenario.sh. Blank lines and `#` comments are skipped. It prints what failed and exits non-zero;
it never edits the log or the expectations.
"""
import re
import sys

EXIT_CODES = {"pass": 33, "fail": 35}   # isa-debug-exit: (value << 1) | 1 for 0x10 / 0x11


def main() -> int:
    expect_path, log_path, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(log_path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines()
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
    problems = []
    if status == 124:
        problems.append("QEMU timed out: the hypervisor never reached isa-debug-exit")
    elif want_exit is not None and status != EXIT_CODES[want_exit]:
        problems.append(f"QEMU exited {status}, expected {EXIT_CODES[want_exit]} ({want_exit})")
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
