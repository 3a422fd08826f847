// PVSelfTest.swift: the `dom0` scenario: dom0 checks the PV contract from the guest's side and
// prints each result with the values it observed (hypercall page bytes, version strings, trap
// frames, CR2, error codes). The verdict is dom0's own: poweroff when every check passed.
// It must never print "ok" for a value it did not read back.

import ApusCore
import GuestKit
import PVABI

enum PVSelfTest {
    static var passed = 0
    static var failed = 0

    static func check(_ name: StaticString, _ ok: Bool, _ detail: LogLine) {
        if ok { passed += 1 } else { failed += 1 }
        var line = LogLine()
        line.append("check: ")
        line.append(name)
        line.append(ok ? ": ok (" : ": FAILED (")
        detail.withBytes { for b in $0 { line.append(byte: b) } }
        line.append(")")
        console.print(line)
    }

    static func run() -> Bool {
        hypercallPage()
        versions()
        traps()
        privilegedInstructions()
        cpuidAndFPU()
        debugRegisters()
        linuxStartOfDay()
        refusals()
        misc()
        descriptors()
        SystemCallTest.run()
        userMode()
        console.print("self-test: \(UInt32(passed)) passed, \(UInt32(failed)) failed")
        return failed == 0
    }

    // MARK: - hypercall page and version

    static func hypercallPage() {
        let page = UnsafePointer<UInt8>(bitPattern: UInt(guest_symbol(GuestSymbol.hypercallPage)))!
        let slot0: [UInt8] = [0xb8, 0, 0, 0, 0, 0xcd, 0x82, 0xc3]
        let slot23: [UInt8] = [0x50, 0xcd, 0x83, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc]     // push eax; int 0x83 (Apus's iret gate)
        let ok0 = (0..<8).allSatisfy { page[$0] == slot0[$0] }
        let ok23 = (0..<8).allSatisfy { page[23 * 32 + $0] == slot23[$0] }
        check("hypercall page filled", ok0 && ok23,
              "slot 0 \(hex: page[0]) \(hex: page[5]) \(hex: page[6]) \(hex: page[7]), slot 23 starts \(hex: page[23 * 32]) \(hex: page[23 * 32 + 1])")
    }

    static func versions() {
        let v = xen.xenVersion(.version)
        check("xen_version version", v > 0, "\(UInt32(v) >> 16).\(UInt32(v) & 0xFFFF)")
        var buf = [UInt8](repeating: 0, count: 1024)
        func string(_ op: XenVersionOp) -> (Int32, [UInt8]) {
            for i in 0..<buf.count { buf[i] = 0 }
            let rc = buf.withUnsafeMutableBufferPointer { xen.xenVersion(op, UInt32(UInt(bitPattern: $0.baseAddress))) }
            let end = buf.firstIndex(of: 0) ?? buf.count
            return (rc, Array(buf[..<end]))
        }
        let (rcE, extra) = string(.extraversion)
        extra.withUnsafeBufferPointer { check("xen_version extraversion", rcE == 0 && !extra.isEmpty, "'\(text: $0)'") }
        let (rcC, caps) = string(.capabilities)
        caps.withUnsafeBufferPointer { check("xen_version capabilities", rcC == 0 && BootOptions.equal(caps, "xen-3.0-x86_32p"), "'\(text: $0)'") }
        let (rcI, compiler) = string(.compileInfo)
        compiler.withUnsafeBufferPointer { check("xen_version compile_info", rcI == 0 && !compiler.isEmpty, "compiler '\(text: $0)'") }
        let (rcS, changeset) = string(.changeset)
        changeset.withUnsafeBufferPointer { check("xen_version changeset", rcS == 0 && !changeset.isEmpty, "'\(text: $0)'") }
        var platform = HypercallRecord(stride: XenPlatformParametersLayout.size)
        let rcP = platform.withAddress { xen.xenVersion(.platformParameters, $0) }
        let params = platform.get(UInt32.self, at: XenPlatformParametersLayout.virtStartOffset)
        check("xen_version platform_parameters", rcP == 0 && params == 0xF580_0000, "virt_start \(hex8: params)")
        var features = HypercallRecord(stride: XenFeatureInfoLayout.size)
        features.set(UInt32(0), at: XenFeatureInfoLayout.submapIndexOffset)
        let rcF = features.withAddress { xen.xenVersion(.getFeatures, $0) }
        check("xen_version get_features", rcF == 0, "submap 0 = \(hex: features.get(UInt32.self, at: XenFeatureInfoLayout.submapOffset))")
        let page = xen.xenVersion(.pagesize)
        check("xen_version pagesize", page == 4096, "\(page)")
    }

