// PAE page-table entries (64 bits at every level) and the split of a 32-bit virtual address into table indices.
// Bit layouts only: it must never decide whether a guest may install an entry (page-table validation does).

/// Flag bits of a PAE entry. The frame number occupies bits 12-51 and is not a flag.
/// Computed, not stored: a stored static of another module is read through a lazy initializer,
/// a computed one folds into a constant where it is used (the paging fast paths use them all).
public struct PTEFlags: OptionSet, Equatable, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static var present: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 0) } }
    public static var writable: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 1) } }
    /// Reachable from ring 3 (rings 0-2 are "supervisor" to the MMU, so ring 1 needs no U bit).
    public static var user: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 2) } }
    public static var writeThrough: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 3) } }
    public static var cacheDisable: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 4) } }
    public static var accessed: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 5) } }
    public static var dirty: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 6) } }
    /// In an L2 entry: maps a 2 MiB page. In an L1 entry the same bit selects the PAT entry.
    public static var pageSize: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 7) } }
    public static var pat: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 7) } }
    /// Kept in the TLB across CR3 loads: for hypervisor mappings, identical in every address space.
    public static var global: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 8) } }
    /// Instruction fetches fault (needs EFER.NXE).
    public static var noExecute: PTEFlags { @inline(__always) get { PTEFlags(rawValue: 1 << 63) } }

    /// Every bit that is not part of the frame number: 0-11 and 52-63.
    public static var allBits: PTEFlags { @inline(__always) get { PTEFlags(rawValue: ~PageTableEntry.frameMask) } }
}

/// One PAE page-table entry at any level: L1 (maps a 4 KiB page), L2 (points at an L1 or
/// maps a 2 MiB page) or L3 (points at an L2).
public struct PageTableEntry: Equatable, Sendable {
    /// Bits 12-51: the machine frame number, shifted.
    public static let frameMask: UInt64 = 0x000F_FFFF_FFFF_F000
    /// Frame numbers have 40 bits (52-bit physical addresses).
    public static let maxFrame: UInt64 = (1 << 40) - 1

    public var raw: UInt64

    public init(raw: UInt64) { self.raw = raw }

    /// An entry for machine frame `frame`. A frame above 40 bits or a flag inside the
    /// frame field is a bug.
    public init(frame: UInt64, flags: PTEFlags) {
        precondition(frame <= PageTableEntry.maxFrame, "PAE frame numbers have 40 bits")
        precondition(flags.rawValue & PageTableEntry.frameMask == 0, "flags overlap the frame field")
        raw = frame << 12 | flags.rawValue
    }

    /// The empty (not present) entry.
    public static var empty: PageTableEntry { @inline(__always) get { PageTableEntry(raw: 0) } }

    /// The machine frame number.
    public var frame: UInt64 { (raw & PageTableEntry.frameMask) >> 12 }
    /// The machine address the entry points at.
    public var address: UInt64 { raw & PageTableEntry.frameMask }
    /// Everything but the frame number.
    public var flags: PTEFlags { PTEFlags(rawValue: raw & ~PageTableEntry.frameMask) }
    @inline(__always) public var isPresent: Bool { raw & 1 != 0 }
}

/// Geometry of PAE paging on a 32-bit address: 4 L3 entries of 1 GiB, 512 L2 entries of
/// 2 MiB, 512 L1 entries of 4 KiB.
public enum PAE {
    public static let entriesPerTable = 512
    public static let l3Entries = 4
    public static let pageSize: UInt32 = 4096

    /// Which of the four L3 entries maps `va` (bits 30-31).
    public static func l3Index(_ va: UInt32) -> Int { Int(va >> 30) }
    /// Which L2 entry maps `va` (bits 21-29).
    public static func l2Index(_ va: UInt32) -> Int { Int((va >> 21) & 511) }
    /// Which L1 entry maps `va` (bits 12-20).
    public static func l1Index(_ va: UInt32) -> Int { Int((va >> 12) & 511) }

    /// The CR3 value a pv32pae guest gets for an L3 at machine frame `mfn`. Xen's rotation
    /// lets a frame above 4 GiB fit a 32-bit CR3 field: the high bits wrap into the low ones.
    public static func xenPfnToCR3(mfn: UInt32) -> UInt32 { mfn << 12 | mfn >> 20 }

    /// The inverse of `xenPfnToCR3`: the machine frame of the L3 a CR3 value names.
    public static func xenCR3ToPfn(_ cr3: UInt32) -> UInt32 { cr3 >> 12 | cr3 << 20 }
}
