// Reads the Multiboot 1 information structure a boot loader leaves in memory, with every bound checked.
// It must never trust a length, count or address from the loader, and never write to the memory it reads.

/// A problem with the boot loader's information. Fatal ones (`badMagic`,
/// `infoUnreadable`) end the parse; the others are recorded in
/// `MultibootInfo.problems` and the offending data is ignored.
public enum MultibootProblem: Equatable, Sendable {
    /// EAX at entry did not hold the Multiboot 1 loader magic; the payload is the value seen.
    case badMagic(UInt32)
    /// The information structure itself could not be read.
    case infoUnreadable
    /// A memory-map entry was shorter than 20 bytes or ran past mmap_length; parsing stopped there.
    case truncatedMemoryMap
    /// The memory map lies (partly) outside readable memory; parsing stopped there.
    case memoryMapUnreadable
    /// Memory-map entry `index` has length zero and was skipped.
    case emptyRegion(Int)
    /// Memory-map entry `index` wraps past the end of the 64-bit address space and was skipped.
    case regionOverflows(Int)
    /// The map has more entries than `MultibootInfo.maxRegions`; the rest were ignored.
    case tooManyRegions
    /// Neither a memory map nor the mem_lower/mem_upper sizes were given.
    case noMemoryInformation
    /// The module table could not be read; no module from there on was taken.
    case moduleTableUnreadable
    /// More modules than `MultibootInfo.maxModules`; the rest were ignored.
    case tooManyModules
    /// Module `index` ends before it starts, or its bytes cannot be read; it was skipped.
    case moduleOutOfRange(Int)
    /// Module `second` overlaps the earlier module `first`; `second` was skipped.
    case modulesOverlap(Int, Int)

    /// One sentence for the boot log.
    public var reason: StaticString {
        switch self {
        case .badMagic:
            return "the boot loader is not Multiboot 1: EAX did not hold 0x2BADB002"
        case .infoUnreadable:
            return "the Multiboot information structure lies outside readable memory"
        case .truncatedMemoryMap:
            return "the memory map has an entry shorter than 20 bytes or longer than the map; the rest of the map was ignored"
        case .memoryMapUnreadable:
            return "the memory map runs into unreadable memory; the rest of the map was ignored"
        case .emptyRegion:
            return "a memory map entry has length zero and was ignored"
        case .regionOverflows:
            return "a memory map entry wraps past the end of the address space and was ignored"
        case .tooManyRegions:
            return "the memory map has more than 64 entries; the extra entries were ignored"
        case .noMemoryInformation:
            return "the boot loader gave neither a memory map nor memory sizes"
        case .moduleTableUnreadable:
            return "the module table lies outside readable memory; the modules from there on were ignored"
        case .tooManyModules:
            return "the boot loader passed more than 16 modules; the extra modules were ignored"
        case .moduleOutOfRange:
            return "a module ends before it starts or lies outside readable memory, and was ignored"
        case .modulesOverlap:
            return "a module overlaps an earlier module, and was ignored"
        }
    }

    /// True when the parse could not continue.
    public var isFatal: Bool {
        switch self {
        case .badMagic, .infoUnreadable: return true
        default: return false
        }
    }
}

/// What the firmware says a stretch of physical memory is (the Multiboot/E820 type).
public enum MemoryRegionKind: Equatable, Sendable {
    case available
    case reserved
    case acpiReclaimable
    case acpiNVS
    case bad
    /// A type this hypervisor does not know; treated like reserved.
    case other(UInt32)

    public init(raw: UInt32) {
        switch raw {
        case 1: self = .available
        case 2: self = .reserved
        case 3: self = .acpiReclaimable
        case 4: self = .acpiNVS
        case 5: self = .bad
        default: self = .other(raw)
        }
    }

    public var raw: UInt32 {
        switch self {
        case .available: return 1
        case .reserved: return 2
        case .acpiReclaimable: return 3
        case .acpiNVS: return 4
        case .bad: return 5
        case .other(let value): return value
        }
    }
}

/// A stretch of physical memory from the firmware's map. Never empty and never wraps.
public struct MemoryRegion: Equatable, Sendable {
    public let start: UInt64
    public let length: UInt64
    public let kind: MemoryRegionKind

    /// Nil for an empty region or one whose end does not fit in 64 bits.
    public init?(start: UInt64, length: UInt64, kind: MemoryRegionKind) {
        guard length > 0, !start.addingReportingOverflow(length).overflow else { return nil }
        self.start = start
        self.length = length
        self.kind = kind
    }