    // MARK: - exceptions bounced to our own handlers

    static func traps() {
        let before = TrapLog.last.count
        let r3 = guest_probe_int3()
        var t = TrapLog.last
        check("int3 reaches the #BP handler", r3 == 1 && t.count == before + 1 && t.vector == 3 && t.ring == 1,
              "vector \(t.vector) ring \(t.ring) eip \(hex8: t.eip) saved mask \(t.savedMask)")
        let rU = guest_probe_ud2()
        t = TrapLog.last
        check("ud2 reaches the #UD handler", rU == 1 && t.vector == 6 && t.ring == 1 && t.errorCode == 0,
              "vector \(t.vector) error \(hex: t.errorCode) eip \(hex8: t.eip)")
        let target: UInt32 = 0x4000_0000 + 0x123
        let rP = guest_probe_read(target)
        t = TrapLog.last
        check("#PF reaches the handler with CR2 in vcpu_info", rP == 1 && t.vector == 14 && t.cr2 == target && t.errorCode & 1 == 0,
              "vector \(t.vector) error \(hex: t.errorCode) cr2 \(hex8: t.cr2)")
        // The iret hypercall through the table (int 0x82, EAX = 23), as a kernel without the page's
        // iret slot would make it: a #BP handler that returns that way, then the usual table back.
        var byNumber = TrapTableBuilder()
        byNumber.add(vector: 3, dpl: 3, cs: UInt16(Selector.flatRing1CS),
                     address: UInt32(UInt(bitPattern: unsafeBitCast(guest_bp_iret_by_number as @convention(c) () -> Void, to: UnsafeRawPointer.self))))
        var standard = TrapTableBuilder()
        standard.add(vector: 3, dpl: 3, cs: UInt16(Selector.flatRing1CS), address: guest_trap_stub_address(3))
        let hitsBefore = guest_bp_iret_by_number_hits()
        let installed = byNumber.terminated().withUnsafeBytes { xen.setTrapTable(UInt32(UInt(bitPattern: $0.baseAddress!))) }
        if installed == 0 { guest_int3(); guest_int3() }
        let restored = standard.terminated().withUnsafeBytes { xen.setTrapTable(UInt32(UInt(bitPattern: $0.baseAddress!))) }
        let hits = guest_bp_iret_by_number_hits() &- hitsBefore
        check("iret through int 0x82 with EAX 23 returns as the page's iret slot does", installed == 0 && restored == 0 && hits == 2,
              "set_trap_table \(installed) then \(restored), handler entered \(hits) times")
    }

    /// Words the debug-register checks watch: one the guest reads, one the hypervisor reads for it.
    static var watchedByGuest: UInt32 = 0
    static var watchedByHypervisor: (UInt32, UInt32) = (0, 0)

