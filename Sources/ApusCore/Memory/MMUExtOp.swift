// mmuext_op (hypercall 26), one operation at a time: pins, unpins, the base pointer, TLB flush requests and the LDT.
// It must never pin or base a table that did not validate, and never touch the TLB itself: it tells the caller which flush to do.
//
// Pins and the base pointer each hold a general and a type reference on their table, so a
// pinned or current table stays validated whatever the guest does to the entries pointing at
// it. Unpinning a table still in use elsewhere just drops the pin's references; that includes
// the current base, which holds its own (Xen allows it; Linux unpins its boot tables while
// they are still CR3). NEW_BASEPTR keeps the old base's references until the caller has
// switched the CPU away (releaseRetiringBase), as Xen's new_guest_cr3 puts the old base only
// after write_ptbase: dropping the last one devalidates the old slot-3 L2 and clears its
// hypervisor entries, which must not happen while the CPU still walks them.

import PVABI

/// One x86_32 `struct mmuext_op`: IN cmd, arg1 (mfn or linear address), arg2 (count,
/// vCPU-bitmap pointer or source mfn).
public struct MMUExtRequest: Equatable, Sendable {
    public var cmd: UInt32
    public var arg1: UInt32
    public var arg2: UInt32
    public init(cmd: UInt32, arg1: UInt32 = 0, arg2: UInt32 = 0) { self.cmd = cmd; self.arg1 = arg1; self.arg2 = arg2 }
}

/// Which vCPUs a flush is for.
public enum TLBFlushScope: Equatable, Sendable {
    case local
    case all
    /// The guest's pointer to a vCPU bitmap (with one vCPU per domain: the local one).
    case vcpuMask(UInt32)
}

/// A TLB flush the caller must perform.
public enum TLBFlush: Equatable, Sendable {
    case none
    case everything(TLBFlushScope)
    case page(UInt32, TLBFlushScope)
}

/// What a successful mmuext_op asks of the caller.
public enum MMUExtEffect: Equatable, Sendable {
    /// Nothing beyond the bookkeeping done.
    case none
    case flush(TLBFlush)
    /// The domain's base L3 changed: reload its PDPT copy and CR3.
    case baseChanged(old: UInt32?, new: UInt32)
    /// The LDT changed: drop the old LDT mappings; the new one's frames are typed as they load.
    case ldtChanged(base: UInt32, entries: UInt32)
}

extension FrameTable {
    /// The largest LDT: 8192 descriptors, 64 KiB.
    public static let maxLDTEntries: UInt32 = 8192

    /// Performs one mmuext_op for the domain. On refusal nothing changed.
    public mutating func mmuextOp<M: PhysicalMemory>(
        _ op: MMUExtRequest, state: inout DomainMemoryState, memory: inout M
    ) -> Result<MMUExtEffect, MemoryError> {
        guard let command = MMUExtCommand(rawValue: op.cmd) else { return .failure(.unknownCommand) }
        switch command {
        case .pinL1Table: return pin(op.arg1, .l1, &state, &memory)
        case .pinL2Table: return pin(op.arg1, .l2, &state, &memory)
        case .pinL3Table: return pin(op.arg1, .l3, &state, &memory)
        case .pinL4Table, .newUserBaseptr: return .failure(.pinLevelUnsupported)
        case .unpinTable:
            if let refusal = unpin(op.arg1, &state, &memory) { return .failure(refusal) }
            return .success(.none)
        case .newBaseptr: return newBase(op.arg1, &state, &memory)
        case .tlbFlushLocal: return .success(.flush(.everything(.local)))
        case .invlpgLocal: return .success(.flush(.page(op.arg1, .local)))
        case .tlbFlushMulti: return .success(.flush(.everything(.vcpuMask(op.arg2))))
        case .invlpgMulti: return .success(.flush(.page(op.arg1, .vcpuMask(op.arg2))))
        case .tlbFlushAll: return .success(.flush(.everything(.all)))
        case .invlpgAll: return .success(.flush(.page(op.arg1, .all)))
        case .setLDT:
            let entries = op.arg2
            let base = entries == 0 ? 0 : op.arg1
            guard base & (PAE.pageSize - 1) == 0, entries <= FrameTable.maxLDTEntries,
                  UInt64(base) + UInt64(entries) * 8 <= UInt64(XenLayout.hypervisorVirtStart) else {
                return .failure(.badLDT)
            }
            // Decided, not committed: the hypervisor types the LDT's pages first and commits the
            // new LDT (commitLDT) only when all of them were accepted.
            return .success(.ldtChanged(base: base, entries: entries))
        case .flushCache, .clearPage, .copyPage, .flushCacheGlobal, .markSuper, .unmarkSuper:
            return .failure(.unknownCommand)
        }
    }

