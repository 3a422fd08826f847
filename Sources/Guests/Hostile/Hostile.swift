// Hostile.swift: a domU that tries to break isolation, one way at a time, and prints what the
// hypervisor answered: privileged instructions, a foreign frame, the hypervisor's memory, a DPL-0
// segment, domctl, a channel it does not own, dom0's device and platform calls, a breakpoint on the
// hypervisor, Linux's page-table lifecycle and its abuses, the 4gb_segments assist's segment flips, grants not meant for it, lying blkif and netif frontends. Its last attempt must get it killed. It is a test
// of the hypervisor: every line it prints is an attempt and the answer it really got.

import ApusCore
import GuestKit
import PVABI

enum Hostile {
    static var lastVector: UInt32 = 0xFFFF
    static var lastError: UInt32 = 0
    static var refused = 0
    static var total = 0
    static let console = GuestConsole(xen)

    /// Runs a probe that must fault; true when it did (the handler resumed it).
    static func expectFault(_ what: StaticString, _ probe: () -> UInt32) {
        total += 1
        lastVector = 0xFFFF
        let faulted = probe() == 1
        if faulted { refused += 1 }
        console.print("hostile: \(what): \(faulted ? "refused" : "NOT refused") (vector \(lastVector), error \(hex: lastError))")
    }

    /// A privileged instruction a domU kernel may run, emulated as Xen does: it must not fault.
    static func expectEmulated(_ what: StaticString, _ probe: () -> UInt32) {
        total += 1
        lastVector = 0xFFFF
        let faulted = probe() == 1
        if !faulted { refused += 1 }
        console.print("hostile: \(what): \(faulted ? "FAULTED" : "emulated") (vector \(lastVector))")
    }

    /// A hypercall that must fail with `errno`.
    static func expectError(_ what: StaticString, _ rc: Int32, _ errno: Int32) {
        total += 1
        if rc == -errno { refused += 1 }
        console.print("hostile: \(what): \(rc == -errno ? "refused" : "NOT refused") (returned \(rc))")
    }
}

