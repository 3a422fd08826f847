// Type references on machine frames (Xen's get_page_type/put_page_type): a frame is one of none, writable, L1, L2, L3 or descriptor table.
// It must never change a frame's type while its type count is nonzero, nor leave a table typed that failed validation.
//
// The type count counts the references that depend on the type: writable mappings for
// `.writable`, the L2 entries pointing at an L1, the L3 entries pointing at an L2, pins, base
// pointers and GDT/LDT uses. While it is nonzero the type is fixed, so a frame can never be a
// page table and be mapped writable at once. The first type reference on a page-table or
// descriptor type validates the contents (taking references for every entry); the last one
// going away devalidates it (giving those references back). An L2 used under L3 slot 3 is a
// type of its own (`FrameFlags.hypervisorSlots`): it holds the hypervisor's slots 428-511, so
// it may have exactly one type reference, the L3 entry that put it there.

extension PageType {
    /// Whether the type's contents are checked when it is taken and released when it goes.
    public var isPageTable: Bool {
        switch self {
        case .l1, .l2, .l3: return true
        case .none, .writable, .segmentDescriptor: return false
        }
    }

    /// Whether a guest may not map a frame of this type writable.
    public var isProtected: Bool {
        switch self {
        case .l1, .l2, .l3, .segmentDescriptor: return true
        case .none, .writable: return false
        }
    }
}

extension FrameTable {
    /// Takes a type reference on `frame` as `type` for the domain. When the type count is 0
    /// the frame takes the new type and, for a table or descriptor type, its contents are
    /// validated (references taken for every entry); otherwise the frame must already be of
    /// exactly that type. `hypervisorL2` asks for the slot-3 L2 type. Nil on success; on
    /// refusal nothing changed (validation gave back whatever it took).
    public mutating func getPageType<M: PhysicalMemory>(
        _ frame: UInt32, _ type: PageType, state: DomainMemoryState, memory: inout M, hypervisorL2: Bool = false
    ) -> MemoryError? {
        var state = state
        return getPageType(frame, type, &state, &memory, hypervisorL2: hypervisorL2, allowExtras: false)
    }

    /// Drops a type reference. The last one resets the frame to type none and, for a page
    /// table, gives back every reference its entries held (and clears the hypervisor's slots
    /// of a slot-3 L2). A put without a matching get is a hypervisor bug.
    @inline(__always)
    public mutating func putPageType<M: PhysicalMemory>(_ frame: UInt32, memory: inout M) {
        let i = Int(truncatingIfNeeded: frame)
        precondition(frame < count && records[i].typeCount > 0, "putPageType without a type reference")
        if records[i].typeCount > 1 {
            records[i].typeCount -= 1
            return
        }
        putLastPageType(frame, &memory)
    }

    /// The last type reference goes: the frame loses its type (and a table its entries' references).
    mutating func putLastPageType<M: PhysicalMemory>(_ frame: UInt32, _ memory: inout M) {
        let record = records[Int(frame)]
        precondition(!record.flags.contains(.pinned), "last type reference of a pinned frame")
        let type = record.type
        let hypervisorL2 = record.flags.contains(.hypervisorSlots)
        records[Int(frame)].typeCount = 0
        records[Int(frame)].typeRaw = PageType.none.rawValue
        updateFlags(frame) { $0.subtract([.validated, .hypervisorSlots]) }
        switch type {
        case .l1: releaseL1Entries(frame, &memory)
        case .l2:
            tablesChanged()
            releaseL2Entries(frame, &memory, hypervisorL2: hypervisorL2)
        case .l3:
            tablesChanged()
            releaseL3Entries(frame, &memory)
        case .none, .writable, .segmentDescriptor: break
        }
        if hypervisorL2 { clearHypervisorSlots(frame, &memory) }
    }

    /// A general and a type reference together (what entries, pins and base pointers hold).
    public mutating func getPageAndType<M: PhysicalMemory>(
        _ frame: UInt32, _ type: PageType, state: DomainMemoryState, memory: inout M, hypervisorL2: Bool = false
    ) -> MemoryError? {
        var state = state
        return getPageAndType(frame, type, &state, &memory, hypervisorL2: hypervisorL2, allowExtras: false)
    }

    /// Drops what `getPageAndType` took.
    @inline(__always)
    public mutating func putPageAndType<M: PhysicalMemory>(_ frame: UInt32, memory: inout M) {
        putPageType(frame, memory: &memory)
        putPage(frame)
    }

    // MARK: - Internal forms (extras allowed for writable data mappings only). The state is
    // inout only so that it is passed by reference: none of these changes it.

