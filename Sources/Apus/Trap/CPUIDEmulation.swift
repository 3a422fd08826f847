// CPUIDEmulation.swift: Xen's forced-emulation cpuid. A PV guest cannot trap a plain cpuid, so it
// writes ud2; "xen"; cpuid (0f 0b 78 65 6e 0f a2) and the hypervisor answers with what a PV guest may
// use (ApusCore's CPUIDPolicy), skipping the 7 bytes, from ring 1 and ring 3 alike. When the guest
// turned CPUID faulting on (MISC_FEATURES_ENABLES), ring 3's is a #GP(0) at the ud2 instead, as Xen's
// pv_emulate_forced_invalid_op does. Any other bytes stay a #UD.

import ApusCore

enum CPUIDEmulation {
    /// ud2; "xen"; cpuid.
    static let prefix: [UInt8] = [0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2]

    enum Outcome {
        case notForced
        case answered
        /// CPUID faulting is on and the guest was in ring 3: deliver #GP(0) at the ud2.
        case faulted
    }

    static func tryEmulate(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) -> Outcome {
        let ring = frame.pointee.ring
        guard ring == 1 || ring == 3 else { return .notForced }
        var memory = RunningGuestMemory()
        guard InstructionBytes.fetch(frame.pointee.eip, &memory).starts(with: prefix) else { return .notForced }
        if ring == 3 && d.vcpu.cpuidFaulting { return .faulted }
        let leaf = frame.pointee.eax
        let subleaf = frame.pointee.ecx
        let native = CPUIDResult(leaf: leaf, subleaf: subleaf)
        let answer = CPUIDPolicy.paravirtual(leaf: leaf, subleaf: subleaf,
                                             native: CPUIDRegisters(eax: native.eax, ebx: native.ebx, ecx: native.ecx, edx: native.edx))
        frame.pointee.eax = answer.eax
        frame.pointee.ebx = answer.ebx
        frame.pointee.ecx = answer.ecx
        frame.pointee.edx = answer.edx
        frame.pointee.skipInstruction(length: prefix.count)
        EmulatedSingleStep.retire(frame, d)
        return .answered
    }
}
