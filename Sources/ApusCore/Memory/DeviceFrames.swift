// DeviceFrames.swift: L1 entries that map device memory (Xen's iomem case of get_page_from_l1e): a
// frame the frame table does not hold as RAM, that the firmware's map does not list as RAM either,
// inside the ranges the domain was given, mapped uncached. Such an entry holds no reference: there is
// no record to count on. It must never let a RAM frame, or a cacheable mapping of device memory, by.

import PVABI

/// The device-memory frames a domain may map: a fixed-capacity copy of its iomem ranges (dom0: one
/// range, all of them), so the paging state keeps no heap storage.
public struct DeviceFrameSet: Sendable {
    public static let capacity = 8
    var firsts = InlineArray<8, UInt32>(repeating: 0)
    var lasts = InlineArray<8, UInt32>(repeating: 0)
    public private(set) var count = 0

    public init() {}

    /// nil when `ranges` has more separate ranges than the set holds.
    public init?(_ ranges: FrameNumberRanges) {
        guard ranges.ranges.count <= Self.capacity else { return nil }
        for r in ranges.ranges {
            firsts[count] = r.first
            lasts[count] = r.last
            count += 1
        }
    }

    public func contains(_ frame: UInt32) -> Bool {
        var i = 0
        while i < count {
            if firsts[i] <= frame && frame <= lasts[i] { return true }
            i += 1
        }
        return false
    }
}

extension FrameTable {
    /// Whether an entry naming `frame` is a device-memory entry: a frame the table does not hold as
    /// RAM (beyond it, or not RAM). Such entries hold no reference.
    @inline(__always)
    func isDeviceFrame(_ frame: UInt64) -> Bool {
        frame >= UInt64(count) || records[Int(truncatingIfNeeded: frame)].ownerRaw == FrameOwner.rawNotRAM
    }

    /// Why a present L1 entry naming a device frame is refused (nil: accepted, with no reference).
    /// `asRAM` is the refusal it gets when it is not device memory after all.
    func deviceEntryRefusal(_ e: PageTableEntry, _ state: inout DomainMemoryState, asRAM: MemoryError) -> MemoryError? {
        guard let rule = deviceMemory, e.frame <= UInt64(UInt32.max) else { return asRAM }
        switch rule.check(frame: UInt32(e.frame), permitted: state.deviceFrames) {
        case .ram?, .badMemory?: return asRAM
        case .hypervisorDevice?: return .hypervisorFrame
        case .notGiven?: return .deviceMemoryNotGiven
        case nil: break
        }
        guard e.raw & PTEFlags.cacheDisable.rawValue != 0 else { return .deviceMemoryCached }
        return nil
    }
}

extension DeviceMemoryRule {
    /// One mmu_update request with foreign domain DOMID_IO, from a domain given `permitted`: it must
    /// write an L1 entry (MMU_NORMAL_PT_UPDATE or PRESERVE_AD) whose frame, if present, is device
    /// memory the domain may map. Returns the request with the entry made uncached; the paging core
    /// then applies it under every usual rule.
    public func deviceRequest(_ r: MMUUpdateRequest, permitted: DeviceFrameSet) -> Result<MMUUpdateRequest, DeviceMappingRefusal> {
        let command = UInt32(truncatingIfNeeded: r.ptr & 3)
        guard command == MMUUpdateCommand.normalPTUpdate.rawValue || command == MMUUpdateCommand.ptUpdatePreserveAD.rawValue else {
            return .failure(.notAnEntry)
        }
        let entry = PageTableEntry(raw: r.val)
        guard entry.isPresent else { return .success(r) }
        guard entry.frame <= UInt64(UInt32.max) else { return .failure(.frame(.ram)) }
        if let refusal = check(frame: UInt32(entry.frame), permitted: permitted) { return .failure(.frame(refusal)) }
        return .success(MMUUpdateRequest(ptr: r.ptr, val: Self.uncached(r.val)))
    }
}

/// Why a DOMID_IO request was refused.
public enum DeviceMappingRefusal: Error, Equatable, Sendable {
    case notAnEntry
    case frame(DeviceFrameRefusal)

    /// -EPERM for a frame the domain may not map as device memory (Xen's iomem_access_permitted),
    /// -EINVAL for a request that is not an entry write.
    public var error: XenError {
        if case .notAnEntry = self { return .EINVAL }
        return .EPERM
    }

    public var reason: StaticString {
        switch self {
        case .notAnEntry: return "DOMID_IO: only page-table entry writes (no M2P update)"
        case .frame(let f): return f.reason
        }
    }
}
