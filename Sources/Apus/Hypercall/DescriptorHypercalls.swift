// DescriptorHypercalls.swift: set_gdt (2) and update_descriptor (10) acted on. ApusCore decodes
// them; descriptor frames are typed by the core (`.segmentDescriptor`, every entry checked, no
// writable mapping allowed), and the CPU uses the hypervisor-owned shadows in DescriptorShadows.swift.
// A descriptor DescriptorCheck refuses is never installed. A change to the segment the guest's int 0x80
// handler names re-decides its direct gate (SystemCallGate).

import ApusCore
import PVABI

enum DescriptorHypercalls {
    static func setGDT(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        var request = SetGDTRequest()
        if let refusal = request.decode(a, &memory) { return refusal.outcome }
        // Type every new frame (checks all its descriptors); give back what was taken on refusal.
        var frames: [UInt32] = []
        frames.reserveCapacity(request.frameCount)
        for i in 0..<request.frameCount {
            if let refusal = Machine.frames.getDescriptorFrame(request[i], state: d.memory, memory: &Machine.memory) {
                for taken in frames.reversed() { Machine.frames.putDescriptorFrame(taken, memory: &Machine.memory) }
                return .refused(refusal.error, refusal.reason)
            }
            frames.append(request[i])
        }
        for old in d.vcpu.gdtFrames { Machine.frames.putDescriptorFrame(old, memory: &Machine.memory) }
        d.vcpu.gdtFrames = frames
        d.vcpu.gdtEntries = request.entries
        if Domains.isRunning(d) { GuestGDT.reload(d) }
        SystemCallGate.refresh(d)                                   // its int 0x80 selector may have changed meaning
        return .ok
    }

    static func updateDescriptor(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let request: UpdateDescriptorRequest
        switch UpdateDescriptorRequest.decode(a) {
        case .failure(let r): return r.outcome
        case .success(let r): request = r
        }
        let mfn = request.frame
        guard Machine.frames.owner(of: mfn) == .domain(d.id) else { return .refused(.EINVAL, "descriptor frame is not owned by the domain") }
        let record = Machine.frames.record(mfn)
        switch record.type {
        case .l1, .l2, .l3: return .refused(.EINVAL, "descriptor frame is a page table")
        case .writable where record.typeCount > 0: return .refused(.EINVAL, "descriptor frame is mapped writable")
        default: break
        }
        let fixed: UInt64
        switch DescriptorCheck.check(request.descriptor) {
        case .accept(let f): fixed = f
        case .refuse(let why): return .refused(.EINVAL, why.reason)
        }
        guard Machine.memory.store64(request.machineAddress, fixed) else { return .refused(.EFAULT, "descriptor frame could not be written") }
        if Domains.isRunning(d) {
            if let page = d.vcpu.gdtFrames.firstIndex(of: mfn) {
                let index = page * 512 + request.index
                if index < d.vcpu.gdtEntries { GuestGDT.table[index] = fixed }
            }
            if d.vcpu.ldtFrames.contains(mfn) { LocalDescriptorTable.refresh(d) }
        }
        // Each vCPU whose GDT or LDT holds the frame (its shadows are reloaded when it next runs) may
        // see its int 0x80 handler's segment change: its route is decided again.
        var refreshed = false
        for v in d.vcpus {
            let gdtPage = v.gdtFrames.firstIndex(of: mfn), ldtPage = v.ldtFrames.firstIndex(of: mfn)
            guard gdtPage != nil || ldtPage != nil else { continue }
            d.actingFor(v) {
                let viaGDT = gdtPage.map { SystemCallGate.namesHandlerSegment(d, ldt: false, index: $0 * 512 + request.index) } ?? false
                let viaLDT = ldtPage.map { SystemCallGate.namesHandlerSegment(d, ldt: true, index: $0 * 512 + request.index) } ?? false
                if viaGDT || viaLDT { SystemCallGate.refresh(d); refreshed = true }
            }
        }
        if refreshed && Domains.isRunning(d) { SystemCallGate.load(d) }      // the running vCPU's route again
        return .ok
    }
}
