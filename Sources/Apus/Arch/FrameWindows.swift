// FrameWindows.swift: a few lasting windows onto the machine frames the paging core touched last
// (the top 16 mapcache slots, kept out of Mapcache's hands). Validating or tearing down a table
// reads its 512 entries one by one, and one update_va_mapping walks an L3, an L2 and an L1: with
// windows that stay mapped across accesses and hypercalls, only the first access to a frame costs
// a PTE write and an invlpg. Windows are the hypervisor's alone; it must never hand one out to a
// caller that keeps it across another access.
//
// Two-way set associative: a frame can live in one of the two windows of set `frame % 8`, so a
// hit is two compares and the walk's three tables rarely evict each other; a miss replaces the way
// of the set not used last.

import ApusCore

enum FrameWindows {
    static let count = 16
    static let sets = 8
    /// The first mapcache slot they use; Mapcache never allocates from here on.
    static let firstSlot = Int(AddressMap.mapcacheSlots) - count
    /// The frame each window maps (.max: none). Frames are below 2^20: RAM ends below 4 GiB.
    static var frames = InlineArray<16, UInt32>(repeating: .max)
    /// Per set, the way (0 or 1) a miss replaces next: the one not used last.
    static var victim = InlineArray<8, UInt8>(repeating: 0)
    static var misses: UInt64 = 0

    static func initialize() {
        for i in 0..<count { Mapcache.inUse[firstSlot + i] = true }
    }

    @inline(__always)
    static func address(_ i: Int) -> UInt32 { AddressMap.mapcacheStart &+ UInt32(truncatingIfNeeded: firstSlot &+ i) << 12 }

    /// A writable window onto `frame`, valid until the next call.
    @inline(__always)
    static func window(for frame: UInt32) -> UInt32 {
        let set = Int(truncatingIfNeeded: frame & UInt32(sets - 1))
        let way0 = set &* 2
        if frames[way0] == frame {
            victim[set] = 1
            return address(way0)
        }
        if frames[way0 &+ 1] == frame {
            victim[set] = 0
            return address(way0 &+ 1)
        }
        return map(frame, set: set)
    }

    /// A miss: the set's victim window now maps `frame`.
    @inline(never)
    static func map(_ frame: UInt32, set: Int) -> UInt32 {
        let way = Int(victim[set])
        let i = set &* 2 &+ way
        victim[set] = UInt8(1 &- way)
        frames[i] = frame
        var flags: PTEFlags = [.present, .writable, .accessed, .dirty]
        if HypervisorPaging.nxSupported { flags.insert(.noExecute) }
        HypervisorPaging.mapcacheL1[firstSlot + i] = PageTableEntry(frame: UInt64(frame), flags: flags).raw
        TLB.flush(page: address(i))
        misses &+= 1
        return address(i)
    }
}

extension DirectPhysicalMemory {
    /// A frame's entries in place (PhysicalMemory.tableEntries): the direct map, or a lasting
    /// window that stays valid until the next access through this memory. Nil unless the whole
    /// frame lies below `limit`, the same bound load64/store64 apply.
    @inline(__always)
    mutating func tableEntries(_ frame: UInt32) -> UnsafeMutablePointer<UInt64>? {
        // frameLimit is limit >> 12, kept beside it: one 32-bit load and compare.
        guard frame < frameLimit else { return nil }
        let va = frame < AddressMap.directMapSize >> 12
            ? AddressMap.directMapStart &+ frame << 12
            : FrameWindows.window(for: frame)
        return UnsafeMutablePointer<UInt64>(bitPattern: UInt(va))
    }
}
