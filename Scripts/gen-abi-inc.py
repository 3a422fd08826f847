#!/usr/bin/env python3
# gen-abi-inc.py [--root DIR] OUTDIR: writes OUTDIR/abi.inc (guest-ABI facts from Sources/PVABI) and
# OUTDIR/layout.inc (the address map from Sources/ApusCore/AddressMap.swift) for NASM.
# It only copies integer literals the Swift files define; it must never invent or compute a value.

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (NASM name, Swift file, enum or extension, constant, comment)
ABI = [
    ("DOMID_SELF", "Sources/PVABI/EventChannelOps.swift", "SpecialDomainID", "selfID",
     "domid_t meaning the calling domain"),
    ("HYPERCALL_VECTOR", "Sources/PVABI/Exceptions.swift", "Hypercall", "trapVector",
     "int HYPERCALL_VECTOR enters the hypervisor from ring 1"),
    ("IRET_VECTOR", "Sources/PVABI/Exceptions.swift", "Hypercall", "iretTrapVector",
     "int IRET_VECTOR is the iret hypercall from ring 1 (the hypercall page's iret slot)"),
    ("HYPERCALL_EVTCHN_OP", "Sources/PVABI/Exceptions.swift", "Hypercall", "eventChannelOpNumber",
     "EAX of event_channel_op"),
    ("EVTCHNOP_SEND", "Sources/PVABI/Exceptions.swift", "Hypercall", "eventChannelSendCommand",
     "EBX of event_channel_op's send command"),
    ("HYPERCALL_UPDATE_VA_MAPPING", "Sources/PVABI/Exceptions.swift", "Hypercall", "updateVAMappingNumber",
     "EAX of update_va_mapping"),
    ("HYPERVISOR_LDT_SEL", "Sources/PVABI/Selectors.swift", "Selector", "hypervisorLDT",
     "the GDT selector lldt loads for a guest's LDT"),
    ("FLAT_RING1_CS", "Sources/PVABI/Selectors.swift", "Selector", "flatRing1CS", "guest kernel code"),
    ("FLAT_RING1_DS", "Sources/PVABI/Selectors.swift", "Selector", "flatRing1DS", "guest kernel data"),
    ("FLAT_RING1_SS", "Sources/PVABI/Selectors.swift", "Selector", "flatRing1SS", "guest kernel stack"),
    ("FLAT_RING3_CS", "Sources/PVABI/Selectors.swift", "Selector", "flatRing3CS", "guest user code"),
    ("FLAT_RING3_DS", "Sources/PVABI/Selectors.swift", "Selector", "flatRing3DS", "guest user data"),
    ("FLAT_RING3_SS", "Sources/PVABI/Selectors.swift", "Selector", "flatRing3SS", "guest user stack"),
]
ERROR_CODE_VECTORS = ("Sources/PVABI/Exceptions.swift", "ExceptionVector", "withErrorCode")

LAYOUT = [
    ("KERNEL_VIRT_OFFSET", "Sources/ApusCore/AddressMap.swift", "AddressMap", "directMapStart",
     "direct map: virtual = physical + this"),
    ("KERNEL_PHYS_BASE", "Sources/ApusCore/AddressMap.swift", "AddressMap", "imagePhysicalBase",
     "where GRUB loads the image"),
    ("DIRECT_MAP_SIZE", "Sources/ApusCore/AddressMap.swift", "AddressMap", "directMapSize",
     "bytes mapped with 2 MiB pages at KERNEL_VIRT_OFFSET"),
    ("BOOT_STACK_SIZE", "Sources/ApusCore/AddressMap.swift", "AddressMap", "bootStackSize",
     "ring-0 stack (also TSS.esp0)"),
    ("HYPERVISOR_CS", "Sources/PVABI/Selectors.swift", "Selector", "hypervisorCS", "ring-0 code"),
    ("HYPERVISOR_DS", "Sources/PVABI/Selectors.swift", "Selector", "hypervisorDS", "ring-0 data"),
]


class GenError(Exception):
    pass