@_cdecl("guest_start")
public func guestStart(_ startInfo: UInt32) {
    let console = Hostile.console
    StartOfDay.runOrCrash(startInfo, "hostile")
    console.print("hostile: starting my attempts to break isolation")
    Hostile.expectFault("cli in ring 1", guest_probe_cli)
    // Port I/O as on Xen: without a virtual IOPL the #GP is the kernel's own; with one, the access is
    // emulated, and a domU that was given no ports reads all ones and writes nothing.
    Hostile.expectFault("out to port 0x80 without a virtual IOPL", guest_probe_out)
    console.print("hostile: set_iopl 1 (any PV kernel may): returned \(xen.setIOPL(1))")
    Hostile.expectEmulated("out to port 0x80, dropped (dom0 gave it no ports)", guest_probe_out)
    for (port, what): (UInt32, StaticString) in [(0x61, "the PIT gate, the hypervisor's"), (0x1F7, "an IDE status port it was not given")] {
        let value = guest_probe_in8(port)
        Hostile.total += 1
        if value == 0x1234_56FF { Hostile.refused += 1 }
        console.print("hostile: in from port \(hex: port) (\(what)): \(value == 0x1234_56FF ? "reads all ones, the port is never touched" : "NOT contained") (\(hex8: value))")
    }
    // The ports its configuration gave it (ioports = [ '510-511' ], QEMU's fw_cfg) work: the
    // selector 0 names the signature, read a byte at a time from the data port.
    guest_port_out16(0x510, 0)
    var signature: UInt32 = 0
    for i: UInt32 in 0..<4 { signature |= (guest_port_in8(0x511) & 0xFF) << (8 * i) }
    // Under Bochs nothing answers there (all ones, like a refused port): reported, not counted; the
    // QEMU scenario requires the signature.
    if signature != 0xFFFF_FFFF { Hostile.total += 1 }
    if signature == 0x554D_4551 { Hostile.refused += 1 }
    console.print("hostile: fw_cfg through ports 0x510-0x511 (given by its ioports): \(signature == 0x554D_4551 ? "reads the 'QEMU' signature" : signature == 0xFFFF_FFFF ? "no device answers (not QEMU)" : "FAILED") (\(hex8: signature))")
    Hostile.expectEmulated("mov to cr3 reloading its own base (NEW_BASEPTR)", guest_probe_mov_cr3)
    Hostile.expectFault("mov to cr3 naming the hypervisor's frame 0x100") { guest_probe_load_cr3(0x0010_0000) }
    Hostile.expectFault("lgdt", guest_probe_lgdt)
    Hostile.expectFault("load the hypervisor's DPL-0 data segment 0xe010") { guest_probe_load_ds(UInt32(Selector.hypervisorDS)) }
    Hostile.expectFault("write to the read-only M2P at 0xf5800000") { guest_probe_write(XenLayout.mach2physVirtStart, 0x4141_4141) }

    let window = guest_symbol(GuestSymbol.scratchWindow)
    let si = StartOfDay.startInfo
    Hostile.expectError("map a hypervisor frame (0x100)", xen.updateVAMapping(window, 0x0010_0061, flags: UpdateVAFlags.invalidatePage), 22)
    let foreign = foreignFrame()
    Hostile.expectError("map another domain's frame", xen.updateVAMapping(window, UInt64(foreign) << 12 | 0x61, flags: UpdateVAFlags.invalidatePage), 22)
    let ownL1 = si.machineFrame(ofPFN: (si.ptBase >> 12) + 2)
    Hostile.expectError("map one of its own page tables writable", xen.updateVAMapping(window, UInt64(ownL1) << 12 | 0x63, flags: UpdateVAFlags.invalidatePage), 22)
    // A descriptor page must be read-only to the guest first (as on Xen); then the gate's target is
    // the problem (its DPL 0 would be raised to 1, as Xen does, but it names the hypervisor's code).
    let windowMFN = si.machineFrame(ofPFN: window >> 12)
    _ = xen.updateVAMapping(window, UInt64(windowMFN) << 12 | 0x21, flags: UpdateVAFlags.invalidatePage)
    Hostile.expectError("install a DPL-0 call gate into the hypervisor's code", xen.updateDescriptor(machineAddress: UInt64(windowMFN) << 12, descriptor: 0x0000_8C00_E008_1000), 22)
    _ = xen.updateVAMapping(window, UInt64(windowMFN) << 12 | 0x63, flags: UpdateVAFlags.invalidatePage)
    var domctl = HypercallRecord(stride: DomctlLayout.size)
    domctl.set(DomctlCommand.destroyDomain.rawValue, at: DomctlLayout.cmdOffset)
    domctl.set(DomctlVersion.apus, at: DomctlLayout.interfaceVersionOffset)
    domctl.set(UInt16(0), at: DomctlLayout.domainOffset)                          // destroydomain(0)
    Hostile.expectError("domctl destroydomain(0)", domctl.withAddress { xen.domctl($0) }, 1)
    Hostile.expectError("send on a port it does not own", GuestEvents.send(7), 22)
    Hostile.expectError("console_io from the hypervisor area", xen.consoleWrite(0xFF10_0000, 64), 14)
    // The two calls that stopped the hypervisor before guest pointers were checked as ranges.
    Hostile.expectError("set_gdt with its frame list at 0xfffffff8", xen.setGDT(frameList: 0xFFFF_FFF8, entries: 16), 14)
    Hostile.expectError("sched_op poll with its argument at 0xfffffff8", xen.schedOp(.poll, 0xFFFF_FFF8), 14)
    // The device, platform and debug hypercalls answer a domain without devices as Xen does.
    var apic = HypercallRecord(stride: 12)
    Hostile.expectError("physdev_op apic_read (dom0's)", apic.withAddress { xen.raw(Hypercall.physdevOp.rawValue, PhysdevOp.apicRead.rawValue, $0) }, 1)
    var platform = HypercallRecord(stride: PlatformOpLayout.size)
    platform.set(UInt32(52), at: PlatformOpLayout.cmdOffset)
    platform.set(PlatformOpLayout.interfaceVersion, at: PlatformOpLayout.interfaceVersionOffset)
    Hostile.expectError("platform_op (dom0's)", platform.withAddress { xen.raw(Hypercall.platformOp.rawValue, $0) }, 1)
    Hostile.expectError("set_debugreg with a breakpoint on the hypervisor's image", xen.raw(Hypercall.setDebugreg.rawValue, 0, 0xFF10_0000), 1)
    // vcpu_info may move only into a frame of its own, whole (Linux moves it into its per-CPU area).
    var vcpuInfo = HypercallRecord(stride: VcpuRegisterVcpuInfoLayout.size)
    vcpuInfo.set(UInt64(foreign), at: VcpuRegisterVcpuInfoLayout.mfnOffset)
    Hostile.expectError("register_vcpu_info into another domain's frame", vcpuInfo.withAddress { xen.vcpuOp(.registerVcpuInfo, vcpu: 0, $0) }, 22)
    DeviceAttempts.run(window: window)
    PageTableAttempts.run()
    GrantAttempts.run(peer: UInt16(StartOfDay.number("peer") ?? 1), window: window)
    BlockAttempts.run(peer: UInt16(StartOfDay.number("peer") ?? 1))
    NetAttempts.run()
    StoreFlood.run()
    FourGBAttempts.run(window: window)
    console.print("hostile: \(Hostile.refused) of \(Hostile.total) attempts refused or contained")
    // Past the end of the guest segments (0xF67FFFFF): only the segment limit can stop this
    // read, and QEMU's CPU does not enforce limits, so it is reported, not counted.
    Hostile.lastVector = 0xFFFF
    let stopped = guest_probe_read(0xF680_0000) == 1
    console.print("hostile: read past the guest segment limit at 0xf6800000: \(stopped ? "refused" : "not stopped by this CPU") (vector \(Hostile.lastVector), error \(hex: Hostile.lastError))")
    console.print("hostile: now jumping into the hypervisor with no trap table")
    _ = xen.setTrapTable(0)
    _ = guest_probe_jump(0xFF10_0000)
    console.print("hostile: still alive after jumping into the hypervisor; this is a failure")
    StartOfDay.shutdown(.poweroff)
}

