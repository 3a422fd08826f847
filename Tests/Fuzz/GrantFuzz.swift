// GrantFuzz.swift: the fuzz target for grant_table_op: the decoder and its element readers over ImageMemory, then every
// decoded element applied to a small grant-table core whose shared entries are the fuzz image itself. A trap, a copy
// out, a span past a page, an unbalanced frame reference or a table frame left after every domain is destroyed is a
// finding. Fuzzing only; never part of the hypervisor.

import ApusCore
import PVABI

/// Table entries read from the fuzz image (so the input chooses every flag, domid and frame), flags written to an overlay.
struct FuzzGrantMemory: GrantSharedMemory {
    let image: UnsafeRawBufferPointer
    var flags: [UInt32: UInt16] = [:]
    var allocated: [UInt32] = []
    var next: UInt32 = 0x8000

    func entry(tableFrame: UInt32, index: UInt32) -> GrantEntry {
        precondition(index < GrantTableLimits.entriesPerFrame && allocated.contains(tableFrame), "an entry outside the table was read")
        let key = tableFrame << 9 | index
        guard image.count >= 8 else { return GrantEntry(flags: flags[key] ?? 0, domid: 0, frame: 0) }
        let at = Int((tableFrame &* 512 &+ index) &* 8) % (image.count - 7)
        func u16(_ o: Int) -> UInt16 { UInt16(image[at + o]) | UInt16(image[at + o + 1]) << 8 }
        let written = u16(0) & ~(GrantEntryFlags.reading | GrantEntryFlags.writing)
        // Entries name domains 0-2 and frames 0x000-0x2FF often enough to be honoured.
        return GrantEntry(flags: written | (flags[key] ?? 0), domid: u16(2) % 4, frame: UInt32(u16(4)) % 0x340)
    }
    mutating func setFlags(tableFrame: UInt32, index: UInt32, _ f: UInt16) {
        flags[tableFrame << 9 | index] = f & (GrantEntryFlags.reading | GrantEntryFlags.writing)
    }
    mutating func allocateTableFrame(for domain: UInt16) -> UInt32? {
        guard allocated.count < 40 else { return nil }
        next += 1
        allocated.append(next)
        return next
    }
    mutating func freeTableFrame(_ frame: UInt32, of domain: UInt16) {
        guard let i = allocated.firstIndex(of: frame) else { fatalError("a table frame was freed twice") }
        allocated.remove(at: i)
    }
    mutating func copyBytes(from s: UInt32, _ so: UInt32, to d: UInt32, _ dOff: UInt32, count: UInt32) {
        precondition(so + count <= 4096 && dOff + count <= 4096, "a grant copy crossed a page")
    }
}

/// Frames 0x100 * d ..< 0x100 * (d + 1) belong to domain d; frames ending in 0xF are page tables.
struct FuzzFrameReferences: GrantFrameReferences {
    var refs = [Int](repeating: 0, count: 0x400)
    mutating func get(frame: UInt32, owner: UInt16, writable: Bool) -> Bool {
        guard frame < 0x300, frame >> 8 == UInt32(owner), !(writable && frame & 0xF == 0xF) else { return false }
        refs[Int(frame)] += 1
        return true
    }
    mutating func put(frame: UInt32, owner: UInt16, writable: Bool) {
        precondition(frame >> 8 == UInt32(owner) && refs[Int(frame)] > 0, "a frame reference was put that was never taken")
        refs[Int(frame)] -= 1
    }
}

enum GrantFuzz {
    /// One input: `a` as grant_table_op's registers (a4 picks the calling domain 0-2, a5 seeds a first map), the
    /// image as guest memory and as the shared entries of domains 0-2.
    static func run(_ a: HypercallArguments, _ m: inout ImageMemory, _ image: UnsafeRawBufferPointer) {
        var g = GrantSystem(domainCapacity: 4)
        var mem = FuzzGrantMemory(image: image)
        var refs = FuzzFrameReferences()
        g.addDomain(0, privileged: true)
        g.addDomain(1, privileged: false, maxFrames: 2, maxHandles: 8)
        g.addDomain(2, privileged: false, maxFrames: 4)
        for d: UInt16 in 0...2 { _ = try? g.setupTable(caller: d, domain: d, frames: 1, &mem) }
        let caller = UInt16(a.a4 % 3)
        // A mapping made before the call, so unmap and destroy have something to find.
        _ = try? g.map(caller: caller, granter: UInt16(a.a5 % 3), ref: a.a5 >> 2 & 0x1FF, flags: GrantMapFlags.hostMap | (a.a5 >> 20 & 4),
                       hostAddress: 0x40_0000, &mem, &refs)

        switch GrantTableRequest.decode(a, &m) {
        case .failure: break
        case .success(.mapGrantRef(let list)):
            var i: UInt32 = 0
            while i < list.count && i < 16, let e = GrantMapElement.read(list, i, &m) {
                if let r = try? g.map(caller: caller, granter: e.domain, ref: e.ref, flags: e.flags, hostAddress: e.hostAddress, &mem, &refs) {
                    precondition(g.mapping(caller, handle: r.handle) != nil)
                    _ = GrantMapElement.result(.okay, handle: r.handle, deviceAddress: r.deviceAddress)
                }
                i += 1
            }
        case .success(.unmapGrantRef(let list)):
            var i: UInt32 = 0
            while i < list.count && i < 16, let e = GrantUnmapElement.read(list, i, &m) {
                _ = try? g.unmap(caller: caller, handle: e.handle, hostAddress: e.hostAddress, deviceAddress: e.deviceAddress, &mem, &refs)
                i += 1
            }
        case .success(.copy(let list)):
            var i: UInt32 = 0
            while i < list.count && i < 16, let e = GrantCopyElement.read(list, i, &m) {
                _ = try? g.copy(caller: caller, source: e.source, dest: e.dest, length: e.length, &mem, &refs)
                i += 1
            }
        case .success(.setupTable(let domain, let frames, let list, _)):
            if let d = try? g.setupTable(caller: caller, domain: domain, frames: frames, &mem) {
                precondition(list != nil && list!.count == frames, "setup_table accepted a count its list was not checked for")
                for i in 0..<frames { precondition(g.tableFrame(d, i) != nil) }
            }
        case .success(.querySize(let domain, _)):
            if let q = try? g.querySize(caller: caller, domain: domain) { _ = GrantQuerySizeOut.bytes(frames: q.frames, maxFrames: q.maxFrames, status: .okay) }
        case .success(.setVersion(let v, _)): _ = try? g.setVersion(caller: caller, version: v)
        case .success(.getVersion(let domain, _)): _ = try? g.getVersion(caller: caller, domain: domain)
        }

        // Destroying every domain, in an order the input picks, leaves no reference and no table frame behind.
        let order: [UInt16] = a.a5 & 1 == 0 ? [0, 1, 2] : [2, 1, 0]
        for d in order { g.destroyDomain(d, &mem, &refs) }
        precondition(refs.refs.allSatisfy { $0 == 0 }, "a frame reference outlived every domain")
        precondition(mem.allocated.isEmpty, "a grant-table frame outlived every domain")
        for d: UInt16 in 0...2 { precondition(g.table(d) == nil, "a grant table outlived its domain") }
    }
}