    @inline(__always)
    mutating func getPageAndType<M: PhysicalMemory>(
        _ frame: UInt32, _ type: PageType, _ state: inout DomainMemoryState, _ memory: inout M,
        hypervisorL2: Bool, allowExtras: Bool
    ) -> MemoryError? {
        if let refusal = getPage(frame, &state, allowExtras: allowExtras) { return refusal }
        // getPage checked the frame with `allowExtras`, which covers the type's own check.
        if let refusal = takeType(frame, type, &state, &memory, hypervisorL2: hypervisorL2) {
            putPage(frame)
            return refusal
        }
        return nil
    }

    mutating func getPageType<M: PhysicalMemory>(
        _ frame: UInt32, _ type: PageType, _ state: inout DomainMemoryState, _ memory: inout M,
        hypervisorL2: Bool, allowExtras: Bool
    ) -> MemoryError? {
        // Extras are data pages: never tables.
        if let refusal = referenceRefusal(UInt64(frame), &state, allowExtras: allowExtras && type == .writable) {
            return refusal
        }
        return takeType(frame, type, &state, &memory, hypervisorL2: hypervisorL2)
    }

    /// The type half of getPageType, for a frame the caller checked the domain may reference
    /// (with extras only for `.writable`). The common case, one more reference on a frame
    /// already validated as `type`, is a compare and an increment.
    @inline(__always)
    mutating func takeType<M: PhysicalMemory>(
        _ frame: UInt32, _ type: PageType, _ state: inout DomainMemoryState, _ memory: inout M, hypervisorL2: Bool
    ) -> MemoryError? {
        let i = Int(truncatingIfNeeded: frame)
        let record = records[i]
        let kind = record.flagsRaw & (FrameFlags.validated.rawValue | FrameFlags.hypervisorSlots.rawValue)
        if !hypervisorL2 && record.typeRaw == type.rawValue && kind == FrameFlags.validated.rawValue
            && record.typeCount != 0 && record.typeCount < UInt32.max {
            records[i].typeCount += 1
            return nil
        }
        return takeTypeSlowly(frame, type, &state, &memory, hypervisorL2: hypervisorL2)
    }

    mutating func takeTypeSlowly<M: PhysicalMemory>(
        _ frame: UInt32, _ type: PageType, _ state: inout DomainMemoryState, _ memory: inout M, hypervisorL2: Bool
    ) -> MemoryError? {
        precondition(type != .none, "no reference is taken on type none")
        precondition(!hypervisorL2 || type == .l2, "only an L2 holds the hypervisor's slots")
        let record = records[Int(frame)]
        if record.typeCount == 0 {
            // A mapping dropped without a flush may still reach the frame in its new role.
            flushIfStale(before: type, &memory)
            records[Int(frame)].typeRaw = type.rawValue
            records[Int(frame)].typeCount = 1
            updateFlags(frame) {
                $0.remove(.validated)
                if hypervisorL2 { $0.insert(.hypervisorSlots) } else { $0.remove(.hypervisorSlots) }
            }
            if let refusal = validateContents(frame, type, &state, &memory, hypervisorL2: hypervisorL2) {
                records[Int(frame)].typeRaw = PageType.none.rawValue
                records[Int(frame)].typeCount = 0
                updateFlags(frame) { $0.subtract([.validated, .hypervisorSlots]) }
                return refusal
            }
            updateFlags(frame) { $0.insert(.validated) }
            return nil
        }
        guard record.type == type, record.flags.contains(.hypervisorSlots) == hypervisorL2 else {
            if type == .writable { return .pageTableMappedWritable }
            if record.type == .writable { return .frameMappedWritable }
            if record.type == .l2 && type == .l2 { return .hypervisorL2Shared }
            return .typeInUse
        }
        guard record.flags.contains(.validated) else { return .typeStillValidating }
        if hypervisorL2 { return .hypervisorL2Shared }
        guard record.typeCount < UInt32.max else { return .referenceCountOverflow }
        records[Int(frame)].typeCount += 1
        return nil
    }

    /// Checks a frame that just took `type`, taking the references its entries need.
    /// On refusal everything taken is given back and memory is untouched.
    mutating func validateContents<M: PhysicalMemory>(
        _ frame: UInt32, _ type: PageType, _ state: inout DomainMemoryState, _ memory: inout M, hypervisorL2: Bool
    ) -> MemoryError? {
        switch type {
        case .none, .writable: return nil
        case .l1: return validateL1(frame, &state, &memory)
        case .l2:
            tablesChanged()
            return validateL2(frame, &state, &memory, hypervisorL2: hypervisorL2)
        case .l3:
            tablesChanged()
            return validateL3(frame, &state, &memory)
        case .segmentDescriptor: return validateDescriptorPage(frame, &memory)
        }
    }
}
