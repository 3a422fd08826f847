// The per-machine-frame record of the frame table: who owns the frame, its page type and its counts.
// A plain 16-byte value: it must never grow (the table holds one per frame of RAM) or hold references.

/// Who a machine frame belongs to. Domain ids follow Xen: 0 through 0x7FEF are real
/// domains, the ids above are special.
public enum FrameOwner: Equatable, Sendable {
    /// On the allocator's free list.
    case free
    /// The hypervisor's own: its image, frame table, page tables, heap.
    case hypervisor
    /// Not RAM the allocator manages: holes, firmware, MMIO, or beyond the table.
    case notRAM
    /// Holds a boot module (dom0's kernel or initrd) until the domain builder is done with it.
    case bootModule
    /// Belongs to domain `id` (0 is dom0).
    case domain(UInt16)

    /// The highest id a real domain may have; 0x7FF0 and up are Xen's special ids.
    public static let maxDomainID: UInt16 = 0x7FEF

    /// Raw encodings. The hypervisor and not-RAM use Xen's DOMID_XEN and DOMID_IO, the
    /// owners Xen gives such frames; free and boot-module frames use values no domain id can take.
    public static let rawNotRAM: UInt16 = 0x7FF1
    public static let rawHypervisor: UInt16 = 0x7FF2
    public static let rawBootModule: UInt16 = 0xFFFE
    public static let rawFree: UInt16 = 0xFFFF

    /// Nil for a raw value that encodes no owner.
    public init?(raw: UInt16) {
        switch raw {
        case FrameOwner.rawFree: self = .free
        case FrameOwner.rawHypervisor: self = .hypervisor
        case FrameOwner.rawNotRAM: self = .notRAM
        case FrameOwner.rawBootModule: self = .bootModule
        case 0...FrameOwner.maxDomainID: self = .domain(raw)
        default: return nil
        }
    }

    /// The raw encoding; nil for a domain id above `maxDomainID`, which no frame may have.
    public var raw: UInt16? {
        switch self {
        case .free: return FrameOwner.rawFree
        case .hypervisor: return FrameOwner.rawHypervisor
        case .notRAM: return FrameOwner.rawNotRAM
        case .bootModule: return FrameOwner.rawBootModule
        case .domain(let id): return id <= FrameOwner.maxDomainID ? id : nil
        }
    }
}

/// What a frame is used as. A frame changes type only while its type count is zero,
/// so a page table can never also be mapped writable.
public enum PageType: UInt8, Sendable {
    /// No type: not in use as anything the hypervisor must protect.
    case none = 0
    /// Mapped writable by a guest somewhere.
    case writable
    /// A validated PAE L1 (page table).
    case l1
    /// A validated PAE L2 (page directory).
    case l2
    /// A validated PAE L3 (page-directory-pointer table).
    case l3
    /// A guest GDT or LDT page.
    case segmentDescriptor
}

/// Per-frame state bits (computed statics: constants where used, no lazy initializer).
public struct FrameFlags: OptionSet, Equatable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The guest pinned the frame's type (mmuext pin): it keeps one type reference.
    public static var pinned: FrameFlags { @inline(__always) get { FrameFlags(rawValue: 1 << 0) } }
    /// The frame's contents have been checked for its current type.
    public static var validated: FrameFlags { @inline(__always) get { FrameFlags(rawValue: 1 << 1) } }
    /// An L2 typed for L3 slot 3: entries 428-511 are the hypervisor's, written by it on
    /// validation and never the guest's. Part of the type: such an L2 is never also a plain L2.
    public static var hypervisorSlots: FrameFlags { @inline(__always) get { FrameFlags(rawValue: 1 << 2) } }
    /// Free frames only: every byte is zero (the frame is on the scrubbed free list).
    public static var scrubbed: FrameFlags { @inline(__always) get { FrameFlags(rawValue: 1 << 3) } }
}

/// One machine frame's entry in the frame table. 16 bytes, pinned by a test.
public struct FrameRecord: Equatable, Sendable {
    /// `FrameOwner` raw encoding.
    public internal(set) var ownerRaw: UInt16
    /// `PageType` raw value.
    public internal(set) var typeRaw: UInt8
    /// `FrameFlags` raw value.
    public internal(set) var flagsRaw: UInt8
    /// References that depend on the frame's type (page-table entries pointing at it as a
    /// table, writable mappings, pins).
    public internal(set) var typeCount: UInt32
    /// All references: mappings of any kind, plus whatever holds the frame.
    public internal(set) var refCount: UInt32
    /// Next frame on the free list (`FrameRecord.endOfList` for the last one); meaningless
    /// unless the frame is free.
    public internal(set) var next: UInt32

    /// Marks the end of the free list.
    public static let endOfList: UInt32 = .max

    /// A frame the table does not manage.
    public static var notRAM: FrameRecord { @inline(__always) get { FrameRecord(owner: FrameOwner.rawNotRAM) } }

    init(owner: UInt16) {
        ownerRaw = owner
        typeRaw = PageType.none.rawValue
        flagsRaw = 0
        typeCount = 0
        refCount = 0
        next = FrameRecord.endOfList
    }

    /// A record whose raw owner is not a valid encoding is treated as not RAM: it can
    /// never be handed out or released.
    public var owner: FrameOwner { FrameOwner(raw: ownerRaw) ?? .notRAM }
    public var type: PageType { PageType(rawValue: typeRaw) ?? .none }
    public var flags: FrameFlags { FrameFlags(rawValue: flagsRaw) }
}
