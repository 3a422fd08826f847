// GuestAccessTests.swift: the one guest-memory path: range checks at every edge, checked slicing,
// bounded arrays, fixed-capacity copies. Compared with a 64-bit reference computation.

import XCTest
import PVABI
@testable import ApusCore

final class GuestAccessTests: XCTestCase {
    /// The reference: a range is guest memory when its 64-bit end is at most the limit.
    func reference(_ va: UInt32, _ count: UInt32) -> Bool { UInt64(va) + UInt64(count) <= UInt64(XenLayout.hypervisorVirtStart) }

    func testRangeAgreesWithReferenceAtEveryEdge() {
        let counts: [UInt32] = [0, 1, 2, 4, 7, 8, 16, 63, 64, 4095, 4096, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFF8, 0xFFFF_FFFF]
        for va in EdgePointers.all {
            for count in counts {
                let r = GuestRange(va, count: count)
                XCTAssertEqual(r != nil, reference(va, count), "va \(va) count \(count)")
                if let r { XCTAssertEqual(UInt64(r.end), UInt64(va) + UInt64(count)) }
            }
        }
    }

    func testRangeAgreesWithReferenceOnRandomValues() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<200_000 {
            let va = UInt32(truncatingIfNeeded: rng.next())
            let count = rng.chance(50) ? rng.below(UInt32(8192)) : UInt32(truncatingIfNeeded: rng.next())
            XCTAssertEqual(GuestRange(va, count: count) != nil, reference(va, count))
        }
    }

    func testFixedSizeRangeIsTheRange() {
        let counts: [UInt32] = [0, 1, 4, 8, 16, 24, 4096, GuestRange.limit - 1, GuestRange.limit, GuestRange.limit + 1, 0xFFFF_FFFF]
        for va in EdgePointers.all {
            for count in counts { XCTAssertEqual(GuestRange.fixed(va, size: count), GuestRange(va, count: count), "va \(va) count \(count)") }
        }
        var rng = SplitMix64(seed: 0xF1_7ED)
        for _ in 0..<200_000 {
            let va = rng.chance(30) ? GuestRange.limit &- rng.below(UInt32(64)) : UInt32(truncatingIfNeeded: rng.next())
            let count = rng.chance(70) ? rng.below(UInt32(64)) : UInt32(truncatingIfNeeded: rng.next())
            XCTAssertEqual(GuestRange.fixed(va, size: count), GuestRange(va, count: count), "va \(va) count \(count)")
        }
    }

    func testTheTwoPointersThatHaltedApus() {
        XCTAssertNil(GuestRange(0xFFFF_FFF8, count: 4))
        XCTAssertNil(GuestRange(0xFFFF_FFF8, count: 16))
        XCTAssertNil(GuestRange(0xF57F_FFFC, count: 8))
        XCTAssertNotNil(GuestRange(0xF57F_FFF8, count: 8))
    }

    func testSliceStaysInside() {
        let r = GuestRange(0x1000, count: 32)!
        XCTAssertEqual(r.slice(at: 28, count: 4)?.start, 0x101C)
        XCTAssertNil(r.slice(at: 29, count: 4))
        XCTAssertNil(r.slice(at: 33, count: 0))
        XCTAssertNil(r.slice(at: 0xFFFF_FFFF, count: 2))
        XCTAssertEqual(r.slice(at: 32, count: 0)?.count, 0)
        XCTAssertEqual(r.dropping(16)?.start, 0x1010)
        XCTAssertNil(r.dropping(40))
    }

    func testArrayIsBoundedBeforeItsExtentIsChecked() {
        XCTAssertEqual(GuestArray.check(0xFFFF_FFF0, count: 5000, elementSize: 16, maxCount: 4096), .failure(.tooLong))
        XCTAssertEqual(GuestArray.check(0xFFFF_FFF0, count: 1, elementSize: 16, maxCount: 4096), .failure(.outsideGuest))
        XCTAssertEqual(try? GuestArray.check(0xFFFF_FFF0, count: 0, elementSize: 16, maxCount: 4096).get().count, 0)
        XCTAssertEqual(GuestArray.check(0x1000, count: 0x1000_0000, elementSize: 16, maxCount: .max), .failure(.outsideGuest))
        guard case .success(let a) = GuestArray.check(0x1000, count: 3, elementSize: 32, maxCount: 8) else { return XCTFail() }
        XCTAssertEqual(a.element(2)?.start, 0x1040)
        XCTAssertNil(a.element(3))
        XCTAssertEqual(a.elements(1, count: 2)?.count, 64)
        XCTAssertNil(a.elements(2, count: 2))
    }

    func testBytesNeverTrapOnAnyOffset() {
        var b = GuestBytes<8>(count: 6)
        for o in [-5, -1, 0, 3, 5, 6, 7, 8, 100, Int.max, Int.min] {
            b.set32(o, 0xFFFF_FFFF); b.set64(o, 1); b.set8(o, 1); b.set16(o, 1)
            _ = b.u8(o); _ = b.u16(o); _ = b.u32(o); _ = b.u64(o)
        }
        var c = GuestBytes<8>(count: 8)
        c.set32(0, 0x1234_5678)
        c.set32(4, 0x9ABC_DEF0)
        XCTAssertEqual(c.u64(0), 0x9ABC_DEF0_1234_5678)
        XCTAssertEqual(c.u16(2), 0x1234)
        XCTAssertEqual(c.u32(5), 0)             // would cross the end
        XCTAssertEqual(GuestBytes<4>(count: 99).count, 4)
    }

    func testReadCopiesOnlyMappedBytesAndRefusesOversizedRanges() {
        var m = FakeGuestMemory(seed: 1)
        m.mappedPercent = 0
        m.place32([0xAABB_CCDD, 7], at: 0x5000)
        let got: GuestBytes<8>? = m.read(0x5000)
        XCTAssertEqual(got?.u32(0), 0xAABB_CCDD)
        XCTAssertEqual(got?.u32(4), 7)
        let unmapped: GuestBytes<8>? = m.read(0x7000)
        XCTAssertNil(unmapped)
        let across: GuestBytes<8>? = m.read(0x5FFC)
        XCTAssertNil(across)                  // the next page is not mapped
        let edge: GuestBytes<8>? = m.read(0xFFFF_FFF8)
        XCTAssertNil(edge)
        let tooBig: GuestBytes<4>? = m.read(GuestRange(0x5000, count: 8)!)
        XCTAssertNil(tooBig)
        XCTAssertTrue(m.write32(9, to: GuestRange(0x5004, count: 4)!))
        XCTAssertEqual(m.read32(GuestRange(0x5004, count: 4)!), 9)
        XCTAssertFalse(m.write32(9, to: GuestRange(0x5004, count: 2)!))
    }

    /// readWords against a byte-by-byte reference: the same words wherever the range is readable,
    /// nil wherever any byte is not, and nil for a range of the wrong size.
    func testReadWordsAgreesWithTheByteReference() {
        var m = FakeGuestMemory(seed: 77)
        var rng = SplitMix64(seed: 77)
        var readable = 0
        for _ in 0..<20_000 {
            let va = UInt32(truncatingIfNeeded: rng.next()) % 0x0040_0000
            guard let range = GuestRange(va, count: 16) else { continue }
            let words: InlineArray<4, UInt32>? = m.readWords(range)
            var reference: [UInt32]? = []
            for offset in stride(from: UInt32(0), to: 16, by: 4) {
                var word: UInt32 = 0
                for b in UInt32(0)..<4 {
                    let at = va &+ offset &+ b
                    if !m.isMapped(at >> 12) { reference = nil }
                    word |= UInt32(m.byte(at)) << (8 * b)
                }
                reference?.append(word)
            }
            if let reference {
                readable += 1
                guard let words else { return XCTFail("readable range \(va) refused") }
                XCTAssertEqual((0..<4).map { words[$0] }, reference)
            } else {
                XCTAssertNil(words, "range \(va) has an unmapped byte")
            }
            let wrongSize: InlineArray<3, UInt32>? = m.readWords(range)
            XCTAssertNil(wrongSize)
        }
        XCTAssertGreaterThan(readable, 1000)
    }
}
