// MemoryHypercalls.swift: update_va_mapping (14): the guest changes one PTE of its current
// address space. The new entry is checked first: it may only map a frame the domain owns (or its
// shared_info), never writable if that frame is a page table or descriptor table, and only below
// HYPERVISOR_VIRT_START. Full reference counting and the other MMU hypercalls come with the
// memory-virtualization work; this keeps the same rules on the one path guests need at boot.

import ApusCore
import PVABI

enum MemoryHypercalls {
    static let reservedBits: UInt64 = 0x7FF0_0000_0000_0000

    static func updateVAMapping(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let va = a.a1
        let new = PageTableEntry(raw: UInt64(a.a2) | UInt64(a.a3) << 32)
        let flags = a.a4
        guard va < XenLayout.hypervisorVirtStart else { return .refused(.EINVAL, "update_va_mapping of a hypervisor address") }
        guard let slot = l1Slot(for: va, d) else { return .refused(.EINVAL, "no L1 page table maps that address") }
        if new.isPresent {
            guard new.raw & reservedBits == 0 else { return .refused(.EINVAL, "reserved bits set in the new entry") }
            guard new.frame <= UInt64(UInt32.max), d.owns(UInt32(new.frame)) else {
                return .refused(.EINVAL, "the new entry maps a frame the domain does not own")
            }
            if new.flags.contains(.writable) && new.frame != UInt64(d.sharedInfoMFN) {
                switch Machine.frames.record(UInt32(new.frame)).type {
                case .l1, .l2, .l3, .segmentDescriptor:
                    return .refused(.EINVAL, "writable mapping of a page table or descriptor table")
                default: break
                }
            }
            guard !new.flags.contains(.pageSize) else { return .refused(.EINVAL, "PAT/large-page bit in an L1 entry") }
        }
        guard Machine.memory.store64(slot, new.raw) else { return .refused(.EFAULT, "the L1 entry could not be written") }
        switch flags & 3 {
        case 1: HypervisorPaging.flushAll()
        case 2: cpu_invlpg(va)
        default: break
        }
        return .ok
    }

    /// The machine address of the L1 entry that maps `va` in the domain's current tables, if its
    /// L1 is one the domain owns and uses as a page table.
    static func l1Slot(for va: UInt32, _ d: Domain) -> UInt64? {
        let l3e = PageTableEntry(raw: Machine.memory.load64(UInt64(d.l3MFN) << 12 | UInt64(PAE.l3Index(va)) * 8) ?? 0)
        guard l3e.isPresent else { return nil }
        let l2e = PageTableEntry(raw: Machine.memory.load64(l3e.address | UInt64(PAE.l2Index(va)) * 8) ?? 0)
        guard l2e.isPresent, !l2e.flags.contains(.pageSize), l2e.frame <= UInt64(UInt32.max) else { return nil }
        let l1 = UInt32(l2e.frame)
        guard Machine.frames.owner(of: l1) == .domain(d.id), Machine.frames.record(l1).type == .l1 else { return nil }
        return l2e.address | UInt64(PAE.l1Index(va)) * 8
    }
}
