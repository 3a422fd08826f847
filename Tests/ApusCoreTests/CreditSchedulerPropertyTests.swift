// Property test of the credit scheduler's run queue: random sequences of add, remove, wake, block,
// yield, account, tick, setParameters, pick and the combined blockAndPick and chargeAndPick, applied to the scheduler and to the old scan
// (CreditSchedulerReference.swift); every pick and every domain's standing must agree after every step.

import XCTest
@testable import ApusCore

final class CreditSchedulerPropertyTests: XCTestCase {
    /// One random step on both; false (with a failure recorded) when they disagree.
    private func step(_ rng: inout SplitMix64, _ s: inout CreditScheduler, _ r: inout ScanCreditScheduler,
                      now: inout UInt64, lastPicked: inout UInt16?, ids: Int, period: UInt64, context: String) -> Bool {
        let id = UInt16(rng.below(ids + 2))          // a few ids beyond the capacity too
        var what = ""
        switch rng.below(100) {
        case 0..<12:
            let weight = rng.pick([0, 1, 64, 256, 256, 1024, 65535] as [UInt16])
            let cap = rng.pick([0, 0, 0, 5, 25, 50, 100, 101] as [UInt16])
            let runnable = rng.chance(70)
            what = "add(\(id), weight \(weight), cap \(cap), runnable \(runnable))"
            let a = s.add(id, weight: weight, cap: cap, runnable: runnable)
            let b = r.add(id, weight: weight, cap: cap, runnable: runnable)
            guard a == b else { XCTFail("\(context): \(what) answered \(a), reference \(b)"); return false }
        case 12..<16:
            what = "remove(\(id))"
            s.remove(id); r.remove(id)
        case 16..<28:
            what = "wake(\(id))"
            s.wake(id); r.wake(id)
        case 28..<38:
            what = "block(\(id))"
            s.block(id); r.block(id)
        case 38..<44:
            what = "yield(\(id))"
            s.yield(id); r.yield(id)
        case 44..<47:
            let weight: UInt16? = rng.chance(50) ? rng.pick([0, 1, 128, 512] as [UInt16]) : nil
            let cap: UInt16? = rng.chance(50) ? rng.pick([0, 10, 60, 200] as [UInt16]) : nil
            what = "setParameters(\(id), \(String(describing: weight)), \(String(describing: cap)))"
            let a = s.setParameters(id, weight: weight, cap: cap)
            let b = r.setParameters(id, weight: weight, cap: cap)
            guard a == b else { XCTFail("\(context): \(what) answered \(a), reference \(b)"); return false }
        case 47..<62:
            // Charge the domain that just ran (the hypervisor's way) or any id.
            let target = rng.chance(80) ? (lastPicked ?? id) : id
            let elapsed = rng.chance(10) ? UInt64(rng.below(Int(3 * period))) : UInt64(rng.below(Int(period / 4) + 1))
            what = "account(\(target), \(elapsed))"
            s.account(target, elapsedNs: elapsed); r.account(target, elapsedNs: elapsed)
        case 62..<72:
            now += rng.chance(5) ? UInt64(rng.below(Int(20 * period))) : UInt64(rng.below(Int(period / 3) + 1))
            if rng.chance(3), now > period { now -= period }        // time going backwards is ignored
            what = "tick(\(now))"
            s.tick(now: now); r.tick(now: now)
        case 72..<80:
            // The hypervisor's SCHEDOP_block: the domain that just ran (or any id) blocks, is charged and
            // the next one picked in one call; the reference does block, account, then (within the period) pick.
            let target = rng.chance(80) ? (lastPicked ?? id) : id
            let elapsed = rng.chance(20) ? 0 : UInt64(rng.below(Int(period / 4) + 1))
            now += elapsed
            what = "blockAndPick(\(target), \(elapsed), \(now))"
            let a = s.blockAndPick(target, elapsedNs: elapsed, now: now)
            r.block(target)
            if elapsed > 0 { r.account(target, elapsedNs: elapsed) }
            let b: SchedulingDecision? = now >= r.periodStart + period ? nil : r.pick(now: now)
            guard a == b else { XCTFail("\(context): \(what) chose \(String(describing: a)), reference \(String(describing: b))"); return false }
            lastPicked = a?.domain
        case 80..<86:
            // A preemption's switch: charge the one that ran (or none), then pick, in one call.
            let target: UInt16? = rng.chance(15) ? nil : (rng.chance(80) ? (lastPicked ?? id) : id)
            let elapsed = UInt64(rng.below(Int(period / 4) + 1))
            now += elapsed
            what = "chargeAndPick(\(String(describing: target)), \(elapsed), \(now))"
            let a = s.chargeAndPick(target, elapsedNs: elapsed, now: now)
            if let target { r.account(target, elapsedNs: elapsed) }
            let b: SchedulingDecision? = now >= r.periodStart + period ? nil : r.pick(now: now)
            guard a == b else { XCTFail("\(context): \(what) chose \(String(describing: a)), reference \(String(describing: b))"); return false }
            lastPicked = a?.domain
        default:
            what = "pick(\(now))"
            let a = s.pick(now: now)
            let b = r.pick(now: now)
            guard a == b else { XCTFail("\(context): \(what) chose \(a), reference \(b)"); return false }
            lastPicked = a.domain
        }
        guard s.runQueueIsConsistent() else { XCTFail("\(context): run queue inconsistent after \(what)"); return false }
        guard s.periodStart == r.periodStart, s.nextStamp == r.nextStamp else {
            XCTFail("\(context): period or stamps differ after \(what)"); return false
        }
        for i in 0..<(ids + 2) {
            let id = UInt16(i)
            guard s.entry(id) == r.entry(id), s.isParked(id) == r.isParked(id) else {
                XCTFail("\(context): d\(id) differs after \(what): \(String(describing: s.entry(id))) vs \(String(describing: r.entry(id)))")
                return false
            }
        }
        return true
    }