    /// set_debugreg/get_debugreg as Xen's: a data breakpoint the guest sets raises #DB in the guest,
    /// with B0 in the DR6 it reads back; one the hypervisor's own access hits is noted and skipped.
    static func debugRegisters() {
        let dr6Before = UInt32(bitPattern: xen.raw(Hypercall.getDebugreg.rawValue, 6))
        let dr7Before = UInt32(bitPattern: xen.raw(Hypercall.getDebugreg.rawValue, 7))
        check("get_debugreg shows DR6 and DR7 at their start values", dr6Before == 0xFFFF_0FF0 && dr7Before == 0x400,
              "dr6 \(hex8: dr6Before) dr7 \(hex8: dr7Before)")
        let guestWord = withUnsafeMutablePointer(to: &watchedByGuest) { UInt32(UInt(bitPattern: $0)) }
        // L0, R/W 11 (read or write), LEN 11 (4 bytes).
        let rcA = xen.raw(Hypercall.setDebugreg.rawValue, 0, guestWord)
        let rc7 = xen.raw(Hypercall.setDebugreg.rawValue, 7, 0x000F_0001)
        let before = TrapLog.last.count
        let r = guest_probe_read(guestWord)
        let t = TrapLog.last
        let dr6 = UInt32(bitPattern: xen.raw(Hypercall.getDebugreg.rawValue, 6))
        check("a data breakpoint from set_debugreg raises #DB, DR6 shows B0",
              rcA == 0 && rc7 == 0 && r == 1 && t.count == before + 1 && t.vector == 1 && dr6 & 0xF == 1,
              "vector \(t.vector) dr6 \(hex8: dr6)")
        let hvWord = withUnsafeMutablePointer(to: &watchedByHypervisor) { UInt32(UInt(bitPattern: $0)) }
        _ = xen.raw(Hypercall.setDebugreg.rawValue, 6, 0)
        _ = xen.raw(Hypercall.setDebugreg.rawValue, 0, hvWord)
        let traps = TrapLog.last.count
        let rcF = xen.xenVersion(.getFeatures, hvWord)
        check("a breakpoint the hypervisor's read hits is skipped, not bounced", rcF == 0 && TrapLog.last.count == traps,
              "get_features returned \(rcF), traps \(TrapLog.last.count &- traps)")
        let off = xen.raw(Hypercall.setDebugreg.rawValue, 7, 0)
        let dr7 = UInt32(bitPattern: xen.raw(Hypercall.getDebugreg.rawValue, 7))
        let high = xen.raw(Hypercall.setDebugreg.rawValue, 1, 0xF580_0000)
        let gd = xen.raw(Hypercall.setDebugreg.rawValue, 7, 0x2000)
        let io = xen.raw(Hypercall.setDebugreg.rawValue, 7, 0x0002_0001)
        check("set_debugreg refuses a hypervisor address, GD and an I/O breakpoint (-EPERM)",
              off == 0 && dr7 == 0x400 && high == -1 && gd == -1 && io == -1, "dr7 \(hex8: dr7), \(high) \(gd) \(io)")
    }

    /// What 32-bit Linux asks at its start of day: its kernel stack selector with RPL 0, where the M2P is.
    static func linuxStartOfDay() {
        // FLAT_RING1_SS with RPL 0: taken as RPL 1 (the ring-3 checks later bounce through it).
        let rcS = xen.stackSwitch(ss: UInt32(Selector.flatRing1DS) & ~3, esp: guest_symbol(GuestSymbol.kernelTrapStackTop))
        check("stack_switch takes a selector with RPL 0 as RPL 1", rcS == 0, "returned \(rcS)")
        var mapping = HypercallRecord(stride: MachphysMappingLayout.size)
        let rcM = mapping.withAddress { xen.memoryOp(MemoryOpCommand.machphysMapping.rawValue, $0) }
        let start = mapping.get(UInt32.self, at: MachphysMappingLayout.vStartOffset)
        let end = mapping.get(UInt32.self, at: MachphysMappingLayout.vEndOffset)
        let maxMFN = mapping.get(UInt32.self, at: MachphysMappingLayout.maxMFNOffset)
        check("memory_op machphys_mapping", rcM == 0 && start == 0xF580_0000 && end == 0xF680_0000 && maxMFN == 0x3F_FFFF,
              "v_start \(hex8: start) v_end \(hex8: end) max_mfn \(hex: maxMFN)")
        let rcA = xen.vmAssist(VMAssistCommand.enable.rawValue, VMAssistType.runstateUpdateFlag.rawValue)
        let rcX = xen.vmAssist(VMAssistCommand.enable.rawValue, VMAssistType.m2pStrict.rawValue)
        check("vm_assist runstate_update_flag is accepted, m2p_strict (64-bit only) is not", rcA == 0 && rcX == -22,
              "returned \(rcA) and \(rcX)")
        let pmu = xen.raw(Hypercall.xenpmuOp.rawValue, 0, 0)
        check("xenpmu_op answers -EOPNOTSUPP", pmu == -95, "returned \(pmu)")
    }