    /// One past the last byte.
    public var end: UInt64 { start + length }
}

/// A boot module (dom0's kernel, its initrd) as the loader placed it.
public struct BootModule: Equatable, Sendable {
    /// The module's position in the loader's table (0 is the first module), kept so that
    /// a skipped module does not silently shift the meaning of the ones after it.
    public let index: Int
    /// Physical address of the first byte.
    public let start: UInt32
    /// Physical address one past the last byte.
    public let end: UInt32
    /// Physical address of the module's NUL-terminated command line, 0 when none.
    public let stringAddress: UInt32

    public init?(index: Int, start: UInt32, end: UInt32, stringAddress: UInt32) {
        guard end >= start else { return nil }
        self.index = index
        self.start = start
        self.end = end
        self.stringAddress = stringAddress
    }

    public var length: UInt32 { end - start }

    public var range: PhysRange { PhysRange(start: UInt64(start), end: UInt64(end)) }
}

/// The result of parsing: the information, or the fatal problem that stopped it.
public enum MultibootParse: Sendable {
    case ok(MultibootInfo)
    case failed(MultibootProblem)
}

/// The parts of the Multiboot 1 information the hypervisor uses, already checked.
public struct MultibootInfo: Sendable {
    /// What a Multiboot 1 loader leaves in EAX.
    public static let bootloaderMagic: UInt32 = 0x2BAD_B002
    /// Fixed capacity for the memory map: real firmware reports a few dozen at most.
    public static let maxRegions = 64
    /// Fixed capacity for modules: dom0's kernel and initrd, with room to spare.
    public static let maxModules = 16

    /// Flag bits of the information structure's first word.
    public enum Flag {
        public static let memorySizes: UInt32 = 1 << 0
        public static let commandLine: UInt32 = 1 << 2
        public static let modules: UInt32 = 1 << 3
        public static let memoryMap: UInt32 = 1 << 6
        public static let bootloaderName: UInt32 = 1 << 9
    }

    /// Byte offsets in the information structure.
    enum Offset {
        static let flags: UInt64 = 0
        static let memLower: UInt64 = 4
        static let memUpper: UInt64 = 8
        static let cmdline: UInt64 = 16
        static let modsCount: UInt64 = 20
        static let modsAddr: UInt64 = 24
        static let mmapLength: UInt64 = 44
        static let mmapAddr: UInt64 = 48
        static let bootLoaderName: UInt64 = 64
        /// The structure up to and including boot_loader_name (the last field read).
        static let sizeRead: UInt64 = 68
    }

    public let flags: UInt32
    /// Where the information structure lies, so it can be kept out of the allocator.
    public let infoAddress: UInt32
    /// Conventional memory below 1 MiB, in KiB (flag bit 0).
    public let memLowerKiB: UInt32?
    /// Memory from 1 MiB up to the first hole, in KiB (flag bit 0).
    public let memUpperKiB: UInt32?
    /// Physical address of the hypervisor's NUL-terminated command line (flag bit 2).
    public let commandLineAddress: UInt32?
    /// Physical address of the loader's NUL-terminated name (flag bit 9).
    public let bootloaderNameAddress: UInt32?
    /// Where the memory map lies (flag bit 6), so it can be kept out of the allocator.
    public let memoryMapRange: PhysRange?
    /// Where the module table lies (flag bit 3), so it can be kept out of the allocator.
    public let moduleTableRange: PhysRange?
    /// The memory map in the loader's order, bad entries left out. Synthesized from
    /// mem_lower/mem_upper when the loader gave no usable map.
    public let regions: [MemoryRegion]
    /// The modules that passed the checks, in the loader's order.
    public let modules: [BootModule]
    /// Non-fatal problems, in the order met.
    public let problems: [MultibootProblem]

    /// The loader's data the hypervisor must not reuse before it is done with it: the
    /// information structure, the memory map and the module table (not the modules
    /// themselves, nor the strings: see `modules` and `readString`).
    public var bootDataRanges: [PhysRange] {
        var ranges: [PhysRange] = [PhysRange(start: UInt64(infoAddress), end: UInt64(infoAddress) + Offset.sizeRead)]
        if let range = memoryMapRange { ranges.append(range) }
        if let range = moduleTableRange { ranges.append(range) }
        return ranges
    }

