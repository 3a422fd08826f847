// PirqMappingTests.swift: map_pirq's and bind_pirq's checks (PirqMapping), each refusal with Xen's
// errno, and a reference-model property test over random map / unmap / bind sequences.

import XCTest
import PVABI
@testable import ApusCore

final class PirqMappingTests: XCTestCase {
    let gsi = PhysdevMapPirqLayout.typeGSI
    let any = PhysdevMapPirqLayout.anyPirq

    func refusal(_ r: Result<UInt32, Refusal>) -> XenError? {
        if case .failure(let f) = r { return f.error }
        return nil
    }

    func testMapChecks() {
        let dom0 = DeviceAccess.dom0.lines
        XCTAssertEqual(try? PirqMapping.check(type: gsi, index: 11, pirq: any, callerLines: dom0).get(), 11)
        XCTAssertEqual(try? PirqMapping.check(type: gsi, index: 11, pirq: 11, callerLines: dom0).get(), 11)
        XCTAssertEqual(refusal(PirqMapping.check(type: gsi, index: 11, pirq: 12, callerLines: dom0)), .EINVAL)
        XCTAssertEqual(refusal(PirqMapping.check(type: gsi, index: 16, pirq: any, callerLines: dom0)), .EINVAL)
        XCTAssertEqual(refusal(PirqMapping.check(type: gsi, index: 0xFFFF_FFFF, pirq: any, callerLines: dom0)), .EINVAL)
        XCTAssertEqual(refusal(PirqMapping.check(type: PhysdevMapPirqLayout.typeMSI, index: 11, pirq: any, callerLines: dom0)), .EINVAL)
        XCTAssertEqual(refusal(PirqMapping.check(type: 7, index: 11, pirq: any, callerLines: dom0)), .EINVAL)
        // The hypervisor's lines (timer, cascade, COM1) are not dom0's.
        for line: UInt32 in [0, 2, 4] {
            XCTAssertEqual(refusal(PirqMapping.check(type: gsi, index: line, pirq: any, callerLines: dom0)), .EPERM, "line \(line)")
        }
        XCTAssertEqual(refusal(PirqMapping.check(type: gsi, index: 11, pirq: any, callerLines: LineRanges())), .EPERM)
    }

    func testBindNeedsTheLineAndTheMapping() {
        var m = PirqMapping()
        let lines = LineRanges([ResourceRange(first: 10, last: 11)!])
        XCTAssertEqual(m.bindRefusal(pirq: 11, lines: lines)?.error, .EINVAL, "not mapped")
        m.map(11)
        XCTAssertNil(m.bindRefusal(pirq: 11, lines: lines))
        XCTAssertEqual(m.bindRefusal(pirq: 11, lines: LineRanges())?.error, .EPERM, "mapped, but the line was taken away")
        XCTAssertEqual(m.bindRefusal(pirq: 16, lines: lines)?.error, .EINVAL)
        XCTAssertEqual(m.bindRefusal(pirq: 0xFFFF_FFFF, lines: lines)?.error, .EINVAL)
        XCTAssertNil(m.unmap(11))
        XCTAssertEqual(m.unmap(11)?.error, .EINVAL, "unmapped twice")
        XCTAssertEqual(m.bindRefusal(pirq: 11, lines: lines)?.error, .EINVAL)
        m.map(40)   // out of range: ignored
        XCTAssertEqual(m.mapped, 0)
    }

    /// Random operations against a set-of-pirqs model: a bind is allowed exactly when the pirq is
    /// below 16, its line is held, and it is mapped.
    func testAgainstReferenceModel() {
        var rng = SplitMix64(seed: 0x9149)
        for _ in 0..<200 {
            var m = PirqMapping()
            var model = Set<UInt32>()
            var held = Set<UInt8>()
            var lines = LineRanges()
            for _ in 0..<8 {
                let l = UInt8(rng.next() % 16)
                if lines.add(ResourceRange(first: l, last: l)!) { held.insert(l) }
            }
            for _ in 0..<100 {
                let pirq = UInt32(rng.next() % 20)
                switch rng.next() % 3 {
                case 0:
                    let r = PirqMapping.check(type: gsi, index: pirq, pirq: rng.next() % 2 == 0 ? any : pirq, callerLines: lines)
                    let allowed = pirq < 16 && held.contains(UInt8(pirq))
                    XCTAssertEqual(refusal(r) == nil, allowed)
                    if case .success(let p) = r { m.map(p); model.insert(p) }
                case 1:
                    let wasMapped = model.contains(pirq)
                    XCTAssertEqual(m.unmap(pirq) == nil, wasMapped)
                    model.remove(pirq)
                default:
                    let ok = pirq < 16 && held.contains(UInt8(pirq)) && model.contains(pirq)
                    XCTAssertEqual(m.bindRefusal(pirq: pirq, lines: lines) == nil, ok)
                }
                for p in UInt32(0)..<20 { XCTAssertEqual(m.isMapped(p), model.contains(p)) }
            }
        }
    }
}
