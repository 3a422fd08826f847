// StoreRepliesTests.swift: a domU's reading of xenstored's response ring: whole messages taken one at
// a time across the ring's wrap, a half-written message left alone, corrupt indexes and lengths
// refused, watch events split, and requests too large for the ring refused before they are written.

import XCTest
import ApusCore
import PVABI
@testable import GuestKit

final class StoreRepliesTests: XCTestCase {
    func testMessagesAcrossTheWrap() {
        var storage = [UInt8](repeating: 0, count: Int(StoreRing.size))
        let start: UInt32 = 0xFFFF_FFFF - 20 // the indexes wrap too
        let a = StoreMessage(.read, requestID: 1, payload: Array("value".utf8))
        let b = StoreMessage(.watchEvent, payload: Array("device/vif/0/state\u{0}tok\u{0}".utf8))
        var producer = start
        storage.withUnsafeMutableBufferPointer { ring in
            for m in [a, b] {
                let (n, next) = StoreRing.write(m.encoded[...], into: ring, consumer: start, producer: producer)!
                XCTAssertEqual(n, m.encoded.count)
                producer = next
            }
        }
        storage.withUnsafeBufferPointer { ring in
            // Nothing whole yet when only part of the first one is there.
            XCTAssertEqual(StoreReplies.next(ring, consumer: start, producer: start &+ 10), .none)
            XCTAssertEqual(StoreReplies.next(ring, consumer: start, producer: start &+ 20), .none)
            guard case .message(let first, let c1) = StoreReplies.next(ring, consumer: start, producer: producer) else { return XCTFail("a") }
            XCTAssertEqual(first, a)
            guard case .message(let second, let c2) = StoreReplies.next(ring, consumer: c1, producer: producer) else { return XCTFail("b") }
            XCTAssertEqual(second, b)
            XCTAssertEqual(c2, producer)
            XCTAssertEqual(StoreReplies.next(ring, consumer: c2, producer: producer), .none)
            let event = StoreReplies.watchEvent(second.payload)
            XCTAssertEqual(event?.path, Array("device/vif/0/state".utf8))
            XCTAssertEqual(event?.token, Array("tok".utf8))
        }
    }

    func testCorruptRingRefused() {
        var storage = [UInt8](repeating: 0, count: Int(StoreRing.size))
        storage.withUnsafeBufferPointer { ring in
            XCTAssertEqual(StoreReplies.next(ring, consumer: 0, producer: 1025), .corrupt)
            XCTAssertEqual(StoreReplies.next(ring, consumer: 10, producer: 5), .corrupt)
        }
        // A header claiming more than XENSTORE_PAYLOAD_MAX, or more than the ring holds.
        for length: UInt32 in [4097, 0xFFFF_FFFF, 1009] {
            let h = StoreHeader(type: StoreMessageType.read.rawValue, requestID: 1, transactionID: 0, length: length).bytes
            for (i, v) in h.enumerated() { storage[i] = v }
            storage.withUnsafeBufferPointer { ring in
                XCTAssertEqual(StoreReplies.next(ring, consumer: 0, producer: 1024), .corrupt)
            }
        }
        // The wrong storage size.
        let short = [UInt8](repeating: 0, count: 16)
        short.withUnsafeBufferPointer { XCTAssertEqual(StoreReplies.next($0, consumer: 0, producer: 16), .corrupt) }
    }

    func testWatchEventMalformed() {
        XCTAssertNil(StoreReplies.watchEvent([]))
        XCTAssertNil(StoreReplies.watchEvent(Array("path-only\u{0}".utf8)))
        XCTAssertNil(StoreReplies.watchEvent(Array("no-nul".utf8)))
    }

    func testRequests() {
        let r = StoreReplies.request(.write, id: 9, payload: Array("data/x\u{0}1".utf8))
        XCTAssertEqual(r, StoreMessage(.write, requestID: 9, payload: Array("data/x\u{0}1".utf8)).encoded)
        XCTAssertNotNil(StoreReplies.request(.write, id: 1, payload: [UInt8](repeating: 0x41, count: 1024 - 16)))
        XCTAssertNil(StoreReplies.request(.write, id: 1, payload: [UInt8](repeating: 0x41, count: 1024 - 15)))
    }
}
