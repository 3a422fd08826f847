#!/usr/bin/env python3
"""repack-initramfs.py IN.cpio.gz OUT.cpio.gz OVERLAY: rewrites a gzipped newc initramfs with the files
under the folder OVERLAY laid over it (same path: replaced, new path: added, with its folders), keeping
every other entry (busybox, device nodes, symlinks) byte for byte. Python's standard library only.
It never changes IN; OUT is deterministic (fixed mtime and gzip header), so rebuilds match.
"""
import gzip
import os
import sys

MAGIC = (b"070701", b"070702")
FIELDS = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
          "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check")
DIRECTORY, REGULAR = 0o040000, 0o100000


def align(n: int) -> int:
    return (n + 3) & ~3


def read_entries(blob: bytes) -> list:
    """Every entry before the trailer, as (fields dict, name, data); refuses anything malformed."""
    entries, at = [], 0
    while True:
        head = blob[at:at + 110]
        if len(head) < 110 or head[:6] not in MAGIC:
            sys.exit(f"repack-initramfs: no newc header at byte {at}")
        f = {k: int(head[6 + 8 * i:14 + 8 * i], 16) for i, k in enumerate(FIELDS)}
        name_end = at + 110 + f["namesize"]
        name = blob[at + 110:name_end - 1].decode()
        data_at = align(name_end)
        data = blob[data_at:data_at + f["filesize"]]
        if len(data) != f["filesize"]:
            sys.exit(f"repack-initramfs: {name} is cut short")
        at = align(data_at + f["filesize"])
        if name == "TRAILER!!!":
            return entries
        entries.append((f, name, data))


def header(f: dict, name: str) -> bytes:
    f = dict(f, namesize=len(name.encode()) + 1)
    return b"070701" + b"".join(b"%08X" % f[k] for k in FIELDS)


def overlay_entries(root: str) -> list:
    """(archive path, mode, data) for every folder and file under root, in a stable order."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(folder, root)
        if rel != ".":
            found.append((rel.replace(os.sep, "/"), DIRECTORY | 0o755, b""))
        for name in sorted(files):
            path = os.path.join(folder, name)
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            with open(path, "rb") as fh:
                found.append((os.path.relpath(path, root).replace(os.sep, "/"), REGULAR | mode, fh.read()))
    return found


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    source, out, root = sys.argv[1:]
    with gzip.open(source, "rb") as fh:
        entries = read_entries(fh.read())
    names = {name for _, name, _ in entries}
    added = overlay_entries(root)
    replaced = {path: (mode, data) for path, mode, data in added}
    next_ino = max((f["ino"] for f, _, _ in entries), default=0) + 1
    mtime = max((f["mtime"] for f, _, _ in entries), default=0)
    blob = bytearray()

    def put(f: dict, name: str, data: bytes) -> None:
        blob.extend(header(f, name) + name.encode() + b"\0")
        blob.extend(b"\0" * (align(len(blob)) - len(blob)))
        blob.extend(data + b"\0" * (align(len(data)) - len(data)))

    for f, name, data in entries:
        if name in replaced and not (f["mode"] & 0o170000 == DIRECTORY and replaced[name][0] & 0o170000 == DIRECTORY):
            mode, new = replaced[name]
            f = dict(f, mode=mode, filesize=len(new), nlink=1, mtime=mtime)
            data = new
        put(f, name, data)
    for path, mode, data in added:
        if path in names:
            continue
        f = dict.fromkeys(FIELDS, 0)
        f.update(ino=next_ino, mode=mode, nlink=2 if mode & 0o170000 == DIRECTORY else 1,
                 mtime=mtime, filesize=len(data))
        next_ino += 1
        put(f, path, data)
    put(dict.fromkeys(FIELDS, 0) | {"nlink": 1}, "TRAILER!!!", b"")
    blob.extend(b"\0" * (align(len(blob)) - len(blob)))
    with open(out + ".tmp", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(bytes(blob))
    os.replace(out + ".tmp", out)
    print(f"repack-initramfs: {out}: {len(entries)} entries kept, {len(added)} laid over from {root}")


if __name__ == "__main__":
    main()
