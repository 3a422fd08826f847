// map_grant_ref, unmap_grant_ref and copy of the grant-table core, and domain destruction with grants mapped in either direction.
// Pure: the PTE itself is the caller's to write (after map) and to clear (before unmap); this file never touches one.

import PVABI

/// What map gives the hypervisor to write into the mapper's page table.
public struct GrantMapResult: Equatable, Sendable {
    public var handle: UInt32
    public var frame: UInt32
    public var writable: Bool
    public var deviceAddress: UInt64
}

/// One side of a copy: a grant reference of `domain`, or (not `isGrant`) a frame of the caller.
public struct GrantCopySide: Equatable, Sendable {
    public var isGrant: Bool
    /// The grant reference, or the frame number.
    public var refOrFrame: UInt32
    public var domain: UInt16
    public var offset: UInt16
    public init(isGrant: Bool, refOrFrame: UInt32, domain: UInt16, offset: UInt16) {
        self.isGrant = isGrant
        self.refOrFrame = refOrFrame
        self.domain = domain
        self.offset = offset
    }
}

extension GrantSystem {
    /// GNTTABOP_map_grant_ref for one element: checks the grant, takes the frame reference, pins the entry and
    /// records the mapping. If the caller then fails to write the PTE, it must `unmap` the handle it got.
    public mutating func map<S: GrantSharedMemory, R: GrantFrameReferences>(
        caller: UInt16, granter domain: UInt16, ref: UInt32, flags: UInt32, hostAddress: UInt64,
        _ memory: inout S, _ refs: inout R) throws(GrantError) -> GrantMapResult {
        guard flags & GrantMapFlags.hostMap != 0 else { throw .noHostMap }
        guard flags & GrantMapFlags.containsPTE == 0 else { throw .pteAddressMap }
        guard hostAddress != 0, hostAddress & 0xFFF == 0, hostAddress < UInt64(XenLayout.hypervisorVirtStart) else { throw .badHostAddress }
        let me = try live(caller)
        let granter = Self.resolve(domain, caller: caller)
        guard granter != caller else { throw .ownGrant }
        let writable = flags & GrantMapFlags.readonly == 0
        let frame = try grantedFrame(granter: granter, ref: ref, grantee: caller, writable: writable, &memory)
        guard let handle = me.freeHandle() else { throw .handlesExhausted }
        if case .mapped(_, _, let maps, _) = tables[Int(granter)]!.active[Int(ref)], maps >= Self.maxPinsPerGrant { throw .pinOverflow }
        guard refs.get(frame: frame, owner: granter, writable: writable) else { throw .frameNotGranters }

        // Acting: nothing below can fail.
        let device = flags & GrantMapFlags.deviceMap != 0 ? UInt64(frame) << 12 : 0
        var g = tables[Int(granter)]!
        switch g.active[Int(ref)] {
        case .idle:
            g.active[Int(ref)] = .mapped(mapper: caller, frame: frame, maps: 1, writableMaps: writable ? 1 : 0)
        case .mapped(let mapper, let f, let maps, let w):
            g.active[Int(ref)] = .mapped(mapper: mapper, frame: f, maps: maps + 1, writableMaps: w + (writable ? 1 : 0))
        }
        g.pins += 1
        setFlags(g, ref, set: GrantEntryFlags.reading | (writable ? GrantEntryFlags.writing : 0), clear: 0, &memory)
        tables[Int(granter)] = g
        let mapping = GrantMapping(granter: granter, ref: ref, hostAddress: UInt32(truncatingIfNeeded: hostAddress), frame: frame,
                                   writable: writable, application: flags & GrantMapFlags.applicationMap != 0, deviceAddress: device)
        var m = tables[Int(caller)]!
        if Int(handle) == m.handles.count { m.handles.append(mapping) } else { m.handles[Int(handle)] = mapping }
        m.mappingCount += 1
        tables[Int(caller)] = m
        return GrantMapResult(handle: handle, frame: frame, writable: writable, deviceAddress: device)
    }

    /// The mapping `handle` of `caller` names, if any.
    public func mapping(_ caller: UInt16, handle: UInt32) -> GrantMapping? {
        guard let t = table(caller), handle < UInt32(t.handles.count) else { return nil }
        return t.handles[Int(handle)]
    }

    /// GNTTABOP_unmap_grant_ref for one element: the caller has not yet cleared the PTE; on success it must
    /// clear the one at the returned mapping's address. `deviceAddress` 0 is not checked (as in Xen).
    public mutating func unmap<S: GrantSharedMemory, R: GrantFrameReferences>(
        caller: UInt16, handle: UInt32, hostAddress: UInt64, deviceAddress: UInt64,
        _ memory: inout S, _ refs: inout R) throws(GrantError) -> GrantMapping {
        let m = try checkUnmap(caller: caller, handle: handle, hostAddress: hostAddress, deviceAddress: deviceAddress)
        release(caller, handle: handle, &memory, &refs)
        return m
    }

