// StringPortTransferTests.swift: the memory side of an emulated ins/outs against a reference model that
// steps the CPU's way, one element at a time (segment type, limit, expand-down, direction, the 32-bit
// offset), plus the chunking of a rep and the refusals, each written out by hand.

import XCTest
@testable import ApusCore

final class StringPortTransferTests: XCTestCase {
    /// A flat ring-1 data segment as dom0 has it (limit ending below the hypervisor), and others.
    static let flatData = SegmentDescriptor(raw: 0x00CF_B300_0000_FFFF)          // base 0, 4 GiB (4K granularity)
    static func data(base: UInt32, limit: UInt32, type: UInt8 = 3, big: Bool = true) -> SegmentDescriptor {
        // A limit past 20 bits is given in 4 KiB units (its low 12 bits then read as all ones).
        let pages = limit > 0xF_FFFF
        return SegmentDescriptor(base: base, limit: pages ? limit >> 12 : limit, type: type, isCodeOrData: true, dpl: 1, present: true,
                                 available: false, defaultBig: big, granularity4K: pages)
    }

    func plan(_ size: UInt8, rep: Bool = true, count: UInt32, down: Bool = false, offset: UInt32,
              _ d: SegmentDescriptor?, write: Bool = true, max: UInt32 = StringPortTransfer.maxIterations) -> StringPortTransfer.Plan {
        StringPortTransfer.plan(size: size, rep: rep, count: count, descending: down, offset: offset, descriptor: d, write: write, maxIterations: max)
    }

    func testAscendingRep() {
        guard case .transfer(let t) = plan(2, count: 3, offset: 0x1000, Self.data(base: 0x10_0000, limit: 0xFFFF)) else { return XCTFail() }
        XCTAssertEqual(t.iterations, 3)
        XCTAssertEqual(t.span, GuestRange(0x10_1000, count: 6))
        XCTAssertEqual(t.element(0), GuestRange(0x10_1000, count: 2))
        XCTAssertEqual(t.element(2), GuestRange(0x10_1004, count: 2))
        XCTAssertNil(t.element(3))
        XCTAssertEqual(t.offsetAfter, 0x1006)
        XCTAssertEqual(t.countAfter, 0)
        XCTAssertTrue(t.finished)
    }

    func testDescendingStoresDownwards() {
        guard case .transfer(let t) = plan(1, count: 4, down: true, offset: 0x2003, Self.data(base: 0, limit: 0xFFFF)) else { return XCTFail() }
        XCTAssertEqual(t.span, GuestRange(0x2000, count: 4))
        XCTAssertEqual(t.element(0), GuestRange(0x2003, count: 1))
        XCTAssertEqual(t.element(3), GuestRange(0x2000, count: 1))
        XCTAssertEqual(t.offsetAfter, 0x1FFF)
        XCTAssertEqual(t.offset(after: 2, from: 0x2003), 0x2001)
    }

    func testWithoutRepOneElementAndECXKept() {
        guard case .transfer(let t) = plan(4, rep: false, count: 7, offset: 0x3000, Self.flatData) else { return XCTFail() }
        XCTAssertEqual(t.iterations, 1)
        XCTAssertEqual(t.countAfter, 7)
        XCTAssertTrue(t.finished)
        XCTAssertEqual(plan(1, count: 0, offset: 0, nil), .nothing, "rep with ECX 0 moves nothing, whatever the segment")
    }

    func testLongRepIsChunked() {
        guard case .transfer(let t) = plan(1, count: 300, offset: 0x4000, Self.flatData) else { return XCTFail() }
        XCTAssertEqual(t.iterations, 256)
        XCTAssertEqual(t.countAfter, 44)
        XCTAssertFalse(t.finished, "EIP stays on the instruction for the rest")
        XCTAssertEqual(t.offsetAfter, 0x4100)
        guard case .transfer(let rest) = plan(1, count: t.countAfter, offset: t.offsetAfter, Self.flatData) else { return XCTFail() }
        XCTAssertEqual(rest.iterations, 44)
        XCTAssertTrue(rest.finished)
    }

