// OwnPageTables.swift: dom0 reading its own page tables through the read-only mappings the builder
// made of them (a PV kernel's virtual address is its pseudo-physical address here), and the M2P the
// hypervisor shows at 0xF5800000. Read only: every change goes through mmu_update or update_va_mapping.

import ApusCore
import GuestKit
import PVABI

enum OwnPageTables {
    static var si: StartInfoView { Kernel.startInfo }
    static func mfn(_ pfn: UInt32) -> UInt32 { si.machineFrame(ofPFN: pfn) }
    /// The M2P, read-only at 0xF5800000 and readable from ring 1.
    static func m2p(_ mfn: UInt32) -> UInt32 { UnsafePointer<UInt32>(bitPattern: UInt(XenLayout.mach2physVirtStart))![Int(mfn)] }

    /// The 512 entries of the current L2 for an L3 slot, read through its read-only mapping.
    static func currentL2(slot: Int) -> [UInt64] {
        let l3 = UnsafePointer<UInt64>(bitPattern: UInt(si.ptBase))!
        let l2mfn = UInt32(truncatingIfNeeded: (l3[slot] & 0x000F_FFFF_FFFF_F000) >> 12)
        let l2 = UnsafePointer<UInt64>(bitPattern: UInt(m2p(l2mfn) << 12))!
        return (0..<512).map { l2[$0] }
    }

    /// The machine frame of the L1 that maps `va`.
    static func l1Frame(of va: UInt32) -> UInt32 {
        let l2e = currentL2(slot: PAE.l3Index(va))[PAE.l2Index(va)]
        return UInt32(truncatingIfNeeded: (l2e & 0x000F_FFFF_FFFF_F000) >> 12)
    }

    /// The virtual address of the L1 entry that maps `va` (our L1s are mapped read-only).
    static func l1EntryVA(of va: UInt32) -> UInt32 {
        m2p(l1Frame(of: va)) << 12 + UInt32(PAE.l1Index(va) * 8)
    }

    /// The machine address of the L1 entry that maps `va`: what mmu_update's `ptr` names.
    static func l1EntryMachine(of va: UInt32) -> UInt64 {
        UInt64(l1Frame(of: va)) << 12 + UInt64(PAE.l1Index(va) * 8)
    }

    /// The machine address behind `va`, a page of dom0's own memory.
    static func machineAddress(of va: UInt32) -> UInt64 {
        UInt64(mfn(va >> 12)) << 12 | UInt64(va & 0xFFF)
    }
}
