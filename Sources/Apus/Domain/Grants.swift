// Grants.swift: the grant-table core (ApusCore's GrantSystem) over the machine: table frames are hypervisor frames
// the domain may map (its extras), entries are read and flagged through physical memory, and a grant's references
// are the frame table's. A frame of a destroyed domain that a grant kept alive is freed at its last put. It must
// never decide a grant rule (the core does) nor write a PTE (GrantTableOp does, through the paging core).

import ApusCore
import PVABI

enum Grants {
    static var system = GrantSystem(domainCapacity: Domains.capacity)
    /// Frames of destroyed domains freed when the last grant mapping of them went.
    static var framesFreedLate: UInt32 = 0
    /// The domain being built (not yet in Domains.all) while its table takes its first frame.
    static var building: Domain? = nil

    /// A new domain's table. A domU's starts with one frame whose reserved entries give dom0 its console and
    /// xenstore pages, as Xen's domain builder does. False when no frame is left for it.
    static func addDomain(_ d: Domain, consoleMFN: UInt32?, storeMFN: UInt32?) -> Bool {
        let id = d.id
        guard system.addDomain(id, privileged: d.privileged) else { return false }
        guard let console = consoleMFN, let store = storeMFN else { return true }
        building = d
        defer { building = nil }
        var memory = MachineGrantMemory()
        guard (try? system.setupTable(caller: id, domain: id, frames: 1, &memory)) != nil, let table = system.tableFrame(id, 0) else {
            return false
        }
        memory.seed(table, GrantReservedRef.console, GrantEntry(flags: GrantEntryFlags.permitAccess, domid: 0, frame: console))
        memory.seed(table, GrantReservedRef.xenstore, GrantEntry(flags: GrantEntryFlags.permitAccess, domid: 0, frame: store))
        return true
    }

    /// A destroyed domain (its paging already torn down): its mappings of others' grants go, and its own table goes
    /// now or, while others still map its grants, at their last unmap.
    static func destroyDomain(_ id: UInt16) {
        var memory = MachineGrantMemory()
        var refs = MachineGrantReferences()
        system.destroyDomain(id, &memory, &refs)
    }

    /// Whether `id` may be given to a new domain (a dying table keeps its id).
    static func idIsFree(_ id: UInt16) -> Bool { system.table(id) == nil }
}

/// Table frames and copies over physical memory.
struct MachineGrantMemory: GrantSharedMemory {
    static func entryAddress(_ tableFrame: UInt32, _ index: UInt32) -> UInt64 {
        UInt64(tableFrame) << 12 | UInt64(index % GrantTableLimits.entriesPerFrame) * UInt64(GrantEntryV1Layout.size)
    }

    func entry(tableFrame: UInt32, index: UInt32) -> GrantEntry {
        let at = Self.entryAddress(tableFrame, index)
        let head = Machine.memory.load32(at) ?? 0
        let frame = Machine.memory.load32(at + UInt64(GrantEntryV1Layout.frameOffset)) ?? 0
        return GrantEntry(flags: UInt16(truncatingIfNeeded: head), domid: UInt16(truncatingIfNeeded: head >> 16), frame: frame)
    }

    mutating func setFlags(tableFrame: UInt32, index: UInt32, _ flags: UInt16) {
        let at = Self.entryAddress(tableFrame, index)
        let head = Machine.memory.load32(at) ?? 0
        _ = Machine.memory.store32(at, head & 0xFFFF_0000 | UInt32(flags))
    }

    /// Writes a whole entry (the builder's reserved grants): the frame first, then flags and domid.
    mutating func seed(_ tableFrame: UInt32, _ index: UInt32, _ e: GrantEntry) {
        let at = Self.entryAddress(tableFrame, index)
        _ = Machine.memory.store32(at + UInt64(GrantEntryV1Layout.frameOffset), e.frame)
        _ = Machine.memory.store32(at, UInt32(e.domid) << 16 | UInt32(e.flags))
    }

    mutating func allocateTableFrame(for domain: UInt16) -> UInt32? {
        guard let d = Domains.byID(domain) ?? Grants.building, d.id == domain,
              let frame = Machine.frames.allocate(for: .hypervisor) else { return nil }
        DomainBuild.scrub(frame)
        guard d.memory.extras.add(frame) else {
            _ = Machine.frames.release(frame, from: .hypervisor)
            return nil
        }
        return frame
    }

    mutating func freeTableFrame(_ frame: UInt32, of domain: UInt16) {
        if let d = Domains.byID(domain) { d.memory.extras.remove(frame) }
        let result = Machine.frames.release(frame, from: .hypervisor)
        if result != .released { Log.info("d\(domain): grant-table frame \(hex8: frame << 12) not freed: \(result.reason)") }
    }

    mutating func copyBytes(from sourceFrame: UInt32, _ sourceOffset: UInt32, to destFrame: UInt32, _ destOffset: UInt32, count: UInt32) {
        _ = Machine.memory.copy(from: UInt64(sourceFrame) << 12 | UInt64(sourceOffset), to: UInt64(destFrame) << 12 | UInt64(destOffset),
                                count: UInt64(count))
    }
}

/// A grant's references are the frame table's; the last one on a frame of a destroyed domain frees it.
struct MachineGrantReferences: GrantFrameReferences {
    mutating func get(frame: UInt32, owner: UInt16, writable: Bool) -> Bool {
        Machine.frames.getGrantReference(frame, owner: owner, writable: writable)
    }

    mutating func put(frame: UInt32, owner: UInt16, writable: Bool) {
        guard Machine.frames.putGrantReference(frame, writable: writable), Domains.byID(owner) == nil else { return }
        if Machine.frames.release(frame, from: .domain(owner)) == .released {
            MachineToPhysicalTable.invalidate(frame)
            Grants.framesFreedLate &+= 1
            Log.info("d\(owner): frame \(hex8: frame << 12) freed at its last grant unmap (the domain was destroyed while it was mapped)")
        }
    }
}
