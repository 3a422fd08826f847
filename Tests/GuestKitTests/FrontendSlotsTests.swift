// FrontendSlotsTests.swift: what the frontends put into ring slots, read back through the backend's
// decoders (BlockRequest, NetTxRequest) where they exist, the requests a frontend must never send
// refused before they reach the ring, and rx responses that would run past their page refused.

import XCTest
import ApusCore
import PVABI
@testable import GuestKit

final class FrontendSlotsTests: XCTestCase {
    func withPage(_ body: (UnsafeMutableRawBufferPointer) -> Void) {
        let page = UnsafeMutableRawBufferPointer.allocate(byteCount: SharedRingLayout.pageBytes, alignment: 4096)
        page.initializeMemory(as: UInt8.self, repeating: 0xAA)
        body(page)
        page.deallocate()
    }

    func testBlockRequestLayout() {
        withPage { page in
            XCTAssertTrue(FrontendSlots.writeBlock(op: .read, handle: 51712, id: 0x1122_3344_5566_7788, sector: 0x1_0000_0002,
                                                   segments: [.init(grant: 9, first: 0, last: 7), .init(grant: 10, first: 2, last: 3)],
                                                   slot: 31, in: page))
            let at = SharedRingLayout.entriesOffset + 31 * BlkifLayout.entryBytes
            XCTAssertEqual(page[at + BlkifLayout.operationOffset], BlkifOperation.read.rawValue)
            XCTAssertEqual(page[at + BlkifLayout.segmentCountOffset], 2)
            XCTAssertEqual(page.loadUnaligned(fromByteOffset: at + BlkifLayout.handleOffset, as: UInt16.self), 51712)
            XCTAssertEqual(page.loadUnaligned(fromByteOffset: at + BlkifLayout.idOffset, as: UInt64.self), 0x1122_3344_5566_7788)
            XCTAssertEqual(page.loadUnaligned(fromByteOffset: at + BlkifLayout.sectorOffset, as: UInt64.self), 0x1_0000_0002)
            let seg1 = at + BlkifLayout.segmentsOffset + BlkifLayout.segmentBytes
            XCTAssertEqual(page.loadUnaligned(fromByteOffset: seg1 + BlkifLayout.segmentGrantOffset, as: UInt32.self), 10)
            XCTAssertEqual(page[seg1 + BlkifLayout.segmentFirstOffset], 2)
            XCTAssertEqual(page[seg1 + BlkifLayout.segmentLastOffset], 3)
            // The unused segments are zero, not left-over bytes.
            XCTAssertEqual(page[at + BlkifLayout.requestBytes - 1], 0)
            // The entry after it (slot 0 of the next lap) is untouched.
            XCTAssertEqual(page[at - 1], 0xAA)
        }
    }

    func testBlockRequestsNeverSent() {
        withPage { page in
            let ok = FrontendSlots.BlockSegment(grant: 9, first: 0, last: 0)
            XCTAssertFalse(FrontendSlots.writeBlock(op: .read, handle: 1, id: 1, sector: 0, segments: [], slot: 0, in: page))
            XCTAssertFalse(FrontendSlots.writeBlock(op: .read, handle: 1, id: 1, sector: 0, segments: Array(repeating: ok, count: 12), slot: 0, in: page))
            XCTAssertFalse(FrontendSlots.writeBlock(op: .write, handle: 1, id: 1, sector: 0, segments: [.init(grant: 9, first: 5, last: 2)], slot: 0, in: page))
            XCTAssertFalse(FrontendSlots.writeBlock(op: .read, handle: 1, id: 1, sector: 0, segments: [.init(grant: 9, first: 0, last: 8)], slot: 0, in: page))
            XCTAssertFalse(FrontendSlots.writeBlock(op: .flushDiskCache, handle: 1, id: 1, sector: 0, segments: [ok], slot: 0, in: page))
            XCTAssertFalse(FrontendSlots.writeBlock(op: .discard, handle: 1, id: 1, sector: 0, segments: [ok], slot: 0, in: page))
            // A slot past the page.
            XCTAssertFalse(FrontendSlots.writeBlock(op: .read, handle: 1, id: 1, sector: 0, segments: [ok], slot: 32, in: page))
            XCTAssertTrue(FrontendSlots.writeBlock(op: .flushDiskCache, handle: 1, id: 1, sector: 0, segments: [], slot: 0, in: page))
            XCTAssertNil(FrontendSlots.readBlockResponse(slot: 40, in: page))
        }
        let small = UnsafeMutableRawBufferPointer.allocate(byteCount: 100, alignment: 8)
        XCTAssertFalse(FrontendSlots.writeBlock(op: .read, handle: 1, id: 1, sector: 0, segments: [.init(grant: 1, first: 0, last: 0)], slot: 0, in: small))
        small.deallocate()
    }

