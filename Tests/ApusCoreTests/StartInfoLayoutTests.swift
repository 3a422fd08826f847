// Pins the x86_32 start_info offsets and SIF_* flags to the numbers of Xen's public xen.h (32-bit longs).
// Numbers are written out here, never derived from the constants under test.

import XCTest
import PVABI

final class StartInfoLayoutTests: XCTestCase {
    func testOffsets() {
        XCTAssertEqual(StartInfoLayout.magic, 0)
        XCTAssertEqual(StartInfoLayout.magicLength, 32)
        XCTAssertEqual(StartInfoLayout.nrPages, 32)
        XCTAssertEqual(StartInfoLayout.sharedInfo, 36)
        XCTAssertEqual(StartInfoLayout.flags, 40)
        XCTAssertEqual(StartInfoLayout.storeMFN, 44)
        XCTAssertEqual(StartInfoLayout.storeEvtchn, 48)
        XCTAssertEqual(StartInfoLayout.consoleMFN, 52)
        XCTAssertEqual(StartInfoLayout.consoleEvtchn, 56)
        XCTAssertEqual(StartInfoLayout.ptBase, 60)
        XCTAssertEqual(StartInfoLayout.nrPtFrames, 64)
        XCTAssertEqual(StartInfoLayout.mfnList, 68)
        XCTAssertEqual(StartInfoLayout.modStart, 72)
        XCTAssertEqual(StartInfoLayout.modLen, 76)
        XCTAssertEqual(StartInfoLayout.cmdLine, 80)
        XCTAssertEqual(StartInfoLayout.cmdLineLength, 1024)
        XCTAssertEqual(StartInfoLayout.firstP2MPfn, 1104)
        XCTAssertEqual(StartInfoLayout.nrP2MFrames, 1108)
        XCTAssertEqual(StartInfoLayout.size, 1112)
    }

    func testMagicAndFlags() {
        XCTAssertEqual(StartInfoLayout.magicString.description, "xen-3.0-x86_32p")
        XCTAssertEqual(StartInfoFlags.privileged, 1)
        XCTAssertEqual(StartInfoFlags.initDomain, 2)
        XCTAssertEqual(StartInfoFlags.multibootModule, 4)
        XCTAssertEqual(StartInfoFlags.modStartPFN, 8)
    }
}
