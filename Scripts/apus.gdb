# apus.gdb: gdb set-up for Apus under `make debug` (qemu-system-i386 -S -gdb): connects, loads the
# debug build's symbols (build/debug: the hypervisor, dom0 at its link address) and defines the apus-*
# commands, which read the hypervisor's own records. It only reads the machine: it must never write
# guest or hypervisor memory, nor call code in it.
#
#   make debug            (one terminal: QEMU halted, serial console there)
#   make gdb              (another: gdb -x Scripts/apus.gdb, port from APUS_GDB_PORT, default 1234)
#
# Commands: apus-domains, apus-current, apus-frame [DOMID], apus-walk ADDR [DOMID],
# apus-evtchn [DOMID], apus-guest NAME (whose kernel symbols sit at 0x00100000: dom0, spinner,
# pingpong, clock, hostile, fuzz); $apus_domid() is the running domain's id (-1: none), for
# breakpoint conditions on guest code, which every domain runs at the same addresses.

set pagination off
set confirm off
set architecture i386
file build/debug/apus.elf

python
import os
import gdb

APUS_BUILD = os.environ.get("APUS_GDB_BUILD", "build/debug")

# ---- Layout facts ---------------------------------------------------------------------------------
# Domain's field offsets come from the hypervisor itself: DebugLayout.domain (Sources/Apus/Domain/
# DebugLayout.swift), measured from the first domain built and checked against the values it holds,
# so a change of Domain's or VCPU's stored properties moves them there too. Swift's DWARF names these
# fields, but its member offsets for class properties leave out alignment padding, so they are not used.
# l3MFN, pdptEntries, pdptPhysical and vcpuSaved are offsets into the VCPU object (D.vcpu's target):
# each vCPU has its own address space, and gdb shows the current vCPU's.
SYM_RUNNING = "$e4Apus7DomainsO7runnings9UnmanagedVyAA6DomainCGSgvpZ"        # Domains.running
SYM_ALL = "$e4Apus7DomainsO3allSayAA6DomainCGvpZ"                            # Domains.all
SYM_GUEST_FRAME = "$e4Apus13ContextSwitchO10guestFrameSpy0A4Core04TrapE0VGSgvpZ"  # ContextSwitch.guestFrame
SYM_LAYOUT = "$e4Apus11DebugLayoutO6domainAA18DomainFieldOffsetsVvpZ"                                              # DebugLayout.domain
# DomainFieldOffsets: magic, word count, failed field, then these offsets (the order of its fields).
LAYOUT_FIELDS = ["id", "privileged", "state", "sharedInfo", "l3MFN", "pdptEntries", "pdptPhysical",
                 "vcpu", "name", "paused", "cpuTime", "eventPorts", "vcpuInfo", "vcpuSaved"]
LAYOUT_VALID, LAYOUT_INVALID = 0x594C5041, 0x21444142

class Layout:
    """Domain's field offsets (D.id, D.state, ...) from the hypervisor's DebugLayout table."""
    def __getattr__(self, field):
        base = symbol_address(SYM_LAYOUT)
        magic, words, failed = u32(base), u32(base + 4), u32(base + 8)
        if magic == 0:
            raise gdb.GdbError("Domain's layout is not measured yet: no domain has been built (continue past dom0's build)")
        if magic == LAYOUT_INVALID:
            name = LAYOUT_FIELDS[failed - 1] if 0 < failed <= len(LAYOUT_FIELDS) else "#%d" % failed
            raise gdb.GdbError("Domain's layout table is invalid: Domain.%s failed its check at boot "
                               "(fix DebugLayout.measure for the changed Domain)" % name)
        if magic != LAYOUT_VALID or words != len(LAYOUT_FIELDS):
            raise gdb.GdbError("DebugLayout.domain (magic %#x, %d words) does not match apus.gdb's %d fields"
                               % (magic, words, len(LAYOUT_FIELDS)))
        if field not in LAYOUT_FIELDS:
            raise AttributeError(field)
        return u32(base + 12 + 4 * LAYOUT_FIELDS.index(field))