    /// Parses the information structure at `infoAddress`, given the `magic` the loader left in EAX.
    public static func parse<M: PhysicalMemory>(magic: UInt32, infoAddress: UInt32, memory: M) -> MultibootParse {
        guard magic == bootloaderMagic else { return .failed(.badMagic(magic)) }
        let base = UInt64(infoAddress)
        guard let flags = memory.load32(base + Offset.flags) else { return .failed(.infoUnreadable) }

        var problems: [MultibootProblem] = []

        var memLower: UInt32? = nil
        var memUpper: UInt32? = nil
        if flags & Flag.memorySizes != 0 {
            guard let lower = memory.load32(base + Offset.memLower),
                  let upper = memory.load32(base + Offset.memUpper) else { return .failed(.infoUnreadable) }
            memLower = lower
            memUpper = upper
        }

        var commandLine: UInt32? = nil
        if flags & Flag.commandLine != 0 {
            guard let address = memory.load32(base + Offset.cmdline) else { return .failed(.infoUnreadable) }
            commandLine = address
        }

        var loaderName: UInt32? = nil
        if flags & Flag.bootloaderName != 0 {
            guard let address = memory.load32(base + Offset.bootLoaderName) else { return .failed(.infoUnreadable) }
            loaderName = address
        }

        var regions: [MemoryRegion] = []
        var mapRange: PhysRange? = nil
        if flags & Flag.memoryMap != 0 {
            guard let length = memory.load32(base + Offset.mmapLength),
                  let address = memory.load32(base + Offset.mmapAddr) else { return .failed(.infoUnreadable) }
            mapRange = PhysRange(start: UInt64(address), end: UInt64(address) + UInt64(length))
            regions = parseMemoryMap(address: address, length: length, memory: memory, problems: &problems)
        }

        if regions.isEmpty {
            if let lower = memLower, let upper = memUpper {
                regions = synthesizeRegions(memLowerKiB: lower, memUpperKiB: upper)
            } else if flags & Flag.memoryMap == 0 {
                problems.append(.noMemoryInformation)
            }
        }

        var modules: [BootModule] = []
        var tableRange: PhysRange? = nil
        if flags & Flag.modules != 0 {
            guard let count = memory.load32(base + Offset.modsCount),
                  let address = memory.load32(base + Offset.modsAddr) else { return .failed(.infoUnreadable) }
            var taken = count
            if count > UInt32(maxModules) {
                problems.append(.tooManyModules)
                taken = UInt32(maxModules)
            }
            tableRange = PhysRange(start: UInt64(address), end: UInt64(address) + UInt64(taken) * moduleEntrySize)
            modules = parseModules(address: address, count: taken, memory: memory, problems: &problems)
        }

        return .ok(MultibootInfo(
            flags: flags, infoAddress: infoAddress, memLowerKiB: memLower, memUpperKiB: memUpper,
            commandLineAddress: commandLine, bootloaderNameAddress: loaderName,
            memoryMapRange: mapRange, moduleTableRange: tableRange,
            regions: regions, modules: modules, problems: problems))
    }

    /// Size of one module-table entry: mod_start, mod_end, string, reserved.
    static let moduleEntrySize: UInt64 = 16
    /// The smallest memory-map entry after its size word: base u64, length u64, type u32.
    static let minimumMapEntrySize: UInt32 = 20

    /// Walks the memory map. Each entry is a size word followed by `size` bytes, so the
    /// next entry is at +size+4; a loader may append fields, which are skipped.
    static func parseMemoryMap<M: PhysicalMemory>(
        address: UInt32, length: UInt32, memory: M, problems: inout [MultibootProblem]
    ) -> [MemoryRegion] {
        var regions: [MemoryRegion] = []
        let start = UInt64(address)
        let limit = UInt64(length)
        var offset: UInt64 = 0
        var index = 0
        while offset < limit {
            guard offset + 4 <= limit else { problems.append(.truncatedMemoryMap); break }
            guard let size = memory.load32(start + offset) else { problems.append(.memoryMapUnreadable); break }
            guard size >= minimumMapEntrySize, offset + 4 + UInt64(size) <= limit else {
                problems.append(.truncatedMemoryMap)
                break
            }
            let entry = start + offset + 4
            guard let regionBase = memory.load64(entry),
                  let regionLength = memory.load64(entry + 8),
                  let type = memory.load32(entry + 16) else {
                problems.append(.memoryMapUnreadable)
                break
            }
            if regions.count == maxRegions {
                problems.append(.tooManyRegions)
                break
            }
            if regionLength == 0 {
                problems.append(.emptyRegion(index))
            } else if let region = MemoryRegion(start: regionBase, length: regionLength, kind: MemoryRegionKind(raw: type)) {
                regions.append(region)
            } else {
                problems.append(.regionOverflows(index))
            }
            offset += 4 + UInt64(size)
            index += 1
        }
        return regions
    }