    func testBlockResponse() {
        withPage { page in
            let at = SharedRingLayout.entriesOffset + 3 * BlkifLayout.entryBytes
            page.storeBytes(of: UInt64(77), toByteOffset: at + BlkifLayout.responseIDOffset, as: UInt64.self)
            page.storeBytes(of: Int16(-1), toByteOffset: at + BlkifLayout.responseStatusOffset, as: Int16.self)
            let r = FrontendSlots.readBlockResponse(slot: 3, in: page)
            XCTAssertEqual(r?.id, 77)
            XCTAssertEqual(r?.status, -1)
        }
    }

    func testTxRequests() {
        withPage { page in
            XCTAssertTrue(FrontendSlots.writeTx(id: 5, grant: 12, offset: 0, size: 60, slot: 255, in: page))
            let at = SharedRingLayout.entriesOffset + 255 * NetifTxLayout.entryBytes
            XCTAssertEqual(page.loadUnaligned(fromByteOffset: at + NetifTxLayout.grantOffset, as: UInt32.self), 12)
            XCTAssertEqual(page.loadUnaligned(fromByteOffset: at + NetifTxLayout.flagsOffset, as: UInt16.self), 0)
            XCTAssertEqual(page.loadUnaligned(fromByteOffset: at + NetifTxLayout.idOffset, as: UInt16.self), 5)
            XCTAssertEqual(page.loadUnaligned(fromByteOffset: at + NetifTxLayout.sizeOffset, as: UInt16.self), 60)
            // Too short, too long, past the page: never sent.
            XCTAssertFalse(FrontendSlots.writeTx(id: 1, grant: 1, offset: 0, size: 13, slot: 0, in: page))
            XCTAssertFalse(FrontendSlots.writeTx(id: 1, grant: 1, offset: 0, size: 1519, slot: 0, in: page))
            XCTAssertFalse(FrontendSlots.writeTx(id: 1, grant: 1, offset: 4000, size: 200, slot: 0, in: page))
            XCTAssertFalse(FrontendSlots.writeTx(id: 1, grant: 1, offset: 0, size: 60, slot: 256, in: page))
            page.storeBytes(of: UInt16(5), toByteOffset: at + NetifTxLayout.responseIDOffset, as: UInt16.self)
            page.storeBytes(of: Int16(-1), toByteOffset: at + NetifTxLayout.responseStatusOffset, as: Int16.self)
            XCTAssertEqual(FrontendSlots.readTxResponse(slot: 255, in: page)?.status, -1)
        }
    }

    func testRxRequestsAndResponses() {
        withPage { page in
            XCTAssertTrue(FrontendSlots.writeRx(id: 7, grant: 30, slot: 1, in: page))
            let at = SharedRingLayout.entriesOffset + NetifRxLayout.entryBytes
            XCTAssertEqual(page.loadUnaligned(fromByteOffset: at + NetifRxLayout.idOffset, as: UInt16.self), 7)
            XCTAssertEqual(page.loadUnaligned(fromByteOffset: at + NetifRxLayout.grantOffset, as: UInt32.self), 30)
            func respond(id: UInt16, offset: UInt16, flags: UInt16, status: Int16) -> FrontendSlots.RxResult? {
                page.storeBytes(of: id, toByteOffset: at + NetifRxLayout.responseIDOffset, as: UInt16.self)
                page.storeBytes(of: offset, toByteOffset: at + NetifRxLayout.responseOffsetOffset, as: UInt16.self)
                page.storeBytes(of: flags, toByteOffset: at + NetifRxLayout.responseFlagsOffset, as: UInt16.self)
                page.storeBytes(of: status, toByteOffset: at + NetifRxLayout.responseStatusOffset, as: Int16.self)
                return FrontendSlots.readRxResponse(slot: 1, in: page)
            }
            XCTAssertEqual(respond(id: 7, offset: 0, flags: NetRxFlags.dataValidated, status: 97), .frame(id: 7, offset: 0, length: 97))
            XCTAssertEqual(respond(id: 7, offset: 10, flags: 0, status: 4086), .frame(id: 7, offset: 10, length: 4086))
            XCTAssertEqual(respond(id: 7, offset: 10, flags: 0, status: 4087), .outOfPage(id: 7))
            XCTAssertEqual(respond(id: 7, offset: 0xFFFF, flags: 0, status: 0x7FFF), .outOfPage(id: 7))
            XCTAssertEqual(respond(id: 7, offset: 0, flags: 0, status: -1), .failed(id: 7, status: -1))
            XCTAssertEqual(respond(id: 7, offset: 0, flags: 0, status: 0), .failed(id: 7, status: 0))
            XCTAssertEqual(respond(id: 7, offset: 0, flags: NetRxFlags.moreData, status: 60), .unsupported(id: 7, flags: NetRxFlags.moreData))
            XCTAssertEqual(respond(id: 7, offset: 0, flags: NetRxFlags.extraInfo, status: 60), .unsupported(id: 7, flags: NetRxFlags.extraInfo))
            XCTAssertNil(FrontendSlots.readRxResponse(slot: 256, in: page))
        }
    }
}
