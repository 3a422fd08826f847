// CPUIDPolicy.swift: what cpuid tells a PV guest: the real answers with the features a ring-1
// kernel cannot use hidden (leaf 1 and 0x80000001), plus Xen's leaves at 0x40000000 (signature, version, hypercall
// page). Pure: it is handed the native registers and never executes cpuid itself.

public struct CPUIDRegisters: Equatable, Sendable {
    public var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32
    public init(eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        self.eax = eax; self.ebx = ebx; self.ecx = ecx; self.edx = edx
    }
}

public enum CPUIDPolicy {
    /// "XenVMMXenVMM" as ebx, ecx, edx.
    public static let signature = (ebx: UInt32(0x566e_6558), ecx: UInt32(0x6558_4d4d), edx: UInt32(0x4d4d_566e))
    public static let xenLeafBase: UInt32 = 0x4000_0000
    /// The interface version reported at 0x40000001: major << 16 | minor.
    public static let xenVersion: UInt32 = 4 << 16 | 17

    /// Leaf 1 EDX bits a PV guest must not see: VME, DE, PSE, MCE, APIC, SEP (no sysenter path
    /// here), MTRR, PGE, MCA, PSE36, ACPI, TM, PBE.
    public static let hiddenLeaf1EDX: UInt32 =
        (1 << 1) | (1 << 2) | (1 << 3) | (1 << 7) | (1 << 9) | (1 << 11) | (1 << 12) | (1 << 13) |
        (1 << 14) | (1 << 17) | (1 << 22) | (1 << 29) | (1 << 31)
    /// Leaf 1 ECX bits hidden: MONITOR, DS-CPL, VMX, SMX, EST, TM2, PCID, X2APIC, TSC-deadline,
    /// XSAVE, OSXSAVE; the hypervisor bit (31) is set instead.
    public static let hiddenLeaf1ECX: UInt32 =
        (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 17) | (1 << 21) |
        (1 << 24) | (1 << 26) | (1 << 27)

    /// Leaf 0x80000001 bits hidden, as Xen's policy for a 32-bit PV guest: SVM in ECX (no nested
    /// virtualization for PV); in EDX SYSCALL (this 32-bit hypervisor has no syscall entry, so the
    /// instruction would #UD) and LM (a pv32 guest never runs in long mode).
    public static let hiddenExtendedECX: UInt32 = 1 << 2
    public static let hiddenExtendedEDX: UInt32 = (1 << 11) | (1 << 29)

    public static func paravirtual(leaf: UInt32, subleaf: UInt32, native: CPUIDRegisters) -> CPUIDRegisters {
        var r = native
        switch leaf {
        case 1:
            r.ecx = (r.ecx & ~hiddenLeaf1ECX) | (1 << 31)
            r.edx &= ~hiddenLeaf1EDX
            r.ebx &= 0x0000_FFFF                      // one logical CPU, APIC id 0
        case 0x8000_0001:
            r.ecx &= ~hiddenExtendedECX
            r.edx &= ~hiddenExtendedEDX
        case 5, 6:
            r = CPUIDRegisters(eax: 0, ebx: 0, ecx: 0, edx: 0)   // no MONITOR/MWAIT, no power management
        case xenLeafBase:
            r = CPUIDRegisters(eax: xenLeafBase + 2, ebx: signature.ebx, ecx: signature.ecx, edx: signature.edx)
        case xenLeafBase + 1:
            r = CPUIDRegisters(eax: xenVersion, ebx: 0, ecx: 0, edx: 0)
        case xenLeafBase + 2:
            // One hypercall page; the MSR a guest would write its address to (unused by PV guests).
            r = CPUIDRegisters(eax: 1, ebx: 0x4000_0000, ecx: 0, edx: 0)
        case (xenLeafBase + 3)...(xenLeafBase + 0xFF):
            r = CPUIDRegisters(eax: 0, ebx: 0, ecx: 0, edx: 0)
        default:
            break
        }
        return r
    }
}
