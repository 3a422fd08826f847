// Tests of the ELF32 reader: header checks, program headers, and refusal of every field that points outside the image.
// Images are synthesized by ElfTestImage; each refusal is checked for its exact BuildError.

import XCTest
@testable import ApusCore

final class ElfImageTests: XCTestCase {
    /// The parse error for `bytes`, or nil when it parses.
    func parseError(_ bytes: [UInt8]) -> BuildError? {
        bytes.withUnsafeBytes { buffer -> BuildError? in
            do throws(BuildError) {
                _ = try ElfImage(buffer)
                return nil
            } catch {
                return error
            }
        }
    }

    func parsed<T>(_ bytes: [UInt8], _ body: (ElfImage) -> T) throws -> T {
        try bytes.withUnsafeBytes { buffer in body(try ElfImage(buffer)) }
    }

    func testStandardImageParses() throws {
        let image = ElfTestImage.standard()
        let result = try parsed(image.bytes()) { elf in (elf.entry, elf.loadSegments, elf.noteSegments.count) }
        XCTAssertEqual(result.0, ElfTestImage.entryPoint)
        XCTAssertEqual(result.1.count, 2)
        XCTAssertEqual(result.1[0].index, 0)
        XCTAssertEqual(result.1[0].vaddr, 0x10_0000)
        XCTAssertEqual(result.1[0].paddr, 0x10_0000)
        XCTAssertEqual(result.1[0].fileSize, 0x2000)
        XCTAssertEqual(result.1[0].memSize, 0x2000)
        XCTAssertTrue(result.1[0].isExecutable)
        XCTAssertEqual(result.1[1].vaddr, 0x10_2000)
        XCTAssertEqual(result.1[1].fileSize, 0x180)
        XCTAssertEqual(result.1[1].memSize, 0x3000)
        XCTAssertFalse(result.1[1].isExecutable)
        XCTAssertEqual(result.2, 1)
    }

    func testFileBytesOfASegmentAreItsData() throws {
        let image = ElfTestImage.standard()
        let data = try parsed(image.bytes()) { elf in Array(elf.fileBytes(of: elf.loadSegments[1])) }
        XCTAssertEqual(data, image.segments[1].data)
    }

    func testRefusesBadMagicAndTinyBuffers() {
        var bytes = ElfTestImage.standard().bytes()
        bytes[1] = 0x45 + 1
        XCTAssertEqual(parseError(bytes), .notElf)
        XCTAssertEqual(parseError([]), .notElf)
        XCTAssertEqual(parseError([0x7F, 0x45, 0x4C]), .notElf)
        XCTAssertEqual(parseError([0x7F, 0x45, 0x4C, 0x46, 1, 1]), .notElf, "a header shorter than 52 bytes")
    }

    func testRefusesElf64() {
        var image = ElfTestImage.standard()
        image.elfClass = 2
        XCTAssertEqual(parseError(image.bytes()), .notElf32)
    }

    func testRefusesBigEndian() {
        var image = ElfTestImage.standard()
        image.dataEncoding = 2
        XCTAssertEqual(parseError(image.bytes()), .notLittleEndian)
    }

    func testRefusesOtherMachines() {
        var image = ElfTestImage.standard()
        image.machine = 62  // x86-64
        XCTAssertEqual(parseError(image.bytes()), .notI386)
    }

    func testRefusesNonExecutables() {
        var image = ElfTestImage.standard()
        image.type = 3  // ET_DYN
        XCTAssertEqual(parseError(image.bytes()), .notExecutable)
        image.type = 1  // ET_REL
        XCTAssertEqual(parseError(image.bytes()), .notExecutable)
    }

    func testRefusesProgramHeadersOutsideTheFile() {
        var bytes = ElfTestImage.standard().bytes()
        put32(&bytes, 28, UInt32(bytes.count - 40))
        XCTAssertEqual(parseError(bytes), .badProgramHeaders)
        put32(&bytes, 28, 0xFFFF_FFF0)
        XCTAssertEqual(parseError(bytes), .badProgramHeaders)
    }

    func testRefusesShortEntriesAndExtendedNumbering() {
        var bytes = ElfTestImage.standard().bytes()
        put16(&bytes, 42, 16)
        XCTAssertEqual(parseError(bytes), .badProgramHeaders)
        bytes = ElfTestImage.standard().bytes()
        put16(&bytes, 44, 0xFFFF)
        XCTAssertEqual(parseError(bytes), .badProgramHeaders)
    }

    func testRefusesSegmentFileBytesPastTheEnd() {
        var bytes = ElfTestImage.standard().bytes()
        let phdr = ElfTestImage.phdrOffset(1)
        put32(&bytes, phdr + 4, UInt32(bytes.count - 0x100))  // 0x180 file bytes from here run 0x80 past the end
        XCTAssertEqual(parseError(bytes), .segmentOutsideFile(index: 1))
        put32(&bytes, phdr + 4, 0xFFFF_FF00)  // offset + size wraps 32 bits
        XCTAssertEqual(parseError(bytes), .segmentOutsideFile(index: 1))
    }

    func testRefusesNoteBytesPastTheEnd() {
        var bytes = ElfTestImage.standard().bytes()
        let phdr = ElfTestImage.phdrOffset(2)
        put32(&bytes, phdr + 16, UInt32(bytes.count))
        XCTAssertEqual(parseError(bytes), .segmentOutsideFile(index: 2))
    }

    func testRefusesFileSizeAboveMemorySize() {
        var image = ElfTestImage.standard()
        image.segments[1].memSize = 0x100
        XCTAssertEqual(parseError(image.bytes()), .segmentFileLargerThanMemory(index: 1))
    }

    func testSkipsEmptyAndOtherSegments() throws {
        var image = ElfTestImage.standard()
        image.segments.append(ElfTestImage.Segment(type: 0x6474_E551, vaddr: 0, flags: 6, data: []))  // PT_GNU_STACK
        image.segments.append(ElfTestImage.Segment(vaddr: 0x20_0000, flags: 6, data: []))  // empty PT_LOAD
        let counts = try parsed(image.bytes()) { ($0.loadSegments.count, $0.noteSegments.count) }
        XCTAssertEqual(counts.0, 2)
        XCTAssertEqual(counts.1, 1)
    }

    func testNoProgramHeadersParsesWithNoSegments() throws {
        var bytes = ElfTestImage.standard().bytes()
        put16(&bytes, 44, 0)
        put32(&bytes, 28, 0xFFFF_0000)  // ignored when there are no entries
        let count = try parsed(bytes) { $0.loadSegments.count }
        XCTAssertEqual(count, 0)
    }
}
