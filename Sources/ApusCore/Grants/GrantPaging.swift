// Where grant mappings meet the direct-paging core: the references a grant holds on a granted frame, and the grant
// PTE the hypervisor writes into the mapper's validated L1 (and clears at unmap). It must never write an entry that
// is present, clear one that does not map the granted frame, or let paging put a reference a grant holds.
//
// A grant PTE names a frame another domain owns, which no guest-written L1 entry can (getFromL1e refuses foreign
// frames), so "present and foreign" identifies it: paging takes no reference for it and never puts one (putFromL1e
// skips it), guests may not overwrite it (modifyEntry refuses), and it is removed only by unmap_grant_ref. When the
// L1 holding it stops being a page table, the grant keeps its references until unmap fails or the mapper dies.

import PVABI

extension FrameTable {
    /// Whether `e`, an entry of an L1 `tableOwner` owns, is a grant PTE: present, naming a frame another domain owns.
    func isGrantEntry(_ e: PageTableEntry, tableOwner: FrameOwner) -> Bool {
        guard e.isPresent, e.frame < UInt64(count) else { return false }
        let owner = owner(of: UInt32(e.frame))
        if case .domain = owner { return owner != tableOwner }
        return false
    }

    /// `isGrantEntry` with the table owner's raw encoding: one record load, for the hot paths.
    @inline(__always)
    func isGrantEntry(_ e: PageTableEntry, tableOwnerRaw: UInt16) -> Bool {
        guard e.isPresent, e.frame < UInt64(count) else { return false }
        let raw = records[Int(truncatingIfNeeded: e.frame)].ownerRaw
        return raw <= FrameOwner.maxDomainID && raw != tableOwnerRaw
    }

    /// A grant's reference on `frame` of domain `owner`: a general one, plus a writable type reference when
    /// `writable` (refused while the frame is a page table or descriptor frame). False: nothing taken.
    public mutating func getGrantReference(_ frame: UInt32, owner: UInt16, writable: Bool) -> Bool {
        guard frame < count, records[Int(frame)].owner == .domain(owner) else { return false }
        if incrementRefCount(frame) != nil { return false }
        guard writable else { return true }
        let record = records[Int(frame)]
        if record.typeCount == 0 {
            records[Int(frame)].typeRaw = PageType.writable.rawValue
            records[Int(frame)].typeCount = 1
            updateFlags(frame) { $0.subtract([.validated, .hypervisorSlots]) }
            return true
        }
        guard record.type == .writable, record.typeCount < UInt32.max else {
            putPage(frame)
            return false
        }
        records[Int(frame)].typeCount += 1
        return true
    }

    /// Drops what `getGrantReference` took. True when nothing references the frame any more (a frame of a destroyed
    /// domain is then the caller's to free).
    public mutating func putGrantReference(_ frame: UInt32, writable: Bool) -> Bool {
        precondition(frame < count && records[Int(frame)].refCount > 0, "grant put without a reference")
        if writable {
            precondition(records[Int(frame)].type == .writable && records[Int(frame)].typeCount > 0, "grant put without its writable type")
            records[Int(frame)].typeCount -= 1
            if records[Int(frame)].typeCount == 0 { records[Int(frame)].typeRaw = PageType.none.rawValue }
        }
        putPage(frame)
        return records[Int(frame)].refCount == 0 && records[Int(frame)].typeCount == 0
    }

    /// The PTE of a grant mapping: present, accessed, writable and dirty unless read-only, user only for
    /// GNTMAP_application_map (the guest kernel runs in ring 1, a supervisor ring).
    public static func grantPTE(frame: UInt32, writable: Bool, user: Bool) -> UInt64 {
        var raw = UInt64(frame) << 12 | PTEFlags.present.rawValue | PTEFlags.accessed.rawValue
        if writable { raw |= PTEFlags.writable.rawValue | PTEFlags.dirty.rawValue }
        if user { raw |= PTEFlags.user.rawValue }
        return raw
    }

    /// The machine address of the L1 entry that maps `va` in the domain's current (validated) tables.
    func l1EntryAddress<M: PhysicalMemory>(for va: UInt32, state: DomainMemoryState, memory: M) -> Result<UInt64, MemoryError> {
        l1Slot(for: va, base: state.baseL3, ownerRaw: state.ownerRaw, memory: memory).map { FrameTable.entryAddress($0.frame, $0.index) }
    }

    /// Writes the grant PTE for `va` into the domain's current tables. The L1 entry must exist and not be present.
    public mutating func installGrantPTE<M: PhysicalMemory>(va: UInt32, frame: UInt32, writable: Bool, user: Bool,
                                                          state: DomainMemoryState, memory: inout M) -> MemoryError? {
        let address: UInt64
        switch l1EntryAddress(for: va, state: state, memory: memory) {
        case .failure(let refusal): return refusal
        case .success(let found): address = found
        }
        guard let old = memory.load64(address) else { return .memoryFault }
        guard !PageTableEntry(raw: old).isPresent else { return .grantSlotInUse }
        return memory.store64(address, FrameTable.grantPTE(frame: frame, writable: writable, user: user)) ? nil : .memoryFault
    }

    /// Clears the grant PTE for `va` in the domain's current tables; it must still map `frame`.
    public mutating func removeGrantPTE<M: PhysicalMemory>(va: UInt32, frame: UInt32, state: DomainMemoryState,
                                                         memory: inout M) -> MemoryError? {
        let address: UInt64
        switch l1EntryAddress(for: va, state: state, memory: memory) {
        case .failure(let refusal): return refusal
        case .success(let found): address = found
        }
        guard let raw = memory.load64(address) else { return .memoryFault }
        let e = PageTableEntry(raw: raw)
        guard e.isPresent, e.frame == UInt64(frame), isGrantEntry(e, tableOwner: state.owner) else { return .grantEntryMismatch }
        return memory.store64(address, 0) ? nil : .memoryFault
    }
}
