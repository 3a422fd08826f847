#!/usr/bin/env python3
"""mkcpio.py OUT FILE...: writes a "newc" cpio archive of the named files (by base name),
the format dom0's initrd uses. Deterministic: fixed mtimes and inode numbers, so rebuilds match."""
import os
import sys


def header(ino: int, mode: int, size: int, name: bytes) -> bytes:
    fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name) + 1, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def pad(n: int) -> bytes:
    return b"\0" * ((4 - n % 4) % 4)


def main() -> None:
    out, files = sys.argv[1], sys.argv[2:]
    blob = bytearray()
    for i, path in enumerate(files, 1):
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path).encode()
        blob += header(i, 0o100644, len(data), name) + name + b"\0"
        blob += pad(len(blob))
        blob += data + pad(len(data))
    trailer = b"TRAILER!!!"
    blob += header(0, 0, 0, trailer) + trailer + b"\0"
    blob += pad(len(blob))
    with open(out, "wb") as f:
        f.write(blob)


if __name__ == "__main__":
    main()