    /// What unmap would refuse, without acting: the mapping the handle names when it may be unmapped. The caller
    /// clears the PTE between this check and `unmap`.
    public func checkUnmap(caller: UInt16, handle: UInt32, hostAddress: UInt64, deviceAddress: UInt64) throws(GrantError) -> GrantMapping {
        guard table(caller) != nil else { throw .noSuchDomain }
        guard let m = mapping(caller, handle: handle) else { throw .badHandle }
        guard hostAddress == UInt64(m.hostAddress) else { throw .wrongHostAddress }
        guard deviceAddress == 0 || deviceAddress == m.deviceAddress else { throw .wrongDeviceAddress }
        return m
    }

    /// Drops mapping `handle` of `mapper`: unpins the grant, clears GTF_reading/GTF_writing as the last maps of
    /// each kind go, puts the frame reference, and lets a dying granter's table go with its last pin.
    mutating func release<S: GrantSharedMemory, R: GrantFrameReferences>(_ mapper: UInt16, handle: UInt32,
                                                                        _ memory: inout S, _ refs: inout R) {
        var t = tables[Int(mapper)]!
        guard let m = t.handles[Int(handle)] else { return }
        t.handles[Int(handle)] = nil
        t.mappingCount -= 1
        tables[Int(mapper)] = t

        var g = tables[Int(m.granter)]!
        guard case .mapped(let who, let frame, let maps, let w) = g.active[Int(m.ref)] else { return }
        let writableLeft = w - (m.writable ? 1 : 0)
        if maps == 1 {
            g.active[Int(m.ref)] = .idle
            setFlags(g, m.ref, set: 0, clear: GrantEntryFlags.reading | GrantEntryFlags.writing, &memory)
        } else {
            g.active[Int(m.ref)] = .mapped(mapper: who, frame: frame, maps: maps - 1, writableMaps: writableLeft)
            if writableLeft == 0 { setFlags(g, m.ref, set: 0, clear: GrantEntryFlags.writing, &memory) }
        }
        g.pins -= 1
        tables[Int(m.granter)] = g
        refs.put(frame: m.frame, owner: m.granter, writable: m.writable)
        if g.life == .dying && g.pins == 0 { removeTable(m.granter, &memory) }
    }

    mutating func removeTable<S: GrantSharedMemory>(_ id: UInt16, _ memory: inout S) {
        guard let t = tables[Int(id)] else { return }
        var i = t.frames.count
        while i > 0 { i -= 1; memory.freeTableFrame(t.frames[i], of: id) }
        tables[Int(id)] = nil
    }

    /// A domain is destroyed (its page tables, and so its grant PTEs, are already gone or going): every mapping
    /// it holds is released; its own table goes now if nothing maps its grants, else it stays dying until the
    /// last foreign mapping is unmapped.
    public mutating func destroyDomain<S: GrantSharedMemory, R: GrantFrameReferences>(_ id: UInt16, _ memory: inout S, _ refs: inout R) {
        guard let t = table(id), t.life == .live else { return }
        var h = t.handles.count
        while h > 0 { h -= 1; release(id, handle: UInt32(truncatingIfNeeded: h), &memory, &refs) }
        guard var own = tables[Int(id)] else { return }
        own.handles = []
        if own.pins == 0 {
            tables[Int(id)] = own
            removeTable(id, &memory)
        } else {
            own.life = .dying
            tables[Int(id)] = own
        }
    }

    // MARK: - copy

    /// GNTTABOP_copy for one element: `len` bytes from `source` to `dest`, each a grant of another domain to the
    /// caller or a frame of the caller's own; each span stays inside its page.
    public mutating func copy<S: GrantSharedMemory, R: GrantFrameReferences>(
        caller: UInt16, source: GrantCopySide, dest: GrantCopySide, length: UInt16,
        _ memory: inout S, _ refs: inout R) throws(GrantError) {
        guard UInt32(source.offset) + UInt32(length) <= GrantTableLimits.pageSize,
              UInt32(dest.offset) + UInt32(length) <= GrantTableLimits.pageSize else { throw .copyPastPage }
        _ = try live(caller)
        let (sFrame, sOwner) = try copyFrame(caller: caller, source, writable: false, &memory)
        let (dFrame, dOwner) = try copyFrame(caller: caller, dest, writable: true, &memory)
        guard refs.get(frame: sFrame, owner: sOwner, writable: false) else {
            throw source.isGrant ? .frameNotGranters : .copyFrameNotOwned
        }
        guard refs.get(frame: dFrame, owner: dOwner, writable: true) else {
            refs.put(frame: sFrame, owner: sOwner, writable: false)
            throw dest.isGrant ? .frameNotGranters : .copyFrameNotOwned
        }
        memory.copyBytes(from: sFrame, UInt32(source.offset), to: dFrame, UInt32(dest.offset), count: UInt32(length))
        refs.put(frame: dFrame, owner: dOwner, writable: true)
        refs.put(frame: sFrame, owner: sOwner, writable: false)
    }

    func copyFrame<S: GrantSharedMemory>(caller: UInt16, _ side: GrantCopySide, writable: Bool,
                                        _ memory: inout S) throws(GrantError) -> (UInt32, UInt16) {
        let domain = Self.resolve(side.domain, caller: caller)
        if side.isGrant {
            return (try grantedFrame(granter: domain, ref: side.refOrFrame, grantee: caller, writable: writable, &memory), domain)
        }
        guard domain == caller else { throw .copyFrameNotOwn }
        return (side.refOrFrame, caller)
    }
}