    static func privilegedInstructions() {
        func gp(_ name: StaticString, _ probe: () -> UInt32) {
            let before = TrapLog.last.count
            let r = probe()
            let t = TrapLog.last
            check(name, r == 1 && t.count == before + 1 && t.vector == 13 && t.ring == 1,
                  "vector \(t.vector) error \(hex: t.errorCode) at \(hex8: t.eip)")
        }
        gp("cli in ring 1 becomes #GP", guest_probe_cli)
        gp("out in ring 1 becomes #GP", guest_probe_out)
        gp("hlt in ring 1 becomes #GP", guest_probe_hlt)
        // mov from and to CR3 are emulated for every PV kernel, dom0 included, as Xen does: reloading
        // its own base is NEW_BASEPTR to the base it has.
        let before = TrapLog.last.count
        let cr3 = guest_probe_mov_cr3()
        check("mov cr3 read and written back in ring 1 is emulated", cr3 == 0 && TrapLog.last.count == before,
              "probe \(cr3), traps \(TrapLog.last.count &- before)")
        gp("lgdt in ring 1 becomes #GP", guest_probe_lgdt)
        // With a virtual IOPL (as Linux's dom0 sets at boot) the ports are dom0's, the hypervisor's
        // excepted: QEMU's fw_cfg device answers its signature ("QEMU") through the real ports.
        let rc = xen.setIOPL(1)
        guest_port_out16(0x510, 0)                       // fw_cfg selector: FW_CFG_SIGNATURE
        var signature: UInt32 = 0
        for i: UInt32 in 0..<4 { signature |= (guest_port_in8(0x511) & 0xFF) << (8 * i) }
        check("with a virtual IOPL dom0 reads fw_cfg's signature through ports 0x510-0x511", rc == 0 && signature == 0x554D_4551,
              "set_iopl \(rc), signature \(hex8: signature)")
        // domctl ioport_permission on itself: once dom0 gives fw_cfg's ports up they answer all ones,
        // and it cannot take them back, since a domain passes on only what it holds (as on Xen).
        let away = DevicePermissions.ports(0, first: 0x510, count: 2, allow: false)
        let gone = guest_port_in8(0x511)
        let back = DevicePermissions.ports(0, first: 0x510, count: 2, allow: true)
        check("ioport_permission: fw_cfg's ports given up read all ones and cannot be taken back (-EPERM)",
              away == 0 && gone == 0xFF && back == -1, "\(away) \(hex: gone) \(back)")
        // Nothing dom0 does not hold can be passed on; bad ranges get Xen's errno.
        check("ioport_permission: an empty range -EINVAL, past port 0xffff -EINVAL",
              DevicePermissions.ports(0, first: 0x510, count: 0, allow: true) == -22 && DevicePermissions.ports(0, first: 0xFFFF, count: 2, allow: true) == -22, "")
        check("irq_permission: line 0 (the timer) is not dom0's to pass on: -EPERM; pirq 16 -EINVAL",
              DevicePermissions.line(0, pirq: 0, allow: true) == -1 && DevicePermissions.line(0, pirq: 16, allow: true) == -22, "")
        check("iomem_permission: no frames -EINVAL; a domain that does not exist -ESRCH",
              DevicePermissions.frames(0, first: 0xFEBF0, count: 0, allow: true) == -22
              && DevicePermissions.frames(77, first: 0xFEBF0, count: 1, allow: true) == -3, "")
        let lsr = guest_port_in8(0x3FD)
        check("COM1's status port stays the hypervisor's: all ones", lsr == 0xFF, "\(hex: lsr)")
        // cli and sti with a virtual IOPL: emulated (no #GP) and the kernel's event mask left as it was,
        // as Xen does (its emulator deliberately keeps them away from the mask).
        let maskBefore = Kernel.sharedInfo.upcallMask
        Kernel.sharedInfo.upcallMask = 0
        let cli = guest_probe_cli()
        let masked = Kernel.sharedInfo.upcallMask
        Kernel.sharedInfo.upcallMask = 1
        let sti = guest_probe_sti()
        let unmasked = Kernel.sharedInfo.upcallMask
        Kernel.sharedInfo.upcallMask = maskBefore
        check("with a virtual IOPL cli and sti are emulated and leave the event mask alone", cli == 0 && sti == 0 && masked == 0 && unmasked == 1,
              "mask \(masked) after cli, \(unmasked) after sti")
        check("set_iopl 0 gives the #GP back", xen.setIOPL(0) == 0 && guest_probe_out() == 1, "")
    }