D = Layout()
# VCPU: its saved TrapFrame first. Swift Array storage: count at 8, elements at 16.
ARRAY_COUNT, ARRAY_ELEMENTS = 0x08, 0x10
# TrapFrame (ApusCore/TrapFrame.swift, pinned by a host test): 19 words in this order.
FRAME_FIELDS = ["edi", "esi", "ebp", "esp0", "ebx", "edx", "ecx", "eax", "gs", "fs", "es", "ds",
                "vector", "error", "eip", "cs", "eflags", "esp", "ss"]
# EventChannel: 16 bytes, the state's payload at 0, its case at 8, notifyVCPU at 12. The cases with a
# payload in declaration order (EventChannelState), then `free`.
EVENT_CASES = ["unbound", "interdomain", "virq", "ipi", "pirq", "free"]
# shared_info (32-bit guest): 32 vcpu_info of 64 bytes, then evtchn_pending[32] and evtchn_mask[32].
SI_PENDING, SI_MASK = 2048, 2048 + 128
STATES = {6: "running", 7: "blocked", 8: "crashed", 9: "dead"}
SHUTDOWN = ["poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"]

def mem(addr, n):
    return bytes(gdb.selected_inferior().read_memory(addr, n))

def u8(addr): return mem(addr, 1)[0]
def u16(addr): return int.from_bytes(mem(addr, 2), "little")
def u32(addr): return int.from_bytes(mem(addr, 4), "little")
def u64(addr): return int.from_bytes(mem(addr, 8), "little")

def phys64(addr):
    """A 64-bit word of machine memory (QEMU's physical-memory mode of its gdb stub)."""
    gdb.execute("maint packet Qqemu.PhyMemMode:1", to_string=True)
    try:
        return u64(addr)
    finally:
        gdb.execute("maint packet Qqemu.PhyMemMode:0", to_string=True)

def symbol_address(name):
    return int(gdb.parse_and_eval("(unsigned)&'%s'" % name))

def running():
    """The running domain's object address, or 0."""
    return u32(symbol_address(SYM_RUNNING))

def domains():
    storage = u32(symbol_address(SYM_ALL))
    if storage == 0:
        return []
    return [u32(storage + ARRAY_ELEMENTS + 4 * i) for i in range(u32(storage + ARRAY_COUNT))]

def domain(arg):
    """The domain named by an id argument, or the running one."""
    if arg.strip() == "":
        d = running()
        if d == 0:
            raise gdb.GdbError("no domain is running (the hypervisor's own code or the idle loop)")
        return d
    want = int(gdb.parse_and_eval(arg))
    for d in domains():
        if u16(d + D.id) == want:
            return d
    raise gdb.GdbError("no domain d%d" % want)

def vcpu_of(d):
    """The domain's current vCPU object (the one on the CPU, or the last that was)."""
    return u32(d + D.vcpu)

def state_name(d):
    s = u8(d + D.state)
    if s < len(SHUTDOWN):
        return "shutdown(%s)" % SHUTDOWN[s]
    return STATES.get(s, "state %d" % s)

def name_of(d):
    return mem(d + D.name, 16).split(b"\0")[0].decode("ascii", "replace")

