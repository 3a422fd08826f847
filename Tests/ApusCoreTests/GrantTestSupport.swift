// GrantTestSupport.swift: the fakes the grant-table tests run the core over: table frames and page bytes in
// dictionaries, and a frame table that owns frames, counts grant references and frees a destroyed owner's frames
// at their last reference. Test-only; they decide no grant rule.

import PVABI
@testable import ApusCore

struct FakeGrantMemory: GrantSharedMemory {
    var tables: [UInt32: [GrantEntry]] = [:]
    var pages: [UInt32: [UInt8]] = [:]
    var nextFrame: UInt32 = 0x10000
    /// How many more table frames may be allocated (nil: any).
    var framesLeft: Int? = nil
    var allocated: [UInt32: UInt16] = [:]
    var freed: [UInt32] = []
    var copies = 0

    func entry(tableFrame: UInt32, index: UInt32) -> GrantEntry {
        precondition(index < 512)
        return tables[tableFrame]![Int(index)]
    }
    mutating func setFlags(tableFrame: UInt32, index: UInt32, _ flags: UInt16) { tables[tableFrame]![Int(index)].flags = flags }
    mutating func allocateTableFrame(for domain: UInt16) -> UInt32? {
        if let n = framesLeft { guard n > 0 else { return nil }; framesLeft = n - 1 }
        let f = nextFrame
        nextFrame += 1
        tables[f] = Array(repeating: GrantEntry(flags: 0, domid: 0, frame: 0), count: 512)
        allocated[f] = domain
        return f
    }
    mutating func freeTableFrame(_ frame: UInt32, of domain: UInt16) {
        precondition(allocated[frame] == domain, "freed a table frame of another domain")
        allocated[frame] = nil
        tables[frame] = nil
        freed.append(frame)
        if let n = framesLeft { framesLeft = n + 1 }
    }
    mutating func copyBytes(from s: UInt32, _ so: UInt32, to d: UInt32, _ dOff: UInt32, count: UInt32) {
        precondition(so + count <= 4096 && dOff + count <= 4096)
        copies += 1
        let src = page(s)
        var dst = page(d)
        for i in 0..<Int(count) { dst[Int(dOff) + i] = src[Int(so) + i] }
        pages[d] = dst
    }
    func page(_ f: UInt32) -> [UInt8] { pages[f] ?? Array(repeating: UInt8(truncatingIfNeeded: f), count: 4096) }

    /// The granter writes entry `ref` of `domain`'s table.
    mutating func grant(_ system: GrantSystem, _ domain: UInt16, ref: UInt32, to grantee: UInt16, frame: UInt32, readonly: Bool = false,
                        type: UInt16 = GrantEntryFlags.permitAccess) {
        let t = system.table(domain)!
        let tf = t.frames[Int(ref / 512)]
        let keep = tables[tf]![Int(ref % 512)].flags & (GrantEntryFlags.reading | GrantEntryFlags.writing)
        tables[tf]![Int(ref % 512)] = GrantEntry(flags: type | (readonly ? GrantEntryFlags.readonly : 0) | keep, domid: grantee, frame: frame)
    }
    func flags(_ system: GrantSystem, _ domain: UInt16, ref: UInt32) -> UInt16 {
        let t = system.table(domain)!
        return tables[t.frames[Int(ref / 512)]]![Int(ref % 512)].flags
    }
}

struct FakeFrameTable: GrantFrameReferences {
    var owner: [UInt32: UInt16] = [:]
    var refs: [UInt32: Int] = [:]
    var writableRefs: [UInt32: Int] = [:]
    var pageTables: Set<UInt32> = []
    var deadOwners: Set<UInt16> = []
    var freed: [UInt32] = []

    mutating func give(_ frames: ClosedRange<UInt32>, to d: UInt16) { for f in frames { owner[f] = d } }

    mutating func get(frame: UInt32, owner o: UInt16, writable: Bool) -> Bool {
        guard owner[frame] == o else { return false }
        if writable && pageTables.contains(frame) { return false }
        refs[frame, default: 0] += 1
        if writable { writableRefs[frame, default: 0] += 1 }
        return true
    }
    mutating func put(frame: UInt32, owner o: UInt16, writable: Bool) {
        precondition(owner[frame] == o && refs[frame, default: 0] > 0, "put without get")
        refs[frame]! -= 1
        if writable { precondition(writableRefs[frame, default: 0] > 0); writableRefs[frame]! -= 1 }
        if refs[frame] == 0 { refs[frame] = nil; if deadOwners.contains(o) { owner[frame] = nil; freed.append(frame) } }
        if writableRefs[frame] == 0 { writableRefs[frame] = nil }
    }
    /// The domain's memory goes: frames nobody references are freed now, the rest at their last put.
    mutating func destroy(_ d: UInt16) {
        deadOwners.insert(d)
        for (f, o) in owner where o == d && refs[f] == nil { owner[f] = nil; freed.append(f) }
    }
}