    static func cpuidAndFPU() {
        var regs: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        withUnsafeMutablePointer(to: &regs) { $0.withMemoryRebound(to: UInt32.self, capacity: 4) { guest_forced_cpuid(0x4000_0000, $0) } }
        // "XenVMMXenVMM" in ebx, ecx, edx.
        let ok = regs.1 == 0x566e_6558 && regs.2 == 0x65584d4d && regs.3 == 0x4d4d_566e
        check("forced-emulation cpuid 0x40000000", ok && regs.0 >= 0x4000_0002,
              "max leaf \(hex: regs.0), signature \(hex8: regs.1) \(hex8: regs.2) \(hex8: regs.3)")
        withUnsafeMutablePointer(to: &regs) { $0.withMemoryRebound(to: UInt32.self, capacity: 4) { guest_forced_cpuid(1, $0) } }
        check("forced-emulation cpuid 1 hides what a PV guest may not use", regs.2 & (1 << 5) == 0 && regs.3 & (1 << 13) == 0,
              "ecx \(hex8: regs.2) edx \(hex8: regs.3)")
        let before = TrapLog.deviceNotAvailable
        let rc = xen.fpuTaskswitch(true)
        _ = guest_probe_fpu()
        check("fpu_taskswitch(1) makes the next x87 instruction raise #NM", rc == 0 && TrapLog.deviceNotAvailable == before + 1,
              "#NM bounces \(TrapLog.deviceNotAvailable - before)")
    }

    // MARK: - what the hypervisor must refuse

    static func refusals() {
        let unknown = xen.raw(55)
        check("unknown hypercall answers -ENOSYS", unknown == -38, "hypercall 55 returned \(unknown)")
        let hvPointer = xen.consoleWrite(0xF600_0000, 16)
        check("pointer into the hypervisor area answers -EFAULT", hvPointer == -14, "console_io from 0xf6000000 returned \(hvPointer)")
        let unmapped = xen.consoleWrite(0x4000_0000, 16)
        check("pointer to unmapped guest memory answers -EFAULT", unmapped == -14, "console_io from 0x40000000 returned \(unmapped)")
        let badAssist = xen.vmAssist(VMAssistCommand.enable.rawValue, 31)
        check("vm_assist with an unknown type answers -EINVAL", badAssist == -22, "returned \(badAssist)")
        let badVcpu = xen.vcpuOp(.isUp, vcpu: 5)
        check("vcpu_op on a vCPU that does not exist answers -ENOENT", badVcpu == -2, "returned \(badVcpu)")
        let badTrapTable = xen.setTrapTable(0xF700_0000)
        check("set_trap_table from the hypervisor area answers -EFAULT", badTrapTable == -14, "returned \(badTrapTable)")
    }

    // MARK: - everything else the issue lists

