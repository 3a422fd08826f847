// StartInfoViewTests.swift: the guest's read-only view of start_info over a fake page: every
// accessor at its PVABI offset, the magic check, the command line's two ends (a NUL, or 1024
// bytes), and P2M lookups. The page sits below 4 GiB because the view takes a 32-bit address.

import XCTest
import PVABI
@testable import GuestKit

final class StartInfoViewTests: XCTestCase {
    private var page: LowMemory!

    override func setUpWithError() throws {
        page = try XCTUnwrap(LowMemory(size: 3 * 4096), "no memory below 4 GiB on this host")
    }

    private var view: StartInfoView { StartInfoView(page.address()) }

    private func writeMagic(_ text: String) {
        page.store([UInt8](repeating: 0, count: 32), at: StartInfoLayout.magic)
        page.store(Array(text.utf8), at: StartInfoLayout.magic)
    }

    func testEveryFieldAtItsOffset() {
        let fields: [(Int, UInt32)] = [
            (StartInfoLayout.nrPages, 0x4000), (StartInfoLayout.sharedInfo, 0x0012_3000),
            (StartInfoLayout.flags, 0x8000_0003), (StartInfoLayout.storeMFN, 0x1111),
            (StartInfoLayout.storeEvtchn, 2), (StartInfoLayout.consoleMFN, 0x3333),
            (StartInfoLayout.consoleEvtchn, 4), (StartInfoLayout.ptBase, 0xC040_0000),
            (StartInfoLayout.nrPtFrames, 6), (StartInfoLayout.mfnList, 0xC050_0000),
            (StartInfoLayout.modStart, 0xC060_0000), (StartInfoLayout.modLen, 0x0001_2345),
        ]
        for (offset, value) in fields { page.store(value, at: offset) }
        let v = view
        XCTAssertEqual(v.nrPages, 0x4000)
        XCTAssertEqual(v.sharedInfoMachineAddress, 0x0012_3000)
        XCTAssertEqual(v.flags, 0x8000_0003)
        XCTAssertEqual(v.storeMFN, 0x1111)
        XCTAssertEqual(v.storeEvtchn, 2)
        XCTAssertEqual(v.consoleMFN, 0x3333)
        XCTAssertEqual(v.consoleEvtchn, 4)
        XCTAssertEqual(v.ptBase, 0xC040_0000)
        XCTAssertEqual(v.nrPtFrames, 6)
        XCTAssertEqual(v.mfnList, 0xC050_0000)
        XCTAssertEqual(v.modStart, 0xC060_0000)
        XCTAssertEqual(v.modLen, 0x0001_2345)
    }

    func testPrivilegeFlags() {
        let cases: [(UInt32, Bool, Bool)] = [
            (0, false, false), (StartInfoFlags.privileged, true, false), (StartInfoFlags.initDomain, false, true),
            (StartInfoFlags.privileged | StartInfoFlags.initDomain | StartInfoFlags.modStartPFN, true, true),
            (StartInfoFlags.multibootModule, false, false),
        ]
        for (flags, privileged, initial) in cases {
            page.store(flags, at: StartInfoLayout.flags)
            XCTAssertEqual(view.isPrivileged, privileged, "flags \(flags)")
            XCTAssertEqual(view.isInitialDomain, initial, "flags \(flags)")
        }
    }

    func testMagicCheck() {
        writeMagic("xen-3.0-x86_32p")
        XCTAssertEqual(Array(view.magic), Array("xen-3.0-x86_32p".utf8))
        XCTAssertTrue(view.magicIs(StartInfoLayout.magicString))
        XCTAssertTrue(view.magicIs("xen-3.0-x86_32p"))
        XCTAssertFalse(view.magicIs("xen-3.0-x86_32"), "a prefix is not the magic")
        XCTAssertFalse(view.magicIs("xen-3.0-x86_32pX"))
        XCTAssertFalse(view.magicIs("xen-3.0-x86_64"))
        writeMagic("xen-3.0-x86_32")                         // a non-PAE hypervisor's
        XCTAssertFalse(view.magicIs(StartInfoLayout.magicString))
        writeMagic("")
        XCTAssertEqual(view.magic.count, 0)
        XCTAssertFalse(view.magicIs(StartInfoLayout.magicString))
    }

    func testMagicWithoutNULStopsAt32Bytes() {
        page.store([UInt8](repeating: UInt8(ascii: "x"), count: 32), at: StartInfoLayout.magic)
        page.store(0x1234_5678, at: StartInfoLayout.nrPages)  // the byte after is not NUL
        XCTAssertEqual(view.magic.count, 32)
    }

    func testCommandLineEndsAtItsNUL() {
        page.store(Array("console=hvc0 loglvl=all".utf8) + [0] + Array("stale bytes".utf8), at: StartInfoLayout.cmdLine)
        XCTAssertEqual(String(decoding: view.commandLine, as: UTF8.self), "console=hvc0 loglvl=all")
        XCTAssertEqual(view.commandLine.baseAddress, UnsafePointer(page.base.assumingMemoryBound(to: UInt8.self)) + StartInfoLayout.cmdLine)
        page.store([0], at: StartInfoLayout.cmdLine)
        XCTAssertEqual(view.commandLine.count, 0)
    }

    func testCommandLineWithoutNULStopsAt1024Bytes() {
        page.store([UInt8](repeating: UInt8(ascii: "a"), count: StartInfoLayout.cmdLineLength), at: StartInfoLayout.cmdLine)
        page.store(0x4141_4141, at: StartInfoLayout.firstP2MPfn)   // what follows is not NUL either
        XCTAssertEqual(view.commandLine.count, 1024)
        page.store([0], at: StartInfoLayout.cmdLine + 1023)
        XCTAssertEqual(view.commandLine.count, 1023)
    }

    func testMachineFrameComesFromTheP2MList() {
        // The P2M in the next two pages: pfn i maps to mfn 0x80000 + 3i.
        let p2mOffset = 4096
        for pfn in 0..<2048 { page.store(0x8_0000 + 3 * UInt32(pfn), at: p2mOffset + 4 * pfn) }
        page.store(page.address(p2mOffset), at: StartInfoLayout.mfnList)
        page.store(2048, at: StartInfoLayout.nrPages)
        for pfn: UInt32 in [0, 1, 2, 511, 1024, 2047] {
            XCTAssertEqual(view.machineFrame(ofPFN: pfn), 0x8_0000 + 3 * pfn, "pfn \(pfn)")
        }
    }
}
