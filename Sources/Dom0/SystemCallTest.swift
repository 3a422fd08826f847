// SystemCallTest.swift: the dom0 scenario's checks of the direct system-call gate. dom0 points its own
// int 0x80 entry at different handlers and segments, runs a ring-3 loop of 1000 system calls, and judges
// the route by the hypervisor's trap counter (sysctl perfc) and by which handler answered. It puts dom0's
// usual entry and its test GDT entry back afterwards; SystemCallEntry is shared with make bench.

import ApusCore
import GuestKit
import PVABI

@_extern(c, "guest_syscall_iret_handler_address") func guest_syscall_iret_handler_address() -> UInt32
@_extern(c, "guest_set_syscall_full_handler") func guest_set_syscall_full_handler(_ address: UInt32)
@_extern(c, "user_getpid_loop_address") func user_getpid_loop_address() -> UInt32
@_extern(c, "user_bench_iret_entry_address") func user_bench_iret_entry_address() -> UInt32
@_extern(c, "guest_reload_flat_cs") func guest_reload_flat_cs()

/// dom0's trap-table entry for int 0x80, and ring-3 runs counted by the hypervisor.
enum SystemCallEntry {
    /// The usual handler (GuestKit's stub: the full dispatch, back through the iret hypercall).
    static var fullHandler: UInt32 { guest_trap_stub_address(0x80) }
    /// The handler that returns with iretd (exit goes on to the full one).
    static var iretHandler: UInt32 {
        guest_set_syscall_full_handler(fullHandler)
        return guest_syscall_iret_handler_address()
    }

    /// Points entry 0x80 (DPL 3) at `address` in segment `cs`.
    @discardableResult
    static func set(cs: UInt16 = Selector.flatRing1CS, address: UInt32, maskEvents: Bool = false) -> Int32 {
        var table = TrapTableBuilder()
        table.add(vector: 0x80, dpl: 3, maskEvents: maskEvents, cs: cs, address: address)
        return table.terminated().withUnsafeBytes { xen.setTrapTable(UInt32(UInt(bitPattern: $0.baseAddress!))) }
    }

    /// dom0's usual entry, as its start of day registered it.
    static func restore() { set(address: fullHandler) }

    /// Runs ring-3 code from `entry` until it exits: its exit status, and the guest traps the
    /// hypervisor counted meanwhile (the sysctl that reads the counter after is taken off). dom0
    /// is back in FLAT_RING1_CS afterwards, whatever segment the exit's handler ran in.
    static func runUser(_ entry: UInt32) -> (status: UInt32, traps: UInt64) {
        let before = Bench.counters().traps
        let status = guest_enter_user(entry, guest_symbol(GuestSymbol.userStackTop))
        guest_reload_flat_cs()
        let after = Bench.counters().traps
        return (status, after - before - 1)
    }
}

enum SystemCallTest {
    static let calls: UInt64 = 1000

    static func check(_ name: StaticString, _ r: (status: UInt32, traps: UInt64), answer: UInt32, traps: ClosedRange<UInt64>) {
        PVSelfTest.check(name, r.status == answer && traps.contains(r.traps),
                         "results add up to \(r.status), \(r.traps) traps for \(calls) calls")
    }

    /// One trap per call is the iret hypercall; two are a bounce and its iret hypercall. A few more
    /// may be timer interrupts, and entering ring 3 is one.
    static let gateAndIretHypercall: ClosedRange<UInt64> = calls...(calls + calls / 10)
    static let bounced: ClosedRange<UInt64> = (2 * calls)...(2 * calls + calls / 10)
    static let noTrap: ClosedRange<UInt64> = 0...20