    func testRunQueuePicksAsTheScanDid() {
        let short = CreditSchedulerParameters(periodNs: 3_000_000, timesliceNs: 1_000_000, boostSliceNs: 100_000)
        for seed in UInt64(1)...400 {
            var rng = SplitMix64(seed: seed)
            let parameters = seed % 2 == 0 ? short : CreditSchedulerParameters()
            let ids = [1, 3, 8, 16, 40][rng.below(5)]
            var s = CreditScheduler(capacity: ids, parameters: parameters)
            var r = ScanCreditScheduler(capacity: ids, parameters: parameters)
            var now: UInt64 = 0
            var lastPicked: UInt16? = nil
            for n in 0..<600 {
                guard step(&rng, &s, &r, now: &now, lastPicked: &lastPicked, ids: ids, period: parameters.periodNs,
                           context: "seed \(seed) step \(n)") else { return }
            }
        }
    }

    /// Two and three domains only: every queue has at most three entries, so every sift takes the
    /// small-queue path (subscripts, at most two comparisons) that an event ping-pong uses.
    func testSmallQueuesPickAsTheScanDid() {
        for seed in UInt64(1000)...1400 {
            var rng = SplitMix64(seed: seed)
            let parameters = seed % 2 == 0 ? CreditSchedulerParameters(periodNs: 3_000_000, timesliceNs: 1_000_000, boostSliceNs: 100_000)
                                            : CreditSchedulerParameters()
            let ids = 2 + rng.below(2)
            var s = CreditScheduler(capacity: ids, parameters: parameters)
            var r = ScanCreditScheduler(capacity: ids, parameters: parameters)
            var now: UInt64 = 0
            var lastPicked: UInt16? = nil
            for n in 0..<400 {
                guard step(&rng, &s, &r, now: &now, lastPicked: &lastPicked, ids: ids, period: parameters.periodNs,
                           context: "seed \(seed) step \(n)") else { return }
            }
        }
    }

    /// Many busy domains, the hypervisor's loop only (tick, pick, charge the slice, an occasional
    /// block and wake): the same decisions as the scan over many periods.
    func testHypervisorLoopAgreesWithTheScanAt256Domains() {
        var s = CreditScheduler(capacity: 256)
        var r = ScanCreditScheduler(capacity: 256)
        var rng = SplitMix64(seed: 12)
        for id in UInt16(0)..<256 {
            let weight = rng.pick([64, 256, 256, 512] as [UInt16])
            let cap = rng.pick([0, 0, 0, 30] as [UInt16])
            s.add(id, weight: weight, cap: cap); r.add(id, weight: weight, cap: cap)
        }
        var now: UInt64 = 0
        for n in 0..<20_000 {
            s.tick(now: now); r.tick(now: now)
            if rng.chance(10) {
                let id = UInt16(rng.below(256))
                if rng.chance(50) { s.block(id); r.block(id) } else { s.wake(id); r.wake(id) }
            }
            let a = s.pick(now: now), b = r.pick(now: now)
            guard a == b else { XCTFail("step \(n): \(a) vs \(b)"); return }
            let ran = min(a.sliceNs, UInt64(rng.below(2_000_000) + 1))
            now += ran
            if let id = a.domain { s.account(id, elapsedNs: ran); r.account(id, elapsedNs: ran) }
        }
        XCTAssertTrue(s.runQueueIsConsistent())
        for id in UInt16(0)..<256 { XCTAssertEqual(s.entry(id), r.entry(id)) }
    }
}
