// CpioTests.swift: the initrd reader against newc archives built here, byte by byte as cpio -H newc
// writes them: several files, empty files, every name and data padding, and every malformed case
// the reader must answer nil for instead of reading past the archive.

import XCTest
@testable import GuestKit

/// A newc archive writer: a 110-byte header of "070701" and thirteen 8-digit hex fields, the
/// NUL-terminated name padded to 4 bytes (counting the header), then the data padded to 4.
private struct NewcWriter {
    var bytes: [UInt8] = []
    var uppercaseHex = true
    private var inode: UInt32 = 1

    mutating func add(_ name: String, _ data: [UInt8], mode: UInt32 = 0o100644) {
        add(rawName: Array(name.utf8) + [0], data: data, mode: mode)
    }

    mutating func add(rawName: [UInt8], data: [UInt8], mode: UInt32 = 0o100644, nameSize: UInt32? = nil, fileSize: UInt32? = nil) {
        bytes += Array("070701".utf8)
        let fields: [UInt32] = [inode, mode, 0, 0, 1, 0x6500_0000, fileSize ?? UInt32(data.count), 0, 0, 0, 0,
                                nameSize ?? UInt32(rawName.count), 0]
        for f in fields { bytes += hex8(f) }
        inode += 1
        bytes += rawName
        pad()
        bytes += data
        pad()
    }

    mutating func trailer() { add("TRAILER!!!", [], mode: 0) }

    private mutating func pad() { while bytes.count % 4 != 0 { bytes.append(0) } }