/// A frame the M2P says some domain maps, but that is not in our own P2M.
func foreignFrame() -> UInt32 {
    let si = StartOfDay.startInfo
    let m2p = UnsafePointer<UInt32>(bitPattern: UInt(XenLayout.mach2physVirtStart))!
    var mfn: UInt32 = 0x200
    while mfn < 0x10_0000 {
        let pfn = m2p[Int(mfn)]
        // Ours exactly when our P2M maps that pfn back to this frame.
        if pfn != 0xFFFF_FFFF && (pfn >= si.nrPages || si.machineFrame(ofPFN: pfn) != mfn) { return mfn }
        mfn += 1
    }
    return 0x200
}

@_cdecl("guest_trap_dispatch")
public func guestTrapDispatch(_ raw: UnsafeMutableRawPointer) {
    let frame = raw.assumingMemoryBound(to: GuestTrapFrame.self)
    if frame.pointee.vector == 256 { GuestEvents.drain(); return }
    if frame.pointee.vector == 15 { FourGBAttempts.notify(length: frame.pointee.errorCode); return }
    Hostile.lastVector = frame.pointee.vector
    Hostile.lastError = frame.pointee.errorCode
    let resume = guest_take_resume()
    if resume != 0 { frame.pointee.eip = resume; return }
    Hostile.console.print("hostile: unexpected trap \(frame.pointee.vector) at \(hex8: frame.pointee.eip)")
    StartOfDay.shutdown(.crash)
}

@_cdecl("guest_failsafe") public func guestFailsafe(_ frame: UnsafeMutableRawPointer) { StartOfDay.shutdown(.crash) }
