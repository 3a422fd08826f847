// Tests of the hypercall page: the exact stub bytes of chosen slots, the iret slot, and the 0xCC filler everywhere else.
// Expected bytes are written out by hand from the x86 encodings, never produced by the code under test.

import XCTest
@testable import ApusCore

final class HypercallPageTests: XCTestCase {
    func filledPage() -> [UInt8] {
        var page = [UInt8](repeating: 0, count: 4096)
        page.withUnsafeMutableBytes { HypercallPage.fill($0) }
        return page
    }

    func testSlotBytes() {
        XCTAssertEqual(HypercallPage.bytes(slot: 0), [0xB8, 0x00, 0x00, 0x00, 0x00, 0xCD, 0x82, 0xC3])
        XCTAssertEqual(HypercallPage.bytes(slot: 1), [0xB8, 0x01, 0x00, 0x00, 0x00, 0xCD, 0x82, 0xC3])
        XCTAssertEqual(HypercallPage.bytes(slot: 29), [0xB8, 0x1D, 0x00, 0x00, 0x00, 0xCD, 0x82, 0xC3])
        XCTAssertEqual(HypercallPage.bytes(slot: 127), [0xB8, 0x7F, 0x00, 0x00, 0x00, 0xCD, 0x82, 0xC3])
    }

    func testIretSlotPushesEAXAndEntersItsOwnGateWithNoRet() {
        XCTAssertEqual(HypercallPage.bytes(slot: 23), [0x50, 0xCD, 0x83])
    }

    func testFilledPageLayout() {
        let page = filledPage()
        XCTAssertEqual(Array(page[0..<8]), [0xB8, 0x00, 0x00, 0x00, 0x00, 0xCD, 0x82, 0xC3])
        XCTAssertEqual(Array(page[32..<40]), [0xB8, 0x01, 0x00, 0x00, 0x00, 0xCD, 0x82, 0xC3])
        XCTAssertEqual(Array(page[23 * 32..<23 * 32 + 8]), [0x50, 0xCD, 0x83, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC])
        XCTAssertEqual(Array(page[29 * 32..<29 * 32 + 8]), [0xB8, 0x1D, 0x00, 0x00, 0x00, 0xCD, 0x82, 0xC3])
    }

    func testEverythingElseIsInt3() {
        let page = filledPage()
        for slot in 0..<128 {
            let base = slot * 32
            for k in 8..<32 { XCTAssertEqual(page[base + k], 0xCC, "slot \(slot) byte \(k)") }
        }
        XCTAssertEqual(page.filter { $0 == 0xCC }.count, 128 * 24 + 5)     // the iret slot is 3 bytes
    }

    func testFillOverwritesGarbage() {
        var page = [UInt8](repeating: 0x90, count: 4096)
        page.withUnsafeMutableBytes { HypercallPage.fill($0) }
        XCTAssertEqual(page, filledPage())
    }
}
