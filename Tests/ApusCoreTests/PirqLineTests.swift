// PirqLineTests.swift: the guest-IRQ rules of physical interrupt lines: binding and sharing, fire
// masks the line and tells every bound domain, the last EOI unmasks, a domain that never EOIs is
// overridden at the deadline, unbinding and destruction settle what the domain owed; and a property
// test against a reference model of the line, its guests and the controller's mask bit.

import XCTest
import PVABI
@testable import ApusCore

final class PirqLineTests: XCTestCase {
    func refused<T>(_ r: Result<T, Refusal>) -> XenError? {
        if case .failure(let f) = r { return f.error }
        return nil
    }

    func testBindAndShareRules() {
        var lines = PirqLines(count: 16, eoiTimeout: 1000)
        XCTAssertEqual(try lines.bind(line: 11, domain: 0, pirq: 11, willShare: false).get(), .unmask)
        XCTAssertEqual(refused(lines.bind(line: 11, domain: 0, pirq: 11, willShare: true)), .EBUSY)   // twice
        XCTAssertEqual(refused(lines.bind(line: 11, domain: 3, pirq: 5, willShare: true)), .EBUSY)   // first did not share
        XCTAssertEqual(refused(lines.bind(line: 16, domain: 3, pirq: 5, willShare: true)), .EINVAL)
        XCTAssertEqual(refused(lines.bind(line: -1, domain: 3, pirq: 5, willShare: true)), .EINVAL)
        XCTAssertEqual(try lines.bind(line: 10, domain: 0, pirq: 10, willShare: true).get(), .unmask)
        XCTAssertEqual(refused(lines.bind(line: 10, domain: 3, pirq: 5, willShare: false)), .EBUSY)  // second will not share
        for d in 1..<PirqLines.maxGuests {
            XCTAssertEqual(try lines.bind(line: 10, domain: UInt16(d), pirq: 5, willShare: true).get(), LineAction.none)
        }
        XCTAssertEqual(refused(lines.bind(line: 10, domain: 99, pirq: 5, willShare: true)), .EBUSY)  // full
        XCTAssertEqual(lines.line(10)?.guests.count, PirqLines.maxGuests)
    }

    func testFireMasksAndTheLastEOIUnmasks() {
        var lines = PirqLines(count: 16, eoiTimeout: 1000)
        _ = lines.bind(line: 10, domain: 0, pirq: 10, willShare: true)
        _ = lines.bind(line: 10, domain: 4, pirq: 3, willShare: true)
        var told: [UInt16: UInt32] = [:]
        XCTAssertEqual(lines.fire(line: 10, now: 50) { told[$0.domain] = $0.pirq }, .mask)
        XCTAssertEqual(told, [0: 10, 4: 3])
        XCTAssertEqual(lines.eoi(line: 10, domain: 4), LineAction.none)
        XCTAssertEqual(lines.eoi(line: 10, domain: 4), LineAction.none)      // a second EOI counts once
        XCTAssertEqual(lines.eoi(line: 10, domain: 7), LineAction.none)      // not bound
        XCTAssertEqual(lines.eoi(line: 10, domain: 0), .unmask)
        XCTAssertEqual(lines.eoi(line: 10, domain: 0), LineAction.none)      // nothing in flight
        XCTAssertEqual(lines.fire(line: 3, now: 60) { _ in XCTFail("nobody is bound") }, .mask)
    }

    /// A domain that never EOIs holds the line only until the deadline; the other sharer gets the
    /// next interrupt.
    func testADomainThatNeverEOIsLosesOnlyItsOwn() {
        var lines = PirqLines(count: 16, eoiTimeout: 1000)
        _ = lines.bind(line: 9, domain: 0, pirq: 9, willShare: true)
        _ = lines.bind(line: 9, domain: 6, pirq: 1, willShare: true)
        _ = lines.fire(line: 9, now: 100) { _ in }
        XCTAssertEqual(lines.eoi(line: 9, domain: 0), LineAction.none)
        var unmasked: [Int] = []
        lines.expire(now: 1099) { n, a in if a == .unmask { unmasked.append(n) } }
        XCTAssertEqual(unmasked, [])
        lines.expire(now: 1100) { n, a in if a == .unmask { unmasked.append(n) } }
        XCTAssertEqual(unmasked, [9])
        var told: [UInt16] = []
        XCTAssertEqual(lines.fire(line: 9, now: 2000) { told.append($0.domain) }, .mask)
        XCTAssertEqual(told, [0, 6])
        XCTAssertEqual(lines.eoi(line: 9, domain: 0), LineAction.none)
        XCTAssertEqual(lines.unbind(line: 9, domain: 6), .unmask)            // its owed EOI is settled
    }

