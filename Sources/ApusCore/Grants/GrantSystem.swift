// The grant-table core over every domain (v1 tables): setup_table, query_size, map and unmap, copy, set and get
// version, and what destroying a domain does to grants mapped in either direction.
// Pure: entries and frames are reached only through GrantSharedMemory and GrantFrameReferences; it never writes a PTE.
//
// Every operation checks everything first and changes nothing when it refuses (a reference taken before a later
// check fails is put back); only then does it act. The rules, as in Xen:
// - only a permit_access entry that names the caller is honoured, and a readonly one never gives a writable
//   mapping nor receives a copy;
// - GTF_reading is set while any mapping of the entry exists, GTF_writing while a writable one does; the frame is
//   fixed at the first map;
// - every foreign mapping holds a reference on the granted frame (GrantFrameReferences), so the frame cannot be
//   freed, or become a page table under a writable mapping, while it is mapped;
// - unmap needs the handle and the address it was mapped at;
// - a destroyed domain releases every mapping it held; its own table stays, dying, while others still map its
//   grants, and goes (with its frames) at the last unmap. The frames it granted are freed by the frame table when
//   their last reference goes.

import PVABI

public struct GrantSystem: Equatable, Sendable {
    /// tables[id]: the domain's grant state, nil while no domain (live or dying) has that id.
    public internal(set) var tables: [GrantTableState?]

    public static let defaultMaxHandles: UInt32 = 1024
    /// The most maps one grant may have at once (Xen's pin counts are 8 bits wide per kind).
    public static let maxPinsPerGrant: UInt32 = 255

    public init(domainCapacity: Int) {
        tables = Array(repeating: nil, count: max(domainCapacity, 1))
    }

    /// Registers domain `id` with an empty table. False when the id is out of range or still taken (a dying table
    /// keeps its id until its last foreign mapping goes).
    @discardableResult
    public mutating func addDomain(_ id: UInt16, privileged: Bool, maxFrames: UInt32 = GrantTableLimits.defaultMaxFrames,
                                   maxHandles: UInt32 = GrantSystem.defaultMaxHandles) -> Bool {
        guard Int(id) < tables.count, tables[Int(id)] == nil else { return false }
        tables[Int(id)] = GrantTableState(privileged: privileged, maxFrames: maxFrames, maxHandles: maxHandles)
        return true
    }

    public func table(_ id: UInt16) -> GrantTableState? { Int(id) < tables.count ? tables[Int(id)] : nil }

    /// Tables of destroyed domains still held by others' mappings (dom0's leak check: 0 once every backend let go).
    public var dyingTables: Int { tables.count { $0?.life == .dying } }

    /// The live table of `id`, or why not.
    func live(_ id: UInt16) throws(GrantError) -> GrantTableState {
        guard let t = table(id) else { throw .noSuchDomain }
        guard t.life == .live else { throw .domainDying }
        return t
    }

    static func resolve(_ domain: UInt16, caller: UInt16) -> UInt16 { domain == SpecialDomainID.selfID ? caller : domain }

    /// The target of a table-management op: the caller itself, or any live domain for a privileged caller.
    func managed(_ domain: UInt16, caller: UInt16) throws(GrantError) -> UInt16 {
        let me = try live(caller)
        let target = Self.resolve(domain, caller: caller)
        _ = try live(target)
        guard target == caller || me.privileged else { throw .notPrivileged }
        return target
    }

    // MARK: - setup_table, query_size

    /// GNTTABOP_setup_table: grows `domain`'s table to at least `frames` frames. Returns the domain whose
    /// frames the caller then reports (`tableFrame(_:_:)` for 0..<frames). A failed allocation gives back the
    /// frames this call took.
    public mutating func setupTable<S: GrantSharedMemory>(caller: UInt16, domain: UInt16, frames wanted: UInt32,
                                                          _ memory: inout S) throws(GrantError) -> UInt16 {
        let target = try managed(domain, caller: caller)
        var t = tables[Int(target)]!
        guard wanted <= t.maxFrames else { throw .tooManyFrames }
        var taken: [UInt32] = []
        while UInt32(t.frames.count) + UInt32(taken.count) < wanted {
            guard let f = memory.allocateTableFrame(for: target) else {
                var i = taken.count
                while i > 0 { i -= 1; memory.freeTableFrame(taken[i], of: target) }
                throw .noTableFrame
            }
            taken.append(f)
        }
        for f in taken {
            t.frames.append(f)
            t.active.grow(by: Int(GrantTableLimits.entriesPerFrame))
        }
        tables[Int(target)] = t
        return target
    }

