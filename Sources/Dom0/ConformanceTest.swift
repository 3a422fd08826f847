// ConformanceTest.swift: the `conformance` scenario: dom0 does, from ring 1 and from ring 3, what PV
// kernels written for Xen rely on Xen doing (issue #16, one vCPU): privileged instructions emulated on
// their #GP (control and debug registers, clts, wbinvd, rdmsr/wrmsr), set_debugreg/get_debugreg,
// forced-emulation cpuid and CPUID faulting, vm_assist, domctl/sysctl in Xen 4.17's interface version,
// the FIFO event-channel argument checks, and FIFO event channels for real (dom0 switches ABI, sends
// to itself, consumes its queues in priority order, then EVTCHNOP_reset closes every port and gives FIFO
// up: this case runs last).
// Every case prints the values it read back and has a
// refusal twin. It must never print "ok" for a value it did not read back; the verdict is dom0's
// poweroff when every case passed.

import ApusCore
import GuestKit
import PVABI

@_extern(c, "conf_read_cr0") func conf_read_cr0(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_read_cr2") func conf_read_cr2(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_read_cr3") func conf_read_cr3(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_read_cr4") func conf_read_cr4(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_write_cr0") func conf_write_cr0(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_write_cr3") func conf_write_cr3(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_write_cr4") func conf_write_cr4(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_clts") func conf_clts(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_wbinvd") func conf_wbinvd(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_read_dr0") func conf_read_dr0(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_read_dr6") func conf_read_dr6(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_read_dr7") func conf_read_dr7(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_write_dr0") func conf_write_dr0(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_write_dr1") func conf_write_dr1(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_write_dr6") func conf_write_dr6(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_write_dr7") func conf_write_dr7(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_rdmsr") func conf_rdmsr(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_wrmsr") func conf_wrmsr(_ arg: UInt32, _ out: UnsafeMutablePointer<UInt64>, _ lo: UInt32, _ hi: UInt32) -> UInt32
@_extern(c, "conf_rep_insb") func conf_rep_insb(_ port: UInt32, _ offset: UInt32, _ count: UInt32, _ after: UnsafeMutablePointer<UInt32>, _ selector: UInt32) -> UInt32
@_extern(c, "conf_rep_insw") func conf_rep_insw(_ port: UInt32, _ offset: UInt32, _ count: UInt32, _ after: UnsafeMutablePointer<UInt32>, _ selector: UInt32) -> UInt32
@_extern(c, "conf_insd") func conf_insd(_ port: UInt32, _ offset: UInt32, _ count: UInt32, _ after: UnsafeMutablePointer<UInt32>, _ selector: UInt32) -> UInt32
@_extern(c, "conf_outsb") func conf_outsb(_ port: UInt32, _ offset: UInt32, _ count: UInt32, _ after: UnsafeMutablePointer<UInt32>, _ selector: UInt32) -> UInt32
@_extern(c, "conf_rep_outsb") func conf_rep_outsb(_ port: UInt32, _ offset: UInt32, _ count: UInt32, _ after: UnsafeMutablePointer<UInt32>, _ selector: UInt32) -> UInt32
@_extern(c, "conf_rep_outsw") func conf_rep_outsw(_ port: UInt32, _ offset: UInt32, _ count: UInt32, _ after: UnsafeMutablePointer<UInt32>, _ selector: UInt32) -> UInt32
@_extern(c, "conf_rep_outsd") func conf_rep_outsd(_ port: UInt32, _ offset: UInt32, _ count: UInt32, _ after: UnsafeMutablePointer<UInt32>, _ selector: UInt32) -> UInt32
@_extern(c, "conf_std_rep_insb") func conf_std_rep_insb(_ port: UInt32, _ offset: UInt32, _ count: UInt32, _ after: UnsafeMutablePointer<UInt32>, _ selector: UInt32) -> UInt32
@_extern(c, "conf_fs_rep_outsw") func conf_fs_rep_outsw(_ port: UInt32, _ offset: UInt32, _ count: UInt32, _ after: UnsafeMutablePointer<UInt32>, _ selector: UInt32) -> UInt32
@_extern(c, "conf_step_read_cr0") func conf_step_read_cr0(_ trapFlag: UInt32, _ value: UInt32) -> UInt32
@_extern(c, "conf_step_write_cr0") func conf_step_write_cr0(_ trapFlag: UInt32, _ value: UInt32) -> UInt32
@_extern(c, "conf_step_forced_cpuid") func conf_step_forced_cpuid(_ trapFlag: UInt32, _ value: UInt32) -> UInt32
@_extern(c, "user_conf_io_entry") func user_conf_io_entry()
@_extern(c, "user_conf_entry") func user_conf_entry()
@_extern(c, "user_conf_faulting_entry") func user_conf_faulting_entry()

enum ConformanceTest {
    static var passed = 0
    static var failed = 0

    static func check(_ name: StaticString, _ ok: Bool, _ detail: LogLine) {
        if ok { passed += 1 } else { failed += 1 }
        var line = LogLine()
        line.append("conformance: ")
        line.append(name)
        line.append(ok ? ": ok (" : ": FAILED (")
        detail.withBytes { for b in $0 { line.append(byte: b) } }
        line.append(")")
        console.print(line)
    }

    typealias Probe = (UInt32, UnsafeMutablePointer<UInt64>, UInt32, UInt32) -> UInt32

    /// Runs a probe: (faulted, EDX:EAX it left, the vector the kernel saw if it faulted).
    static func run(_ probe: Probe, _ arg: UInt32 = 0, value: UInt64 = 0) -> (faulted: Bool, value: UInt64, vector: UInt32) {
        var out: UInt64 = 0
        let before = TrapLog.last.count
        let r = probe(arg, &out, UInt32(truncatingIfNeeded: value), UInt32(truncatingIfNeeded: value >> 32))
        let trapped = TrapLog.last.count != before
        return (r == 1, out, trapped ? TrapLog.last.vector : 0)
    }

    static func run() -> Bool {
        controlRegisters()
        debugRegisters()
        singleStep()
        otherInstructions()
        modelSpecificRegisters()
        vmAssist()
        stringPortIO()
        ringThree()
        interfaceVersions()
        fifoEventChannels()
        console.print("conformance: \(UInt32(passed)) passed, \(UInt32(failed)) failed")
        return failed == 0
    }

    // MARK: - control registers

    static var notAnL3 = [UInt8](repeating: 0, count: 8192)

    static func controlRegisters() {
        let si = Kernel.startInfo
        let baseMFN = si.machineFrame(ofPFN: si.ptBase >> 12)
        let cr3 = run(conf_read_cr3)
        let expected = baseMFN << 12 | baseMFN >> 20          // xen_pfn_to_cr3
        check("mov from cr3 is xen_pfn_to_cr3 of the base", !cr3.faulted && UInt32(truncatingIfNeeded: cr3.value) == expected,
              "cr3 \(hex8: UInt32(truncatingIfNeeded: cr3.value)), base mfn \(hex: baseMFN)")
        let back = run(conf_write_cr3, UInt32(truncatingIfNeeded: cr3.value))
        check("mov to cr3 of its own base is NEW_BASEPTR", !back.faulted, "faulted \(back.faulted)")
        // Twin: a frame of dom0's own data (mapped writable, so never an L3).
        let data = notAnL3.withUnsafeBufferPointer { (UInt32(UInt(bitPattern: $0.baseAddress)) + 4095) & ~4095 }
        let dataMFN = si.machineFrame(ofPFN: data >> 12)
        let bad = run(conf_write_cr3, dataMFN << 12 | dataMFN >> 20)
        let still = run(conf_read_cr3)
        check("mov to cr3 of a data frame is refused with #GP", bad.faulted && bad.vector == 13 && still.value == cr3.value,
              "frame \(hex: dataMFN): vector \(bad.vector), cr3 still \(hex8: UInt32(truncatingIfNeeded: still.value))")

        // CR0.TS follows fpu_taskswitch, clts and mov to CR0.
        _ = xen.fpuTaskswitch(true)
        let withTS = run(conf_read_cr0)
        let clts = run(conf_clts)
        let withoutTS = run(conf_read_cr0)
        let ts: UInt64 = 1 << 3
        check("mov from cr0 shows fpu_taskswitch's TS, clts clears it", !withTS.faulted && !clts.faulted
              && withTS.value & ts != 0 && withoutTS.value & ts == 0,
              "cr0 \(hex8: UInt32(truncatingIfNeeded: withTS.value)) then \(hex8: UInt32(truncatingIfNeeded: withoutTS.value))")
        let setTS = run(conf_write_cr0, UInt32(truncatingIfNeeded: withoutTS.value | ts))
        let afterSet = run(conf_read_cr0)
        let fpu = TrapLog.deviceNotAvailable
        _ = guest_probe_fpu()
        check("mov to cr0 with TS set: the next FPU instruction raises the guest's #NM",
              !setTS.faulted && afterSet.value & ts != 0 && TrapLog.deviceNotAvailable == fpu &+ 1,
              "cr0 \(hex8: UInt32(truncatingIfNeeded: afterSet.value)), #NM \(TrapLog.deviceNotAvailable &- fpu)")
        let wp: UInt32 = 1 << 16
        let badCR0 = run(conf_write_cr0, UInt32(truncatingIfNeeded: withoutTS.value) ^ wp)
        let cr0After = run(conf_read_cr0)
        check("mov to cr0 changing WP is refused with #GP", badCR0.faulted && badCR0.vector == 13 && cr0After.value == withoutTS.value,
              "vector \(badCR0.vector), cr0 \(hex8: UInt32(truncatingIfNeeded: cr0After.value))")

        // CR2: the last page fault's address, as vcpu_info has it.
        let target: UInt32 = 0x4000_0000 + 0x5A4
        let pf = guest_probe_read(target)
        let cr2 = run(conf_read_cr2)
        check("mov from cr2 is the last #PF address", pf == 1 && !cr2.faulted && UInt32(truncatingIfNeeded: cr2.value) == target,
              "cr2 \(hex8: UInt32(truncatingIfNeeded: cr2.value))")
        let cr4 = run(conf_read_cr4)
        let pae: UInt64 = 1 << 5
        check("mov from cr4 shows PAE and hides what the hypervisor keeps", !cr4.faulted && cr4.value & pae != 0 && cr4.value & (1 << 7) == 0,
              "cr4 \(hex8: UInt32(truncatingIfNeeded: cr4.value))")
    }

    // MARK: - debug registers

    static var watched: UInt32 = 0

    static func debugRegisters() {
        let word = withUnsafeMutablePointer(to: &watched) { UInt32(UInt(bitPattern: $0)) }
        let dr7Start = run(conf_read_dr7)
        let dr6Start = run(conf_read_dr6)
        check("mov from dr6 and dr7 read their start values", !dr7Start.faulted && dr7Start.value == 0x400 && dr6Start.value == 0xFFFF_0FF0,
              "dr6 \(hex8: UInt32(truncatingIfNeeded: dr6Start.value)) dr7 \(hex8: UInt32(truncatingIfNeeded: dr7Start.value))")
        let a = run(conf_write_dr0, word)
        let c = run(conf_write_dr7, 0x000F_0001)            // L0, read/write, 4 bytes
        let dr0 = run(conf_read_dr0)
        let dr7 = run(conf_read_dr7)
        let viaHypercall = UInt32(bitPattern: xen.raw(Hypercall.getDebugreg.rawValue, 7))
        check("mov to dr0 and dr7 store what set_debugreg would (read back by mov and get_debugreg)",
              !a.faulted && !c.faulted && UInt32(truncatingIfNeeded: dr0.value) == word && dr7.value == 0x000F_0401 && viaHypercall == 0x000F_0401,
              "dr0 \(hex8: UInt32(truncatingIfNeeded: dr0.value)) dr7 \(hex8: UInt32(truncatingIfNeeded: dr7.value)), get_debugreg(7) \(hex8: viaHypercall)")
        let before = TrapLog.last.count
        let hit = guest_probe_read(word)
        let dr6 = run(conf_read_dr6)
        check("the breakpoint raises #DB in the guest's handler, mov from dr6 shows B0",
              hit == 1 && TrapLog.last.count == before + 1 && TrapLog.last.vector == 1 && dr6.value & 0xF == 1,
              "vector \(TrapLog.last.vector), dr6 \(hex8: UInt32(truncatingIfNeeded: dr6.value))")
        // Across a context switch: dom0 blocks (the idle loop runs) and its breakpoint is loaded again.
        _ = run(conf_write_dr6, 0)
        Reaper.start()
        GuestEvents.enable()
        Dom0Events.sleep(2_000_000)
        let again = TrapLog.last.count
        let hit2 = guest_probe_read(word)
        let dr6b = run(conf_read_dr6)
        check("after dom0 blocked and ran again its breakpoint still fires", hit2 == 1 && TrapLog.last.count == again + 1 && dr6b.value & 0xF == 1,
              "vector \(TrapLog.last.vector), dr6 \(hex8: UInt32(truncatingIfNeeded: dr6b.value))")
        // Twins: GD, an address in the hypervisor's area, an I/O breakpoint: each a #GP (mov) or -EPERM.
        let gd = run(conf_write_dr7, 0x2000)
        let high = run(conf_write_dr1, 0xF580_0000)
        let io = run(conf_write_dr7, 0x0002_0001)
        let kept = run(conf_read_dr7)
        check("mov to dr7 with GD, to dr1 of a hypervisor address, an I/O breakpoint: #GP, DR7 unchanged",
              gd.faulted && high.faulted && io.faulted && gd.vector == 13 && kept.value == 0x000F_0401,
              "vectors \(gd.vector) \(high.vector) \(io.vector), dr7 \(hex8: UInt32(truncatingIfNeeded: kept.value))")
        let hcHigh = xen.raw(Hypercall.setDebugreg.rawValue, 2, 0xF57F_FFFD)
        let hcBits = xen.raw(Hypercall.setDebugreg.rawValue, 7, 0x2000)
        let hcNone = xen.raw(Hypercall.getDebugreg.rawValue, 8)
        check("set_debugreg refuses the hypervisor area and GD (-EPERM), get_debugreg(8) -ENODEV",
              hcHigh == -1 && hcBits == -1 && hcNone == -19, "\(hcHigh) \(hcBits) \(hcNone)")
        let reserved = xen.raw(Hypercall.setDebugreg.rawValue, 6, 0)
        let dr6r = UInt32(bitPattern: xen.raw(Hypercall.getDebugreg.rawValue, 6))
        let off = run(conf_write_dr7, 0)
        check("DR6 written 0 reads back with its reserved bits set; DR7 cleared", reserved == 0 && dr6r == 0xFFFF_0FF0 && !off.faulted,
              "dr6 \(hex8: dr6r)")
        // The same breakpoint set with the hypercalls alone: #DB in the guest's handler, DR6 read back by get_debugreg.
        let sd0 = xen.raw(Hypercall.setDebugreg.rawValue, 0, word)
        let sd7 = xen.raw(Hypercall.setDebugreg.rawValue, 7, 0x000F_0001)
        let hcBefore = TrapLog.last.count
        let hcHit = guest_probe_read(word)
        let hcVector = TrapLog.last.vector
        let hcDR6 = UInt32(bitPattern: xen.raw(Hypercall.getDebugreg.rawValue, 6))
        let sdOff = xen.raw(Hypercall.setDebugreg.rawValue, 7, 0)
        _ = xen.raw(Hypercall.setDebugreg.rawValue, 6, 0)
        check("a breakpoint set with set_debugreg raises #DB in the guest's handler; get_debugreg(6) shows B0",
              sd0 == 0 && sd7 == 0 && sdOff == 0 && hcHit == 1 && TrapLog.last.count == hcBefore + 1 && hcVector == 1 && hcDR6 & 0xF == 1,
              "vector \(hcVector), dr6 \(hex8: hcDR6)")
    }

    // MARK: - single step over an emulated instruction

    /// With EFLAGS.TF set, the instruction the hypervisor emulates is followed by the guest's #DB just after
    /// it, DR6.BS set (Xen's pv_emul_instruction_done); TF clear, or an emulation that ends in the guest's
    /// #GP: no #DB. Events stay masked so that no upcall lands in a probe.
    static func singleStep() {
        let shared = StartOfDay.sharedInfo
        let savedMask = shared.upcallMask
        shared.upcallMask = 1
        defer { shared.upcallMask = savedMask; SingleStepLog.armed = false }
        let tf = SingleStepLog.trapFlag
        func dr6() -> UInt32 { UInt32(bitPattern: xen.raw(Hypercall.getDebugreg.rawValue, 6)) }

        _ = xen.raw(Hypercall.setDebugreg.rawValue, 6, 0)
        SingleStepLog.arm()
        let afterCR0 = conf_step_read_cr0(tf, 0)
        let cr0 = (SingleStepLog.steps, SingleStepLog.eip, SingleStepLog.dr6)
        check("TF set over an emulated mov from cr0: the guest's #DB just after it, DR6.BS set",
              afterCR0 > 1 && cr0.0 == 1 && cr0.1 == afterCR0 && cr0.2 == 0xFFFF_4FF0,
              "\(cr0.0) #DB at \(hex8: cr0.1), the instruction ends at \(hex8: afterCR0), dr6 \(hex8: cr0.2)")

        _ = xen.raw(Hypercall.setDebugreg.rawValue, 6, 0)
        SingleStepLog.arm()
        let afterCPUID = conf_step_forced_cpuid(tf, 0)
        let cpuid = (SingleStepLog.steps, SingleStepLog.eip, SingleStepLog.dr6)
        check("TF set over a forced-emulation cpuid: the guest's #DB after its 7 bytes, DR6.BS set",
              afterCPUID > 1 && cpuid.0 == 1 && cpuid.1 == afterCPUID && cpuid.2 == 0xFFFF_4FF0,
              "\(cpuid.0) #DB at \(hex8: cpuid.1), the instruction ends at \(hex8: afterCPUID), dr6 \(hex8: cpuid.2)")

        // Twins: TF clear; TF set over a mov to cr0 the hypervisor refuses (the guest's #GP, and no step).
        _ = xen.raw(Hypercall.setDebugreg.rawValue, 6, 0)
        SingleStepLog.arm()
        let plain = conf_step_read_cr0(0, 0)
        let quiet = (SingleStepLog.steps, dr6())
        let current = run(conf_read_cr0)
        let before = TrapLog.last.count
        SingleStepLog.arm()
        let refused = conf_step_write_cr0(tf, UInt32(truncatingIfNeeded: current.value) ^ (1 << 16))
        let refusedSteps = SingleStepLog.steps
        let gp = TrapLog.last.count == before &+ 1 ? TrapLog.last.vector : 0
        check("TF clear over an emulated mov from cr0: no #DB; TF set over a refused mov to cr0: its #GP and no #DB",
              plain > 1 && quiet.0 == 0 && quiet.1 == 0xFFFF_0FF0 && refused == 1 && gp == 13 && refusedSteps == 0 && dr6() == 0xFFFF_0FF0,
              "\(quiet.0) #DB, dr6 \(hex8: quiet.1); refused: vector \(gp), \(refusedSteps) #DB")
    }

    // MARK: - clts, wbinvd

    static func otherInstructions() {
        let w = run(conf_wbinvd)
        check("wbinvd in ring 1 is emulated", !w.faulted, "faulted \(w.faulted)")
        let cr4 = run(conf_write_cr4, 0x620)
        let de = run(conf_read_cr4)
        check("mov to cr4 is kept as the guest's view", !cr4.faulted && de.value == 0x620, "cr4 \(hex8: UInt32(truncatingIfNeeded: de.value))")
        let hlt = guest_probe_hlt()
        check("hlt stays a #GP for the guest", hlt == 1 && TrapLog.last.vector == 13, "vector \(TrapLog.last.vector)")
    }

    // MARK: - MSRs

    static func modelSpecificRegisters() {
        let t1 = run(conf_rdmsr, GuestMSR.tsc)
        let t2 = run(conf_rdmsr, GuestMSR.tsc)
        check("rdmsr TSC advances", !t1.faulted && t2.value > t1.value, "\(hex16: t1.value) then \(hex16: t2.value)")
        let apic = run(conf_rdmsr, GuestMSR.apicBase)
        let efer = run(conf_rdmsr, GuestMSR.efer)
        let pat = run(conf_rdmsr, GuestMSR.pat)
        let info = run(conf_rdmsr, GuestMSR.platformInfo)
        check("rdmsr APIC_BASE, EFER, PAT, PLATFORM_INFO as Xen shows them",
              apic.value == 0xFEE0_0900 && efer.value & ~0x800 == 0 && pat.value == 0x0005_0100_0704_06 && info.value == 0x8000_0000,
              "apic \(hex16: apic.value) efer \(hex16: efer.value) pat \(hex16: pat.value) platform_info \(hex16: info.value)")
        var vendor: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        withUnsafeMutablePointer(to: &vendor) { $0.withMemoryRebound(to: UInt32.self, capacity: 4) { guest_forced_cpuid(0, $0) } }
        let amd = vendor.1 == 0x6874_7541                      // "Auth"
        let counter = run(conf_rdmsr, amd ? 0xC001_0000 : 0xC1)
        let dropped = run(conf_wrmsr, amd ? 0xC001_0000 : 0xC1, value: 0x1234)
        let still = run(conf_rdmsr, amd ? 0xC001_0000 : 0xC1)
        check("a performance counter reads 0 and drops writes (Xen's vPMU off)", !counter.faulted && !dropped.faulted && counter.value == 0 && still.value == 0,
              "\(amd ? StaticString("AMD K7 EVNTSEL0") : StaticString("Intel P6 PERFCTR0")) \(hex16: still.value)")
        // MISC_ENABLE and UCODE_REV: the CPU's own, MISC_ENABLE through Xen's filter (bits 11, 12, 23 set,
        // 7 and 18 clear, whatever the CPU has); UCODE_REV takes Intel's write of 0 only.
        let misc = run(conf_rdmsr, GuestMSR.miscEnable)
        let miscWrite = run(conf_wrmsr, GuestMSR.miscEnable, value: misc.value ^ 1)
        let miscAgain = run(conf_rdmsr, GuestMSR.miscEnable)
        let ucode = run(conf_rdmsr, GuestMSR.ucodeRev)
        let ucodeZero = run(conf_wrmsr, GuestMSR.ucodeRev, value: 0)
        let ucodeOne = run(conf_wrmsr, GuestMSR.ucodeRev, value: 1)
        let filtered = misc.value & (1 << 11 | 1 << 12 | 1 << 23) == (1 << 11 | 1 << 12 | 1 << 23) && misc.value & (1 << 7 | 1 << 18) == 0
        check("MISC_ENABLE filtered as Xen's, writes dropped; UCODE_REV forwarded",
              !misc.faulted && filtered && !miscWrite.faulted && miscAgain.value == misc.value && !ucode.faulted
                && ucodeZero.faulted == amd && ucodeOne.faulted && ucodeOne.vector == 13,
              "\(hex16: misc.value), \(hex16: ucode.value); write 0 \(ucodeZero.faulted ? "#GP" : "taken"), 1 #\(ucodeOne.vector)")
        let sysenter = run(conf_rdmsr, 0x174)
        check("rdmsr of an MSR Xen hides (SYSENTER_CS) is a #GP", sysenter.faulted && sysenter.vector == 13, "vector \(sysenter.vector)")
        let same = run(conf_wrmsr, GuestMSR.efer, value: efer.value)
        let changed = run(conf_wrmsr, GuestMSR.efer, value: efer.value | 1)
        check("wrmsr EFER with the value it reads is accepted, with SCE set a #GP", !same.faulted && changed.faulted && changed.vector == 13,
              "vector \(changed.vector)")
        let on = run(conf_wrmsr, GuestMSR.miscFeaturesEnables, value: 1)
        let read = run(conf_rdmsr, GuestMSR.miscFeaturesEnables)
        let offAgain = run(conf_wrmsr, GuestMSR.miscFeaturesEnables, value: 0)
        let bad = run(conf_wrmsr, GuestMSR.miscFeaturesEnables, value: 2)
        check("wrmsr MISC_FEATURES_ENABLES: CPUID faulting on and off, another bit a #GP",
              !on.faulted && read.value == 1 && !offAgain.faulted && bad.faulted, "read \(hex16: read.value), vector \(bad.vector)")
    }

    // MARK: - vm_assist

    static func vmAssist() {
        var results = LogLine()
        var all = true
        for type: UInt32 in 0...5 {
            let e = xen.vmAssist(VMAssistCommand.enable.rawValue, type)
            let d = xen.vmAssist(VMAssistCommand.disable.rawValue, type)
            results.append(decimal: UInt64(type))
            results.append(e == 0 && d == 0 ? " ok " : " REFUSED ")
            all = all && e == 0 && d == 0
        }
        check("vm_assist enables and disables each 32-bit PV type", all, results)
        // writable_pagetables: a direct write into dom0's own (read-only) L1 is a #PF without it and is
        // validated and applied with it (the scratch window then shows another page).
        let window = guest_symbol(GuestSymbol.scratchWindow)
        let pte = OwnPageTables.l1EntryVA(of: window)
        let original = UnsafePointer<UInt32>(bitPattern: UInt(pte))!.pointee
        let plain = guest_probe_write(pte, original)
        let plainVector = TrapLog.last.vector, plainCR2 = TrapLog.last.cr2
        let on = xen.vmAssist(VMAssistCommand.enable.rawValue, VMAssistType.writablePagetables.rawValue)
        let target = withUnsafeMutablePointer(to: &watched) { UInt32(UInt(bitPattern: $0)) }
        watched = 0x600D_7AB1
        let redirected = guest_probe_write(pte, OwnPageTables.mfn(target >> 12) << 12 | original & 0xFFF)
        _ = MMUExtBatch.single(xen, .invlpgLocal, window)
        let through = UnsafePointer<UInt32>(bitPattern: UInt(window | target & 0xFFF))!.pointee
        let restored = guest_probe_write(pte, original)
        _ = MMUExtBatch.single(xen, .invlpgLocal, window)
        check("writable_pagetables takes effect: a direct L1 write is a #PF without it, emulated with it",
              plain == 1 && plainVector == 14 && plainCR2 == pte && on == 0 && redirected == 0 && restored == 0 && through == 0x600D_7AB1,
              "without: vector \(plainVector) cr2 \(hex8: plainCR2); with: the window reads \(hex8: through)")
        let unknown = xen.vmAssist(VMAssistCommand.enable.rawValue, 6)
        let m2p = xen.vmAssist(VMAssistCommand.enable.rawValue, VMAssistType.m2pStrict.rawValue)
        let cmd = xen.vmAssist(5, 0)
        check("vm_assist type 6 and m2p_strict -EINVAL, an unknown command -ENOSYS", unknown == -22 && m2p == -22 && cmd == -38,
              "\(unknown) \(m2p) \(cmd)")
        // runstate_update_flag: the area dom0 registers is updated at each switch with the flag set
        // during the copy and cleared after it; what dom0 reads after a block is a finished copy.
        let runstate = UnsafeMutablePointer<UInt8>.allocate(capacity: VcpuRunstateInfoLayout.size)
        for i in 0..<VcpuRunstateInfoLayout.size { runstate[i] = 0xFF }
        var register = HypercallRecord(stride: VcpuRegisterRunstateMemoryAreaLayout.size)
        register.set(UInt32(UInt(bitPattern: runstate)), at: VcpuRegisterRunstateMemoryAreaLayout.addrOffset)
        let flag = xen.vmAssist(VMAssistCommand.enable.rawValue, VMAssistType.runstateUpdateFlag.rawValue)
        let rcR = register.withAddress { xen.vcpuOp(.registerRunstateMemoryArea, vcpu: 0, $0) }
        Dom0Events.sleep(1_000_000)
        let entry = UnsafeRawPointer(runstate).loadUnaligned(fromByteOffset: VcpuRunstateInfoLayout.stateEntryTimeOffset, as: UInt64.self)
        let blocked = UnsafeRawPointer(runstate).loadUnaligned(fromByteOffset: VcpuRunstateInfoLayout.timeOffset + 16, as: UInt64.self)
        register.set(UInt32(0), at: VcpuRegisterRunstateMemoryAreaLayout.addrOffset)
        let rcU = register.withAddress { xen.vcpuOp(.registerRunstateMemoryArea, vcpu: 0, $0) }
        check("runstate_update_flag: the runstate area is updated and its XEN_RUNSTATE_UPDATE bit cleared after the copy",
              flag == 0 && rcR == 0 && rcU == 0 && entry >> 63 == 0 && entry > 0 && blocked > 0,
              "state_entry_time \(hex16: entry), blocked \(blocked / 1000) us")
        // architectural_iopl: with IOPL 0, the kernel counts as ring 0 and may use ports (Xen's iopl_ok).
        _ = xen.setIOPL(0)
        let without = guest_probe_in8(0x80)
        _ = xen.vmAssist(VMAssistCommand.enable.rawValue, VMAssistType.architecturalIOPL.rawValue)
        let with = guest_probe_in8(0x80)
        _ = xen.vmAssist(VMAssistCommand.disable.rawValue, VMAssistType.architecturalIOPL.rawValue)
        let afterwards = guest_probe_in8(0x80)
        check("architectural_iopl takes effect: in from port 0x80 at IOPL 0 faults without it, runs with it",
              without == 1 && with != 1 && afterwards == 1, "\(hex: without) \(hex: with) \(hex: afterwards)")
    }

    // MARK: - ins/outs and cli/sti

    typealias StringProbe = (UInt32, UInt32, UInt32, UnsafeMutablePointer<UInt32>, UInt32) -> UInt32

    /// Runs a string probe: (faulted, ECX, ESI, EDI after it, the vector the kernel saw if it faulted).
    static func string(_ probe: StringProbe, port: UInt32, at offset: UInt32, count: UInt32, selector: UInt32 = 0)
        -> (faulted: Bool, ecx: UInt32, esi: UInt32, edi: UInt32, vector: UInt32) {
        var after: (UInt32, UInt32, UInt32) = (0, 0, 0)
        let before = TrapLog.last.count
        let r = withUnsafeMutablePointer(to: &after) { $0.withMemoryRebound(to: UInt32.self, capacity: 3) { probe(port, offset, count, $0, selector) } }
        return (r == 1, after.0, after.1, after.2, TrapLog.last.count != before ? TrapLog.last.vector : 0)
    }

    static var ioBuffer = [UInt8](repeating: 0, count: 8192)

    /// fw_cfg (QEMU's configuration device: selector port 0x510, data port 0x511) is the device these cases
    /// read back: a selector written by outsw changes what the data port answers.
    static let fwCfgSelector: UInt32 = 0x510
    static let fwCfgData: UInt32 = 0x511

    static func stringPortIO() {
        let io = ioBuffer.withUnsafeMutableBufferPointer { (UInt32(UInt(bitPattern: $0.baseAddress)) + 4095) & ~4095 }
        let bytes = UnsafeMutablePointer<UInt8>(bitPattern: UInt(io))!
        func word(_ offset: UInt32) -> UInt32 { UnsafePointer<UInt32>(bitPattern: UInt(io + offset))!.pointee }
        func setWord(_ offset: UInt32, _ v: UInt32) { UnsafeMutablePointer<UInt32>(bitPattern: UInt(io + offset))!.pointee = v }
        func clear() { for i in 0..<4096 { bytes[i] = 0 } }
        /// Writes fw_cfg's selector `key` with rep outsw from the buffer's last word.
        func select(_ key: UInt32) -> Bool {
            setWord(4092, key)
            return !string(conf_rep_outsw, port: fwCfgSelector, at: io + 4092, count: 1).faulted
        }
        let qemu: UInt32 = 0x554D_4551                   // "QEMU" as a little-endian word
        _ = xen.setIOPL(1)

        clear()
        let sel = select(0)
        let ins = string(conf_rep_insb, port: fwCfgData, at: io, count: 4)
        check("rep outsw selects fw_cfg's signature, rep insb x4 from port 0x511 reads it", sel && !ins.faulted && word(0) == qemu
              && ins.ecx == 0 && ins.edi == io + 4, "'\(text: UnsafeBufferPointer(start: bytes, count: 4))', ecx \(ins.ecx), edi +\(ins.edi &- io)")
        clear()
        let sel2 = select(0)
        let down = string(conf_std_rep_insb, port: fwCfgData, at: io + 3, count: 4)
        check("with DF set rep insb stores downwards", sel2 && !down.faulted && word(0) == 0x5145_4D55 && down.edi == io &- 1,
              "'\(text: UnsafeBufferPointer(start: bytes, count: 4))', edi \(hex8: down.edi) below the buffer at \(hex8: io)")

        // More than the emulator's chunk (256): the guest re-executes the rest; the same bytes as single `in`s read.
        clear()
        let sel3 = select(0x19)                            // FW_CFG_FILE_DIR
        let long = string(conf_rep_insb, port: fwCfgData, at: io, count: 300)
        _ = select(0x19)
        var same = true, distinct = false
        for i in 0..<300 {
            let b = UInt8(truncatingIfNeeded: guest_port_in8(fwCfgData))
            if b != bytes[i] { same = false }
            if bytes[i] != bytes[0] { distinct = true }
        }
        let files = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        check("rep insb x300 (more than one chunk) reads fw_cfg's file directory as 300 single in instructions do",
              sel3 && !long.faulted && long.ecx == 0 && long.edi == io + 300 && same && distinct && files > 0,
              "\(files) files, first file '\(text: UnsafeBufferPointer(start: bytes + 12, count: 8))', ecx \(long.ecx), edi +\(long.edi &- io)")

        // 16- and 32-bit elements: PCI configuration space of 00:00.0 through 0xCF8/0xCFC.
        clear()
        setWord(16, 0x8000_0000)
        let address = string(conf_rep_outsd, port: 0xCF8, at: io + 16, count: 1)
        let id = string(conf_insd, port: 0xCFC, at: io, count: 7)
        let vendor = string(conf_rep_insw, port: 0xCFC, at: io + 4, count: 2)
        check("rep outsd to 0xcf8, insd and rep insw x2 from 0xcfc read the host bridge's IDs",
              !address.faulted && !id.faulted && !vendor.faulted && word(0) & 0xFFFF == 0x8086 && word(4) == 0x8086_8086
              && id.ecx == 7 && id.edi == io + 4 && vendor.ecx == 0 && vendor.edi == io + 8,
              "vendor:device \(hex8: word(0)), words \(hex8: word(4)), insd left ecx \(id.ecx)")

        // A segment override with a base: FS from dom0's own GDT (entry 4, base 16 bytes below the buffer,
        // limit 64 KiB): FS:0x10 is the buffer, DS:0x10 is not mapped at all.
        let gdt = PVSelfTest.installTestGDT()
        let base = io &- 16
        let descriptor = UInt64(base & 0xFF00_0000 | 0x0040_B300 | (base >> 16) & 0xFF) << 32 | UInt64((base & 0xFFFF) << 16 | 0xFFFF)
        let entry = xen.updateDescriptor(machineAddress: UInt64(PVSelfTest.gdtMFN) << 12 | 4 * 8, descriptor: descriptor)
        _ = select(1)                                      // FW_CFG_ID: not the signature
        setWord(0, 0)                                      // FW_CFG_SIGNATURE, at FS:0x10
        let viaFS = string(conf_fs_rep_outsw, port: fwCfgSelector, at: 0x10, count: 1, selector: 0x21)
        setWord(0, 0)
        let readBack = string(conf_rep_insb, port: fwCfgData, at: io, count: 4)
        check("outsw with rep and an FS override reads through FS's base", gdt == 0 && entry == 0 && !viaFS.faulted && !readBack.faulted
              && word(0) == qemu && viaFS.esi == 0x12, "fs base \(hex8: base): '\(text: UnsafeBufferPointer(start: bytes, count: 4))', esi \(hex8: viaFS.esi)")
        let past = string(conf_fs_rep_outsw, port: fwCfgSelector, at: 0xFFFF, count: 1, selector: 0x21)
        check("the same outsw past FS's 64 KiB limit is a #GP", past.faulted && past.vector == 13 && past.ecx == 1 && past.esi == 0xFFFF,
              "vector \(past.vector), ecx \(past.ecx)")
        _ = xen.updateDescriptor(machineAddress: UInt64(PVSelfTest.gdtMFN) << 12 | 4 * 8, descriptor: 0)

        // Twins: the string reaching the hypervisor's area (#GP), an unmapped page (#PF at that element,
        // ECX and ESI where it stopped), ports that are the hypervisor's (dropped, all ones), IOPL 0 (#GP).
        let high = string(conf_rep_insb, port: fwCfgData, at: 0xF57F_FFFE, count: 4)
        check("rep insb into the hypervisor's area is a #GP", high.faulted && high.vector == 13 && high.ecx == 4, "vector \(high.vector), ecx \(high.ecx)")
        let unmapped: UInt32 = 0x4000_0000 + 0x7F0
        let pf = string(conf_rep_outsb, port: 0x80, at: unmapped, count: 4)
        check("rep outsb from an unmapped page is the guest's #PF at that address", pf.faulted && pf.vector == 14 && TrapLog.last.cr2 == unmapped
              && pf.ecx == 4 && pf.esi == unmapped, "vector \(pf.vector), cr2 \(hex8: TrapLog.last.cr2), ecx \(pf.ecx)")
        clear()
        setWord(0, 0x5A5A)
        let scratchOut = string(conf_outsb, port: 0x3FF, at: io, count: 9)
        let scratchIn = string(conf_rep_insb, port: 0x3FF, at: io + 4, count: 2)
        check("outsb and rep insb on COM1's scratch register (the hypervisor's): dropped, all ones",
              !scratchOut.faulted && !scratchIn.faulted && scratchOut.ecx == 9 && scratchOut.esi == io + 1 && word(4) == 0xFFFF,
              "read \(hex8: word(4))")
        _ = xen.setIOPL(0)
        clear()
        let denied = string(conf_rep_insb, port: fwCfgData, at: io, count: 4)
        let cli = guest_probe_cli()
        check("at IOPL 0 rep insb and cli are a #GP; nothing was stored", denied.faulted && denied.vector == 13 && word(0) == 0 && cli == 1,
              "vector \(denied.vector)")
        _ = xen.setIOPL(1)
        let maskBefore = Kernel.sharedInfo.upcallMask
        Kernel.sharedInfo.upcallMask = 0
        let cli1 = guest_probe_cli()
        let afterCli = Kernel.sharedInfo.upcallMask
        Kernel.sharedInfo.upcallMask = 1
        let sti1 = guest_probe_sti()
        let afterSti = Kernel.sharedInfo.upcallMask
        Kernel.sharedInfo.upcallMask = maskBefore
        check("at IOPL 1 cli and sti in ring 1 are emulated and leave the event mask alone, as on Xen",
              cli1 == 0 && sti1 == 0 && afterCli == 0 && afterSti == 1, "mask \(afterCli) after cli, \(afterSti) after sti")

        // Ring 3: at IOPL 3 its rep outsw selects the signature (read back from ring 1), cli and sti run; at IOPL 1 each is a #GP.
        _ = PVSelfTest.markUserPages()
        func user() -> (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) {
            _ = select(1)
            for i in 10..<14 { TrapLog.userReports[i] = 0 }
            let status = guest_enter_user(UInt32(UInt(bitPattern: unsafeBitCast(user_conf_io_entry as @convention(c) () -> Void, to: UnsafeRawPointer.self))),
                                          guest_symbol(GuestSymbol.userStackTop))
            setWord(0, 0)
            _ = string(conf_rep_insb, port: fwCfgData, at: io, count: 4)
            return (status, TrapLog.userReports[10], TrapLog.userReports[11], TrapLog.userReports[12], word(0), TrapLog.userReports[13])
        }
        _ = xen.setIOPL(3)
        let (s3, o3, c3, t3, w3, i3) = user()
        check("ring 3 at IOPL 3: rep outsw to fw_cfg, in ax from 0xcfc, cli and sti run",
              s3 == 45 && o3 == 0x1234_5678 && c3 == 0x1234_5678 && t3 == 0x1234_5678 && w3 == qemu && i3 == 0x1234_8086,
              "\(hex8: o3) \(hex8: i3) \(hex8: c3) \(hex8: t3), fw_cfg reads \(hex8: w3)")
        _ = xen.setIOPL(1)
        let (s1, o1, c1, t1, w1, i1) = user()
        check("ring 3 at IOPL 1: rep outsw, in, cli and sti are each a #GP",
              s1 == 45 && o1 == 0xDEAD_0D00 && i1 == 0xDEAD_0D00 && c1 == 0xDEAD_0D00 && t1 == 0xDEAD_0D00 && w1 != qemu,
              "\(hex8: o1) \(hex8: i1) \(hex8: c1) \(hex8: t1), fw_cfg reads \(hex8: w1)")
        _ = xen.setIOPL(0)
    }

    // MARK: - ring 3

    static func ringThree() {
        let (_, rc) = PVSelfTest.markUserPages()
        for i in 4..<10 { TrapLog.userReports[i] = 0 }
        let status = guest_enter_user(UInt32(UInt(bitPattern: unsafeBitCast(user_conf_entry as @convention(c) () -> Void, to: UnsafeRawPointer.self))),
                                      guest_symbol(GuestSymbol.userStackTop))
        let r = TrapLog.userReports
        check("ring 3: forced-emulation cpuid is answered", rc == 0 && status == 43 && r[4] == 0x4000_0002 && r[5] == 0x566E_6558,
              "eax \(hex8: r[4]) ebx \(hex8: r[5])")
        check("ring 3: mov from cr0, rdmsr, mov from dr7 and wbinvd are each a #GP",
              r[6] == 0xDEAD_0D00 && r[7] == 0xDEAD_0D00 && r[8] == 0xDEAD_0D00 && r[9] == 0xDEAD_0D00,
              "\(hex8: r[6]) \(hex8: r[7]) \(hex8: r[8]) \(hex8: r[9])")
        let on = run(conf_wrmsr, GuestMSR.miscFeaturesEnables, value: 1)
        TrapLog.userReports[4] = 0
        let status2 = guest_enter_user(UInt32(UInt(bitPattern: unsafeBitCast(user_conf_faulting_entry as @convention(c) () -> Void, to: UnsafeRawPointer.self))),
                                       guest_symbol(GuestSymbol.userStackTop))
        let faulted = TrapLog.userReports[4]
        var regs: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        withUnsafeMutablePointer(to: &regs) { $0.withMemoryRebound(to: UInt32.self, capacity: 4) { guest_forced_cpuid(0x4000_0000, $0) } }
        _ = run(conf_wrmsr, GuestMSR.miscFeaturesEnables, value: 0)
        check("with CPUID faulting on, ring 3's forced cpuid is a #GP; ring 1's is still answered",
              !on.faulted && status2 == 44 && faulted == 0xDEAD_0D00 && regs.1 == 0x566E_6558, "ring 3 saw \(hex8: faulted), ring 1 ebx \(hex8: regs.1)")
    }

    // MARK: - domctl and sysctl in Xen 4.17's interface version

    static func domctl(_ command: DomctlCommand, version: UInt32, domain: UInt16) -> (Int32, HypercallRecord) {
        var record = HypercallRecord(stride: DomctlLayout.size)
        record.set(command.rawValue, at: DomctlLayout.cmdOffset)
        record.set(version, at: DomctlLayout.interfaceVersionOffset)
        record.set(domain, at: DomctlLayout.domainOffset)
        let rc = record.withAddress { xen.domctl($0) }
        return (rc, record)
    }

    static var consoleBuffer = [UInt8](repeating: 0, count: 64)

    static func interfaceVersions() {
        let (rc, info) = domctl(.getDomainInfo, version: XenInterfaceVersion.domctl, domain: 0)
        let p = DomctlLayout.payloadOffset
        let pages = info.get(UInt64.self, at: p + XenDomainInfoLayout.totalPagesOffset)
        let vcpus = info.get(UInt32.self, at: p + XenDomainInfoLayout.onlineVCPUsOffset)
        let bits = info.get(UInt8.self, at: p + XenDomainInfoLayout.gpaddrBitsOffset)
        let flags = info.get(UInt32.self, at: p + XenDomainInfoLayout.flagsOffset)
        check("domctl getdomaininfo in Xen 4.17's version (0x15) fills Xen's layout",
              rc == 0 && pages == UInt64(Kernel.startInfo.nrPages) && vcpus == 1 && bits == 36 && flags & DomainInfoFlags.running != 0,
              "tot_pages \(pages), nr_online_vcpus \(vcpus), gpaddr_bits \(bits), flags \(hex: flags)")
        let (old, _) = domctl(.getDomainInfo, version: 0x14, domain: 0)
        let (create, _) = domctl(.createDomain, version: XenInterfaceVersion.domctl, domain: 0)
        check("domctl in Xen 4.16's version -EACCES; Xen's createdomain -EOPNOTSUPP", old == -13 && create == -95, "\(old) \(create)")

        var physinfo = HypercallRecord(stride: SysctlLayout.size)
        physinfo.set(SysctlCommand.physInfo.rawValue, at: SysctlLayout.cmdOffset)
        physinfo.set(XenInterfaceVersion.sysctl, at: SysctlLayout.interfaceVersionOffset)
        let rcP = physinfo.withAddress { xen.sysctl($0) }
        let cpus = physinfo.get(UInt32.self, at: XenPhysinfoLayout.nrCPUsOffset)
        let caps = physinfo.get(UInt32.self, at: XenPhysinfoLayout.capabilitiesOffset)
        let total = physinfo.get(UInt64.self, at: XenPhysinfoLayout.totalPagesOffset)
        let free = physinfo.get(UInt64.self, at: XenPhysinfoLayout.freePagesOffset)
        check("sysctl physinfo in Xen 4.17's version fills Xen's layout", rcP == 0 && cpus == 1 && caps == 2 && total > free && free > 0,
              "nr_cpus \(cpus), capabilities \(hex: caps), total_pages \(total), free_pages \(free)")
        let buffer = consoleBuffer.withUnsafeMutableBufferPointer { UInt32(UInt(bitPattern: $0.baseAddress)) }
        func readconsole(high: UInt32) -> (Int32, UInt32, UInt32) {
            var r = HypercallRecord(stride: SysctlLayout.size)
            r.set(SysctlCommand.readConsole.rawValue, at: SysctlLayout.cmdOffset)
            r.set(XenInterfaceVersion.sysctl, at: SysctlLayout.interfaceVersionOffset)
            r.set(UInt8(1), at: XenReadConsoleLayout.incrementalOffset)
            r.set(UInt32(0), at: XenReadConsoleLayout.indexOffset)
            r.set(buffer, at: XenReadConsoleLayout.bufferOffset)
            r.set(high, at: XenReadConsoleLayout.bufferOffset + 4)
            r.set(UInt32(consoleBuffer.count), at: XenReadConsoleLayout.countOffset)
            let rc = r.withAddress { xen.sysctl($0) }
            return (rc, r.get(UInt32.self, at: XenReadConsoleLayout.countOffset), r.get(UInt32.self, at: XenReadConsoleLayout.indexOffset))
        }
        let (rcR, count, next) = readconsole(high: 0)
        consoleBuffer.prefix(16).withUnsafeBufferPointer { head in
            check("sysctl readconsole in Xen's layout reads the log from its start", rcR == 0 && count == 64 && next == 64,
                  "count \(count), index \(next), '\(text: head)'")
        }
        let (bad, _, _) = readconsole(high: 1)
        var wrong = HypercallRecord(stride: SysctlLayout.size)
        wrong.set(SysctlCommand.physInfo.rawValue, at: SysctlLayout.cmdOffset)
        wrong.set(UInt32(0x14), at: SysctlLayout.interfaceVersionOffset)
        let rcW = wrong.withAddress { xen.sysctl($0) }
        check("readconsole with a buffer handle above 4 GiB -EFAULT; sysctl in Xen 4.16's version -EACCES", bad == -14 && rcW == -13,
              "\(bad) \(rcW)")
    }

    // MARK: - FIFO event channels

    /// Pages for the FIFO case's control block and event array (two page-aligned frames of dom0's own data).
    static var fifoPages = [UInt8](repeating: 0, count: 3 * 4096)

    static func initControl(gfn: UInt64, offset: UInt32, vcpu: UInt32, linkBits: UnsafeMutablePointer<UInt8>? = nil) -> Int32 {
        var r = HypercallRecord(stride: EvtchnInitControlLayout.size)
        r.set(gfn, at: EvtchnInitControlLayout.controlGFNOffset)
        r.set(offset, at: EvtchnInitControlLayout.offsetOffset)
        r.set(vcpu, at: EvtchnInitControlLayout.vcpuOffset)
        let rc = r.withAddress { xen.eventChannelOp(EventChannelOp.initControl.rawValue, $0) }
        linkBits?.pointee = r.get(UInt8.self, at: EvtchnInitControlLayout.linkBitsOffset)
        return rc
    }

    static func expandArray(gfn: UInt64) -> Int32 {
        var r = HypercallRecord(stride: EvtchnExpandArrayLayout.size)
        r.set(gfn, at: EvtchnExpandArrayLayout.arrayGFNOffset)
        return r.withAddress { xen.eventChannelOp(EventChannelOp.expandArray.rawValue, $0) }
    }

    static func setPriority(_ port: UInt32, _ priority: UInt32) -> Int32 {
        var r = HypercallRecord(stride: EvtchnSetPriorityLayout.size)
        r.set(port, at: EvtchnSetPriorityLayout.portOffset)
        r.set(priority, at: EvtchnSetPriorityLayout.priorityOffset)
        return r.withAddress { xen.eventChannelOp(EventChannelOp.setPriority.rawValue, $0) }
    }

    static func bindIPI() -> UInt32 {
        var r = HypercallRecord(stride: EvtchnBindIPILayout.size)
        r.set(UInt32(0), at: EvtchnBindIPILayout.vcpuOffset)
        let rc = r.withAddress { xen.eventChannelOp(EventChannelOp.bindIPI.rawValue, $0) }
        return rc == 0 ? r.get(UInt32.self, at: EvtchnBindIPILayout.portOffset) : 0
    }

    static func unmask(_ port: UInt32) -> Int32 {
        var r = HypercallRecord(stride: EvtchnPortLayout.size)
        r.set(port, at: EvtchnPortLayout.portOffset)
        return r.withAddress { xen.eventChannelOp(EventChannelOp.unmask.rawValue, $0) }
    }

    /// EVTCHNOP_init_control, expand_array and set_priority checked as Xen checks them, then dom0 switches to
    /// the FIFO ABI for real (its bound ports carried across), binds IPI ports at three priorities, sends to
    /// itself and consumes its queues as Linux does: highest priority first, FIFO order within one.
    static func fifoEventChannels() {
        let port = GuestEvents.allocUnbound(remote: 0)
        let data = notAnL3.withUnsafeBufferPointer { (UInt32(UInt(bitPattern: $0.baseAddress)) + 4095) & ~4095 }
        let ownMFN = Kernel.startInfo.machineFrame(ofPFN: data >> 12)
        let si = Kernel.startInfo
        let tableMFN = si.machineFrame(ofPFN: si.ptBase >> 12)
        let noVCPU = initControl(gfn: UInt64(ownMFN), offset: 0, vcpu: 1)
        let crossing = initControl(gfn: UInt64(ownMFN), offset: 4088, vcpu: 0)
        let misaligned = initControl(gfn: UInt64(ownMFN), offset: 4, vcpu: 0)
        let foreign = initControl(gfn: 1 << 40, offset: 0, vcpu: 0)
        let typed = initControl(gfn: UInt64(tableMFN), offset: 0, vcpu: 0)
        check("init_control: VCPU 1 -ENOENT, a block crossing its page or misaligned -EINVAL, a frame not its RAM or a page table -EINVAL",
              port > 0 && noVCPU == -2 && crossing == -22 && misaligned == -22 && foreign == -22 && typed == -22,
              "port \(port): \(noVCPU) \(crossing) \(misaligned) \(foreign) \(typed)")
        let expanded = expandArray(gfn: UInt64(ownMFN))
        let twoLevel = setPriority(UInt32(bitPattern: port), 3)
        let beyond = setPriority(0x10_0000, 3)
        check("expand_array before init_control -EOPNOTSUPP; set_priority on the 2-level ABI -ENOSYS, beyond the ports -EINVAL",
              expanded == -95 && twoLevel == -38 && beyond == -22, "\(expanded) \(twoLevel) \(beyond)")
        _ = GuestEvents.close(UInt32(bitPattern: port))
        fifoQueues()
    }

    /// The real FIFO path. Events stay masked (evtchn_upcall_mask) throughout: the queues are read here, not by
    /// the upcall handler (which knows the 2-level ABI only).
    static func fifoQueues() {
        let shared = StartOfDay.sharedInfo
        let savedMask = shared.upcallMask
        shared.upcallMask = 1
        defer { shared.upcallMask = savedMask }
        let base = fifoPages.withUnsafeMutableBufferPointer { (UInt32(UInt(bitPattern: $0.baseAddress)) + 4095) & ~4095 }
        let control = UnsafeMutableRawPointer(bitPattern: UInt(base))!
        let array = UnsafeMutableRawPointer(bitPattern: UInt(base + 4096))!
        for i in 0..<1024 { control.storeBytes(of: UInt32(0), toByteOffset: i * 4, as: UInt32.self) }
        for i in 0..<1024 { array.storeBytes(of: UInt32(0), toByteOffset: i * 4, as: UInt32.self) }
        let controlMFN = Kernel.startInfo.machineFrame(ofPFN: base >> 12)
        let arrayMFN = Kernel.startInfo.machineFrame(ofPFN: (base + 4096) >> 12)
        var linkBits: UInt8 = 0
        let switched = initControl(gfn: UInt64(controlMFN), offset: 0, vcpu: 0, linkBits: &linkBits)
        let again = initControl(gfn: UInt64(controlMFN), offset: 64, vcpu: 0)
        let early = setPriority(1, 16)
        let added = expandArray(gfn: UInt64(arrayMFN))
        check("init_control switches to FIFO (link_bits 17), a second block for VCPU 0 -EINVAL; priority 16 -EINVAL; expand_array once",
              switched == 0 && linkBits == 17 && again == -22 && early == -22 && added == 0,
              "\(switched) link_bits \(linkBits) \(again) \(early) \(added)")
        // Ports at priorities 9, 2, 5 and 9 again (7, the default, is where the carried-across ports queue).
        let ports = [bindIPI(), bindIPI(), bindIPI(), bindIPI()]
        let priorities: [UInt32] = [9, 2, 5, 9]
        var set = 0
        for i in 0..<4 where setPriority(ports[i], priorities[i]) == 0 { set += 1 }
        shared.clearUpcallPending()
        for p in ports { _ = GuestEvents.send(p) }
        func word(_ p: UInt32) -> UInt32 { array.load(fromByteOffset: Int(p) * 4, as: UInt32.self) }
        func head(_ priority: UInt32) -> UInt32 { control.load(fromByteOffset: EvtchnFifoControlBlockLayout.head(priority), as: UInt32.self) }
        let ready = control.load(fromByteOffset: EvtchnFifoControlBlockLayout.readyOffset, as: UInt32.self)
        let linked: UInt32 = 1 << EvtchnFifo.pendingBit | 1 << EvtchnFifo.linkedBit
        let queuedRight = head(2) == ports[1] && head(5) == ports[2] && head(9) == ports[0]
            && word(ports[0]) == linked | ports[3] && word(ports[3]) == linked
        check("four sends at priorities 9 2 5 9: READY bits 2 5 9, heads and the link behind the tail, upcall pending",
              ports[0] != 0 && ports[3] != 0 && set == 4 && ready & 0x224 == 0x224 && queuedRight && shared.upcallPending == 1,
              "ports \(ports[0]) \(ports[1]) \(ports[2]) \(ports[3]) ready \(hex: ready) heads \(head(2)) \(head(5)) \(head(9)) words \(hex: word(ports[0])) \(hex: word(ports[3]))")
        // Consume as Linux's consume_one_event does: the lowest ready priority first, each queue from its head,
        // clearing LINKED and PENDING as it goes (bounded: no more steps than ports).
        var order: [UInt32] = []
        var readyNow = ready & 0x224
        while readyNow != 0 {
            let priority = UInt32(readyNow.trailingZeroBitCount)
            readyNow &= readyNow - 1
            var p = head(priority)
            var steps = 0
            while p != 0 && p < 1024 && steps < 8 {
                let w = word(p)
                array.storeBytes(of: w & ~(linked | EvtchnFifo.linkMask), toByteOffset: Int(p) * 4, as: UInt32.self)
                if w & (1 << EvtchnFifo.pendingBit) != 0 { order.append(p) }
                p = w & EvtchnFifo.linkMask
                steps += 1
            }
        }
        let clear = control.load(fromByteOffset: EvtchnFifoControlBlockLayout.readyOffset, as: UInt32.self) & ~0x224
        control.storeBytes(of: clear, toByteOffset: EvtchnFifoControlBlockLayout.readyOffset, as: UInt32.self)
        check("consumed from the queues in priority order: priority 2, 5, then 9 in the order sent",
              order.count == 4 && order[0] == ports[1] && order[1] == ports[2] && order[2] == ports[0] && order[3] == ports[3],
              "\(UInt32(order.count)) events: \(order.count > 0 ? order[0] : 0) \(order.count > 1 ? order[1] : 0) \(order.count > 2 ? order[2] : 0) \(order.count > 3 ? order[3] : 0)")
        // Masked: pending but not linked; unmasked with EVTCHNOP_unmask: linked as the head again.
        let masked: UInt32 = 1 << EvtchnFifo.maskedBit
        array.storeBytes(of: masked, toByteOffset: Int(ports[1]) * 4, as: UInt32.self)
        _ = GuestEvents.send(ports[1])
        let whileMasked = word(ports[1])
        let headWhileMasked = head(2)
        control.storeBytes(of: 0, toByteOffset: EvtchnFifoControlBlockLayout.head(2), as: UInt32.self)
        array.storeBytes(of: whileMasked & ~masked, toByteOffset: Int(ports[1]) * 4, as: UInt32.self)
        let unmasked = unmask(ports[1])
        let readyAfter = control.load(fromByteOffset: EvtchnFifoControlBlockLayout.readyOffset, as: UInt32.self)
        check("a masked port is pending but not linked; EVTCHNOP_unmask links it as the head of its queue",
              whileMasked == masked | 1 << EvtchnFifo.pendingBit && unmasked == 0 && head(2) == ports[1]
                && word(ports[1]) == linked && readyAfter & 4 != 0,
              "masked \(hex: whileMasked) head \(headWhileMasked), unmask \(unmasked): head \(head(2)) word \(hex: word(ports[1])) ready \(hex: readyAfter)")
        fifoBeyond1024(control: control, array: array)
        for p in ports { _ = GuestEvents.close(p) }
        shared.clearUpcallPending()
        // EVTCHNOP_reset closes every port and, as on Xen, gives up the FIFO ABI: the 2-level answers are back.
        var reset = HypercallRecord(stride: EvtchnResetLayout.size)
        reset.set(SpecialDomainID.selfID, at: EvtchnResetLayout.domOffset)
        let resetRC = reset.withAddress { xen.eventChannelOp(EventChannelOp.reset.rawValue, $0) }
        let priorityAfter = setPriority(1, 3)
        let expandAfter = expandArray(gfn: UInt64(arrayMFN))
        check("EVTCHNOP_reset gives up the FIFO ABI: set_priority -ENOSYS and expand_array -EOPNOTSUPP again",
              resetRC == 0 && priorityAfter == -38 && expandAfter == -95, "\(resetRC) \(priorityAfter) \(expandAfter)")
    }
}
