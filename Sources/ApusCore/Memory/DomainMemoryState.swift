// What the direct-paging core keeps per domain: its id, each vCPU's page-table base and LDT, pin bookkeeping, the extra frames it may map.
// Plain values the hypervisor stores in its Domain (no heap storage, so passing one around never
// retains or copies anything counted): this file must never take or drop a reference itself.

/// The hypervisor's 84 entries for L2 slots 428-511 under L3 slot 3 (M2P, frame table,
/// per-domain area, image, mapcache). The same for every domain, so the frame table keeps the
/// one copy (`FrameTable.hypervisorSlots`); written into each slot-3 L2 when it is validated.
public struct HypervisorL2Slots: Sendable {
    /// First hypervisor slot: 0xF5800000 is entry 428 of the top 1 GiB.
    public static let first = 428
    public static let count = 84

    public let entries: [UInt64]

    /// Nil unless there are exactly 84 entries.
    public init?(_ entries: [UInt64]) {
        guard entries.count == HypervisorL2Slots.count else { return nil }
        self.entries = entries
    }

    /// Whether L2 index `index` is one of the hypervisor's in a slot-3 L2.
    public static func isHypervisorSlot(_ index: Int) -> Bool { index >= first }
}

/// Frames a domain may map although it does not own them (its shared_info page and its
/// grant-table frames, up to 32). Fixed capacity: no allocation; looked at only for frames the
/// domain does not own.
public struct MappableExtras: Sendable {
    public static let capacity = 40
    var frames = InlineArray<40, UInt32>(repeating: 0)
    public private(set) var count = 0

    public init() {}

    /// Adds `frame`; false when full (the frame is not added). Adding twice is harmless.
    @discardableResult
    public mutating func add(_ frame: UInt32) -> Bool {
        if contains(frame) { return true }
        guard count < MappableExtras.capacity else { return false }
        frames[count] = frame
        count += 1
        return true
    }

    /// Removes `frame` if present (order is not kept).
    public mutating func remove(_ frame: UInt32) {
        var i = 0
        while i < count {
            if frames[i] == frame {
                count -= 1
                frames[i] = frames[count]
                return
            }
            i += 1
        }
    }

    public func contains(_ frame: UInt32) -> Bool {
        var i = 0
        while i < count {
            if frames[i] == frame { return true }
            i += 1
        }
        return false
    }

    public subscript(index: Int) -> UInt32 { frames[index] }
}

/// One vCPU's LDT as MMUEXT_SET_LDT set it: linear base and entry count (0: none).
public struct VcpuLDT: Equatable, Sendable {
    public var base: UInt32 = 0
    public var entries: UInt32 = 0
    public init(base: UInt32 = 0, entries: UInt32 = 0) { self.base = base; self.entries = entries }
}

/// Per-domain state of the direct-paging core. The hypervisor keeps one per domain and
/// passes it to every operation on that domain.
public struct DomainMemoryState: Sendable {
    public let id: UInt16
    /// How many vCPUs a domain's paging state keeps a base and an LDT for (VcpuLimits.maxVCPUs).
    public static let vcpuCapacity = 8
    /// Each vCPU's top-level table (Xen's v->arch.guest_table): set by the builder (vCPU 0),
    /// VCPUOP_initialise and NEW_BASEPTR; each holds one type and one general reference.
    var vcpuBases = InlineArray<8, UInt32?>(repeating: nil)
    /// Each vCPU's LDT (MMUEXT_SET_LDT acts on the calling vCPU): linear base and entry count.
    var vcpuLDTs = InlineArray<8, VcpuLDT>(repeating: VcpuLDT())
    /// The vCPU the hypercall and trap paths act for (Domain.makeCurrent keeps it in step).
    public private(set) var currentVCPU: Int = 0
    /// The L3 the current vCPU runs on.
    public internal(set) var baseL3: UInt32? {
        @inline(__always) get { vcpuBases[currentVCPU] }
        set { vcpuBases[currentVCPU] = newValue; l1Memo = L1Memo() }
    }
    /// update_va_mapping's last walk on `baseL3` (L1Memo.swift); cleared with every new base.
    public internal(set) var l1Memo = L1Memo()
    /// The previous base after NEW_BASEPTR, still holding its references until the caller has
    /// moved the CPU off it (FrameTable.releaseRetiringBase). Until then the CPU's PDPT still
    /// points at its slot-3 L2, whose hypervisor entries (the mapcache among them) must stay.
    public internal(set) var retiringBase: UInt32?
    /// How many of the domain's frames carry the pinned flag (each holds a reference).
    public internal(set) var pinnedCount: Int = 0
    /// The current vCPU's LDT (MMUEXT_SET_LDT): linear base and entry count (0: none).
    public var ldtBase: UInt32 { vcpuLDTs[currentVCPU].base }
    public var ldtEntries: UInt32 { vcpuLDTs[currentVCPU].entries }

    /// Makes an LDT that MMUEXT_SET_LDT accepted the current vCPU's, once its pages are typed.
    public mutating func commitLDT(base: UInt32, entries: UInt32) {
        vcpuLDTs[currentVCPU] = VcpuLDT(base: entries == 0 ? 0 : base, entries: entries)
    }

    /// Makes vCPU `vcpu` (below vcpuCapacity) the one the paging operations act for: its base and
    /// LDT. The walk memo goes with a change of base.
    @inline(__always)
    public mutating func makeCurrent(vcpu: Int) {
        guard vcpu != currentVCPU, vcpu >= 0, vcpu < DomainMemoryState.vcpuCapacity else { return }
        let before = vcpuBases[currentVCPU]
        currentVCPU = vcpu
        if vcpuBases[vcpu] != before { l1Memo = L1Memo() }
    }

    /// vCPU `vcpu`'s base (nil: none, or no such vCPU).
    public func base(ofVCPU vcpu: Int) -> UInt32? {
        vcpu >= 0 && vcpu < DomainMemoryState.vcpuCapacity ? vcpuBases[vcpu] : nil
    }

    /// vCPU `vcpu`'s LDT.
    public func ldt(ofVCPU vcpu: Int) -> VcpuLDT {
        vcpu >= 0 && vcpu < DomainMemoryState.vcpuCapacity ? vcpuLDTs[vcpu] : VcpuLDT()
    }

    /// Whether some vCPU runs on `frame` (a change to its entries must reach that vCPU's PDPT copy).
    public func isBase(_ frame: UInt32) -> Bool {
        var i = 0
        while i < DomainMemoryState.vcpuCapacity {
            if vcpuBases[i] == frame { return true }
            i += 1
        }
        return false
    }
    /// Frames the domain may map without owning them.
    public var extras: MappableExtras
    /// Device-memory frames it may map (its iomem ranges), uncached and without references.
    public var deviceFrames = DeviceFrameSet()

    /// `id` must be a real domain's (at most FrameOwner.maxDomainID): its raw owner encoding is
    /// then the id itself, which the hot paths compare directly.
    public init(id: UInt16, extras: MappableExtras = MappableExtras()) {
        precondition(id <= FrameOwner.maxDomainID, "a domain's paging state needs a real domain id")
        self.id = id
        self.extras = extras
    }

    public var owner: FrameOwner { .domain(id) }
    /// `owner`'s raw encoding in a FrameRecord (the id: see init).
    @inline(__always) public var ownerRaw: UInt16 { id }
}