def describe(d):
    flags = []
    if u8(d + D.privileged): flags.append("privileged")
    if u8(d + D.paused): flags.append("paused")
    if d == running(): flags.append("on the CPU")
    return "d%d %-12s %-18s cr3 %#010x l3 mfn %#x cpu %d ms  vcpu %#x %s" % (
        u16(d + D.id), name_of(d) or "-", state_name(d), u32(vcpu_of(d) + D.pdptPhysical), u32(vcpu_of(d) + D.l3MFN),
        u64(d + D.cpuTime) // 1000000, u32(d + D.vcpu), " ".join(flags))

class Domains(gdb.Command):
    """apus-domains: every domain in Domains.all: id, name, state, CR3, vCPU record."""
    def __init__(self): super().__init__("apus-domains", gdb.COMMAND_DATA)
    def invoke(self, arg, from_tty):
        for d in domains():
            print(describe(d))

class Current(gdb.Command):
    """apus-current: the running domain (Domains.running) and its vCPU: the trap frame's EIP, CS and ESP."""
    def __init__(self): super().__init__("apus-current", gdb.COMMAND_DATA)
    def invoke(self, arg, from_tty):
        d = running()
        if d == 0:
            print("no domain is running")
            return
        print(describe(d))
        f = frame_words(d)
        print("vcpu0: eip %#010x cs %#06x esp %#010x eflags %#010x (%s)" % (
            f["eip"], f["cs"], f["esp"], f["eflags"], frame_source(d)))

def in_guest():
    """Stopped in guest code (CS of ring 1 or 3): the CPU's registers are the running domain's."""
    return int(gdb.parse_and_eval("$cs")) & 3 != 0

def frame_source(d):
    if d != running():
        return "saved frame"
    return "the CPU's registers, in the guest" if in_guest() else "live trap frame"

def frame_words(d):
    """The running domain's registers (the CPU's when stopped in the guest, else its live trap frame,
    ContextSwitch.guestFrame), another's VCPU.saved."""
    if d == running() and in_guest():
        regs = {n: int(gdb.parse_and_eval("$" + n)) & 0xFFFFFFFF for n in
                ["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip", "cs", "ss", "ds", "es", "fs", "gs", "eflags"]}
        regs.update(esp0=0, vector=0, error=0)
        return regs
    if d == running():
        base = u32(symbol_address(SYM_GUEST_FRAME))
    else:
        base = vcpu_of(d) + D.vcpuSaved
    words = mem(base, 4 * len(FRAME_FIELDS))
    return {n: int.from_bytes(words[4 * i:4 * i + 4], "little") for i, n in enumerate(FRAME_FIELDS)}

class Frame(gdb.Command):
    """apus-frame [DOMID]: a domain's trap frame (the running one's live frame by default)."""
    def __init__(self): super().__init__("apus-frame", gdb.COMMAND_DATA)
    def invoke(self, arg, from_tty):
        d = domain(arg)
        f = frame_words(d)
        print("d%d %s:" % (u16(d + D.id), frame_source(d)))
        print("  eax %08x ebx %08x ecx %08x edx %08x" % (f["eax"], f["ebx"], f["ecx"], f["edx"]))
        print("  esi %08x edi %08x ebp %08x esp %08x" % (f["esi"], f["edi"], f["ebp"], f["esp"]))
        print("  eip %08x cs %04x eflags %08x ss %04x ds %04x es %04x fs %04x gs %04x" % (
            f["eip"], f["cs"], f["eflags"], f["ss"], f["ds"], f["es"], f["fs"], f["gs"]))
        if frame_source(d) != "the CPU's registers, in the guest":
            print("  vector %d error %#x (ring %d)" % (f["vector"], f["error"], f["cs"] & 3))

class Walk(gdb.Command):
    """apus-walk ADDR [DOMID]: the PAE walk of a guest virtual address in a domain's address space
(the running one by default): PDPT entry, L2 entry, L1 entry (or the 2 MiB page), machine address."""
    def __init__(self): super().__init__("apus-walk", gdb.COMMAND_DATA)
    def invoke(self, arg, from_tty):
        parts = arg.split()
        if not parts:
            raise gdb.GdbError("usage: apus-walk ADDR [DOMID]")
        va = int(gdb.parse_and_eval(parts[0])) & 0xFFFFFFFF
        d = domain(" ".join(parts[1:]))
        cr3 = u32(vcpu_of(d) + D.pdptPhysical)
        print("d%d va %#010x: cr3 %#010x" % (u16(d + D.id), va, cr3))
        e3 = u64(u32(vcpu_of(d) + D.pdptEntries) + 8 * (va >> 30))
        print("  l3[%d] = %#018x" % (va >> 30, e3))
        if not e3 & 1:
            print("  not present")
            return
        l2 = e3 & 0x000FFFFFFFFFF000
        i2 = (va >> 21) & 511
        e2 = phys64(l2 + 8 * i2)
        print("  l2[%d] = %#018x  (table at machine %#x)" % (i2, e2, l2))
        if not e2 & 1:
            print("  not present")
            return
        if e2 & 0x80:
            print("  2 MiB page: machine %#x" % ((e2 & 0x000FFFFFFFE00000) | (va & 0x1FFFFF)))
            return
        l1 = e2 & 0x000FFFFFFFFFF000
        i1 = (va >> 12) & 511
        e1 = phys64(l1 + 8 * i1)
        print("  l1[%d] = %#018x  (table at machine %#x)" % (i1, e1, l1))
        if not e1 & 1:
            print("  not present")
            return
        bits = [n for b, n in [(1, "rw"), (2, "user"), (3, "pwt"), (4, "pcd"), (5, "accessed"), (6, "dirty"), (63, "nx")] if e1 >> b & 1]
        print("  machine %#x (mfn %#x) %s" % ((e1 & 0x000FFFFFFFFFF000) | (va & 0xFFF), (e1 >> 12) & 0xFFFFFFFFFF, " ".join(bits)))

class EventChannels(gdb.Command):
    """apus-evtchn [DOMID]: a domain's event channels (the hypervisor's port records as EVTCHNOP_send
reads them, Domain.eventPorts) with each bound port's pending and mask bits from its shared_info,
and vcpu0's upcall pending and mask bytes."""
    def __init__(self): super().__init__("apus-evtchn", gdb.COMMAND_DATA)
    def invoke(self, arg, from_tty):
        d = domain(arg)
        base, count, limit = u32(d + D.eventPorts), u32(d + D.eventPorts + 4), u32(d + D.eventPorts + 8)
        si, vi = u32(d + D.sharedInfo), u32(d + D.vcpuInfo)
        print("d%d: %d port records (limit %d), vcpu0 upcall pending %d mask %d, pending_sel %#x" % (
            u16(d + D.id), count, limit, u8(vi), u8(vi + 1), u32(vi + 4)))
        for port in range(count):
            rec = mem(base + 16 * port, 16)
            case = EVENT_CASES[rec[8]] if rec[8] < len(EVENT_CASES) else "case %d" % rec[8]
            if case == "free":
                continue
            a, b = int.from_bytes(rec[0:2], "little"), int.from_bytes(rec[4:8], "little")
            what = {"unbound": "unbound, for d%d" % a, "interdomain": "interdomain d%d port %d" % (a, b),
                    "virq": "virq %d" % int.from_bytes(rec[0:4], "little"),
                    "ipi": "ipi vcpu %d" % int.from_bytes(rec[0:4], "little"),
                    "pirq": "pirq %d" % int.from_bytes(rec[0:4], "little")}.get(case, case)
            word, bit = port // 32, port % 32
            pending = u32(si + SI_PENDING + 4 * word) >> bit & 1
            masked = u32(si + SI_MASK + 4 * word) >> bit & 1
            print("  port %3d: %-28s vcpu %d  pending %d masked %d" % (
                port, what, int.from_bytes(rec[12:16], "little"), pending, masked))

class DomainId(gdb.Function):
    """$apus_domid(): the running domain's id, -1 when none runs."""
    def __init__(self): super().__init__("apus_domid")
    def invoke(self):
        d = running()
        return -1 if d == 0 else u16(d + D.id)

GUEST_FILES = {"dom0": "dom0.elf", "spinner": "guests/spinner.elf", "pingpong": "guests/pingpong.elf",
               "clock": "guests/clock.elf", "hostile": "guests/hostile.elf", "fuzz": "guests/fuzz.elf"}
loaded_guest = [None]

class Guest(gdb.Command):
    """apus-guest NAME: load the symbols of guest kernel NAME (dom0, spinner, pingpong, clock, hostile,
fuzz) at its link address, in place of the guest kernel loaded before: every kernel is linked at
0x00100000, so one at a time (dom0 at start)."""
    def __init__(self): super().__init__("apus-guest", gdb.COMMAND_FILES)
    def invoke(self, arg, from_tty):
        name = arg.strip()
        if name not in GUEST_FILES:
            raise gdb.GdbError("apus-guest: one of " + ", ".join(GUEST_FILES))
        if loaded_guest[0] is not None:
            gdb.execute("remove-symbol-file %s" % loaded_guest[0], to_string=True)
        path = os.path.join(APUS_BUILD, GUEST_FILES[name])
        gdb.execute("add-symbol-file %s -o 0" % path, to_string=True)
        loaded_guest[0] = path
        print("guest symbols: %s (%s)" % (name, path))

for c in (Domains, Current, Frame, Walk, EventChannels, DomainId, Guest):
    c()

gdb.execute("apus-guest dom0")

def connect(port, attempts=50):
    """target remote, retried for a few seconds while QEMU opens its port."""
    import time
    for i in range(attempts):
        try:
            gdb.execute("target remote :%s" % port)
            return
        except gdb.error:
            if i == attempts - 1:
                raise
            time.sleep(0.2)

connect(os.environ.get("APUS_GDB_PORT", "1234"))
end