    private func hex8(_ v: UInt32) -> [UInt8] {
        let digits = Array((uppercaseHex ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        return (0..<8).reversed().map { digits[Int((v >> (4 * UInt32($0))) & 0xF)] }
    }
}

private struct Entry: Equatable {
    var name: String
    var data: [UInt8]
}

private func parse(_ archive: [UInt8]) -> [Entry]? {
    archive.withUnsafeBufferPointer { buffer in
        CpioArchive(buffer).entries()?.map { Entry(name: String(decoding: $0.name, as: UTF8.self), data: Array($0.data)) }
    }
}

final class CpioTests: XCTestCase {
    func testSeveralFilesInOrder() {
        var w = NewcWriter()
        w.add("motd.txt", Array("Welcome to Apus\n".utf8))
        w.add("domu/kernel", (0..<300).map { UInt8($0 & 0xFF) })
        w.add("domu/config", Array("memory = 32\n".utf8))
        w.trailer()
        XCTAssertEqual(parse(w.bytes), [
            Entry(name: "motd.txt", data: Array("Welcome to Apus\n".utf8)),
            Entry(name: "domu/kernel", data: (0..<300).map { UInt8($0 & 0xFF) }),
            Entry(name: "domu/config", data: Array("memory = 32\n".utf8)),
        ])
    }

    func testEmptyFilesAndAnEmptyArchive() {
        var w = NewcWriter()
        w.add("empty", [])
        w.add("after", [7])
        w.add("also-empty", [])
        w.trailer()
        XCTAssertEqual(parse(w.bytes), [Entry(name: "empty", data: []), Entry(name: "after", data: [7]), Entry(name: "also-empty", data: [])])

        var only = NewcWriter()
        only.trailer()
        XCTAssertEqual(parse(only.bytes), [])
    }

    /// 110 + namesize is 2 mod 4 for namesize 4k+2, so names of 1...4 characters (namesize 2...5)
    /// need 0, 3, 2 and 1 padding bytes; data of 1...4 bytes needs 3, 2, 1 and 0.
    func testEveryNameAndDataPadding() {
        for nameLength in 1...8 {
            for dataLength in 0...8 {
                var w = NewcWriter()
                let name = String(repeating: "n", count: nameLength)
                let data = (0..<dataLength).map { UInt8(0xA0 + $0) }
                w.add(name, data)
                w.add("next", [0x55, 0x66])
                w.trailer()
                XCTAssertEqual(parse(w.bytes), [Entry(name: name, data: data), Entry(name: "next", data: [0x55, 0x66])],
                               "name \(nameLength) data \(dataLength)")
            }
        }
    }

    func testLowercaseHexAndTrailingPaddingAfterTheTrailer() {
        var w = NewcWriter()
        w.uppercaseHex = false
        w.add("big", [UInt8](repeating: 0xEE, count: 0xABC))
        w.trailer()
        let padded = w.bytes + [UInt8](repeating: 0, count: 512 - w.bytes.count % 512)
        XCTAssertEqual(parse(padded)?.first?.data.count, 0xABC)
        XCTAssertEqual(parse(padded)?.count, 1)
    }

    func testEntriesPointIntoTheArchiveWithoutCopying() {
        var w = NewcWriter()
        w.add("a", [1, 2, 3])
        w.trailer()
        w.bytes.withUnsafeBufferPointer { buffer in
            guard let entry = CpioArchive(buffer).entries()?.first else { return XCTFail("no entry") }
            XCTAssertEqual(entry.name.baseAddress, buffer.baseAddress! + 110)
            XCTAssertEqual(entry.data.baseAddress, buffer.baseAddress! + 112)
        }
    }

    // MARK: malformed archives

    func testEmptyInputAndTruncatedHeaders() {
        XCTAssertNil(parse([]))
        var w = NewcWriter()
        w.add("file", [1, 2, 3, 4])
        w.trailer()
        for cut in [1, 6, 50, 109] { XCTAssertNil(parse(Array(w.bytes.prefix(cut))), "cut at \(cut)") }
        // The second header (at 120) cut short.
        XCTAssertNil(parse(Array(w.bytes.prefix(120 + 109))))
        // A complete archive parses, so the cuts above are what failed.
        XCTAssertNotNil(parse(w.bytes))
    }

    func testBadMagicIsRefused() {
        for magic in ["070707", "070702", "07070l", "      "] {
            var w = NewcWriter()
            w.add("file", [1])
            w.trailer()
            w.bytes.replaceSubrange(0..<6, with: Array(magic.utf8))
            XCTAssertNil(parse(w.bytes), magic)
        }
        // Bad magic on the trailer only.
        var w = NewcWriter()
        w.add("file", [1])
        let trailerAt = w.bytes.count
        w.trailer()
        w.bytes[trailerAt + 5] = UInt8(ascii: "2")
        XCTAssertNil(parse(w.bytes))
    }

    func testNonHexFieldsAreRefused() {
        var w = NewcWriter()
        w.add("file", [1])
        w.trailer()
        var badSize = w.bytes
        badSize[54 + 3] = UInt8(ascii: "g")
        XCTAssertNil(parse(badSize))
        var badName = w.bytes
        badName[94] = UInt8(ascii: " ")
        XCTAssertNil(parse(badName))
    }

    func testSizesPastTheEndAreRefused() {
        var fileTooBig = NewcWriter()
        fileTooBig.add(rawName: Array("file".utf8) + [0], data: [1, 2, 3, 4], fileSize: 0x10_0000)
        XCTAssertNil(parse(fileTooBig.bytes))

        var nameTooBig = NewcWriter()
        nameTooBig.add(rawName: Array("file".utf8) + [0], data: [], nameSize: 0x1000)
        XCTAssertNil(parse(nameTooBig.bytes))

        var zeroName = NewcWriter()
        zeroName.add(rawName: [], data: [1], nameSize: 0)
        zeroName.trailer()
        XCTAssertNil(parse(zeroName.bytes))

        // The last file's data runs one byte past the archive.
        var w = NewcWriter()
        w.add("file", [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertNil(parse(Array(w.bytes.prefix(w.bytes.count - 1))))
    }

    func testAnArchiveWithoutTrailerIsRefused() {
        var w = NewcWriter()
        w.add("one", [1])
        w.add("two", [2, 2])
        XCTAssertNil(parse(w.bytes))
        // Trailing zeros are not a trailer.
        XCTAssertNil(parse(w.bytes + [UInt8](repeating: 0, count: 512)))
        // A file merely named like the trailer's prefix is not one either.
        var almost = NewcWriter()
        almost.add("TRAILER!!", [])
        XCTAssertNil(parse(almost.bytes))
    }
}
