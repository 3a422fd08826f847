// MachineToPhysicalTable.swift: the M2P, one entry per machine frame saying which pfn its owner
// calls it, written through the hypervisor's writable alias (guests read the read-only view).
// This is the M2P's only writer; it must never write past the entries set up at boot.

import ApusCore

struct MachineToPhysicalTable: MachineToPhysicalStore {
    /// The entry of a frame no domain owns.
    static let invalid: UInt32 = 0xFFFF_FFFF
    /// Entries the table holds (one per machine frame up to the highest usable one), fixed at boot.
    private(set) static var entries: UInt32 = 0

    /// Boot: maps both views of the `largePages` 2 MiB pages from machine frame `firstFrame`
    /// and makes every entry invalid; `count` entries are in use.
    static func initialize(firstFrame: UInt32, largePages: Int, entries count: UInt32) {
        HypervisorPaging.mapLarge(va: AddressMap.m2pWritableStart, firstFrame: firstFrame, count: largePages, writable: true)
        HypervisorPaging.mapLarge(va: AddressMap.m2pReadOnlyStart, firstFrame: firstFrame, count: largePages, writable: false)
        _ = apus_fill(UnsafeMutableRawPointer(bitPattern: UInt(AddressMap.m2pWritableStart))!, 0xFF, largePages << 21)
        entries = count
    }

    /// Machine frame `mfn` is now its owner's `pfn`; a frame past the table is ignored.
    static func set(_ mfn: UInt32, to pfn: UInt32) {
        guard mfn < entries else { return }
        pointer(to: UInt32.self, at: AddressMap.m2pWritableStart)[Int(mfn)] = pfn
    }

    /// Machine frame `mfn` has no owner any more.
    static func invalidate(_ mfn: UInt32) { set(mfn, to: invalid) }

    /// ApusCore's view (MMU_MACHPHYS_UPDATE): the same bounds-checked write.
    mutating func setM2P(mfn: UInt32, pfn: UInt32) { Self.set(mfn, to: pfn) }
}
