// Tests of the start-of-day layout arithmetic: order of the areas, the page-table fixed point, padding and 4 MiB rounding.
// Layout only: no image, no memory. Invariants are checked over many sizes, not just one example.

import XCTest
import PVABI
@testable import ApusCore

final class DomainLayoutTests: XCTestCase {
    func layout(
        virtBase: UInt32 = 0, imageStart: UInt32 = 0x10_0000, imageEnd: UInt32 = 0x10_5000,
        initrd: UInt32 = 0, pages: UInt64 = 4096, domU: Bool = false
    ) -> Result<DomainLayout, BuildError> {
        do throws(BuildError) {
            return .success(try DomainLayout.compute(
                virtBase: virtBase, imageStart: imageStart, imageEnd: imageEnd,
                initrdLength: initrd, nrPages: pages, storeAndConsole: domU))
        } catch {
            return .failure(error)
        }
    }

    func testSmallDom0Layout() throws {
        let l = try layout(pages: 2048).get()
        XCTAssertEqual(l.initrdStart, 0x10_5000)
        XCTAssertEqual(l.p2mStart, 0x10_5000)
        XCTAssertEqual(l.startInfo, 0x10_7000, "2048 pfns take two pages of P2M")
        XCTAssertNil(l.storePage)
        XCTAssertNil(l.consolePage)
        XCTAssertEqual(l.pageTablesStart, 0x10_8000)
        XCTAssertEqual(l.l2Slots, [0, 3])
        XCTAssertEqual(l.l1Count, 2)
        XCTAssertEqual(l.tableCount, 5)
        XCTAssertEqual(l.stackPage, 0x10_D000)
        XCTAssertEqual(l.stackTop, 0x10_E000)
        XCTAssertEqual(l.mappedEnd, 0x40_0000)
        XCTAssertEqual(l.mappedPages, 1024)
    }

    func testDomUGetsStoreAndConsolePagesAfterStartInfo() throws {
        let l = try layout(initrd: 0x1234, pages: 2048, domU: true).get()
        XCTAssertEqual(l.initrdStart, 0x10_5000)
        XCTAssertEqual(l.p2mStart, 0x10_7000)
        XCTAssertEqual(l.startInfo, 0x10_9000)
        XCTAssertEqual(l.storePage, 0x10_A000)
        XCTAssertEqual(l.consolePage, 0x10_B000)
        XCTAssertEqual(l.pageTablesStart, 0x10_C000)
    }

    func testLinuxStyleVirtBaseUsesOneL2ForSlot3() throws {
        let l = try layout(virtBase: 0xC000_0000, imageStart: 0xC010_0000, imageEnd: 0xC050_0000, pages: 8192).get()
        XCTAssertEqual(l.l2Slots, [3])
        XCTAssertEqual(l.pfn(0xC010_0000), 0x100)
        XCTAssertEqual(l.mappedEnd & 0x3F_FFFF, 0)
    }

    func testInvariantsOverManySizes() throws {
        for step in 0..<3000 {
            let initrd = UInt32(step) * 0x1_1000
            guard case .success(let l) = layout(initrd: initrd, pages: 1 << 18) else {
                return XCTFail("layout refused for initrd \(initrd)")
            }
            let end = UInt64(l.mappedEnd)
            XCTAssertEqual(end % (4 << 20), 0)
            XCTAssertGreaterThanOrEqual(end - UInt64(l.stackTop), 512 * 1024)
            // Not a whole 4 MiB more than needed.
            XCTAssertLessThan(end - UInt64(l.stackTop), 512 * 1024 + (4 << 20))
            XCTAssertEqual(UInt64(l.l1Count), (end + (2 << 20) - 1) / (2 << 20))
            XCTAssertEqual(l.l2Slots, Array(0...Int((end - 1) >> 30)) + (end > 3 << 30 ? [] : [3]))
            XCTAssertEqual(l.stackPage, l.pageTablesStart + UInt32(l.tableCount) * 4096)
            XCTAssertGreaterThanOrEqual(l.initrdStart, l.imageEnd)
            XCTAssertGreaterThanOrEqual(l.p2mStart, l.initrdStart + initrd)
            XCTAssertEqual(l.startInfo, l.p2mStart + UInt32((1 << 18) * 4))
        }
    }

    func testTheTableCountIsAFixedPoint() throws {
        // Around 8 MiB, where one more L1 can push the stack's padding past a 4 MiB boundary.
        for initrdPages in 1500..<1800 {
            let l = try layout(initrd: UInt32(initrdPages) * 4096, pages: 4096).get()
            let end = UInt64(l.mappedEnd)
            let l1 = (end + (2 << 20) - 1) / (2 << 20)
            XCTAssertEqual(UInt64(l.tableCount), 1 + 2 + l1, "initrd pages \(initrdPages)")
        }
    }

    func testMappingReachingTheHypervisorIsRefused() {
        let start: UInt32 = 0xF500_0000
        XCTAssertEqual(
            layout(imageStart: start, imageEnd: 0xF570_0000, pages: 2048).failure,
            .mappingReachesHypervisor(end: 0xF600_0000),
            "the first guess ends at 0xF5800000, but its 1964 L1s push the stack to 0xF5EB4000")
        XCTAssertEqual(
            layout(imageStart: start, imageEnd: 0xF570_0000, pages: 1 << 20).failure,
            .mappingReachesHypervisor(end: 0xF5B0_1000), "a 4 MiB P2M leaves no room for the tables")
    }

    func testAHugeP2MIsRefused() {
        guard case .mappingReachesHypervisor = layout(pages: 1 << 40).failure else { return XCTFail() }
    }

    func testTooFewPagesIsRefused() {
        XCTAssertEqual(layout(pages: 1000).failure, .notEnoughMemory(needed: 1024, available: 1000))
        XCTAssertNotNil(try? layout(pages: 1024).get())
    }
}