    /// Where conventional memory ends whatever mem_lower claims: the legacy video and
    /// ROM hole starts at 640 KiB.
    static let conventionalMemoryEnd: UInt64 = 0xA0000
    /// mem_upper counts from here.
    static let extendedMemoryStart: UInt64 = 0x10_0000

    /// The two available regions mem_lower and mem_upper describe, for loaders without a map.
    static func synthesizeRegions(memLowerKiB: UInt32, memUpperKiB: UInt32) -> [MemoryRegion] {
        var regions: [MemoryRegion] = []
        let lower = min(UInt64(memLowerKiB) * 1024, conventionalMemoryEnd)
        if let region = MemoryRegion(start: 0, length: lower, kind: .available) { regions.append(region) }
        let upper = UInt64(memUpperKiB) * 1024
        if let region = MemoryRegion(start: extendedMemoryStart, length: upper, kind: .available) { regions.append(region) }
        return regions
    }

    /// Reads the module table. A module is kept only if it ends at or after its start,
    /// its first and last bytes are readable, and it overlaps no module kept before it.
    static func parseModules<M: PhysicalMemory>(
        address: UInt32, count: UInt32, memory: M, problems: inout [MultibootProblem]
    ) -> [BootModule] {
        var modules: [BootModule] = []
        var index = 0
        while index < Int(count) {
            let entry = UInt64(address) + UInt64(index) * moduleEntrySize
            guard let start = memory.load32(entry),
                  let end = memory.load32(entry + 4),
                  let string = memory.load32(entry + 8) else {
                problems.append(.moduleTableUnreadable)
                break
            }
            defer { index += 1 }
            guard let module = BootModule(index: index, start: start, end: end, stringAddress: string),
                  isReadable(module, memory: memory) else {
                problems.append(.moduleOutOfRange(index))
                continue
            }
            if let other = modules.first(where: { $0.range.overlaps(module.range) }) {
                problems.append(.modulesOverlap(other.index, index))
                continue
            }
            modules.append(module)
        }
        return modules
    }

    /// Whether the hypervisor can read the module at both ends (an empty module needs
    /// only its start address to be readable, so that it points at real memory).
    static func isReadable<M: PhysicalMemory>(_ module: BootModule, memory: M) -> Bool {
        guard memory.load8(UInt64(module.start)) != nil else { return false }
        return module.length == 0 || memory.load8(UInt64(module.end) - 1) != nil
    }

    /// Copies the NUL-terminated string at `address` into `buffer`, without the NUL.
    /// Returns the number of bytes copied, at most `buffer.count` (the string is cut
    /// there), or nil when a byte before the NUL or the cut cannot be read.
    public static func readString<M: PhysicalMemory>(
        at address: UInt32, into buffer: UnsafeMutableBufferPointer<UInt8>, memory: M
    ) -> Int? {
        var count = 0
        while count < buffer.count {
            guard let byte = memory.load8(UInt64(address) + UInt64(count)) else { return nil }
            if byte == 0 { break }
            buffer[count] = byte
            count += 1
        }
        return count
    }

    /// The NUL-terminated string at `address` without the NUL, cut at `maxLength` bytes,
    /// or nil when a byte before the NUL or the cut cannot be read.
    public static func readString<M: PhysicalMemory>(at address: UInt32, maxLength: Int, memory: M) -> [UInt8]? {
        var bytes: [UInt8] = []
        while bytes.count < maxLength {
            guard let byte = memory.load8(UInt64(address) + UInt64(bytes.count)) else { return nil }
            if byte == 0 { break }
            bytes.append(byte)
        }
        return bytes
    }

    /// The hypervisor's command line (empty when the loader gave none), cut at `maxLength`.
    public func commandLine<M: PhysicalMemory>(maxLength: Int, memory: M) -> [UInt8]? {
        guard let address = commandLineAddress else { return [] }
        return MultibootInfo.readString(at: address, maxLength: maxLength, memory: memory)
    }

    /// The boot loader's name (empty when it gave none), cut at `maxLength`.
    public func bootloaderName<M: PhysicalMemory>(maxLength: Int, memory: M) -> [UInt8]? {
        guard let address = bootloaderNameAddress else { return [] }
        return MultibootInfo.readString(at: address, maxLength: maxLength, memory: memory)
    }
}