    static func misc() {
        let assist = xen.vmAssist(VMAssistCommand.enable.rawValue, VMAssistType.writablePagetables.rawValue)
        check("vm_assist writable_pagetables", assist == 0, "returned \(assist)")
        let up = xen.vcpuOp(.isUp, vcpu: 0)
        check("vcpu_op is_up(0)", up == 1, "returned \(up)")
        var runstate = [UInt8](repeating: 0xAA, count: VcpuRunstateInfoLayout.size)
        let rcR = runstate.withUnsafeMutableBufferPointer { xen.vcpuOp(.getRunstateInfo, vcpu: 0, UInt32(UInt(bitPattern: $0.baseAddress))) }
        let state = runstate.withUnsafeBytes { $0.load(fromByteOffset: VcpuRunstateInfoLayout.stateOffset, as: Int32.self) }
        let running = runstate.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: VcpuRunstateInfoLayout.timeOffset, as: UInt64.self) }
        check("vcpu_op get_runstate_info", rcR == 0 && state == Runstate.running.rawValue && running > 0,
              "state \(state), \(running / 1000) us running")
        let y = xen.schedOp(.yield)
        check("sched_op yield", y == 0, "returned \(y)")
        let e = Kernel.registerCallback(.event, guest_event_callback_address())
        let f = Kernel.registerCallback(.failsafe, guest_failsafe_callback_address())
        check("callback_op register event and failsafe", e == 0 && f == 0, "returned \(e), \(f)")
        let bad = Kernel.registerCallback(.nmi, 0xF700_0000)
        check("callback_op with a hypervisor address answers -EINVAL", bad == -22, "returned \(bad)")
        multicall()
    }

    static func multicall() {
        // Two entries: xen_version(version) and an unknown hypercall; results come back per entry.
        var entries = HypercallRecord(stride: MulticallEntryLayout.size, count: 2)
        entries.set(Hypercall.xenVersion.rawValue, at: MulticallEntryLayout.opOffset, element: 0)
        entries.set(XenVersionOp.version.rawValue, at: MulticallEntryLayout.argOffset(0), element: 0)
        entries.set(UInt32(55), at: MulticallEntryLayout.opOffset, element: 1)
        let rc = entries.withAddress { xen.multicall($0, count: 2) }
        let first = Int32(bitPattern: entries.get(UInt32.self, at: MulticallEntryLayout.resultOffset, element: 0))
        let second = Int32(bitPattern: entries.get(UInt32.self, at: MulticallEntryLayout.resultOffset, element: 1))
        check("multicall runs each entry and stores its result", rc == 0 && first == xen.xenVersion(.version) && second == -38,
              "results \(first), \(second)")
    }

    // MARK: - descriptor tables

    static var gdtPage = [UInt64](repeating: 0, count: 1024)
    static var gdtMFN: UInt32 = 0

    /// One guest GDT page whose entry 1 is a flat ring-1 data segment (limit to be truncated),
    /// made read-only (a descriptor frame may have no writable mapping, as on Xen) and registered
    /// with set_gdt. The page is the 4 KiB-aligned part of a buffer we own. Idempotent.
    @discardableResult
    static func installTestGDT() -> Int32 {
        if gdtMFN != 0 { return 0 }
        return gdtPage.withUnsafeMutableBufferPointer { buf in
            let base = UInt32(UInt(bitPattern: buf.baseAddress))
            let page = (base + 4095) & ~4095
            let entries = UnsafeMutablePointer<UInt64>(bitPattern: UInt(page))!
            for i in 0..<512 { entries[i] = 0 }
            entries[1] = 0x00CF_B300_0000_FFFF
            let mfn = Kernel.startInfo.machineFrame(ofPFN: page >> 12)
            let ro = xen.updateVAMapping(page, UInt64(mfn) << 12 | 0x21, flags: UpdateVAFlags.invalidatePage)
            if ro != 0 { return ro }
            var frame = mfn
            let rc = withUnsafeMutablePointer(to: &frame) { xen.setGDT(frameList: UInt32(UInt(bitPattern: $0)), entries: 512) }
            if rc == 0 { gdtMFN = mfn }
            return rc
        }
    }

    /// Entry `i` of the test GDT, read through our own read-only mapping of it.
    static func gdtEntry(_ i: Int) -> UInt64 {
        gdtPage.withUnsafeBufferPointer { buf in
            let page = (UInt32(UInt(bitPattern: buf.baseAddress)) + 4095) & ~4095
            return UnsafePointer<UInt64>(bitPattern: UInt(page))![i]
        }
    }

    static func descriptors() {
        let rc = installTestGDT()
        check("set_gdt with a validated page", rc == 0, "returned \(rc)")
        // Read through the new selector (index 1, RPL 1): the segment really is installed.
        let value = guest_read_fs(0x09, Kernel.startInfo.ptBase)
        let direct = UnsafePointer<UInt32>(bitPattern: UInt(Kernel.startInfo.ptBase))!.pointee
        check("a segment from our own GDT loads and reads", rc == 0 && value == direct, "fs:[pt_base] = \(hex8: value)")
        let ma = UInt64(gdtMFN) << 12 | 2 * 8
        // Xen's rule for 32-bit PV: DPL 0 is raised to 1 (and the 4 GiB limit truncated to the M2P's end).
        let dpl0 = xen.updateDescriptor(machineAddress: ma, descriptor: 0x00CF_9300_0000_FFFF)
        let installed = gdtEntry(2)
        check("update_descriptor raises a DPL-0 segment to DPL 1", dpl0 == 0 && installed == 0x00CF_B300_0000_67FF,
              "returned \(dpl0), installed \(hex16: installed)")
        let gate = xen.updateDescriptor(machineAddress: ma, descriptor: 0x0000_EC00_E008_1000)
        check("update_descriptor refuses a call gate into the hypervisor's code", gate == -22, "returned \(gate)")
        let good = xen.updateDescriptor(machineAddress: ma, descriptor: 0x00CF_B300_0000_FFFF)
        check("update_descriptor accepts a DPL-1 data segment", good == 0, "returned \(good)")
        let reserved = xen.setGDT(frameList: 0, entries: 8000)
        check("set_gdt reaching the hypervisor's reserved entries answers -EINVAL", reserved == -22, "returned \(reserved)")
        // The two calls that stopped the hypervisor before guest pointers were checked as ranges.
        let topGDT = xen.setGDT(frameList: 0xFFFF_FFF8, entries: 16)
        check("set_gdt with its frame list at 0xfffffff8 answers -EFAULT", topGDT == -14, "returned \(topGDT)")
        let topPoll = xen.schedOp(.poll, 0xFFFF_FFF8)
        check("sched_op poll with its argument at 0xfffffff8 answers -EFAULT", topPoll == -14, "returned \(topPoll)")
    }

    // MARK: - ring 3

    /// Gives the application's code and stack pages the user bit, through update_va_mapping.
    static func markUserPages() -> (pages: Int, rc: Int32) {
        let si = Kernel.startInfo
        var marked = 0
        var rc: Int32 = 0
        func markUser(_ start: UInt32, _ end: UInt32, writable: Bool) {
            var va = start
            while va < end {
                let mfn = si.machineFrame(ofPFN: va >> 12)
                let flags: UInt64 = writable ? 0x67 : 0x65                // present, user, accessed, dirty (+ rw)
                let r = xen.updateVAMapping(va, UInt64(mfn) << 12 | flags, flags: UpdateVAFlags.invalidatePage)
                if r != 0 { rc = r }
                marked += 1
                va += 4096
            }
        }
        markUser(guest_symbol(GuestSymbol.userTextStart), guest_symbol(GuestSymbol.userTextEnd), writable: false)
        markUser(guest_symbol(GuestSymbol.userStackBottom), guest_symbol(GuestSymbol.userStackTop), writable: true)
        return (marked, rc)
    }

    static func userMode() {
        let (marked, rc) = markUserPages()
        check("update_va_mapping marks the application's pages user", rc == 0, "\(UInt32(marked)) pages")
        let status = guest_enter_user(guest_symbol(GuestSymbol.userEntry), guest_symbol(GuestSymbol.userStackTop))
        check("ring-3 application ran and exited through int 0x80", status == 42 && TrapLog.userWrites == 1,
              "exit status \(status), \(TrapLog.userWrites) write")
        check("ring-3 getpid through int 0x80", TrapLog.userReports[1] == 1, "pid \(TrapLog.userReports[1])")
        let refused = TrapLog.userReports[2]
        check("ring-3 int 0x82 is refused with #GP", refused == 0xDEAD_0412, "the kernel saw #GP error \(hex: refused & 0xFFFF) from ring 3")
        check("ring-3 stack works", TrapLog.userReports[3] == 0x33, "value \(hex: TrapLog.userReports[3])")
    }
}