def strip_comments(text):
    return "\n".join(line.split("//", 1)[0] for line in text.split("\n"))


def scope(text, type_name, path):
    """The bodies of every `enum/extension/struct type_name { ... }` in text, braces matched."""
    bodies = []
    for m in re.finditer(r"\b(?:enum|extension|struct)\s+" + re.escape(type_name) + r"\b[^{]*\{", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        bodies.append(text[m.end():i - 1])
    if not bodies:
        raise GenError(f"{path}: no enum or extension named {type_name}")
    return "\n".join(bodies)


def integer(literal, where):
    literal = literal.strip().replace("_", "")
    try:
        return int(literal, 0)
    except ValueError:
        raise GenError(f"{where}: '{literal}' is not an integer literal (the generator copies literals only)")


def swift_constant(path, type_name, name):
    """The literal value of `static let name: T = literal` inside type_name: an int or a list of ints."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        body = scope(strip_comments(f.read()), type_name, path)
    found = re.findall(r"\bstatic\s+let\s+" + re.escape(name) + r"\s*:\s*[^=]+=\s*([^\n]+)", body)
    where = f"{path}: {type_name}.{name}"
    if len(found) != 1:
        raise GenError(f"{where}: expected one definition, found {len(found)}")
    value = found[0].strip()
    if value.startswith("["):
        if not value.endswith("]"):
            raise GenError(f"{where}: the array literal must sit on one line")
        return [integer(v, where) for v in value[1:-1].split(",") if v.strip()]
    return integer(value, where)


def define(name, value, comment, source):
    return f"%define {name:<22} {'0x%X' % value:<12} ; {comment} ({source})\n"


def write_if_changed(path, text):
    """Keeps the file's time when nothing changed, so `make` rebuilds only what depends on a change."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def render(entries, header):
    out = header
    for nasm, path, type_name, name, comment in entries:
        value = swift_constant(path, type_name, name)
        if not isinstance(value, int):
            raise GenError(f"{path}: {type_name}.{name} is not a single integer")
        out += define(nasm, value, comment, f"{type_name}.{name}")
    return out


def main(argv):
    global ROOT
    args = argv[1:]
    if len(args) == 3 and args[0] == "--root":   # another tree's sources (the host tests use a broken copy)
        ROOT, args = os.path.abspath(args[1]), args[2:]
    if len(args) != 1:
        sys.stderr.write("usage: gen-abi-inc.py [--root DIR] OUTDIR\n")
        return 2
    outdir = args[0]
    os.makedirs(outdir, exist_ok=True)
    try:
        abi = render(ABI, "; abi.inc: generated by Scripts/gen-abi-inc.py from Sources/PVABI. Never edit it:\n"
                          "; change the Swift constant named at the end of each line instead.\n\n")
        path, type_name, name = ERROR_CODE_VECTORS
        vectors = swift_constant(path, type_name, name)
        if not isinstance(vectors, list) or not vectors or any(not 0 <= v < 32 for v in vectors):
            raise GenError(f"{path}: {type_name}.{name} must be a non-empty list of exception vectors 0-31")
        abi += f"\n; Exception vectors for which the CPU pushes an error code ({type_name}.{name}).\n"
        abi += f"%define ERROR_CODE_VECTORS     {', '.join(str(v) for v in vectors)}\n"
        abi += "%define VECTOR_HAS_ERROR_CODE(v) (" + " || ".join(f"((v) == {v})" for v in vectors) + ")\n"
        layout = render(LAYOUT, "; layout.inc: generated by Scripts/gen-abi-inc.py from Sources/ApusCore/AddressMap.swift\n"
                                "; and Sources/PVABI/Selectors.swift. Never edit it; derive from these in NASM, don't restate.\n\n")
    except (GenError, OSError) as e:
        sys.stderr.write(f"gen-abi-inc.py: {e}\n")
        return 1
    write_if_changed(os.path.join(outdir, "abi.inc"), abi)
    write_if_changed(os.path.join(outdir, "layout.inc"), layout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
