#!/usr/bin/env python3
"""check-guest-arithmetic.py [ROOT]: fails, listing file:line, for each `+`, `+=`, `&+`, `-`, `-=`,
`&-` applied to a guest-address-bearing expression in Sources/Apus/**/*.swift. Guest addresses
must be checked once, as a whole range, by the one guest-memory path; `va + k` on a raw guest value
can trap in ring 0 (Swift's overflow check) or step past a check made for `va` alone.

Guest-address-bearing: the hypercall argument registers (`a.a1`..`a.a5`, `args.aN`), identifiers
named `va`, `guestVA`, `ptr`, `list`, `sp`, `esp`, `newESP` or ending in `VA`, `.start` of a guest
range (a receiver whose name says guest or range), and `.eip` of a trap frame on a line that uses
the result as an address (a guest-memory read, write, copy or fetch). A line may carry
`// guest-arith-ok: <reason>` for the rare justified case; a marker without a reason is itself a
finding. It reads the sources only and never changes them. Python standard library only.
"""
import pathlib
import re
import sys

ALLOW = re.compile(r"//\s*guest-arith-ok:(.*)$")
GUEST = re.compile(
    r"(?<![\w.])(?:a|args)\.a[0-9]\b"                      # hypercall argument registers
    r"|(?<![\w])(?:va|guestVA|ptr|list|sp|esp|newESP|\w*VA)\b(?!\s*\()"  # named guest addresses
    r"|\b\w*(?:[Gg]uest|[Rr]ange)\w*\.start\b"             # .start of a guest range
)
ADDRESS_USE = re.compile(r"GuestMemory\.|\b(?:read|write|copy|fetch)\w*\s*\(", re.IGNORECASE)
# Binary + and - in their plain, compound and wrapping forms; not ->, ++, unary minus or a literal's sign.
# (A sign with nothing before it, as in `-1` or `= -x`, has no left operand and is skipped.)
OPERATOR = re.compile(r"&\+=|&-=|\+=|-=|&\+|&-|[+-](?![>=+-])")


def strip(line: str, in_block: bool):
    """The code of one line without comments and string contents; and whether a /* */ is open."""
    out, i, n = [], 0, len(line)
    while i < n:
        if in_block:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i, in_block = end + 2, False
            continue
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            in_block, i = True, i + 2
            continue
        if line[i] == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            out.append('""')
            i = j + 1
            continue
        out.append(line[i])
        i += 1
    return "".join(out), in_block


def left_operand(code: str, at: int) -> str:
    """The operand ending just before index `at`: a member chain with calls and subscripts."""
    i = at - 1
    while i >= 0 and code[i] == " ":
        i -= 1
    end = i + 1
    while i >= 0:
        c = code[i]
        if c in ")]":
            depth, i = 0, i
            while i >= 0:
                if code[i] in ")]":
                    depth += 1
                elif code[i] in "([":
                    depth -= 1
                    if depth == 0:
                        break
                i -= 1
            i -= 1
        elif c.isalnum() or c in "_.":
            i -= 1
        else:
            break
    return code[i + 1:end]


def right_operand(code: str, at: int) -> str:
    """The operand starting at index `at`: a member chain with calls and subscripts."""
    i, n = at, len(code)
    while i < n and code[i] == " ":
        i += 1
    start = i
    while i < n:
        c = code[i]
        if c in "([":
            depth = 0
            while i < n:
                if code[i] in "([":
                    depth += 1
                elif code[i] in ")]":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            i += 1
        elif c.isalnum() or c in "_.":
            i += 1
        else:
            break
    return code[start:i]


CONVERSION = re.compile(r"U?Int(?:8|16|32|64)?\((?:truncatingIfNeeded:|bitPattern:)?\s*(.*)\)")
CHAIN = re.compile(r"[A-Za-z_][\w.]*")
GUEST_TAIL = re.compile(r"(?:^|\.)(?:" + GUEST.pattern + r")$")


def guest_operand(operand: str, code: str) -> bool:
    """True when the operand is a guest address itself: a guest-address name or member chain,
    perhaps inside integer conversions. `slot(va)` is a value computed from one, not one."""
    value = operand.strip()
    while True:
        m = CONVERSION.fullmatch(value)
        if not m:
            break
        value = m.group(1).strip()
    if not CHAIN.fullmatch(value):
        return False
    if GUEST_TAIL.search(value) or GUEST.fullmatch(value):
        return True
    return value.endswith(".eip") and bool(ADDRESS_USE.search(code))


def scan(path: pathlib.Path, shown: str):
    findings = []
    in_block = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        allow = ALLOW.search(line)
        code, in_block = strip(line, in_block)
        hits = []
        for m in OPERATOR.finditer(code):
            op, begin = m.group(0), m.start()
            left = left_operand(code, begin)
            right = right_operand(code, begin + len(op))
            if not left.strip() or left.strip() in ("return", "case", "in", "where", "try", "await"):
                continue                                   # a sign, not an operator: -x, +x
            for side in (left, right):
                if guest_operand(side, code):
                    hits.append(f"`{op}` on guest address `{side.strip()}`")
                    break
        if allow and not allow.group(1).strip():
            findings.append(f"{shown}:{number}: guest-arith-ok marker without a reason")
        elif hits and not allow:
            findings.append(f"{shown}:{number}: {'; '.join(hits)}: {line.strip()}")
    return findings


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    sources = sorted((root / "Sources" / "Apus").rglob("*.swift"))
    if not sources:
        print(f"check-guest-arithmetic: no Swift files under {root / 'Sources/Apus'}")
        return 2
    findings = []
    for path in sources:
        findings += scan(path, str(path.relative_to(root)))
    for f in findings:
        print(f)
    if findings:
        print(f"check-guest-arithmetic: {len(findings)} line(s) do arithmetic on a guest address; "
              "go through the guest-memory path, or mark a justified line `// guest-arith-ok: <reason>`")
        return 1
    print(f"check-guest-arithmetic: no arithmetic on guest addresses in {len(sources)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