    func testDestructionUnbindsEverywhere() {
        var lines = PirqLines(count: 16, eoiTimeout: 10)
        _ = lines.bind(line: 5, domain: 2, pirq: 5, willShare: false)
        _ = lines.bind(line: 7, domain: 2, pirq: 7, willShare: true)
        _ = lines.bind(line: 7, domain: 0, pirq: 7, willShare: true)
        _ = lines.fire(line: 7, now: 0) { _ in }
        XCTAssertEqual(lines.eoi(line: 7, domain: 0), LineAction.none)
        var actions: [Int: LineAction] = [:]
        lines.unbindAll(domain: 2) { actions[$0] = $1 }
        XCTAssertEqual(actions, [5: .mask, 7: .unmask])
        XCTAssertNil(lines.binding(line: 5, domain: 2))
        XCTAssertNil(lines.binding(line: 7, domain: 2))
        XCTAssertNotNil(lines.binding(line: 7, domain: 0))
        XCTAssertEqual(try lines.bind(line: 5, domain: 3, pirq: 5, willShare: false).get(), .unmask)
    }

    /// Random binds, fires, EOIs, unbinds, destructions and deadlines on a few lines, against a
    /// reference model; the controller's mask bit is driven only by the actions returned, and must
    /// always read masked exactly when nobody is bound or a fired interrupt is still owed an EOI.
    func testPropertyAgainstReferenceModel() {
        struct ModelGuest { var pirq: UInt32; var owes: Bool }
        struct ModelLine { var guests: [UInt16: ModelGuest] = [:]; var order: [UInt16] = []; var shareable = false; var firedAt: UInt64? = nil }
        var rng = SplitMix64(seed: 0x1B_0001)
        for _ in 0..<300 {
            let count = 4
            let timeout: UInt64 = 50
            var lines = PirqLines(count: count, eoiTimeout: timeout)
            var model = [ModelLine](repeating: ModelLine(), count: count)
            var masked = [Bool](repeating: true, count: count)
            var now: UInt64 = 0
            func apply(_ n: Int, _ a: LineAction) {
                switch a { case .mask: masked[n] = true; case .unmask: masked[n] = false; case .none: break }
            }
            for _ in 0..<120 {
                let n = rng.below(count)
                let d = UInt16(rng.below(5))
                now += UInt64(rng.below(20))
                switch rng.below(6) {
                case 0:
                    let share = rng.chance(70)
                    let pirq = UInt32(rng.below(64))
                    var m = model[n]
                    let allowed = m.guests[d] == nil && (m.guests.isEmpty || (share && m.shareable && m.guests.count < PirqLines.maxGuests))
                    switch lines.bind(line: n, domain: d, pirq: pirq, willShare: share) {
                    case .success(let a):
                        XCTAssertTrue(allowed)
                        if m.guests.isEmpty { m.shareable = share }
                        m.guests[d] = ModelGuest(pirq: pirq, owes: false)
                        m.order.append(d)
                        apply(n, a)
                    case .failure(let f):
                        XCTAssertFalse(allowed)
                        XCTAssertEqual(f.error, .EBUSY)
                    }
                    model[n] = m
                case 1:
                    // The controller delivers only unmasked lines.
                    guard !masked[n] else { break }
                    var told: [UInt16] = []
                    apply(n, lines.fire(line: n, now: now) { g in
                        told.append(g.domain)
                        XCTAssertEqual(model[n].guests[g.domain]?.pirq, g.pirq)
                    })
                    XCTAssertEqual(told, model[n].order)
                    for k in model[n].guests.keys { model[n].guests[k]!.owes = true }
                    if !model[n].guests.isEmpty { model[n].firedAt = now }
                case 2:
                    apply(n, lines.eoi(line: n, domain: d))
                    model[n].guests[d]?.owes = false
                case 3:
                    apply(n, lines.unbind(line: n, domain: d))
                    model[n].guests[d] = nil
                    model[n].order.removeAll { $0 == d }
                case 4:
                    lines.unbindAll(domain: d) { apply($0, $1) }
                    for i in 0..<count { model[i].guests[d] = nil; model[i].order.removeAll { $0 == d } }
                default:
                    lines.expire(now: now) { apply($0, $1) }
                    for i in 0..<count {
                        if let t = model[i].firedAt, now >= t + timeout {
                            for k in model[i].guests.keys { model[i].guests[k]!.owes = false }
                        }
                    }
                }
                for i in 0..<count {
                    let m = model[i]
                    if m.guests.isEmpty || !m.guests.values.contains(where: { $0.owes }) { model[i].firedAt = nil }
                    let owed = m.guests.values.contains { $0.owes }
                    XCTAssertEqual(masked[i], m.guests.isEmpty || owed, "line \(i)")
                    XCTAssertEqual(lines.line(i)!.guests.map(\.domain), m.order)
                    XCTAssertLessThanOrEqual(lines.line(i)!.guests.count, PirqLines.maxGuests)
                }
            }
        }
    }
}
