// DeviceMemoryRule.swift: which machine frames a domain may map as device memory (mmu_update with
// foreign domain DOMID_IO) and with which cache attributes. Only frames that are not RAM by the
// firmware's map, not the interrupt controllers the hypervisor keeps, and inside the ranges the domain
// was given (all of them for dom0; domctl iomem_permission for a driver domain). Pure: it decides and
// rewrites an entry's cache bits; it never maps anything and never lets a RAM frame through.

public enum DeviceFrameRefusal: Equatable, Sendable {
    /// The firmware lists the frame as RAM: RAM is mapped through its owner, never as device memory.
    case ram
    /// The firmware marks the frame bad.
    case badMemory
    /// The local or I/O APIC, which the hypervisor keeps with the rest of the interrupt controller.
    case hypervisorDevice
    /// Not in the ranges the domain was given.
    case notGiven

    /// The sentence the hypervisor logs.
    public var reason: StaticString {
        switch self {
        case .ram: return "DOMID_IO mapping of a RAM frame"
        case .badMemory: return "DOMID_IO mapping of a frame the firmware marks bad"
        case .hypervisorDevice: return "DOMID_IO mapping of the interrupt controller the hypervisor keeps"
        case .notGiven: return "DOMID_IO mapping of a frame not given to the domain"
        }
    }
}

public struct DeviceMemoryRule: Sendable {
    /// The I/O APIC and local APIC windows (frames 0xFEC00-0xFECFF and 0xFEE00-0xFEEFF).
    public static let hypervisorDevices: [FrameNumberRange] = [
        FrameNumberRange(first: 0xFEC00, last: 0xFECFF)!,
        FrameNumberRange(first: 0xFEE00, last: 0xFEEFF)!,
    ]

    /// Frames any part of which the firmware lists as RAM, and as bad (rounded outward to frames).
    public private(set) var ram = FrameNumberRanges()
    public private(set) var bad = FrameNumberRanges()
    /// False when the firmware map had more separate RAM or bad stretches than a set holds: every
    /// frame then counts as RAM, so nothing is ever let through by mistake.
    public private(set) var complete = true

    public init(firmwareMap: [MemoryRegion]) {
        for region in firmwareMap {
            let isRAM = region.kind == .available
            guard isRAM || region.kind == .bad else { continue }
            let first = region.start >> 12
            let last = (region.start + (region.length - 1)) >> 12   // MemoryRegion never wraps
            guard first <= UInt64(UInt32.max) else { continue }
            let r = FrameNumberRange(first: UInt32(first), last: UInt32(min(last, UInt64(UInt32.max))))!
            if !(isRAM ? ram.add(r) : bad.add(r)) { complete = false }
        }
    }

    /// Whether `frame` may be mapped as device memory by a domain given `permitted`.
    public func check(frame: UInt32, permitted: FrameNumberRanges) -> DeviceFrameRefusal? {
        guard complete, !ram.contains(frame) else { return .ram }
        if bad.contains(frame) { return .badMemory }
        for r in Self.hypervisorDevices where r.first <= frame && frame <= r.last { return .hypervisorDevice }
        guard permitted.contains(frame) else { return .notGiven }
        return nil
    }

    /// PTE bits: PWT 3, PCD 4, PAT 7 (in an L1 entry).
    static let writeThrough: UInt64 = 1 << 3
    static let cacheDisable: UInt64 = 1 << 4
    static let patBit: UInt64 = 1 << 7

    /// The L1 entry a device-memory mapping gets: uncached (PCD and PWT set, PAT clear) whatever
    /// the guest asked, since MMIO is uncacheable in the firmware's memory-type ranges.
    public static func uncached(_ entry: UInt64) -> UInt64 {
        entry & ~patBit | cacheDisable | writeThrough
    }
}
