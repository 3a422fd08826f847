// StoreRingTests.swift: xenstore ring index arithmetic: fill and space, the split into two runs at
// the end of the ring, free-running u32 indexes wrapping past 2^32, and garbage indexes refused.

import XCTest
@testable import GuestKit

final class StoreRingTests: XCTestCase {
    func testFillAndSpace() {
        XCTAssertEqual(StoreRing.filled(consumer: 0, producer: 0), 0)
        XCTAssertEqual(StoreRing.filled(consumer: 10, producer: 1034), 1024)
        XCTAssertEqual(StoreRing.space(consumer: 10, producer: 1034), 0)
        XCTAssertEqual(StoreRing.space(consumer: 5, producer: 5), 1024)
        XCTAssertEqual(StoreRing.filled(consumer: 0xFFFF_FFF0, producer: 0x10), 0x20)
        XCTAssertEqual(StoreRing.requestConsumerOffset, 2048)
        XCTAssertEqual(StoreRing.responseProducerOffset, 2060)
    }

    func testGarbageIndexesAreRefused() {
        XCTAssertNil(StoreRing.filled(consumer: 0, producer: 1025))
        XCTAssertNil(StoreRing.filled(consumer: 1, producer: 0))  // consumer ahead: 2^32 - 1 waiting
        XCTAssertNil(StoreRing.space(consumer: 0x8000_0000, producer: 0))
        let ring = [UInt8](repeating: 7, count: 1024)
        ring.withUnsafeBufferPointer { r in
            XCTAssertNil(StoreRing.read(r, consumer: 0, producer: 5000))
            XCTAssertNil(StoreRing.read(r, consumer: 0xFFFF_FFFF, producer: 0xFFFF_FBFE))
            XCTAssertNil(StoreRing.read(UnsafeBufferPointer(rebasing: r[0..<512]), consumer: 0, producer: 1))
        }
        var out = [UInt8](repeating: 0, count: 1024)
        out.withUnsafeMutableBufferPointer { r in
            XCTAssertNil(StoreRing.write([1, 2, 3], into: r, consumer: 100, producer: 0))
        }
        XCTAssertEqual(out, [UInt8](repeating: 0, count: 1024))
    }

    func testRunsSplitAtTheEnd() {
        let r = StoreRing.runs(at: 0xFFFF_FF00, count: 300)  // index 768 in the ring
        XCTAssertEqual(r.first, 768..<1024)
        XCTAssertEqual(r.second, 0..<44)
        let whole = StoreRing.runs(at: 0, count: 1024)
        XCTAssertEqual(whole.first, 0..<1024)
        XCTAssertEqual(whole.second, 0..<0)
        let none = StoreRing.runs(at: 1023, count: 0)
        XCTAssertEqual(none.first.count + none.second.count, 0)
    }

    /// A producer and a consumer pass 100 KiB through one ring in odd-sized pieces, starting just
    /// below 2^32 so both indexes wrap; the bytes arrive whole and in order.
    func testStreamThroughTheRingAcrossIndexWrap() {
        var ring = [UInt8](repeating: 0, count: 1024)
        var producer: UInt32 = 0xFFFF_FE00, consumer: UInt32 = 0xFFFF_FE00
        let message = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        var sentCount = 0
        var received: [UInt8] = []
        var step = 0
        while received.count < message.count {
            step += 1
            let chunk = message[sentCount..<min(message.count, sentCount + (step * 37) % 900 + 1)]
            let w = ring.withUnsafeMutableBufferPointer {
                StoreRing.write(chunk, into: $0, consumer: consumer, producer: producer)
            }
            guard let w else { return XCTFail("write refused") }
            sentCount += w.written
            producer = w.producer
            let r = ring.withUnsafeBufferPointer {
                StoreRing.read($0, consumer: consumer, producer: producer, limit: (step * 53) % 700 + 1)
            }
            guard let r else { return XCTFail("read refused") }
            received += r.bytes
            consumer = r.consumer
            XCTAssertLessThanOrEqual(StoreRing.filled(consumer: consumer, producer: producer) ?? 9999, 1024)
        }
        XCTAssertEqual(received, message)
        XCTAssertLessThan(producer, 0xFFFF_FE00)  // it wrapped
    }

    func testWriteStopsWhenFull() {
        var ring = [UInt8](repeating: 0, count: 1024)
        let w = ring.withUnsafeMutableBufferPointer {
            StoreRing.write(ArraySlice([UInt8](repeating: 9, count: 2000)), into: $0, consumer: 10, producer: 10)
        }
        XCTAssertEqual(w?.written, 1024)
        XCTAssertEqual(w?.producer, 1034)
        let again = ring.withUnsafeMutableBufferPointer {
            StoreRing.write([1], into: $0, consumer: 10, producer: 1034)
        }
        XCTAssertEqual(again?.written, 0)
    }
}