    func testRefusals() {
        let code = SegmentDescriptor(raw: 0x00CF_BB00_0000_FFFF)           // readable code
        let execOnly = SegmentDescriptor(raw: 0x00CF_B900_0000_FFFF)       // execute-only code
        let readOnly = Self.data(base: 0, limit: 0xFFFF, type: 1)
        let system = SegmentDescriptor(raw: 0x0000_8900_0000_0067)         // a TSS
        let absent = SegmentDescriptor(raw: 0x00CF_3300_0000_FFFF)
        XCTAssertEqual(plan(1, count: 1, offset: 0, nil), .generalProtection(.nullOrSystemSegment))
        XCTAssertEqual(plan(1, count: 1, offset: 0, system), .generalProtection(.nullOrSystemSegment))
        XCTAssertEqual(plan(1, count: 1, offset: 0, absent), .generalProtection(.notPresent))
        XCTAssertEqual(plan(1, count: 1, offset: 0, code), .generalProtection(.notWritable), "ins into a code segment")
        XCTAssertEqual(plan(1, count: 1, offset: 0, readOnly), .generalProtection(.notWritable))
        XCTAssertEqual(plan(1, count: 1, offset: 0, execOnly, write: false), .generalProtection(.notReadable))
        if case .transfer = plan(1, count: 1, offset: 0, code, write: false) {} else { XCTFail("outs reads readable code") }
        if case .transfer = plan(1, count: 1, offset: 0, readOnly, write: false) {} else { XCTFail("outs reads read-only data") }
        XCTAssertEqual(plan(2, count: 1, offset: 0xFFFF, Self.data(base: 0, limit: 0xFFFF)), .generalProtection(.beyondLimit))
        XCTAssertEqual(plan(1, count: 4, down: true, offset: 2, Self.flatData), .generalProtection(.beyondLimit), "below offset 0")
        XCTAssertEqual(plan(4, count: 1, offset: 0xF57F_FFFE, Self.data(base: 0, limit: 0xFFFF_FFFF)), .generalProtection(.hypervisorArea))
        XCTAssertEqual(plan(1, count: 1, offset: 0x10, Self.data(base: 0xFFFF_FFF8, limit: 0xFFFF)), .generalProtection(.hypervisorArea),
                       "base + offset wraps past 4 GiB")
    }

    func testExpandDown() {
        let down = Self.data(base: 0x10_0000, limit: 0x0FFF, type: 7, big: false)    // offsets 0x1000-0xFFFF
        XCTAssertEqual(plan(1, count: 1, offset: 0x0FFF, down), .generalProtection(.beyondLimit))
        XCTAssertEqual(plan(2, count: 1, offset: 0xFFFF, down), .generalProtection(.beyondLimit))
        guard case .transfer(let t) = plan(1, count: 1, offset: 0x1000, down) else { return XCTFail() }
        XCTAssertEqual(t.span, GuestRange(0x10_1000, count: 1))
    }

    /// The reference: each element's offset stepped as the CPU does, checked against the segment on its own.
    func testAgainstOneElementAtATime() {
        var rng = SplitMix64(seed: 0x1A5)
        for _ in 0..<50_000 {
            let size: UInt8 = [1, 2, 4][Int(rng.next() % 3)]
            let count = UInt32(rng.next() % 600)
            let down = rng.next() & 1 == 0
            let offsets: [UInt32] = [UInt32(truncatingIfNeeded: rng.next()), UInt32(rng.next() % 0x2_0000), 0xFFFF - UInt32(rng.next() % 64)]
            let offset = offsets[Int(rng.next() % 3)]
            let expandDown = rng.next() % 4 == 0
            let base = [0, UInt32(rng.next() % 0x1000_0000), 0xF500_0000][Int(rng.next() % 3)]
            let limit = [0xFFFF, UInt32(rng.next() % 0x10_0000), 0xFFFF_FFFF][Int(rng.next() % 3)]
            let s = Self.data(base: base, limit: limit, type: expandDown ? 7 : 3, big: rng.next() & 1 == 0)
            let max = UInt32(1 + rng.next() % 300)
            let result = plan(size, count: count, down: down, offset: offset, s, max: max)
            if count == 0 { XCTAssertEqual(result, .nothing); continue }
            let n = min(count, max)
            // The model: every element's bytes inside the segment and below the hypervisor, at 64-bit offsets.
            var ok = true
            var expected: [UInt32] = []
            for i in 0..<UInt64(n) {
                let step = i * UInt64(size)
                guard down ? UInt64(offset) >= step : true else { ok = false; break }
                let first = down ? UInt64(offset) - step : UInt64(offset) + step
                let last = first + UInt64(size) - 1
                let inside = expandDown ? first > UInt64(s.limitBytes) && last <= (s.defaultBig ? 0xFFFF_FFFF : 0xFFFF) : last <= UInt64(s.limitBytes)
                let linear = UInt64(base) + first
                guard inside, linear + UInt64(size) <= UInt64(GuestRange.limit) else { ok = false; break }
                expected.append(UInt32(linear))
            }
            switch result {
            case .transfer(let t):
                XCTAssertTrue(ok)
                XCTAssertEqual(t.iterations, n)
                for (i, start) in expected.enumerated() { XCTAssertEqual(t.element(UInt32(i)), GuestRange(start, count: UInt32(size))) }
                XCTAssertEqual(t.countAfter, count - n)
                XCTAssertEqual(t.finished, count == n)
            case .generalProtection:
                XCTAssertFalse(ok, "refused a chunk the model allows: size \(size) count \(count) down \(down) offset \(offset)")
            case .nothing:
                XCTFail()
            }
        }
    }
}