    /// Gives back the references of the base NEW_BASEPTR replaced. Call it once the CPU no longer
    /// uses that base (its PDPT copy and CR3 reloaded); a no-op when there is none.
    public mutating func releaseRetiringBase<M: PhysicalMemory>(state: inout DomainMemoryState, memory: inout M) {
        guard let old = state.retiringBase else { return }
        state.retiringBase = nil
        putPageAndType(old, memory: &memory)
    }

    /// Makes the domain's initial tables (from the domain builder) its current base, validating
    /// them: NEW_BASEPTR, preceded by PIN_L3_TABLE when `pin` (Xen's builder pins the top
    /// table and Linux unpins it later, so the default is to pin). The builder's frames must
    /// carry no type yet. On refusal nothing changed.
    public mutating func adoptInitialBase<M: PhysicalMemory>(
        _ l3: UInt32, pin pinning: Bool = true, state: inout DomainMemoryState, memory: inout M
    ) -> MemoryError? {
        if pinning, case .failure(let refusal) = pin(l3, .l3, &state, &memory) { return refusal }
        if case .failure(let refusal) = newBase(l3, &state, &memory) {
            if pinning { _ = unpin(l3, &state, &memory) }
            return refusal
        }
        releaseRetiringBase(state: &state, memory: &memory)   // none: nothing ran on another base
        return nil
    }

    mutating func pin<M: PhysicalMemory>(
        _ mfn: UInt32, _ level: PageType, _ state: inout DomainMemoryState, _ memory: inout M
    ) -> Result<MMUExtEffect, MemoryError> {
        if let refusal = referenceRefusal(UInt64(mfn), &state, allowExtras: false) { return .failure(refusal) }
        if record(mfn).flags.contains(.pinned) { return .failure(.alreadyPinned) }
        if let refusal = getPageAndType(mfn, level, &state, &memory, hypervisorL2: false, allowExtras: false) {
            return .failure(refusal)
        }
        updateFlags(mfn) { $0.insert(.pinned) }
        state.pinnedCount += 1
        return .success(.none)
    }

    mutating func unpin<M: PhysicalMemory>(_ mfn: UInt32, _ state: inout DomainMemoryState, _ memory: inout M) -> MemoryError? {
        if let refusal = referenceRefusal(UInt64(mfn), &state, allowExtras: false) { return refusal }
        guard record(mfn).flags.contains(.pinned) else { return .notPinned }
        // The current base may go unpinned: the base pointer's own references keep it validated.
        updateFlags(mfn) { $0.remove(.pinned) }
        state.pinnedCount -= 1
        putPageAndType(mfn, memory: &memory)
        return nil
    }

    mutating func newBase<M: PhysicalMemory>(
        _ mfn: UInt32, _ state: inout DomainMemoryState, _ memory: inout M
    ) -> Result<MMUExtEffect, MemoryError> {
        if let refusal = getPageAndType(mfn, .l3, &state, &memory, hypervisorL2: false, allowExtras: false) {
            return .failure(refusal)
        }
        // A base still retiring from an earlier switch: the CPU left it when that switch was applied.
        releaseRetiringBase(state: &state, memory: &memory)
        let old = state.baseL3
        state.baseL3 = mfn
        state.retiringBase = old
        return .success(.baseChanged(old: old, new: mfn))
    }
}
