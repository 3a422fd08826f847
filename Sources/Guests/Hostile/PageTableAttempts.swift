// PageTableAttempts.swift: the hostile domain runs Linux's page-table lifecycle (a whole new address space with its own
// slot-3 L2 at 0xC0000000, pinned; the boot base unpinned while it is CR3; NEW_BASEPTR; back again) and its abuses,
// printing what the hypervisor really answered. It must never claim a success it did not read back through the mapping.
//
// These are the sequences that once triple-faulted the hypervisor (issue 11). The hypervisor must follow the lifecycle
// as Xen does and refuse each abuse with Xen's errno, its own mappings (M2P, mapcache, image) surviving all of it.

import ApusCore
import GuestKit
import PVABI

enum PageTableAttempts {
    static let tableEntry: UInt64 = 0x67                 // present, writable, user, accessed, dirty (L2/L3, as builders write)
    static let pteReadOnly: UInt64 = 0x21                // present, accessed
    static let pteWritable: UInt64 = 0x63                // present, writable, accessed, dirty
    static let highVA: UInt32 = 0xC000_0000              // mapped only in the new address space, through its own slot-3 L2
    static let magic: UInt32 = 0x4C31_4E58

    static var si: StartInfoView { StartOfDay.startInfo }
    static func mfn(_ pfn: UInt32) -> UInt32 { si.machineFrame(ofPFN: pfn) }
    static func m2p(_ mfn: UInt32) -> UInt32 { UnsafePointer<UInt32>(bitPattern: UInt(XenLayout.mach2physVirtStart))![Int(mfn)] }
    /// Our frames are mapped at pfn << 12 (virt_base 0): a table frame is read there once it is read-only.
    static func entries(_ pfn: UInt32) -> UnsafeMutablePointer<UInt64> { UnsafeMutablePointer<UInt64>(bitPattern: UInt(pfn << 12))! }
    static func remap(_ pfn: UInt32, _ flags: UInt64) -> Int32 {
        xen.updateVAMapping(pfn << 12, UInt64(mfn(pfn)) << 12 | flags, flags: UpdateVAFlags.invalidatePage)
    }

    /// A step of the lifecycle that must be allowed and must do what it says (counted with the refusals: contained).
    static func expectAllowed(_ what: StaticString, _ ok: Bool, _ detail: LogLine) {
        Hostile.total += 1
        if ok { Hostile.refused += 1 }
        _ = detail.withBytes { Hostile.console.print("hostile: \(what): \(ok ? "allowed" : "FAILED") (\(text: $0))") }
    }

