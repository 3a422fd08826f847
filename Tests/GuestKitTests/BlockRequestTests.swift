// BlockRequestTests.swift: blkback's decoding and checks of one blkif request (x86_32 layout), each
// refusal with the status the frontend gets, and random requests against a reference of the rules.

import XCTest
import ApusCore
import PVABI
@testable import GuestKit

final class BlockRequestTests: XCTestCase {
    let disk = BlockDisk(sectors: 1000, writable: true, flushes: true)

    func entry(op: UInt8, segments: [(UInt32, UInt8, UInt8)], sector: UInt64, id: UInt64 = 0x1122_3344_5566_7788, count: Int? = nil) -> [UInt8] {
        var e = [UInt8](repeating: 0, count: BlkifLayout.requestBytes)
        e[0] = op
        e[1] = UInt8(count ?? segments.count)
        for i in 0..<8 { e[4 + i] = UInt8(truncatingIfNeeded: id >> (8 * UInt64(i))); e[12 + i] = UInt8(truncatingIfNeeded: sector >> (8 * UInt64(i))) }
        for (i, s) in segments.enumerated() {
            let at = 20 + 8 * i
            for k in 0..<4 { e[at + k] = UInt8(truncatingIfNeeded: s.0 >> (8 * UInt32(k))) }
            e[at + 4] = s.1
            e[at + 5] = s.2
        }
        return e
    }

    func decode(_ e: [UInt8], _ d: BlockDisk? = nil) -> Result<BlockRequest, BlockRefusal> {
        e.withUnsafeBytes { BlockRequest.decode($0, disk: d ?? disk) }
    }

    func testReadWriteAndFlush() {
        guard case .success(let r) = decode(entry(op: 0, segments: [(7, 0, 7), (9, 2, 3)], sector: 990)) else { return XCTFail() }
        XCTAssertEqual(r.operation, .read)
        XCTAssertEqual(r.id, 0x1122_3344_5566_7788)
        XCTAssertEqual(r.sector, 990)
        XCTAssertEqual(r.segments, [BlockSegment(grant: 7, first: 0, last: 7), BlockSegment(grant: 9, first: 2, last: 3)])
        XCTAssertEqual(r.sectorCount, 10)
        guard case .success(let w) = decode(entry(op: 1, segments: [(1, 0, 0)], sector: 999)) else { return XCTFail() }
        XCTAssertEqual(w.operation, .write)
        guard case .success(let f) = decode(entry(op: 3, segments: [], sector: 0)) else { return XCTFail() }
        XCTAssertEqual(f.operation, .flushDiskCache)
        // A flush that carries segments would have its data dropped: refused.
        XCTAssertEqual(decode(entry(op: 3, segments: [(1, 0, 0)], sector: 0)), .failure(.segmentCount))
        let e = entry(op: 0, segments: [(1, 0, 0)], sector: 5, id: 42)
        XCTAssertEqual(e.withUnsafeBytes { BlockRequest.header($0).id }, 42)
    }

    func testRefusals() {
        XCTAssertEqual(decode(entry(op: 0, segments: [(7, 0, 7), (9, 0, 3)], sector: 990)), .failure(.beyondDisk), "12 sectors from 990 of 1000")
        XCTAssertEqual(decode(entry(op: 0, segments: [(7, 0, 0)], sector: 1000)), .failure(.beyondDisk))
        XCTAssertEqual(decode(entry(op: 0, segments: [(7, 0, 0)], sector: UInt64.max)), .failure(.beyondDisk), "no wrap")
        XCTAssertEqual(decode(entry(op: 0, segments: [], sector: 0)), .failure(.segmentCount))
        XCTAssertEqual(decode(entry(op: 0, segments: [(1, 0, 0)], sector: 0, count: 12)), .failure(.segmentCount))
        XCTAssertEqual(decode(entry(op: 0, segments: [(1, 3, 2)], sector: 0)), .failure(.segment(0)))
        XCTAssertEqual(decode(entry(op: 1, segments: [(1, 0, 0), (1, 0, 8)], sector: 0)), .failure(.segment(1)))
        XCTAssertEqual(decode(entry(op: 1, segments: [(1, 0, 0)], sector: 0), BlockDisk(sectors: 10, writable: false, flushes: true)), .failure(.readOnly))
        XCTAssertEqual(decode(entry(op: 3, segments: [], sector: 0), BlockDisk(sectors: 10, writable: true, flushes: false)), .failure(.notSupported))
        for op: UInt8 in [2, 5, 6] { XCTAssertEqual(decode(entry(op: op, segments: [(1, 0, 0)], sector: 0)), .failure(.notSupported)) }
        XCTAssertEqual(decode(entry(op: 4, segments: [(1, 0, 0)], sector: 0)), .failure(.unknownOperation))
        XCTAssertEqual(BlockRefusal.beyondDisk.status, .error)
        XCTAssertEqual(BlockRefusal.notSupported.status, .notSupported)
        XCTAssertEqual([UInt8](repeating: 0, count: 50).withUnsafeBytes { BlockRequest.decode($0, disk: disk) }, .failure(.segmentCount), "short copy")
    }

    func testResponseLayout() {
        let r = BlockRequest.response(id: 0x0102_0304_0506_0708, operation: 1, status: .error)
        XCTAssertEqual((0..<12).map { r[$0] }, [8, 7, 6, 5, 4, 3, 2, 1, 1, 0, 0xFF, 0xFF])
    }

    /// Random bytes in every field against the rules written out plainly.
    func testAgainstReference() {
        var rng = SplitMix64(seed: 0xB10C)
        for _ in 0..<20_000 {
            var e = [UInt8](repeating: 0, count: BlkifLayout.requestBytes)
            for i in e.indices { e[i] = UInt8(truncatingIfNeeded: rng.next()) }
            e[0] = UInt8(rng.next() % 8)
            e[1] = UInt8(rng.next() % 14)
            let sector = rng.next() % 3 == 0 ? rng.next() : rng.next() % 1100
            for i in 0..<8 { e[12 + i] = UInt8(truncatingIfNeeded: sector >> (8 * UInt64(i))) }
            for s in 0..<11 where rng.next() % 4 != 0 { e[24 + 8 * s] = UInt8(rng.next() % 8); e[25 + 8 * s] = UInt8(rng.next() % 9) }
            let d = BlockDisk(sectors: 1000, writable: rng.next() % 2 == 0, flushes: rng.next() % 2 == 0)
            let result = decode(e, d)
            let op = e[0], n = Int(e[1])
            var expected: BlockRefusal? = nil
            if ![0, 1, 2, 3, 5, 6].contains(op) { expected = .unknownOperation }
            else if [2, 5, 6].contains(op) || (op == 3 && !d.flushes) { expected = .notSupported }
            else if op == 1 && !d.writable { expected = .readOnly }
            else if op == 3 && n != 0 { expected = .segmentCount }
            else if op != 3 {
                if n < 1 || n > 11 { expected = .segmentCount }
                else {
                    var total: UInt64 = 0
                    for s in 0..<n where expected == nil {
                        let first = e[24 + 8 * s], last = e[25 + 8 * s]
                        if first > last || last > 7 { expected = .segment(s) } else { total += UInt64(last - first) + 1 }
                    }
                    if expected == nil && (sector > 1000 || sector + total > 1000) { expected = .beyondDisk }
                }
            }
            switch result {
            case .failure(let f): XCTAssertEqual(f, expected)
            case .success: XCTAssertNil(expected)
            }
        }
    }
}
