// update_va_mapping (hypercall 14): change the L1 entry mapping one virtual address of the domain's current address space.
// It must never walk anything but the domain's validated tables, nor touch an address at or above HYPERVISOR_VIRT_START.
//
// The walk goes base L3 -> L2 -> L1 through validated tables only (the base holds its
// references, so everything reachable from it is validated); the change itself is an L1
// entry update under the same rules as mmu_update.

import PVABI

extension FrameTable {
    /// Where the L1 entry mapping `va` lives in the domain's current tables: (L1 frame, index).
    public func l1Slot<M: PhysicalMemory>(for va: UInt32, state: DomainMemoryState, memory: M) -> Result<(frame: UInt32, index: Int), MemoryError> {
        l1Slot(for: va, base: state.baseL3, ownerRaw: state.ownerRaw, memory: memory)
    }

    /// `l1Slot` from the two facts it needs: the domain's base L3 and its raw owner encoding
    /// (`DomainMemoryState.ownerRaw`), so hot callers pass two words, not the whole state.
    @inline(__always)
    public func l1Slot<M: PhysicalMemory>(for va: UInt32, base: UInt32?, ownerRaw: UInt16, memory: M) -> Result<(frame: UInt32, index: Int), MemoryError> {
        guard va < XenLayout.hypervisorVirtStart else { return .failure(.hypervisorAddress) }
        guard let base else { return .failure(.noBasePointer) }
        guard let l3Raw = memory.load64(FrameTable.entryAddress(base, PAE.l3Index(va))) else { return .failure(.memoryFault) }
        let l3e = PageTableEntry(raw: l3Raw)
        guard l3e.isPresent else { return .failure(.noL2ForAddress) }
        let l2 = UInt32(truncatingIfNeeded: l3e.frame)
        guard validatedTableLevel(l2, ownerRaw: ownerRaw) == .l2 else { return .failure(.notAPageTable) }
        guard let l2Raw = memory.load64(FrameTable.entryAddress(l2, PAE.l2Index(va))) else { return .failure(.memoryFault) }
        let l2e = PageTableEntry(raw: l2Raw)
        guard l2e.isPresent, l2e.raw & PTEFlags.pageSize.rawValue == 0 else { return .failure(.noL1ForAddress) }
        let l1 = UInt32(truncatingIfNeeded: l2e.frame)
        guard validatedTableLevel(l1, ownerRaw: ownerRaw) == .l1 else { return .failure(.notAPageTable) }
        return .success((l1, PAE.l1Index(va)))
    }

    /// Decodes update_va_mapping's flags (arg4) into the flush the caller must do for `va`.
    /// Flush type 3 asks for nothing, as in Xen.
    @inline(__always)
    public static func decodeUVMF(_ flags: UInt32, va: UInt32) -> TLBFlush {
        let rest = flags & ~UVMF.flushTypeMask
        let scope: TLBFlushScope = rest == UVMF.local ? .local : (rest == UVMF.all ? .all : .vcpuMask(rest))
        switch flags & UVMF.flushTypeMask {
        case UVMF.tlbFlush: return .everything(scope)
        case UVMF.invlpg: return .page(va, scope)
        default: return .none
        }
    }

    /// update_va_mapping for the domain: the entry mapping `va` becomes `value` (L1 rules),
    /// then the caller performs the returned flush. On refusal nothing changed. The state is
    /// only read (inout passes it by reference).
    ///
    /// The walk first goes through the tables' entries lent in place, in 32-bit halves, with one
    /// compare per record (`isValidatedTable`); wherever it would stop (an address, a missing base
    /// or entry, a table that is not a validated one of the domain, memory that lends nothing), the
    /// reference walk `l1Slot` runs from the start and gives the refusal.
    public mutating func updateVAMapping<M: PhysicalMemory>(
        va: UInt32, value: UInt64, flags: UInt32, state: inout DomainMemoryState, memory: inout M
    ) -> Result<TLBFlush, MemoryError> {
        let ownerRaw = state.ownerRaw
        let low = UInt32(truncatingIfNeeded: value), high = UInt32(truncatingIfNeeded: value >> 32)
        if va < XenLayout.hypervisorVirtStart, let base = state.baseL3, let l3 = memory.tableEntries(base) {
            let l3e = UnsafeRawPointer(l3 + Int(truncatingIfNeeded: va >> 30))
            let l3Low = l3e.load(as: UInt32.self)
            // The frame as l1Slot takes it: bits 12-43 of the entry.
            let l2 = l3Low >> 12 | l3e.load(fromByteOffset: 4, as: UInt32.self) << 20
            if l3Low & UInt32(truncatingIfNeeded: PTEFlags.present.rawValue) != 0,
               isValidatedTable(l2, .l2, ownerRaw: ownerRaw), let l2Entries = memory.tableEntries(l2) {
                let l2e = UnsafeRawPointer(l2Entries + Int(truncatingIfNeeded: (va >> 21) & 511))
                let l2Low = l2e.load(as: UInt32.self)
                let l1 = l2Low >> 12 | l2e.load(fromByteOffset: 4, as: UInt32.self) << 20
                let presentOrLarge = UInt32(truncatingIfNeeded: PTEFlags.present.rawValue | PTEFlags.pageSize.rawValue)
                if l2Low & presentOrLarge == UInt32(truncatingIfNeeded: PTEFlags.present.rawValue),
                   isValidatedTable(l1, .l1, ownerRaw: ownerRaw), let entries = memory.tableEntries(l1) {
                    let index = Int(truncatingIfNeeded: (va >> 12) & 511)
                    // The entry in place when it keeps its references (mmu_update's fast path,
                    // MMUUpdateRun.swift); anything else goes whole to modifyEntry.
                    if !FrameTable.writeKeepingReferences(entries + index, low: low, high: high, preserveAD: false,
                                                          ownerRaw: ownerRaw, records: records, frameCount: frameCount),
                       let refusal = modifyEntry(table: l1, level: .l1, index: index, raw: value, preserveAD: false, &state, &memory) {
                        return .failure(refusal)
                    }
                    return .success(FrameTable.decodeUVMF(flags, va: va))
                }
            }
        }
        return updateVAMappingWalkingByAddress(va: va, value: value, flags: flags, state: &state, memory: &memory)
    }

    /// updateVAMapping through the reference walk (`l1Slot`, by physical address): what the lent
    /// walk falls back to, and what decides every refusal of the walk.
    @inline(never)
    mutating func updateVAMappingWalkingByAddress<M: PhysicalMemory>(
        va: UInt32, value: UInt64, flags: UInt32, state: inout DomainMemoryState, memory: inout M
    ) -> Result<TLBFlush, MemoryError> {
        let slot: (frame: UInt32, index: Int)
        switch l1Slot(for: va, base: state.baseL3, ownerRaw: state.ownerRaw, memory: memory) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let found): slot = found
        }
        if let entries = memory.tableEntries(slot.frame),
           FrameTable.writeKeepingReferences(entries + slot.index, low: UInt32(truncatingIfNeeded: value),
                                             high: UInt32(truncatingIfNeeded: value >> 32), preserveAD: false,
                                             ownerRaw: state.ownerRaw, records: records, frameCount: frameCount) {
            return .success(FrameTable.decodeUVMF(flags, va: va))
        }
        if let refusal = modifyEntry(table: slot.frame, level: .l1, index: slot.index, raw: value,
                                     preserveAD: false, &state, &memory) {
            return .failure(refusal)
        }
        return .success(FrameTable.decodeUVMF(flags, va: va))
    }
}
