// Pins the x86_32 grant-table ABI: sub-op numbers, GNTST codes, GTF/GNTMAP/GNTCOPY bits and every struct offset.
// Every expected value is a literal read from xen/include/public/grant_table.h (i386 alignment), never derived from the code under test.

import XCTest
import PVABI

final class GrantTableLayoutTests: XCTestCase {
    func testSubOpNumbers() {
        XCTAssertEqual(GrantTableOp.mapGrantRef.rawValue, 0)
        XCTAssertEqual(GrantTableOp.unmapGrantRef.rawValue, 1)
        XCTAssertEqual(GrantTableOp.setupTable.rawValue, 2)
        XCTAssertEqual(GrantTableOp.dumpTable.rawValue, 3)
        XCTAssertEqual(GrantTableOp.transfer.rawValue, 4)
        XCTAssertEqual(GrantTableOp.copy.rawValue, 5)
        XCTAssertEqual(GrantTableOp.querySize.rawValue, 6)
        XCTAssertEqual(GrantTableOp.unmapAndReplace.rawValue, 7)
        XCTAssertEqual(GrantTableOp.setVersion.rawValue, 8)
        XCTAssertEqual(GrantTableOp.getStatusFrames.rawValue, 9)
        XCTAssertEqual(GrantTableOp.getVersion.rawValue, 10)
        XCTAssertEqual(GrantTableOp.swapGrantRef.rawValue, 11)
        XCTAssertEqual(GrantTableOp.cacheFlush.rawValue, 12)
    }

    func testStatusCodes() {
        let expected: [(GrantStatus, Int16)] = [(.okay, 0), (.generalError, -1), (.badDomain, -2), (.badGntref, -3), (.badHandle, -4),
            (.badVirtAddr, -5), (.badDevAddr, -6), (.noDeviceSpace, -7), (.permissionDenied, -8), (.badPage, -9),
            (.badCopyArg, -10), (.addressTooBig, -11), (.eagain, -12)]
        for (s, v) in expected { XCTAssertEqual(s.rawValue, v) }
        XCTAssertEqual(GrantStatus.badGntref.field, 0xFFFD)
    }

    func testFlagBits() {
        XCTAssertEqual(GrantEntryFlags.permitAccess, 1)
        XCTAssertEqual(GrantEntryFlags.acceptTransfer, 2)
        XCTAssertEqual(GrantEntryFlags.typeMask, 3)
        XCTAssertEqual(GrantEntryFlags.readonly, 4)
        XCTAssertEqual(GrantEntryFlags.reading, 8)
        XCTAssertEqual(GrantEntryFlags.writing, 16)
        XCTAssertEqual(GrantEntryFlags.subPage, 256)
        XCTAssertEqual(GrantMapFlags.deviceMap, 1)
        XCTAssertEqual(GrantMapFlags.hostMap, 2)
        XCTAssertEqual(GrantMapFlags.readonly, 4)
        XCTAssertEqual(GrantMapFlags.applicationMap, 8)
        XCTAssertEqual(GrantMapFlags.containsPTE, 16)
        XCTAssertEqual(GrantMapFlags.canFail, 32)
        XCTAssertEqual(GrantCopyFlags.sourceGref, 1)
        XCTAssertEqual(GrantCopyFlags.destGref, 2)
        XCTAssertEqual(GrantCopyFlags.canFail, 4)
        XCTAssertEqual(GrantTableLimits.entriesPerFrame, 512)
        XCTAssertEqual(GrantTableLimits.defaultMaxFrames, 32)
    }

    func testLayouts() {
        XCTAssertEqual([GrantEntryV1Layout.flagsOffset, GrantEntryV1Layout.domidOffset, GrantEntryV1Layout.frameOffset, GrantEntryV1Layout.size], [0, 2, 4, 8])
        XCTAssertEqual([GrantMapLayout.hostAddrOffset, GrantMapLayout.flagsOffset, GrantMapLayout.refOffset, GrantMapLayout.domOffset,
                        GrantMapLayout.statusOffset, GrantMapLayout.handleOffset, GrantMapLayout.devBusAddrOffset, GrantMapLayout.size],
                       [0, 8, 12, 16, 18, 20, 24, 32])
        XCTAssertEqual([GrantUnmapLayout.hostAddrOffset, GrantUnmapLayout.devBusAddrOffset, GrantUnmapLayout.handleOffset,
                        GrantUnmapLayout.statusOffset, GrantUnmapLayout.size], [0, 8, 16, 20, 24])
        XCTAssertEqual([GrantSetupTableLayout.domOffset, GrantSetupTableLayout.nrFramesOffset, GrantSetupTableLayout.statusOffset,
                        GrantSetupTableLayout.frameListOffset, GrantSetupTableLayout.size, GrantSetupTableLayout.frameListElementSize],
                       [0, 4, 8, 12, 16, 4])
        XCTAssertEqual([GrantQuerySizeLayout.domOffset, GrantQuerySizeLayout.nrFramesOffset, GrantQuerySizeLayout.maxNrFramesOffset,
                        GrantQuerySizeLayout.statusOffset, GrantQuerySizeLayout.size], [0, 4, 8, 12, 16])
        XCTAssertEqual([GrantCopyLayout.sourceRefOffset, GrantCopyLayout.sourceDomidOffset, GrantCopyLayout.sourceOffsetOffset,
                        GrantCopyLayout.destRefOffset, GrantCopyLayout.destDomidOffset, GrantCopyLayout.destOffsetOffset,
                        GrantCopyLayout.lenOffset, GrantCopyLayout.flagsOffset, GrantCopyLayout.statusOffset, GrantCopyLayout.size],
                       [0, 4, 6, 8, 12, 14, 16, 18, 20, 24])
        XCTAssertEqual([GrantSetVersionLayout.versionOffset, GrantSetVersionLayout.size], [0, 4])
        XCTAssertEqual([GrantGetVersionLayout.domOffset, GrantGetVersionLayout.padOffset, GrantGetVersionLayout.versionOffset,
                        GrantGetVersionLayout.size], [0, 2, 4, 8])
    }
}
