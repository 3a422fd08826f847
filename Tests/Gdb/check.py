# check.py: the gdb test's assertions (gdb -batch -x Scripts/apus.gdb -x Tests/Gdb/check.py, run by
# Scripts/gdb-test.sh against the debug build's dom0 scenario, halted at reset). It breaks at the
# hypercall dispatcher and at a dom0 function and checks the file and line gdb reports, locals'
# values against what the hypervisor's own records hold, and the apus-* commands. It prints
# "GDB-TEST FAIL: ..." and quits with status 1 on the first mismatch, "GDB-TEST OK" at the end.
import os
import gdb

def fail(why):
    print("GDB-TEST FAIL: " + why)
    try:
        gdb.execute("kill")
    finally:
        gdb.execute("quit 1")

def check(ok, why):
    if not ok:
        fail(why)
    print("GDB-TEST ok: " + why)

def source_line_of(path, text, after=0):
    """The 1-based line of the first line of `path` after line `after` containing `text`."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if n > after and text in line:
                return n
    fail("%s has no line with %r" % (path, text))

def stop_at(spec):
    gdb.execute("delete")
    gdb.execute("break " + spec)
    gdb.execute("continue")
    sal = gdb.selected_frame().find_sal()
    if sal.symtab is None:
        fail("stopped without a source position at %#x (not at %s)" % (gdb.selected_frame().pc(), spec))
    return sal

def expect_position(sal, path, text, after=0):
    line = source_line_of(path, text, after)
    check(sal.symtab.filename == path, "file %s (gdb says %s)" % (path, sal.symtab.filename))
    check(sal.line == line, "%s:%d is %r (gdb says line %d)" % (path, line, text, sal.line))

def u32(addr):
    return int.from_bytes(bytes(gdb.selected_inferior().read_memory(addr, 4)), "little")

def run(cmd):
    out = gdb.execute(cmd, to_string=True)
    print(out, end="")
    return out

# 1. The hypercall dispatcher: dom0's first hypercall through the table is its first console line.
sal = stop_at("apus_hypercall")
expect_position(sal, "Sources/Apus/Trap/TrapEntry.swift", "guard let running = Domains.running else {")
raw = int(gdb.parse_and_eval("*(unsigned*)&rawFrame"))
guest_frame = u32(int(gdb.parse_and_eval("(unsigned)&'$e4Apus13ContextSwitchO10guestFrameSpy0A4Core04TrapE0VGSgvpZ'")))
check(raw == guest_frame, "local rawFrame %#x is ContextSwitch.guestFrame %#x" % (raw, guest_frame))
eax, ebx, ecx, edx = (u32(raw + off) for off in (28, 16, 24, 20))
check(eax == 18 and ebx == 0, "the frame holds console_io (18) CONSOLEIO_write (0): eax %d ebx %d" % (eax, ebx))
text = bytes(gdb.selected_inferior().read_memory(edx, ecx)).decode("ascii", "replace")
check(text.startswith("Apus dom0 kernel"), "its buffer (%d bytes at %#x in dom0) is dom0's banner: %r" % (ecx, edx, text))
gdb.execute("delete")
gdb.execute("next")
expect_position(gdb.selected_frame().find_sal(), "Sources/Apus/Trap/TrapEntry.swift", "Counters.guestTraps &+= 1", after=sal.line)
out = run("apus-current")
check("d0 Domain-0" in out and "running" in out and "on the CPU" in out, "apus-current names d0, running")
cr3 = int(gdb.parse_and_eval("$cr3")) & 0xFFFFFFFF
check("cr3 %#010x" % cr3 in out, "apus-current's CR3 (its current vCPU's PDPT) is the CPU's, %#x" % cr3)
out = run("apus-frame")
check("eax 00000012 ebx 00000000 ecx %08x edx %08x" % (ecx, edx) in out and "(ring 1)" in out,
      "apus-frame shows the hypercall's registers from ring 1")
eip = u32(raw + 56)
out = run("apus-walk %#x" % eip)
check("l1[" in out and "machine 0x" in out, "apus-walk maps dom0's EIP %#x" % eip)
# The walk's answer against the hypervisor's own window onto that frame: the bytes at EIP read
# through QEMU's physical-memory mode equal those read through dom0's address space.
machine = int(out.split("machine ")[-1].split()[0], 16)
gdb.execute("maint packet Qqemu.PhyMemMode:1", to_string=True)
phys_bytes = bytes(gdb.selected_inferior().read_memory(machine, 8))
gdb.execute("maint packet Qqemu.PhyMemMode:0", to_string=True)
check(phys_bytes == bytes(gdb.selected_inferior().read_memory(eip, 8)), "machine %#x holds the bytes at EIP" % machine)
out = run("apus-evtchn 0")
check("d0: 16 port records (limit 1024)" in out, "apus-evtchn reads d0's port view: its first bucket of 16, dom0's limit of 1024")

# 2. A dom0 function: its self-test's first check, from PVSelfTest.hypercallPage.
sal = stop_at("'$e4Dom010PVSelfTestO5checkyys12StaticStringV_Sb8ApusCore7LogLineVtFZ'")
expect_position(sal, "Sources/Dom0/PVSelfTest.swift", "if ok { passed += 1 } else { failed += 1 }")
check(int(gdb.parse_and_eval("$apus_domid()")) == 0, "$apus_domid() is 0")
name = gdb.parse_and_eval("name")
length = int(name["_utf8CodeUnitCount"])
start = int(name["_startPtrOrData"])
name_text = bytes(gdb.selected_inferior().read_memory(start, length)).decode()
check(name_text == "hypercall page filled", "argument name is %r" % name_text)
detail = gdb.parse_and_eval("detail")
count = int(detail["count"]["_value"])
storage = detail["bytes"]["_storage"]
detail_text = "".join(chr(int(storage[i]["_value"])) for i in range(count))
check(detail_text.startswith("slot 0 0xb8"), "argument detail is %r" % detail_text)
out = run("apus-frame")
pc = gdb.selected_frame().pc()
check("the CPU's registers, in the guest" in out and "eip %08x cs e019" % pc in out, "apus-frame in dom0 shows the CPU's EIP %#x" % pc)
caller = gdb.selected_frame().older().name() or ""
check("hypercallPage" in caller, "called from PVSelfTest.hypercallPage (%s)" % caller)
# Scripts/gdb-test.sh finds this line in dom0's console output once the run is over.
with open(os.environ.get("APUS_GDB_EXPECT", "build/logs/gdb-expect.txt"), "w") as f:
    f.write("check: %s: ok (%s)\n" % (name_text, detail_text))

# 3. Let the scenario finish: QEMU exits through isa-debug-exit.
gdb.execute("delete")
print("GDB-TEST OK")
gdb.execute("continue")
