// General references on machine frames (Xen's get_page/put_page): who may hold one and the counter arithmetic.
// It must never give a domain a reference on a frame it neither owns nor was offered, and never let a count wrap.
//
// Every reference a page table, a pin or a base pointer holds on a frame is one general
// reference (refCount); the ones that also depend on what the frame is used as add a type
// reference (typeCount, see PageTypes.swift). A frame with refCount 0 and typeCount 0 is
// referenced by nothing and may be freed.

extension FrameTable {
    /// Why `domain` may not reference `frame` (nil when it may): the frame must be in the
    /// table and owned by the domain, or, when `allowExtras`, be one of its extras. The state
    /// is inout only so that it is passed by reference (it is never changed).
    @inline(__always)
    mutating func referenceRefusal(_ frame: UInt64, _ state: inout DomainMemoryState, allowExtras: Bool) -> MemoryError? {
        if frame < UInt64(count) && records[Int(truncatingIfNeeded: frame)].ownerRaw == state.ownerRaw { return nil }
        return foreignReferenceRefusal(frame, &state, allowExtras: allowExtras)
    }

    /// `referenceRefusal` for a frame the domain does not own. Mutating only so that the table is
    /// passed by reference (a borrowed copy of it costs more than the check); it changes nothing.
    mutating func foreignReferenceRefusal(_ frame: UInt64, _ state: inout DomainMemoryState, allowExtras: Bool) -> MemoryError? {
        guard frame < UInt64(count) else { return .frameBeyondMemory }
        let f = UInt32(frame)
        let owner = owner(of: f)
        if owner == state.owner { return nil }
        switch owner {
        case .domain, .hypervisor:
            if allowExtras && state.extras.contains(f) { return nil }
            if case .domain = owner { return .foreignFrame }
            return .hypervisorFrame
        case .free, .notRAM, .bootModule: return .frameNotOwned
        }
    }

    /// Takes a general reference on `frame` for `domain`: refCount + 1 iff the domain owns
    /// it. Nil on success; nothing changes on refusal.
    public mutating func getPage(_ frame: UInt32, domain: UInt16) -> MemoryError? {
        switch owner(of: frame) {
        case .domain(let id) where id == domain: break
        case .domain: return .foreignFrame
        case .hypervisor: return .hypervisorFrame
        case .free, .notRAM, .bootModule: return frame < count ? .frameNotOwned : .frameBeyondMemory
        }
        return incrementRefCount(frame)
    }

    /// Drops a general reference taken with `getPage` (or by validation). A put without a
    /// matching get is a hypervisor bug.
    @inline(__always)
    public mutating func putPage(_ frame: UInt32) {
        precondition(frame < count && records[Int(truncatingIfNeeded: frame)].refCount > 0, "putPage without a reference")
        records[Int(truncatingIfNeeded: frame)].refCount -= 1
    }

    /// refCount + 1 on a frame already known to be referenceable.
    @inline(__always)
    mutating func incrementRefCount(_ frame: UInt32) -> MemoryError? {
        let i = Int(truncatingIfNeeded: frame)
        guard records[i].refCount < UInt32.max else { return .referenceCountOverflow }
        records[i].refCount += 1
        return nil
    }

    /// General reference for an entry or a caller that checked with `referenceRefusal`.
    @inline(__always)
    mutating func getPage(_ frame: UInt32, _ state: inout DomainMemoryState, allowExtras: Bool) -> MemoryError? {
        if let refusal = referenceRefusal(UInt64(frame), &state, allowExtras: allowExtras) { return refusal }
        return incrementRefCount(frame)
    }

    /// Replaces a record's flags (internal: the page-type code keeps flags and type together).
    mutating func updateFlags(_ frame: UInt32, _ change: (inout FrameFlags) -> Void) {
        var flags = records[Int(frame)].flags
        change(&flags)
        records[Int(frame)].flagsRaw = flags.rawValue
    }
}
