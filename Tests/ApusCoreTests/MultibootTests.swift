// Tests of the Multiboot 1 parser against information blobs built in a fake physical memory.
// They must never depend on the host's memory layout: every address is inside the fake.

import XCTest
@testable import ApusCore

/// Builds a Multiboot 1 information structure and what it points to.
private struct MultibootBlob {
    static let base: UInt64 = 0x10000
    static let size = 0x4000
    var memory = FakePhysicalMemory(base: MultibootBlob.base, size: MultibootBlob.size)
    var infoAddress: UInt64 = MultibootBlob.base
    let mapAddress: UInt64 = MultibootBlob.base + 0x100
    let moduleTableAddress: UInt64 = MultibootBlob.base + 0xC00
    let stringsAddress: UInt64 = MultibootBlob.base + 0xE00
    /// Module bodies go here and above, up to the end of the fake.
    static let moduleArea: UInt64 = MultibootBlob.base + 0x1000
    var flags: UInt32 = 0

    mutating func setFlag(_ bit: UInt32) {
        flags |= bit
        memory.put32(infoAddress, flags)
    }

    mutating func setMemorySizes(lowerKiB: UInt32, upperKiB: UInt32) {
        setFlag(MultibootInfo.Flag.memorySizes)
        memory.put32(infoAddress + 4, lowerKiB)
        memory.put32(infoAddress + 8, upperKiB)
    }

    /// Writes the entries with `size` words of `entrySize`, and mmap_length = `length` or their total.
    mutating func setMemoryMap(_ entries: [(UInt64, UInt64, UInt32)], entrySize: UInt32 = 20, length: UInt32? = nil, at address: UInt64? = nil) {
        setFlag(MultibootInfo.Flag.memoryMap)
        let start = address ?? mapAddress
        var offset: UInt64 = 0
        for (base, len, type) in entries {
            if memory.store32(start + offset, entrySize) {
                _ = memory.store64(start + offset + 4, base)
                _ = memory.store64(start + offset + 12, len)
                _ = memory.store32(start + offset + 20, type)
            }
            offset += 4 + UInt64(entrySize)
        }
        memory.put32(infoAddress + 44, length ?? UInt32(offset))
        memory.put32(infoAddress + 48, UInt32(start))
    }

    mutating func setModules(_ modules: [(UInt32, UInt32)], count: UInt32? = nil, at address: UInt64? = nil) {
        setFlag(MultibootInfo.Flag.modules)
        let table = address ?? moduleTableAddress
        for (i, (start, end)) in modules.enumerated() {
            let entry = table + UInt64(i) * 16
            _ = memory.store32(entry, start)
            _ = memory.store32(entry + 4, end)
            _ = memory.store32(entry + 8, 0)
            _ = memory.store32(entry + 12, 0)
        }
        memory.put32(infoAddress + 20, count ?? UInt32(modules.count))
        memory.put32(infoAddress + 24, UInt32(table))
    }

    mutating func setCommandLine(_ text: [UInt8]) {
        setFlag(MultibootInfo.Flag.commandLine)
        memory.put(stringsAddress, bytes: text + [0])
        memory.put32(infoAddress + 16, UInt32(stringsAddress))
    }

    mutating func setLoaderName(_ text: [UInt8]) {
        setFlag(MultibootInfo.Flag.bootloaderName)
        memory.put(stringsAddress + 0x100, bytes: text + [0])
        memory.put32(infoAddress + 64, UInt32(stringsAddress + 0x100))
    }

    func parse(magic: UInt32 = MultibootInfo.bootloaderMagic) -> MultibootParse {
        MultibootInfo.parse(magic: magic, infoAddress: UInt32(infoAddress), memory: memory)
    }
}

