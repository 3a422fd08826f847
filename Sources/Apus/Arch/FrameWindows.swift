// FrameWindows.swift: a few lasting windows onto the machine frames the paging core touched last
// (the top 16 mapcache slots, kept out of Mapcache's hands). Validating or tearing down a table
// reads its 512 entries one by one: with a window that stays mapped, only the first access to a
// frame costs a PTE write and an invlpg, not every access (two of each). Windows are the
// hypervisor's alone; it must never hand one out to a caller that keeps it across another access.

import ApusCore

enum FrameWindows {
    static let count = 16
    /// The first mapcache slot they use; Mapcache never allocates from here on.
    static let firstSlot = Int(AddressMap.mapcacheSlots) - count
    static var frames = InlineArray<16, UInt64>(repeating: .max)
    static var last = 0
    static var next = 0
    static var misses: UInt64 = 0

    static func initialize() {
        for i in 0..<count { Mapcache.inUse[firstSlot + i] = true }
    }

    static func address(_ i: Int) -> UInt32 { AddressMap.mapcacheStart + UInt32(firstSlot + i) << 12 }

    /// A writable window onto `frame`, valid until the next call.
    static func window(for frame: UInt64) -> UInt32 {
        if frames[last] == frame { return address(last) }
        for i in 0..<count where frames[i] == frame {
            last = i
            return address(i)
        }
        let i = next
        next = (next + 1) % count
        frames[i] = frame
        var flags: PTEFlags = [.present, .writable, .accessed, .dirty]
        if HypervisorPaging.nxSupported { flags.insert(.noExecute) }
        HypervisorPaging.mapcacheL1[firstSlot + i] = PageTableEntry(frame: frame, flags: flags).raw
        TLB.flush(page: address(i))
        misses &+= 1
        last = i
        return address(i)
    }
}