    static func run() {
        _ = PVSelfTest.markUserPages()
        let loop = user_getpid_loop_address()
        let full = SystemCallEntry.fullHandler
        let fast = SystemCallEntry.iretHandler

        // dom0's usual entry: FLAT_RING1_CS, DPL 3, events not masked.
        SystemCallEntry.restore()
        check("int 0x80 through the direct gate enters the hypervisor only for the iret hypercall",
              SystemCallEntry.runUser(loop), answer: 1000, traps: gateAndIretHypercall)
        SystemCallEntry.set(address: fast)
        check("int 0x80 through the direct gate to a handler that returns with iretd never enters the hypervisor",
              SystemCallEntry.runUser(loop), answer: 2000, traps: noTrap)
        // Refused: an entry that masks events on entry cannot be a hardware gate.
        SystemCallEntry.set(address: full, maskEvents: true)
        check("int 0x80 whose entry masks events is bounced and still answered",
              SystemCallEntry.runUser(loop), answer: 1000, traps: bounced)

        // A code segment of dom0's own GDT (entry 3 of the test GDT, selector 0x19).
        PVSelfTest.installTestGDT()
        let entry3 = UInt64(PVSelfTest.gdtMFN) << 12 | 3 * 8
        let ring1Code: UInt64 = 0x00CF_BB00_0000_FFFF, conformingCode: UInt64 = 0x00CF_BF00_0000_FFFF
        _ = xen.updateDescriptor(machineAddress: entry3, descriptor: ring1Code)
        SystemCallEntry.set(cs: 0x19, address: fast)
        check("a ring-1 code segment of dom0's own GDT gets the direct gate",
              SystemCallEntry.runUser(loop), answer: 2000, traps: noTrap)
        SystemCallEntry.set(cs: 0x19, address: full)
        // update_descriptor makes it conforming (a gate would run the handler in ring 3): back to the bounce.
        _ = xen.updateDescriptor(machineAddress: entry3, descriptor: conformingCode)
        check("after update_descriptor makes that segment conforming, int 0x80 is bounced and still answered",
              SystemCallEntry.runUser(loop), answer: 1000, traps: bounced)
        _ = xen.updateDescriptor(machineAddress: entry3, descriptor: ring1Code)
        check("once it is plain ring-1 code again, int 0x80 takes the direct gate again",
              SystemCallEntry.runUser(loop), answer: 1000, traps: gateAndIretHypercall)
        // set_gdt with three entries leaves selector 0x19 beyond the GDT (the hypervisor logs the bounce); the
        // whole page again brings the gate back.
        var frame = PVSelfTest.gdtMFN
        let shrunk = withUnsafeMutablePointer(to: &frame) { xen.setGDT(frameList: UInt32(UInt(bitPattern: $0)), entries: 3) }
        let whole = withUnsafeMutablePointer(to: &frame) { xen.setGDT(frameList: UInt32(UInt(bitPattern: $0)), entries: 512) }
        PVSelfTest.check("set_gdt to 3 entries and back to 512", shrunk == 0 && whole == 0, "returned \(shrunk), \(whole)")
        check("after set_gdt gives the entry back, int 0x80 takes the direct gate again",
              SystemCallEntry.runUser(loop), answer: 1000, traps: gateAndIretHypercall)

        _ = xen.updateDescriptor(machineAddress: entry3, descriptor: 0)
        SystemCallEntry.restore()
    }

    /// The domains scenario: dom0's own gate (the iretd handler) is the one in the IDT after the CPU went
    /// to domUs with gates of their own (GuestKit's stub) and came back, and after domUs are destroyed.
    static func ownGateAcrossSwitches(_ when: StaticString) {
        _ = PVSelfTest.markUserPages()
        SystemCallEntry.set(address: SystemCallEntry.iretHandler)
        Dom0Events.sleep(2_000_000)                                   // whoever else is runnable runs
        let r = SystemCallEntry.runUser(user_getpid_loop_address())
        SystemCallEntry.restore()
        PVSelfTest.check("dom0's int 0x80 takes its own direct gate after other domains had the CPU",
                         r.status == 2000 && noTrap.contains(r.traps), "\(when): results add up to \(r.status), \(r.traps) traps for \(calls) calls")
    }
}
