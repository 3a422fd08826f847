// ConsoleRingTests.swift: dom0's moves on a xencons_interface page: draining `out` with wrap-around
// and free-running indexes past 2^32, feeding `in` up to its space, and garbage indexes from a
// hostile guest answered without an over-read, a loop or a write into the ring.

import XCTest
import ApusCore
@testable import GuestKit

private func put32(_ page: inout [UInt8], _ offset: Int, _ v: UInt32) {
    for i in 0..<4 { page[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
}
private func get32(_ page: [UInt8], _ offset: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(page[offset + $1]) << (8 * UInt32($1)) }
}

/// A page whose `out` ring holds `text` written by a producer starting at free-running index `start`.
private func page(out text: [UInt8], start: UInt32) -> [UInt8] {
    var p = [UInt8](repeating: 0xEE, count: 4096)
    var index = start
    for b in text { p[1024 + Int(index & 2047)] = b; index &+= 1 }
    put32(&p, ConsoleRing.outputConsumerOffset, start)
    put32(&p, ConsoleRing.outputProducerOffset, index)
    return p
}

private func drain(_ p: inout [UInt8]) -> ConsoleRing.Drained {
    p.withUnsafeMutableBytes { ConsoleRing.drainOutput($0) }
}

final class ConsoleRingTests: XCTestCase {
    func testLayoutMatchesXen() {
        XCTAssertEqual(ConsoleRing.outputOffset, 1024)
        XCTAssertEqual(ConsoleRing.inputConsumerOffset, 3072)
        XCTAssertEqual(ConsoleRing.outputProducerOffset, 3084)
    }

    func testDrainTakesEverythingAndPublishesTheConsumer() {
        var p = page(out: Array("hello\n".utf8), start: 0)
        XCTAssertEqual(drain(&p), .bytes(Array("hello\n".utf8)))
        XCTAssertEqual(get32(p, ConsoleRing.outputConsumerOffset), 6)
        XCTAssertEqual(drain(&p), .bytes([]))
    }

    func testDrainWrapsAtTheEndOfTheRingAndPast2To32() {
        let text = (0..<300).map { UInt8(0x20 + $0 % 90) }
        var p = page(out: text, start: 0xFFFF_FF00)   // ring position 1792: wraps after 256 bytes
        XCTAssertEqual(drain(&p), .bytes(text))
        XCTAssertEqual(get32(p, ConsoleRing.outputConsumerOffset), 0xFFFF_FF00 &+ 300)
    }

    func testAFullRingIsTakenWhole() {
        let text = [UInt8](repeating: 0x41, count: 2048)
        var p = page(out: text, start: 5)
        XCTAssertEqual(drain(&p), .bytes(text))
    }

    func testGarbageIndexesResetTheRingAndTakeNothing() {
        for (consumer, producer) in [(UInt32(0), UInt32(2049)), (10, 9), (0, 0x8000_0000), (0xFFFF_FFFF, 0x800)] {
            var p = page(out: [], start: 0)
            put32(&p, ConsoleRing.outputConsumerOffset, consumer)
            put32(&p, ConsoleRing.outputProducerOffset, producer)
            XCTAssertEqual(drain(&p), .corrupt(consumer: consumer, producer: producer))
            XCTAssertEqual(get32(p, ConsoleRing.outputConsumerOffset), producer, "the ring is empty afterwards")
            XCTAssertEqual(drain(&p), .bytes([]))
        }
    }

    func testAShortPageIsRefused() {
        var short = [UInt8](repeating: 0, count: 3000)
        XCTAssertEqual(short.withUnsafeMutableBytes { ConsoleRing.drainOutput($0) }, .corrupt(consumer: 0, producer: 0))
        XCTAssertNil(short.withUnsafeMutableBytes { ConsoleRing.feedInput($0, [1, 2]) })
    }

    func testFeedInputFillsUpToTheSpaceAndWraps() {
        var p = [UInt8](repeating: 0, count: 4096)
        put32(&p, ConsoleRing.inputConsumerOffset, 1000)
        put32(&p, ConsoleRing.inputProducerOffset, 1000)
        let typed = (0..<100).map { UInt8($0) }
        XCTAssertEqual(p.withUnsafeMutableBytes { ConsoleRing.feedInput($0, typed[...]) }, 100)
        XCTAssertEqual(Array(p[1000..<1024]), Array(typed[0..<24]))
        XCTAssertEqual(Array(p[0..<76]), Array(typed[24..<100]))
        XCTAssertEqual(get32(p, ConsoleRing.inputProducerOffset), 1100)
        // 924 bytes of space are left; 2000 offered.
        let more = [UInt8](repeating: 7, count: 2000)
        XCTAssertEqual(p.withUnsafeMutableBytes { ConsoleRing.feedInput($0, more[...]) }, 924)
        XCTAssertEqual(p.withUnsafeMutableBytes { ConsoleRing.feedInput($0, more[...]) }, 0)
    }

    func testFeedInputRefusesGarbageIndexesAndWritesNothing() {
        var p = [UInt8](repeating: 0, count: 4096)
        put32(&p, ConsoleRing.inputConsumerOffset, 50)
        put32(&p, ConsoleRing.inputProducerOffset, 10)
        let before = p
        XCTAssertNil(p.withUnsafeMutableBytes { ConsoleRing.feedInput($0, [1, 2, 3]) })
        XCTAssertEqual(p, before)
    }

    func testSkippingWhatTheHypervisorPrinted() {
        var p = page(out: Array("early\nlate\n".utf8), start: 0xFFFF_FFFE)
        XCTAssertEqual(p.withUnsafeMutableBytes { ConsoleRing.skipOutput($0, upTo: 0xFFFF_FFFE &+ 6) }, 6)
        XCTAssertEqual(drain(&p), .bytes(Array("late\n".utf8)))
        // Outside [consumer, producer]: nothing moves.
        var q = page(out: Array("abc".utf8), start: 100)
        XCTAssertEqual(q.withUnsafeMutableBytes { ConsoleRing.skipOutput($0, upTo: 104) }, 0)
        XCTAssertEqual(q.withUnsafeMutableBytes { ConsoleRing.skipOutput($0, upTo: 99) }, 0)
        XCTAssertEqual(q.withUnsafeMutableBytes { ConsoleRing.skipOutput($0, upTo: 100) }, 0)
        XCTAssertEqual(drain(&q), .bytes(Array("abc".utf8)))
        var r = page(out: [], start: 0)
        put32(&r, ConsoleRing.outputProducerOffset, 5000)
        XCTAssertEqual(r.withUnsafeMutableBytes { ConsoleRing.skipOutput($0, upTo: 10) }, 0)
    }

    func testRandomIndexesNeverTrapAndNeverTakeMoreThanARing() {
        var rng = SplitMix64(seed: 10)
        for _ in 0..<2000 {
            var p = [UInt8](repeating: 0x41, count: 4096)
            put32(&p, ConsoleRing.outputConsumerOffset, UInt32(truncatingIfNeeded: rng.next()))
            put32(&p, ConsoleRing.outputProducerOffset, UInt32(truncatingIfNeeded: rng.next()) & (rng.next() & 1 == 0 ? 0xFFF : 0xFFFF_FFFF))
            if case .bytes(let b) = drain(&p) { XCTAssertLessThanOrEqual(b.count, 2048) }
            XCTAssertEqual(drain(&p), .bytes([]))
        }
    }
}
