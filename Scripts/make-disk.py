#!/usr/bin/env python3
"""make-disk.py PATH: the small raw disk image `make run` gives dom0 when no DISK= is named: 8 MiB,
a text label in sector 0 (so `disk read 0` shows something readable), zeros after it."""
import os
import sys

path = sys.argv[1]
os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
label = b"Apus dom0 disk image (Scripts/make-disk.py): 8 MiB, raw, read and written by dom0's virtio-blk driver.\n"
with open(path, "wb") as f:
    f.write(label.ljust(512, b"\0"))
    f.truncate(8 * 1024 * 1024)
print(f"make-disk: {path} (8 MiB)")
