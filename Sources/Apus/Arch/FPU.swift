// FPU.swift: each vCPU's x87/MMX/SSE registers, switched lazily as Xen does for PV guests. The
// registers stay in the FPU until another vCPU touches it: CR0.TS is set whenever the vCPU on
// the CPU is not their owner, its first FPU instruction raises #NM, and only then are the owner's
// registers saved (FXSAVE) and the new vCPU's loaded (FXRSTOR, or the reset state on first use).
// vCPU 0 of domain N keeps them in Boot/cpu.asm's area N, other vCPUs in an area of their own.
// A domain's virtual CR0.TS (fpu_taskswitch) keeps the real TS set until it ends it. One domain's
// FPU state must never be visible to another, and the hypervisor itself never uses the FPU.

import ApusCore

enum FPU {
    /// The vCPU (scheduler entity) whose registers are in the FPU now (nil: the reset state nobody
    /// owns), and the area they are saved to when another takes it.
    static var owner: UInt16? = nil
    static var ownerArea: UnsafeMutableRawPointer? = nil
    static var ownerDomain: UInt16 = 0
    static var areas: UInt32 = 0
    static let areaSize: UInt32 = 512
    /// FXSR, SSE and the CR4 bits that let guests use them.
    static let cpuidFXSR: UInt32 = 1 << 24
    static let cpuidSSE: UInt32 = 1 << 25
    static let cr4OSFXSR: UInt32 = 1 << 9
    static let cr4OSXMMEXCPT: UInt32 = 1 << 10
    static let cr0MP: UInt32 = 1 << 1
    static let cr0EM: UInt32 = 1 << 2
    static let cr0NE: UInt32 = 1 << 5

    /// At boot: FXSAVE/FXRSTOR and SSE enabled for guests, the reset state kept as the template
    /// for every domain's first use, and TS set (no domain owns the FPU yet).
    static func initialize(_ sym: Symbols) {
        areas = sym.fpuAreas
        let features = CPUIDResult(leaf: 1, subleaf: 0)
        guard features.edx & cpuidFXSR != 0 else {
            Panic.halt("this CPU has no FXSAVE/FXRSTOR: Apus cannot keep each domain's FPU state apart")
        }
        var cr4 = cpu_read_cr4() | cr4OSFXSR
        if features.edx & cpuidSSE != 0 { cr4 |= cr4OSXMMEXCPT }
        cpu_write_cr4(cr4)
        cpu_write_cr0((cpu_read_cr0() | cr0MP | cr0NE) & ~cr0EM & ~ControlRegisters.taskSwitched)
        ControlRegisters.forgetTaskSwitched()
        cpu_fninit()
        cpu_fxsave(area(Int(Domains.capacity)))
        ControlRegisters.setTaskSwitched(true)
        Log.info("fpu: x87, SSE \(features.edx & cpuidSSE != 0): each domain's registers kept in its own FXSAVE area, switched lazily on #NM")
    }

    static func area(_ index: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: UInt(areas) + UInt(index) * UInt(areaSize))!
    }

    /// The real CR0.TS for the domain about to run (or running): set unless it owns the FPU and
    /// has not set its own virtual TS.
    static func applyTaskSwitched(_ d: Domain) {
        guard Domains.isRunning(d) else { return }
        ControlRegisters.setTaskSwitched(owner != Scheduler.entity(d, d.vcpu) || d.vcpu.taskSwitched)
    }

    /// On #NM from `d`: gives it the FPU with its own registers, saving the previous owner's.
    static func take(_ d: Domain) {
        ControlRegisters.clearTaskSwitched()
        let entity = Scheduler.entity(d, d.vcpu)
        guard owner != entity else { return }
        if owner != nil, let previous = ownerArea { cpu_fxsave(previous) }
        let own = d.vcpu.fpuArea ?? area(Int(d.id))
        cpu_fxrstor(d.vcpu.fpuUsed ? own : area(Int(Domains.capacity)))
        d.vcpu.fpuUsed = true
        owner = entity
        ownerArea = own
        ownerDomain = d.id
    }

    /// The domain is gone: its registers are nobody's (the next owner does not save them).
    static func forget(_ d: Domain) {
        if owner != nil && ownerDomain == d.id { owner = nil; ownerArea = nil }
    }
}
