#!/usr/bin/env python3
"""serial-dialogue.py DIALOGUE LOG -- COMMAND...: runs COMMAND (QEMU with `-serial stdio`), copies
everything it prints to LOG, and types on its serial line what DIALOGUE says, each step when the
serial output has got that far: a person at a terminal, not a file poured in at once. Its exit status
is COMMAND's (124 when a step waited in vain: the run is judged as timed out). It only types; it judges
nothing (check-log.py judges LOG), and it never writes a line of its own into LOG.

DIALOGUE lines (blank lines and `#` comments skipped):
  within SECONDS   how long each later `await` may wait, in real seconds (default 120)
  await REGEX      wait for a whole serial line, printed after the previous await's line, matching REGEX
  type TEXT        type TEXT and a carriage return (Enter on a serial terminal)
  key ctrl-X       type one control character (ctrl-] is 0x1d: detach from a domain's console)
"""
import os
import re
import selectors
import signal
import subprocess
import sys
import time


def parse(path):
    steps = []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            word, _, rest = line.partition(" ")
            if word == "within":
                steps.append((n, "within", float(rest)))
            elif word == "await":
                steps.append((n, "await", re.compile(rest)))
            elif word == "type":
                steps.append((n, "send", rest.encode() + b"\r"))
            elif word == "key" and re.fullmatch(r"ctrl-[@-_a-z]", rest.strip()):
                steps.append((n, "send", bytes([ord(rest.strip()[-1].upper()) & 0x1F])))
            else:
                sys.exit(f"{path}:{n}: unknown step {line!r}")
    return steps


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit(__doc__)
    steps, log_path, command = parse(sys.argv[1]), sys.argv[2], sys.argv[4:]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def stop(signum, _frame):
        proc.kill()
        sys.exit(124)
    signal.signal(signal.SIGTERM, stop)

    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    log = open(log_path, "wb")
    lines, partial = [], b""      # whole lines seen so far, and the unfinished one
    seen = 0                      # lines before this index are spoken for by earlier awaits
    within = 120.0
    step = 0
    deadline = None
    while True:
        # Take every step that needs no more output.
        while step < len(steps):
            n, kind, arg = steps[step]
            if kind == "within":
                within = arg
            elif kind == "send":
                try:
                    proc.stdin.write(arg)
                    proc.stdin.flush()
                except BrokenPipeError:
                    pass
            else:
                hit = next((i for i in range(seen, len(lines)) if arg.search(lines[i])), None)
                if hit is None:
                    deadline = deadline or time.monotonic() + within
                    if time.monotonic() > deadline:
                        print(f"serial-dialogue: {sys.argv[1]}:{n}: waited {within:.0f} s for a line matching "
                              f"{arg.pattern!r}; giving up", file=sys.stderr)
                        proc.kill()
                        proc.wait()
                        log.close()
                        return 124
                    break
                seen = hit + 1
                deadline = None
            step += 1
        events = selector.select(timeout=0.5)
        if not events:
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        log.write(chunk)
        log.flush()
        partial += chunk
        *whole, partial = partial.split(b"\n")
        lines.extend(w.decode("utf-8", "replace").rstrip("\r") for w in whole)
    log.close()
    status = proc.wait()
    if step < len(steps):
        n, _, arg = steps[step]
        print(f"serial-dialogue: the run ended before step {n} ({getattr(arg, 'pattern', arg)!r})", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
