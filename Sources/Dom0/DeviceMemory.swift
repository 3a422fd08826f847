// DeviceMemory.swift: dom0 maps a device's memory (a PCI memory BAR) into its address space the Xen
// way: mmu_update with foreign domain DOMID_IO on the L1 entries of free pages of its window. The
// hypervisor refuses RAM and frames dom0 was not given, and makes every such entry uncached. This file
// only asks; it never maps RAM and never maps a BAR larger than the window allows.

import ApusCore
import GuestKit
import PVABI

enum DeviceMemory {
    /// The most pages one mapping may take (virtio's regions fit in 16 KiB).
    static let maxPages = 16
    static let entryFlags: UInt64 = 0x3                 // present, writable (PCD/PWT: the hypervisor's)

    /// Maps `bytes` of device memory at machine address `base` (page-aligned); the virtual address
    /// of its first byte, or nil with the reason printed.
    static func map(base: UInt64, bytes: UInt64) -> UInt32? {
        guard base & 0xFFF == 0, bytes > 0, bytes <= UInt64(maxPages) * 4096 else {
            console.print("device memory: \(hex: base) (\(bytes) bytes) is not a page-aligned region of at most \(UInt32(maxPages)) pages")
            return nil
        }
        let pages = Int((bytes + 0xFFF) >> 12)
        guard let va = GrantWindow.claim(count: pages) else {
            console.print("device memory: no \(UInt32(pages)) free pages in the window for \(hex: base)")
            return nil
        }
        var batch = MMUBatch()
        for i in 0..<pages {
            let page = va + UInt32(i) * 4096
            batch.normal(entryAt: OwnPageTables.l1EntryMachine(of: page), (base + UInt64(i) * 4096) | entryFlags)
        }
        let (rc, done) = batch.run(xen, domain: SpecialDomainID.io)
        guard rc == 0 else {
            console.print("device memory: mmu_update DOMID_IO of \(hex: base) refused with \(rc) after \(done) pages")
            return nil
        }
        return va
    }

    /// Asks for one page at machine address `frame << 12` through DOMID_IO and gives it back at
    /// once: the errno the hypervisor answered (0 when it mapped it).
    static func probe(frame: UInt64) -> Int32 {
        guard let va = GrantWindow.claim(count: 1) else { return -12 }
        var batch = MMUBatch()
        batch.normal(entryAt: OwnPageTables.l1EntryMachine(of: va), frame << 12 | entryFlags)
        let rc = batch.run(xen, domain: SpecialDomainID.io).rc
        // Unmapped again (with its TLB entry) before the slot goes back.
        if rc == 0 && xen.updateVAMapping(va, 0, flags: UpdateVAFlags.invalidatePage) != 0 { return rc }
        GrantWindow.release(va)
        return rc
    }
}