    /// Frame `index` of `domain`'s table (index below its frame count).
    public func tableFrame(_ domain: UInt16, _ index: UInt32) -> UInt32? {
        guard let t = table(domain), index < UInt32(t.frames.count) else { return nil }
        return t.frames[Int(index)]
    }

    /// GNTTABOP_query_size: (frames now, maximum frames).
    public func querySize(caller: UInt16, domain: UInt16) throws(GrantError) -> (frames: UInt32, maxFrames: UInt32) {
        let t = table(try managed(domain, caller: caller))!
        return (UInt32(t.frames.count), t.maxFrames)
    }

    // MARK: - Versions

    /// GNTTABOP_set_version: only version 1 exists here. Answers the version in effect.
    public func setVersion(caller: UInt16, version: UInt32) throws(Refusal) -> UInt32 {
        guard table(caller) != nil else { throw Refusal(.ESRCH, "the calling domain has no grant table") }
        switch version {
        case 1: return 1
        case 2: throw Refusal(.ENOSYS, "grant table version 2 is not implemented; version 1 stays in effect")
        default: throw Refusal(.EINVAL, "grant table versions are 1 and 2")
        }
    }

    /// GNTTABOP_get_version: 1 for every table.
    public func getVersion(caller: UInt16, domain: UInt16) throws(Refusal) -> UInt32 {
        guard let me = table(caller) else { throw Refusal(.ESRCH, "the calling domain has no grant table") }
        let target = Self.resolve(domain, caller: caller)
        guard table(target) != nil else { throw Refusal(.ESRCH, "get_version names a domain that does not exist") }
        guard target == caller || me.privileged else { throw Refusal(.EPERM, "only a privileged domain may ask another's grant version") }
        return 1
    }

    // MARK: - Entries

    /// The entry `ref` of `domain`'s table (ref below its entry count).
    func entry<S: GrantSharedMemory>(_ t: GrantTableState, _ ref: UInt32, _ memory: inout S) -> GrantEntry {
        memory.entry(tableFrame: t.frames[Int(ref / GrantTableLimits.entriesPerFrame)], index: ref % GrantTableLimits.entriesPerFrame)
    }

    func setFlags<S: GrantSharedMemory>(_ t: GrantTableState, _ ref: UInt32, set: UInt16, clear: UInt16, _ memory: inout S) {
        let frame = t.frames[Int(ref / GrantTableLimits.entriesPerFrame)], index = ref % GrantTableLimits.entriesPerFrame
        let old = memory.entry(tableFrame: frame, index: index).flags
        let new = (old & ~clear) | set
        if new != old { memory.setFlags(tableFrame: frame, index: index, new) }
    }

    /// The frame a permit_access grant of `granter` to `grantee` gives, after the shared checks map and copy make.
    func grantedFrame<S: GrantSharedMemory>(granter: UInt16, ref: UInt32, grantee: UInt16, writable: Bool,
                                           _ memory: inout S) throws(GrantError) -> UInt32 {
        let t = try live(granter)
        guard ref < t.entryCount else { throw .refBeyondTable }
        let e = entry(t, ref, &memory)
        guard e.flags & GrantEntryFlags.typeMask == GrantEntryFlags.permitAccess else { throw .notPermitAccess }
        guard e.domid == grantee else { throw .grantedToAnother }
        guard !writable || e.flags & GrantEntryFlags.readonly == 0 else { throw .readonlyGrant }
        switch t.active[Int(ref)] {
        case .idle: return e.frame
        case .mapped(let mapper, let frame, _, _):
            guard mapper == grantee else { throw .grantedToAnother }
            return frame
        }
    }
}
