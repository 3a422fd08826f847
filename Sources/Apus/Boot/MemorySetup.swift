// MemorySetup.swift: from the Multiboot memory map to a live frame table and M2P.
// Reserves the first MiB, the image, the loader's data and every module before anything is
// handed out; maps the frame table and both M2P views with 2 MiB pages. It must never place
// hypervisor data in a frame the map did not call available.

import ApusCore

enum Machine {
    /// Every machine frame's record, mapped at AddressMap.frameTableStart once memory is set up.
    /// Starts as the constant empty table, so reading the global needs no lazy initialization.
    static var frames = FrameTable()
    static var summary = BootMemorySummary(regions: [], reserved: [])
    static var modules: [BootModule] = []
    static var memory = DirectPhysicalMemory()
}

enum MemorySetup {
    static let largePageFrames: UInt32 = 512

    static func run(_ info: MultibootInfo, _ sym: Symbols) {
        var reserved: [PhysRange] = [PhysRange(start: 0, end: 0x10_0000)]
        let image = PhysRange(start: UInt64(sym.imagePhysStart), end: UInt64(sym.imagePhysEnd))
        reserved.append(image)
        reserved.append(contentsOf: info.bootDataRanges)
        for m in info.modules { reserved.append(m.range) }
        let summary = BootMemorySummary(regions: info.regions, reserved: reserved)
        Machine.summary = summary
        Machine.modules = info.modules
        Machine.memory.limit = UInt64(summary.highestFrame) << 12

        // The frame table itself: one record per frame up to the highest usable one.
        let tableBytes = UInt64(summary.highestFrame) * UInt64(MemoryLayout<FrameRecord>.stride)
        let tableChunks = UInt32((tableBytes + 0x1F_FFFF) >> 21)
        guard tableChunks > 0, UInt64(tableChunks) << 21 <= UInt64(AddressMap.frameTableEnd - AddressMap.frameTableStart),
              let tableFrame = findAligned(summary.usableFrameRanges, frames: tableChunks * largePageFrames)
        else { Panic.halt("no 2 MiB-aligned room for the frame table in usable memory") }
        HypervisorPaging.mapLarge(va: AddressMap.frameTableStart, firstFrame: tableFrame, count: Int(tableChunks), writable: true)
        let storage = pointer(to: FrameRecord.self, at: AddressMap.frameTableStart)
        Machine.frames = FrameTable(storage: storage, count: summary.highestFrame)
        // Reserved first, so that no free frame is taken back: each such take relinks the free
        // lists, a walk of every frame of the machine. addUsable leaves reserved frames alone.
        _ = Machine.frames.reserve(FrameRange(first: tableFrame, count: tableChunks * largePageFrames), as: .hypervisor)
        _ = Machine.frames.reserve(frameRange(image), as: .hypervisor)
        for m in info.modules { _ = Machine.frames.reserve(frameRange(m.range), as: .bootModule) }
        for range in summary.usableFrameRanges { _ = Machine.frames.addUsable(range) }
        // What device memory is: whatever the firmware does not list as RAM (or bad), rounded outward.
        let devices = DeviceMemoryRule(firmwareMap: info.regions)
        if !devices.complete { Log.warning("memory: the firmware map has too many RAM stretches to track; no device memory may be mapped") }
        Machine.frames.deviceMemory = devices

        // The M2P: 4 bytes per frame, all "invalid" until a domain owns the frame.
        let m2pChunks = UInt32((UInt64(summary.highestFrame) * 4 + 0x1F_FFFF) >> 21)
        guard let m2p = Machine.frames.allocateContiguous(count: m2pChunks * largePageFrames, alignment: largePageFrames, for: .hypervisor)
        else { Panic.halt("no room for the machine-to-physical table") }
        MachineToPhysicalTable.initialize(firstFrame: m2p, largePages: Int(m2pChunks), entries: summary.highestFrame)

        logSummary(info, summary, image: image, tableFrame: tableFrame, tableChunks: tableChunks)
    }

    /// The first run of `frames` frames, aligned to `frames` rounded to 2 MiB, inside one usable range.
    static func findAligned(_ ranges: [FrameRange], frames: UInt32) -> UInt32? {
        for r in ranges {
            let first = (UInt64(r.first) + UInt64(largePageFrames) - 1) & ~UInt64(largePageFrames - 1)
            if first + UInt64(frames) <= UInt64(r.end) { return UInt32(first) }
        }
        return nil
    }

    static func frameRange(_ range: PhysRange) -> FrameRange {
        let first = UInt32(range.start >> 12)
        let end = UInt32((range.end + 0xFFF) >> 12)
        return FrameRange(first: first, count: end > first ? end - first : 0)
    }

    static func kindName(_ kind: MemoryRegionKind) -> StaticString {
        switch kind {
        case .available: return "available"
        case .reserved: return "reserved"
        case .acpiReclaimable: return "ACPI reclaimable"
        case .acpiNVS: return "ACPI NVS"
        case .bad: return "bad"
        case .other: return "other (treated as reserved)"
        }
    }

    private static func logSummary(_ info: MultibootInfo, _ s: BootMemorySummary, image: PhysRange, tableFrame: UInt32, tableChunks: UInt32) {
        Log.info("memory: \(mib: s.totalBytes) RAM, \(mib: s.usableBytes) usable, \(kib: s.totalBytes - s.usableBytes) kept (low 1 MiB, image, modules, loader data); \(UInt32(info.regions.count)) map entries")
        for r in info.regions {
            Log.info("  \(hex16: r.start) - \(hex16: r.end - 1) \(kindName(r.kind))")
        }
        Log.info("memory: image \(hex8: UInt32(image.start)) - \(hex8: UInt32(image.end - 1)) (\(kib: image.length)), heap \(kib: UInt64(apus_heap_size()))")
        for m in info.modules {
            Log.info("memory: module \(UInt32(m.index + 1)) at \(hex8: m.start) - \(hex8: m.end &- 1) (\(kib: UInt64(m.length)))")
        }
        Log.info("memory: frame table \(s.highestFrame) frames at \(hex8: AddressMap.frameTableStart) (\(kib: UInt64(tableChunks) << 21) at machine frame \(hex: tableFrame))")
        Log.info("memory: M2P \(s.highestFrame) entries, read-only at \(hex8: AddressMap.m2pReadOnlyStart), writable at \(hex8: AddressMap.m2pWritableStart)")
        Log.info("frames: \(Machine.frames.freeCount) free, \(Machine.frames.count(ownedBy: .hypervisor)) hypervisor, \(Machine.frames.count(ownedBy: .bootModule)) module, \(Machine.frames.count(ownedBy: .notRAM)) not RAM")
        for p in info.problems { Log.info("multiboot: ignored: \(p.reason)") }
    }
}