    static func run() {
        let n = si.nrPages
        // The top frames lie in the start-of-day padding, mapped writable and unused.
        let (l3, l2low, l2high, l1high, data, sharedSlot3, empty) = (n - 1, n - 2, n - 3, n - 4, n - 5, n - 6, n - 7)
        let bootStack = (si.ptBase >> 12) + si.nrPtFrames                        // the page after the tables
        guard empty > bootStack, empty << 12 >= guest_symbol(GuestSymbol.imageEnd) else {
            Hostile.console.print("hostile: page-table attempts: no spare frames at the top of memory; this is a failure")
            return
        }
        let bootL3 = mfn(si.ptBase >> 12)
        let boot = entries(si.ptBase >> 12)
        let bootL2low = UInt32(truncatingIfNeeded: (boot[0] & PageTableEntry.frameMask) >> 12)

        // a. A complete new address space, written while its frames are still plain writable pages.
        for pfn in [l3, l2low, l2high, l1high, data, sharedSlot3, empty] {
            let p = entries(pfn)
            for i in 0..<512 { p[i] = 0 }
        }
        let oldLow = entries(m2p(bootL2low))
        let newLow = entries(l2low)
        for i in 0..<512 { newLow[i] = oldLow[i] }                                  // the same L1s: our kernel stays mapped
        entries(l1high)[0] = UInt64(mfn(data)) << 12 | pteWritable
        entries(l2high)[PAE.l2Index(highVA)] = UInt64(mfn(l1high)) << 12 | tableEntry
        let newL3 = entries(l3)
        newL3[0] = UInt64(mfn(l2low)) << 12 | tableEntry
        newL3[1] = boot[1]
        newL3[2] = boot[2]
        newL3[3] = UInt64(mfn(l2high)) << 12 | tableEntry                         // our own L2 for 0xC0000000 and up
        // An L3 whose slot 3 names the ordinary L2 just built (once that is in use), and an L3 with no slot 3.
        entries(sharedSlot3)[3] = UInt64(mfn(l2low)) << 12 | tableEntry
        var rc: Int32 = 0
        for pfn in [l3, l2low, l2high, l1high, sharedSlot3, empty] where remap(pfn, pteReadOnly) != 0 { rc = -1 }
        let pin = rc == 0 ? MMUExtBatch.single(xen, .pinL3Table, mfn(l3)) : rc
        // The hypervisor's entries, as the boot slot-3 L2 (the one the CPU walks now) holds them.
        let bootHigh = entries(m2p(UInt32(truncatingIfNeeded: (boot[3] & PageTableEntry.frameMask) >> 12)))
        var same: UInt32 = 0
        var present: UInt32 = 0
        for i in HypervisorL2Slots.first..<512 where entries(l2high)[i] == bootHigh[i] {
            same += 1
            if bootHigh[i] & 1 != 0 { present += 1 }
        }
        expectAllowed("build and pin a new L3 with its own L2 for 0xc0000000 and up", pin == 0 && same == 84 && present > 0,
                      "returned \(pin); its slot-3 L2 received \(same) of the 84 hypervisor entries, \(present) present")

        let unpinBase = MMUExtBatch.single(xen, .unpinTable, bootL3)
        expectAllowed("unpin its boot base while it is still CR3, as Linux does", unpinBase == 0, "returned \(unpinBase)")

        let switched = MMUExtBatch.single(xen, .newBaseptr, mfn(l3))
        var through: UInt32 = 0
        var m2pSeen: UInt32 = 0
        if switched == 0 {
            UnsafeMutablePointer<UInt32>(bitPattern: UInt(highVA))!.pointee = magic
            through = UnsafePointer<UInt32>(bitPattern: UInt(data << 12))!.pointee
            m2pSeen = m2p(mfn(data))                                                // the M2P, through our own slot-3 L2
        }
        expectAllowed("NEW_BASEPTR to it and run there", switched == 0 && through == magic && m2pSeen == data,
                      "returned \(switched); wrote \(hex8: magic) at 0xc0000000, read \(hex8: through) at its low alias; m2p says pfn \(hex: m2pSeen)")

        // b. The abuses, on the new base.
        var hvSlot = MMUBatch()
        hvSlot.normal(entryAt: UInt64(mfn(l2high)) << 12 | 511 * 8, UInt64(mfn(l1high)) << 12 | tableEntry)
        Hostile.expectError("mmu_update of a hypervisor entry (slot 511) in its own slot-3 L2", hvSlot.run(xen).rc, 1)
        let window = guest_symbol(GuestSymbol.scratchWindow)
        let home = UInt64(mfn(window >> 12)) << 12 | pteWritable
        Hostile.expectError("map its own slot-3 L2 writable",
                            xen.updateVAMapping(window, UInt64(mfn(l2high)) << 12 | pteWritable, flags: UpdateVAFlags.invalidatePage), 22)
        Hostile.expectError("map its pinned L3, the current base, writable",
                            xen.updateVAMapping(window, UInt64(mfn(l3)) << 12 | pteWritable, flags: UpdateVAFlags.invalidatePage), 22)
        Hostile.expectError("unpin the boot base a second time", MMUExtBatch.single(xen, .unpinTable, bootL3), 22)
        Hostile.expectError("pin an L3 whose slot 3 is an L2 in use as an ordinary L2",
                            MMUExtBatch.single(xen, .pinL3Table, mfn(sharedSlot3)), 22)
        Hostile.expectError("NEW_BASEPTR to that unpinned, unvalidatable L3", MMUExtBatch.single(xen, .newBaseptr, mfn(sharedSlot3)), 22)
        Hostile.expectError("NEW_BASEPTR to an L3 with no L2 under slot 3", MMUExtBatch.single(xen, .newBaseptr, mfn(empty)), 22)
        freeLiveTable(l1high, window: window)
        _ = xen.updateVAMapping(window, home, flags: UpdateVAFlags.invalidatePage)

        // Back to the boot base (validated again: its slot-3 L2 gets the hypervisor's entries back), then let the new one go.
        let back = MMUExtBatch.single(xen, .newBaseptr, bootL3)
        Hostile.lastVector = 0xFFFF
        let gone = back == 0 && guest_probe_read(highVA) == 1 && Hostile.lastVector == 14
        expectAllowed("NEW_BASEPTR back to the unpinned boot base", gone, "returned \(back); 0xc0000000 is unmapped there (vector \(Hostile.lastVector))")
        let unpinNew = MMUExtBatch.single(xen, .unpinTable, mfn(l3))
        let writable = unpinNew == 0 ? remap(l2high, pteWritable) : -1
        var left: UInt32 = 0
        if writable == 0 { for i in HypervisorL2Slots.first..<512 where entries(l2high)[i] != 0 { left += 1 } }
        expectAllowed("unpin the new L3: its slot-3 L2 is a plain page again, the hypervisor's entries gone",
                      unpinNew == 0 && writable == 0 && left == 0, "returned \(unpinNew), remapped writable \(writable), \(left) entries left")
    }

    /// XENMEM_decrease_reservation of a frame that is a live page table (an L1 of the current base). Whatever the
    /// hypervisor answers, the frame must stay a table: still mapped at 0xC0000000, still never writable.
    static func freeLiveTable(_ pfn: UInt32, window: UInt32) {
        // struct xen_memory_reservation on x86_32: extent_start (handle) 0, nr_extents 4, extent_order 8,
        // mem_flags 12, domid 16; the extents are machine frames for a PV guest.
        var frames = HypercallRecord(stride: 4)
        frames.set(mfn(pfn), at: 0)
        var reservation = HypercallRecord(stride: 20)
        reservation.set(UInt32(1), at: 4)
        reservation.set(SpecialDomainID.selfID, at: 16)
        let rc = frames.withAddress { list in
            reservation.set(list, at: 0)
            return reservation.withAddress { xen.memoryOp(MemoryOpCommand.decreaseReservation.rawValue, $0) }
        }
        let stillMapped = UnsafePointer<UInt32>(bitPattern: UInt(highVA))!.pointee == magic
        let writable = xen.updateVAMapping(window, UInt64(mfn(pfn)) << 12 | pteWritable, flags: UpdateVAFlags.invalidatePage)
        let contained = stillMapped && writable == -22
        Hostile.total += 1
        if contained { Hostile.refused += 1 }
        Hostile.console.print("hostile: free a live L1 with decrease_reservation: \(contained ? "contained" : "NOT contained") (returned \(rc); the table still maps 0xc0000000: \(stillMapped), mapping it writable returned \(writable))")
    }
}
