// DomUGrants.swift: a domU's own grant table: one frame set up with GNTTABOP_setup_table and mapped
// over a page of its own, references from GrantRefPool, v1 entries written frame first and flags last
// (as Xen requires), and page-aligned zeroed pages with their machine frames for rings and buffers.
// Guest images only. It never grants a page it did not allocate here.

import ApusCore
import PVABI

public enum DomUGrants {
    static var entries: UnsafeMutablePointer<UInt32>? = nil
    static var pool = GrantRefPool(limit: GrantTableLimits.entriesPerFrame)

    /// A zeroed page of the domain's memory and its machine frame.
    public static func page() -> (UnsafeMutableRawPointer, UInt32) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        for i in 0..<1024 { p.storeBytes(of: 0, toByteOffset: i * 4, as: UInt32.self) }
        let va = UInt32(UInt(bitPattern: p))
        return (p, StartOfDay.startInfo.machineFrame(ofPFN: va >> 12))
    }

    /// GNTTABOP_setup_table for one frame and its mapping: 0, or the failing call's result.
    public static func setup() -> Int32 {
        if entries != nil { return 0 }
        var setup = HypercallRecord(stride: GrantSetupTableLayout.size)
        var frames = HypercallRecord(stride: 4)
        setup.set(SpecialDomainID.selfID, at: GrantSetupTableLayout.domOffset)
        setup.set(UInt32(1), at: GrantSetupTableLayout.nrFramesOffset)
        let rc = frames.withAddress { list in
            setup.set(list, at: GrantSetupTableLayout.frameListOffset)
            return setup.withAddress { xen.grantTableOp(.setupTable, $0, count: 1) }
        }
        guard rc == 0 else { return rc }
        let status = setup.get(Int16.self, at: GrantSetupTableLayout.statusOffset)
        guard status == 0 else { return Int32(status) }
        let (table, _) = page()
        let mapped = xen.updateVAMapping(UInt32(UInt(bitPattern: table)), UInt64(frames.get(UInt32.self, at: 0)) << 12 | 0x63,
                                         flags: UpdateVAFlags.invalidatePage)
        guard mapped == 0 else { return mapped }
        entries = table.assumingMemoryBound(to: UInt32.self)
        return 0
    }

    /// A new grant giving `domain` access to `frame`; nil when the table is not set up or full.
    public static func grant(_ frame: UInt32, to domain: UInt16, readonly: Bool) -> UInt32? {
        guard let entries, let ref = pool.take() else { return nil }
        entries[Int(ref) * 2 + 1] = frame
        guest_compiler_barrier()
        entries[Int(ref) * 2] = UInt32(GrantEntryFlags.permitAccess | (readonly ? GrantEntryFlags.readonly : 0)) | UInt32(domain) << 16
        return ref
    }

    /// Ends `ref`'s access when the other end holds no mapping of it: false (kept) when it does.
    public static func end(_ ref: UInt32) -> Bool {
        guard let entries, ref < pool.limit else { return false }
        guest_compiler_barrier()
        let flags = UInt16(truncatingIfNeeded: entries[Int(ref) * 2])
        guard flags & (GrantEntryFlags.reading | GrantEntryFlags.writing) == 0 else { return false }
        entries[Int(ref) * 2] = 0
        return pool.give(ref)
    }

    /// References handed out and not ended.
    public static var inUse: UInt32 { pool.inUse }
}
