// CPUIDEmulation.swift: Xen's forced-emulation cpuid. A ring-1 guest cannot trap a plain cpuid,
// so it writes ud2; "xen"; cpuid (0f 0b 78 65 6e 0f a2) and the hypervisor answers with what a
// PV guest may use (ApusCore's CPUIDPolicy), skipping the 7 bytes. Any other bytes stay a #UD.

import ApusCore

enum CPUIDEmulation {
    /// ud2; "xen"; cpuid.
    static let prefix: [UInt8] = [0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2]

    static func tryEmulate(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) -> Bool {
        guard frame.pointee.ring == 1 else { return false }
        var memory = RunningGuestMemory()
        guard InstructionBytes.fetch(frame.pointee.eip, &memory).starts(with: prefix) else { return false }
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
        return true
    }
}