private func bytes(_ text: StaticString) -> [UInt8] {
    Array(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
}

private func parsed(_ result: MultibootParse, file: StaticString = #filePath, line: UInt = #line) -> MultibootInfo? {
    switch result {
    case .ok(let info): return info
    case .failed(let problem):
        XCTFail("parse failed: \(problem)", file: file, line: line)
        return nil
    }
}

private func region(_ start: UInt64, _ length: UInt64, _ kind: MemoryRegionKind) -> MemoryRegion {
    MemoryRegion(start: start, length: length, kind: kind)!
}

final class MultibootTests: XCTestCase {
    func testGoodInformation() throws {
        var blob = MultibootBlob()
        blob.setMemorySizes(lowerKiB: 639, upperKiB: 130_048)
        blob.setMemoryMap([
            (0, 0x9FC00, 1),
            (0x9FC00, 0x400, 2),
            (0xF0000, 0x10000, 2),
            (0x10_0000, 0x7EE_0000, 1),
            (0x7FE_0000, 0x2_0000, 3),
            (0xFEFF_C000, 0x4000, 4),
            (0x1_0000_0000, 0x4000_0000, 1),
            (0x2_0000_0000, 0x1000, 5),
            (0x3_0000_0000, 0x1000, 7),
        ])
        let m0 = UInt32(MultibootBlob.moduleArea)
        blob.setModules([(m0, m0 + 0x1800), (m0 + 0x1800, m0 + 0x2000)])
        blob.setCommandLine(bytes("loglvl=all dom0_mem=64M"))
        blob.setLoaderName(bytes("GRUB 2.12"))

        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.problems, [])
        XCTAssertEqual(info.memLowerKiB, 639)
        XCTAssertEqual(info.memUpperKiB, 130_048)
        XCTAssertEqual(info.regions, [
            region(0, 0x9FC00, .available),
            region(0x9FC00, 0x400, .reserved),
            region(0xF0000, 0x10000, .reserved),
            region(0x10_0000, 0x7EE_0000, .available),
            region(0x7FE_0000, 0x2_0000, .acpiReclaimable),
            region(0xFEFF_C000, 0x4000, .acpiNVS),
            region(0x1_0000_0000, 0x4000_0000, .available),
            region(0x2_0000_0000, 0x1000, .bad),
            region(0x3_0000_0000, 0x1000, .other(7)),
        ])
        XCTAssertEqual(info.regions[3].end, 0x7FE_0000)
        XCTAssertEqual(info.modules.map(\.index), [0, 1])
        XCTAssertEqual(info.modules[0].start, m0)
        XCTAssertEqual(info.modules[0].end, m0 + 0x1800)
        XCTAssertEqual(info.modules[1].length, 0x800)
        XCTAssertEqual(info.commandLine(maxLength: 256, memory: blob.memory), bytes("loglvl=all dom0_mem=64M"))
        XCTAssertEqual(info.bootloaderName(maxLength: 256, memory: blob.memory), bytes("GRUB 2.12"))
        XCTAssertEqual(info.memoryMapRange, PhysRange(start: blob.mapAddress, end: blob.mapAddress + 9 * 24))
        XCTAssertEqual(info.moduleTableRange, PhysRange(start: blob.moduleTableAddress, end: blob.moduleTableAddress + 32))
        XCTAssertEqual(info.bootDataRanges.count, 3)
    }

    func testLargerEntriesAreSteppedBySize() throws {
        var blob = MultibootBlob()
        // A loader may append fields: entries are 28 bytes after their size word here.
        blob.setMemoryMap([(0, 0x9F000, 1), (0x10_0000, 0x100_0000, 1)], entrySize: 28)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.problems, [])
        XCTAssertEqual(info.regions, [region(0, 0x9F000, .available), region(0x10_0000, 0x100_0000, .available)])
    }

    func testMapLengthCuttingAnEntryStopsThere() throws {
        var blob = MultibootBlob()
        blob.setMemoryMap([(0, 0x9F000, 1), (0x10_0000, 0x100_0000, 1)], length: 24 + 10)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.regions, [region(0, 0x9F000, .available)])
        XCTAssertEqual(info.problems, [.truncatedMemoryMap])
    }

    func testMapLengthCuttingASizeWordStopsThere() throws {
        var blob = MultibootBlob()
        blob.setMemoryMap([(0, 0x9F000, 1), (0x10_0000, 0x100_0000, 1)], length: 24 + 2)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.regions, [region(0, 0x9F000, .available)])
        XCTAssertEqual(info.problems, [.truncatedMemoryMap])
    }

    func testEntrySmallerThanTwentyBytesStopsTheMap() throws {
        var blob = MultibootBlob()
        blob.setMemoryMap([(0, 0x9F000, 1), (0x10_0000, 0x100_0000, 1), (0x200_0000, 0x1000, 1)])
        // Corrupt the second entry's size word.
        blob.memory.put32(blob.mapAddress + 24, 12)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.regions, [region(0, 0x9F000, .available)])
        XCTAssertEqual(info.problems, [.truncatedMemoryMap])
    }

    func testZeroSizeEntryDoesNotLoopForever() throws {
        var blob = MultibootBlob()
        blob.setMemoryMap([(0, 0x9F000, 1)], entrySize: 0, length: 4096)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.regions, [])
        XCTAssertEqual(info.problems, [.truncatedMemoryMap])
    }

    func testMapRunningPastReadableMemory() throws {
        var blob = MultibootBlob()
        // The map starts 40 bytes before the end of readable memory and claims three entries.
        let address = MultibootBlob.base + UInt64(MultibootBlob.size) - 40
        blob.setMemoryMap([(0, 0x9F000, 1), (0x10_0000, 0x100_0000, 1), (0x200_0000, 0x1000, 1)], at: address)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.regions, [region(0, 0x9F000, .available)])
        XCTAssertEqual(info.problems, [.memoryMapUnreadable])
    }

    func testEmptyAndWrappingRegionsAreSkipped() throws {
        var blob = MultibootBlob()
        blob.setMemoryMap([
            (0, 0x9F000, 1),
            (0x9F000, 0, 2),
            (0xFFFF_FFFF_FFFF_F000, 0x2000, 1),
            (0x10_0000, 0x100_0000, 1),
        ])
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.regions, [region(0, 0x9F000, .available), region(0x10_0000, 0x100_0000, .available)])
        XCTAssertEqual(info.problems, [.emptyRegion(1), .regionOverflows(2)])
    }

    func testMoreThanSixtyFourRegions() throws {
        var blob = MultibootBlob()
        let entries = (0..<70).map { (UInt64($0) * 0x10_0000, UInt64(0x10_0000), UInt32(1)) }
        blob.setMemoryMap(entries, at: blob.mapAddress)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.regions.count, MultibootInfo.maxRegions)
        XCTAssertEqual(info.regions.last, region(63 * 0x10_0000, 0x10_0000, .available))
        XCTAssertEqual(info.problems, [.tooManyRegions])
    }

    func testOverlappingModulesKeepTheFirst() throws {
        var blob = MultibootBlob()
        blob.setMemorySizes(lowerKiB: 639, upperKiB: 1024)
        let m = UInt32(MultibootBlob.moduleArea)
        blob.setModules([(m, m + 0x1000), (m + 0xFFF, m + 0x1800), (m + 0x1000, m + 0x1800), (m + 0x100, m + 0x200)])
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.modules.map(\.index), [0, 2])
        XCTAssertEqual(info.problems, [.modulesOverlap(0, 1), .modulesOverlap(0, 3)])
    }

    func testModuleEndingBeforeItStarts() throws {
        var blob = MultibootBlob()
        blob.setMemorySizes(lowerKiB: 639, upperKiB: 1024)
        let m = UInt32(MultibootBlob.moduleArea)
        blob.setModules([(m + 0x1000, m), (m, m + 0x1000)])
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.modules.map(\.index), [1])
        XCTAssertEqual(info.problems, [.moduleOutOfRange(0)])
    }

    func testModuleOutsideReadableMemory() throws {
        var blob = MultibootBlob()
        blob.setMemorySizes(lowerKiB: 639, upperKiB: 1024)
        let m = UInt32(MultibootBlob.moduleArea)
        let end = UInt32(MultibootBlob.base) + UInt32(MultibootBlob.size)
        blob.setModules([
            (0xFFFF_0000, 0xFFFF_FFFF),    // nowhere near readable memory
            (end - 0x100, end + 0x100),    // runs off the end
            (m, m + 0x1000),               // fine
            (end, end),                    // empty, but pointing at nothing
        ])
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.modules.map(\.index), [2])
        XCTAssertEqual(info.problems, [.moduleOutOfRange(0), .moduleOutOfRange(1), .moduleOutOfRange(3)])
    }

    func testModuleTableUnreadable() throws {
        var blob = MultibootBlob()
        blob.setMemorySizes(lowerKiB: 639, upperKiB: 1024)
        let m = UInt32(MultibootBlob.moduleArea)
        // Two entries fit before the end of readable memory; the table claims three.
        let table = MultibootBlob.base + UInt64(MultibootBlob.size) - 32
        blob.setModules([(m, m + 0x100), (m + 0x100, m + 0x200)], count: 3, at: table)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.modules.map(\.index), [0, 1])
        XCTAssertEqual(info.problems, [.moduleTableUnreadable])
    }

    func testTooManyModules() throws {
        var blob = MultibootBlob()
        blob.setMemorySizes(lowerKiB: 639, upperKiB: 1024)
        let m = UInt32(MultibootBlob.moduleArea)
        let modules = (0..<20).map { (m + UInt32($0) * 0x100, m + UInt32($0) * 0x100 + 0x100) }
        blob.setModules(modules)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.modules.count, MultibootInfo.maxModules)
        XCTAssertEqual(info.problems, [.tooManyModules])
    }

    func testNoMapButMemorySizes() throws {
        var blob = MultibootBlob()
        blob.setMemorySizes(lowerKiB: 639, upperKiB: 64 * 1024)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.problems, [])
        XCTAssertEqual(info.regions, [region(0, 639 * 1024, .available), region(0x10_0000, 64 << 20, .available)])
        XCTAssertNil(info.memoryMapRange)
    }

    func testImplausibleMemLowerIsCappedAtTheLegacyHole() throws {
        var blob = MultibootBlob()
        blob.setMemorySizes(lowerKiB: 4096, upperKiB: 0)
        let info = try XCTUnwrap(parsed(blob.parse()))
        XCTAssertEqual(info.regions, [region(0, 0xA0000, .available)])
    }

    func testNoMemoryInformationAtAll() throws {
        let info = try XCTUnwrap(parsed(MultibootBlob().parse()))
        XCTAssertEqual(info.regions, [])
        XCTAssertEqual(info.problems, [.noMemoryInformation])
    }

    func testBadMagicIsFatal() {
        guard case .failed(let problem) = MultibootBlob().parse(magic: 0x36D7_6289) else {
            return XCTFail("a Multiboot 2 magic must not parse as Multiboot 1")
        }
        XCTAssertEqual(problem, .badMagic(0x36D7_6289))
        XCTAssertTrue(problem.isFatal)
    }

    func testUnreadableInfoIsFatal() {
        let memory = FakePhysicalMemory(base: 0x10000, size: 0x1000)
        guard case .failed(let problem) = MultibootInfo.parse(magic: MultibootInfo.bootloaderMagic, infoAddress: 0x8000, memory: memory) else {
            return XCTFail("an info structure outside memory must not parse")
        }
        XCTAssertEqual(problem, .infoUnreadable)

        // Flags readable, but the memory-map fields they announce are not.
        var blob = MultibootBlob()
        blob.infoAddress = MultibootBlob.base + UInt64(MultibootBlob.size) - 8
        blob.setFlag(MultibootInfo.Flag.memoryMap)
        guard case .failed(let problem2) = blob.parse() else {
            return XCTFail("an info structure cut by the end of memory must not parse")
        }
        XCTAssertEqual(problem2, .infoUnreadable)
    }

    func testReadStringCutsAndRefusesUnreadable() {
        var memory = FakePhysicalMemory(base: 0x1000, size: 0x100)
        memory.put(0x1000, bytes: bytes("console=com1") + [0])
        memory.put(0x10F9, bytes: bytes("unended"))  // runs into the end of memory
        XCTAssertEqual(MultibootInfo.readString(at: 0x1000, maxLength: 64, memory: memory), bytes("console=com1"))
        XCTAssertEqual(MultibootInfo.readString(at: 0x1000, maxLength: 7, memory: memory), bytes("console"))
        XCTAssertNil(MultibootInfo.readString(at: 0x10F9, maxLength: 64, memory: memory))
        XCTAssertNil(MultibootInfo.readString(at: 0x2000, maxLength: 64, memory: memory))

        var storage = [UInt8](repeating: 0xEE, count: 8)
        let copied = storage.withUnsafeMutableBufferPointer {
            MultibootInfo.readString(at: 0x1000, into: $0, memory: memory)
        }
        XCTAssertEqual(copied, 8)
        XCTAssertEqual(storage, bytes("console="))
        let none = storage.withUnsafeMutableBufferPointer {
            MultibootInfo.readString(at: 0x2000, into: $0, memory: memory)
        }
        XCTAssertNil(none)
    }

    func testEveryProblemHasAReason() {
        let all: [MultibootProblem] = [
            .badMagic(0), .infoUnreadable, .truncatedMemoryMap, .memoryMapUnreadable, .emptyRegion(0),
            .regionOverflows(0), .tooManyRegions, .noMemoryInformation, .moduleTableUnreadable,
            .tooManyModules, .moduleOutOfRange(0), .modulesOverlap(0, 1),
        ]
        for problem in all {
            XCTAssertGreaterThan(problem.reason.utf8CodeUnitCount, 20)
            XCTAssertEqual(problem.isFatal, problem == .badMagic(0) || problem == .infoUnreadable)
        }
    }
}
