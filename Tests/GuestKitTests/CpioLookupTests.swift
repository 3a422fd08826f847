// CpioLookupTests.swift: finding initrd files by exact name and listing the domain configurations
// (".cfg" names) in archive order, including the malformed-archive and near-miss cases.

import XCTest
@testable import GuestKit

/// Just enough of a newc writer: header, NUL-terminated name and data, each padded to 4 bytes.
private func newc(_ files: [(String, [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    func pad() { while out.count % 4 != 0 { out.append(0) } }
    func hex8(_ v: Int) -> [UInt8] { Array(String(format8: v).utf8) }
    for (i, (name, data)) in (files + [("TRAILER!!!", [])]).enumerated() {
        let nameBytes = Array(name.utf8) + [0]
        out += Array("070701".utf8)
        for field in [i + 1, 0o100644, 0, 0, 1, 0, data.count, 0, 0, 0, 0, nameBytes.count, 0] { out += hex8(field) }
        out += nameBytes
        pad()
        out += data
        pad()
    }
    return out
}

private extension String {
    init(format8 v: Int) {
        let s = String(v, radix: 16, uppercase: true)
        self = String(repeating: "0", count: 8 - s.count) + s
    }
}

private let archive = newc([
    ("web.cfg", Array("name = \"web\"\n".utf8)),
    ("domu.elf", [0x7F, 0x45, 0x4C, 0x46]),
    ("cfg", [1]),
    (".cfg", [2]),
    ("notes.cfg.txt", [3]),
    ("db.CFG", [4]),
    ("sub/db.cfg", Array("memory = 8\n".utf8)),
    ("x.cfg", []),
])

private func names(_ entries: [CpioEntry]?) -> [String]? { entries?.map { String(decoding: $0.name, as: UTF8.self) } }

final class CpioLookupTests: XCTestCase {
    func testEntryByExactName() {
        archive.withUnsafeBufferPointer { buffer in
            let cpio = CpioArchive(buffer)
            XCTAssertEqual(cpio.entry(named: Array("domu.elf".utf8)).map { Array($0.data) }, [0x7F, 0x45, 0x4C, 0x46])
            XCTAssertEqual(cpio.entry(named: Array("sub/db.cfg".utf8)).map { Array($0.data) }, Array("memory = 8\n".utf8))
            XCTAssertEqual(cpio.entry(named: Array("x.cfg".utf8))?.data.count, 0)
            XCTAssertNil(cpio.entry(named: Array("domu".utf8)))
            XCTAssertNil(cpio.entry(named: Array("domu.elf2".utf8)))
            XCTAssertNil(cpio.entry(named: Array("./domu.elf".utf8)))
            XCTAssertNil(cpio.entry(named: Array("DOMU.ELF".utf8)))
            XCTAssertNil(cpio.entry(named: []))
            XCTAssertNil(cpio.entry(named: Array("TRAILER!!!".utf8)), "the trailer is not a file")
        }
    }

    func testEntryByBufferPointsIntoTheArchive() {
        archive.withUnsafeBufferPointer { buffer in
            let name = Array("web.cfg".utf8)
            let entry = name.withUnsafeBufferPointer { CpioArchive(buffer).entry(named: $0) }
            XCTAssertEqual(entry?.name.baseAddress, buffer.baseAddress! + 110)
        }
    }

    func testConfigurationFilesInArchiveOrder() {
        archive.withUnsafeBufferPointer { buffer in
            XCTAssertEqual(names(CpioArchive(buffer).configurationFiles()), ["web.cfg", "sub/db.cfg", "x.cfg"])
        }
    }

    func testArchivesWithoutConfigurations() {
        newc([("a.elf", [1])]).withUnsafeBufferPointer { XCTAssertEqual(names(CpioArchive($0).configurationFiles()), []) }
        newc([]).withUnsafeBufferPointer { XCTAssertEqual(names(CpioArchive($0).configurationFiles()), []) }
    }

    func testMalformedArchives() {
        var broken = archive
        broken[0] = 0x41
        broken.withUnsafeBufferPointer { buffer in
            XCTAssertNil(CpioArchive(buffer).configurationFiles())
            XCTAssertNil(CpioArchive(buffer).entry(named: Array("web.cfg".utf8)))
        }
        let truncated = Array(archive.prefix(archive.count - 40))
        truncated.withUnsafeBufferPointer { XCTAssertNil(CpioArchive($0).configurationFiles()) }
    }

    func testFoundConfigurationParses() {
        let cfg = Array("name = 'web'\nkernel = 'domu.elf'\nmemory = 16\n".utf8)
        newc([("domu.elf", [0]), ("web.cfg", cfg)]).withUnsafeBufferPointer { buffer in
            let cpio = CpioArchive(buffer)
            guard let file = cpio.configurationFiles()?.first else { return XCTFail("no cfg") }
            let config = try? DomainConfig(parsing: file.data)
            XCTAssertEqual(config?.memoryMiB, 16)
            XCTAssertNotNil(config.flatMap { cpio.entry(named: $0.kernel) })
        }
    }
}
