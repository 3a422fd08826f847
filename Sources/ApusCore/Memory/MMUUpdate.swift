// mmu_update (hypercall 1): a list of page-table entry writes and M2P updates, applied in order up to the first refusal.
// It must never write a frame the domain does not own, nor write a validated table except through the entry rules.
//
// A NORMAL_PT_UPDATE (or PRESERVE_AD) names the machine address of an 8-byte slot. The
// frame's current type decides: a validated L1/L2/L3 of the domain gets that level's entry
// rules. Any other frame of the domain is written as plain memory when the domain could map
// it writable (type none or writable), as Xen does; a descriptor table in use is refused.
// Guests build their tables this way before pinning them.

import PVABI

/// Where MMU_MACHPHYS_UPDATE records machine-to-physical entries (the hypervisor's writable
/// M2P alias; a dictionary in tests).
public protocol MachineToPhysicalStore {
    mutating func setM2P(mfn: UInt32, pfn: UInt32)
}

/// One `struct mmu_update`: IN ptr (address and command in bits 0-1), IN val.
public struct MMUUpdateRequest: Equatable, Sendable {
    public var ptr: UInt64
    public var val: UInt64
    public init(ptr: UInt64, val: UInt64) { self.ptr = ptr; self.val = val }
}

/// What one successful request did.
public enum MMUUpdateEffect: Equatable, Sendable {
    /// Entry `index` of validated table `frame` at `level` changed.
    case tableEntry(frame: UInt32, level: PageType, index: Int)
    /// A frame that is not a page table was written as plain memory.
    case plainWrite(frame: UInt32)
    /// M2P[mfn] was set.
    case machphys(mfn: UInt32, pfn: UInt32)
}

/// The answer to a list of requests: how many were done before the first refusal (if any),
/// and whether an L3 some vCPU of the domain runs on changed (`currentBaseChanged`: the hypervisor
/// recopies those vCPUs' PDPTs then, and reloads CR3 for the running one).
public struct MMUUpdateOutcome: Equatable, Sendable {
    public var done: Int
    public var error: MemoryError?
    public var currentBaseChanged: Bool

    @usableFromInline
    init(done: Int, error: MemoryError?, currentBaseChanged: Bool) {
        self.done = done
        self.error = error
        self.currentBaseChanged = currentBaseChanged
    }
}

extension FrameTable {
    /// Applies `requests` in order for the domain, stopping at the first refusal, as the
    /// hypervisor does: laid out as in guest memory and handed to `mmuUpdateRun` in runs of up to
    /// `run`, the L1 one run lent kept for the next.
    public mutating func mmuUpdate<M: PhysicalMemory, S: MachineToPhysicalStore>(
        _ requests: [MMUUpdateRequest], run: Int = 16, state: inout DomainMemoryState, memory: inout M, m2p: inout S
    ) -> MMUUpdateOutcome {
        var total = MMUUpdateOutcome(done: 0, error: nil, currentBaseChanged: false)
        var words: [UInt64] = []
        for r in requests { words.append(r.ptr.littleEndian); words.append(r.val.littleEndian) }
        var lent = LentL1()
        words.withUnsafeBytes { bytes in
            while total.done < requests.count {
                let n = min(run, requests.count - total.done)
                let applied = mmuUpdateRun(bytes.baseAddress! + total.done * MMUUpdateLayout.size, count: n, lent: &lent,
                                           state: &state, memory: &memory, m2p: &m2p)
                total.done += applied.done
                if applied.currentBaseChanged { total.currentBaseChanged = true }
                if let error = applied.error { total.error = error; return }
            }
        }
        return total
    }

    /// Applies one request. On refusal nothing changed. The state is only read (inout passes it
    /// by reference).
    public mutating func mmuUpdate<M: PhysicalMemory, S: MachineToPhysicalStore>(
        _ request: MMUUpdateRequest, state: inout DomainMemoryState, memory: inout M, m2p: inout S
    ) -> Result<MMUUpdateEffect, MemoryError> {
        let command = MMUUpdateCommand(rawValue: UInt32(truncatingIfNeeded: request.ptr) & 3)
        switch command {
        case .normalPTUpdate, .ptUpdatePreserveAD:
            let address = request.ptr & ~3
            guard address & 7 == 0 else { return .failure(.badPointer) }
            let mfn = address >> 12
            if let refusal = referenceRefusal(mfn, &state, allowExtras: false) { return .failure(refusal) }
            let frame = UInt32(truncatingIfNeeded: mfn)
            let index = Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: address) & 0xFFF) >> 3
            if let level = validatedTableLevel(frame, ownerRaw: state.ownerRaw) {
                if let refusal = modifyEntry(table: frame, level: level, index: index, raw: request.val,
                                             preserveAD: command == .ptUpdatePreserveAD, &state, &memory) {
                    return .failure(refusal)
                }
                return .success(.tableEntry(frame: frame, level: level, index: index))
            }
            let record = record(frame)
            guard record.typeCount == 0 || record.type == .writable else { return .failure(.notAPageTable) }
            guard memory.store64(address, request.val) else { return .failure(.memoryFault) }
            return .success(.plainWrite(frame: frame))
        case .machphysUpdate:
            let mfn = request.ptr >> 12
            if let refusal = referenceRefusal(mfn, &state, allowExtras: false) { return .failure(refusal) }
            let pfn = UInt32(truncatingIfNeeded: request.val)
            m2p.setM2P(mfn: UInt32(mfn), pfn: pfn)
            return .success(.machphys(mfn: UInt32(mfn), pfn: pfn))
        case .ptUpdateNoTranslate, nil:
            return .failure(.unknownCommand)
        }
    }
}
