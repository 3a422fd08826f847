// Tests of the credit scheduler over simulated time: weighted fairness, caps, no starvation, blocked domains, boost, yield, a trace worked out by hand.
// The simulator stands in for the hypervisor's timer path (account, tick, pick); expected shares are computed from weights, not from the code under test.

import XCTest
@testable import ApusCore

/// Drives a scheduler the way the hypervisor's timer interrupt will: charge the running domain,
/// advance time, pick the next. Domains listed in `cpuBound` never block.
private struct Simulation {
    var scheduler: CreditScheduler
    var now: UInt64 = 0
    var runTime: [UInt16: UInt64] = [:]
    var idleTime: UInt64 = 0
    /// Longest time each domain waited between two of its runs while runnable.
    var longestWait: [UInt16: UInt64] = [:]
    var lastRanEnd: [UInt16: UInt64] = [:]
    var trace: [UInt16?] = []

    init(_ scheduler: CreditScheduler) { self.scheduler = scheduler }

    /// Runs until `end`; `hook` may block or wake domains before each pick.
    mutating func run(until end: UInt64, hook: (inout CreditScheduler, UInt64) -> Void = { _, _ in }) {
        while now < end {
            scheduler.tick(now: now)
            hook(&scheduler, now)
            step(limit: end - now)
        }
    }

    /// One decision: pick, run the slice (at most `limit`), charge it.
    mutating func step(limit: UInt64 = .max) {
        scheduler.tick(now: now)
        let decision = scheduler.pick(now: now)
        let slice = min(decision.sliceNs, limit)
        XCTAssertGreaterThan(slice, 0)
        trace.append(decision.domain)
        if let id = decision.domain {
            let waited = now - (lastRanEnd[id] ?? 0)
            longestWait[id] = max(longestWait[id] ?? 0, waited)
            now += slice
            scheduler.account(id, elapsedNs: slice)
            runTime[id, default: 0] += slice
            lastRanEnd[id] = now
        } else {
            now += slice
            idleTime += slice
        }
    }

    func share(_ id: UInt16) -> Double { Double(runTime[id] ?? 0) / Double(now) }
}

private let ms: UInt64 = 1_000_000
private let second: UInt64 = 1_000_000_000

final class CreditSchedulerTests: XCTestCase {
    func testWeights1To2To4GetTheirShares() {
        var s = CreditScheduler(capacity: 8)
        s.add(1, weight: 100)
        s.add(2, weight: 200)
        s.add(3, weight: 400)
        var sim = Simulation(s)
        sim.run(until: 60 * second)
        let ideal: [UInt16: Double] = [1: 1.0 / 7, 2: 2.0 / 7, 3: 4.0 / 7]
        for (id, want) in ideal {
            XCTAssertEqual(sim.share(id), want, accuracy: want * 0.02, "domain \(id)")
        }
        XCTAssertEqual(sim.idleTime, 0, "work-conserving")
    }

    func testUnequalWeightsAcrossManyDomains() {
        let weights: [UInt16] = [64, 128, 256, 256, 512, 1024]
        var s = CreditScheduler(capacity: 8)
        for (i, w) in weights.enumerated() { s.add(UInt16(i), weight: w) }
        var sim = Simulation(s)
        sim.run(until: 120 * second)
        let total = Double(weights.reduce(0) { $0 + Int($1) })
        for (i, w) in weights.enumerated() {
            let want = Double(w) / total
            XCTAssertEqual(sim.share(UInt16(i)), want, accuracy: want * 0.02, "weight \(w)")
        }
    }

    func testCapIsHonouredAlongsideAnUncappedDomain() {
        var s = CreditScheduler(capacity: 4)
        s.add(1, weight: 256, cap: 25)
        s.add(2, weight: 256)
        var sim = Simulation(s)
        sim.run(until: 30 * second)
        XCTAssertLessThanOrEqual(sim.share(1), 0.25 + 0.001)
        XCTAssertGreaterThanOrEqual(sim.share(1), 0.25 - 0.005)
        XCTAssertEqual(sim.share(2), 0.75, accuracy: 0.005, "the uncapped domain takes the rest")
    }

    func testCapHoldsInEveryPeriodAndLeavesTheCPUIdle() {
        let parameters = CreditSchedulerParameters()
        var s = CreditScheduler(capacity: 4, parameters: parameters)
        s.add(1, cap: 30)
        var sim = Simulation(s)
        var usedInPeriod: UInt64 = 0
        var period: UInt64 = 0
        while sim.now < 10 * second {
            let before = sim.runTime[1] ?? 0
            let start = sim.now
            sim.step()
            let p = start / parameters.periodNs
            if p != period { usedInPeriod = 0; period = p }
            usedInPeriod += (sim.runTime[1] ?? 0) - before
            XCTAssertLessThanOrEqual(usedInPeriod, parameters.periodNs * 30 / 100, "period \(p)")
        }
        XCTAssertEqual(sim.share(1), 0.30, accuracy: 0.001)
        XCTAssertEqual(Double(sim.idleTime) / Double(sim.now), 0.70, accuracy: 0.001, "a cap is not work-conserving")
    }

    func testCappedWeightedMix() {
        // A heavy capped domain cannot take more than its cap; the others split the rest by weight.
        var s = CreditScheduler(capacity: 4)
        s.add(1, weight: 1024, cap: 20)
        s.add(2, weight: 256)
        s.add(3, weight: 512)
        var sim = Simulation(s)
        sim.run(until: 60 * second)
        XCTAssertLessThanOrEqual(sim.share(1), 0.20 + 0.001)
        XCTAssertGreaterThanOrEqual(sim.share(1), 0.20 - 0.005)
        XCTAssertEqual(sim.share(2), 0.80 / 3, accuracy: 0.80 / 3 * 0.02)
        XCTAssertEqual(sim.share(3), 0.80 * 2 / 3, accuracy: 0.80 * 2 / 3 * 0.02)
    }

    func testNoStarvation() {
        let weights: [UInt16] = [16, 64, 256, 1024, 4096, 256, 256]
        let parameters = CreditSchedulerParameters()
        var s = CreditScheduler(capacity: 8, parameters: parameters)
        for (i, w) in weights.enumerated() { s.add(UInt16(i), weight: w) }
        var sim = Simulation(s)
        sim.run(until: 120 * second)
        let total = UInt64(weights.reduce(0) { $0 + Int($1) })
        for (i, w) in weights.enumerated() {
            // A domain that just ran a full slice is back in credit after slice / (its share of a
            // period) periods; then UNDER domains holding more credit spend theirs first, which
            // the bound allows one period per domain, and it waits for each other domain's slice.
            let perPeriod = parameters.periodNs * UInt64(w) / total
            let periods = (parameters.timesliceNs + perPeriod - 1) / perPeriod + UInt64(weights.count)
            let bound = periods * parameters.periodNs + UInt64(weights.count) * parameters.timesliceNs
            let waited = sim.longestWait[UInt16(i)] ?? .max
            XCTAssertLessThanOrEqual(waited, bound, "weight \(w) waited \(waited / ms) ms")
        }
        // With equal weights, no one waits longer than the others' slices plus a period.
        // (Shares stay exact across a 256:1 weight range too.)
        for (i, w) in weights.enumerated() {
            let want = Double(w) / Double(total)
            XCTAssertEqual(sim.share(UInt16(i)), want, accuracy: want * 0.05, "weight \(w)")
        }
        var e = CreditScheduler(capacity: 8, parameters: parameters)
        for id in UInt16(0)..<5 { e.add(id) }
        var equal = Simulation(e)
        equal.run(until: 10 * second)
        for id in UInt16(0)..<5 {
            XCTAssertLessThanOrEqual(equal.longestWait[id] ?? .max, 4 * parameters.timesliceNs + parameters.periodNs)
        }
    }

    func testBlockedDomainsUseNothingAndGetNothing() {
        var s = CreditScheduler(capacity: 4)
        s.add(1)
        s.add(2)
        s.add(3, weight: 4096, runnable: false)
        var sim = Simulation(s)
        sim.run(until: 10 * second)
        XCTAssertNil(sim.runTime[3])
        XCTAssertEqual(sim.share(1), 0.5, accuracy: 0.01)
        XCTAssertEqual(sim.share(2), 0.5, accuracy: 0.01)
        XCTAssertEqual(sim.scheduler.entry(3)?.credit, CreditSchedulerParameters().initialCreditNs,
                       "a domain that never wanted the CPU is handed nothing beyond its initial credit")

        // Everyone blocked: idle for whole periods.
        var idle = CreditScheduler(capacity: 2)
        idle.add(0, runnable: false)
        XCTAssertEqual(idle.pick(now: 0), SchedulingDecision(domain: nil, sliceNs: CreditSchedulerParameters().periodNs))
    }

    func testIOBoundDomainKeepsLatencyWhileCPUBoundShareTheRest() {
        // Domain 3 wakes every 5 ms, runs 0.2 ms, blocks. Boost must run it at once each time.
        var s = CreditScheduler(capacity: 4)
        s.add(1)
        s.add(2)
        s.add(3, runnable: false)
        var sim = Simulation(s)
        var wakes = 0
        var promptRuns = 0
        var wokeAt: UInt64?
        var nextWake: UInt64 = 0
        while sim.now < 5 * second {
            sim.scheduler.tick(now: sim.now)
            if !sim.scheduler.entry(3)!.runnable, sim.now >= nextWake {
                sim.scheduler.wake(3)
                wokeAt = sim.now
                wakes += 1
                nextWake = sim.now + 5 * ms
            }
            let d = sim.scheduler.pick(now: sim.now)
            guard let id = d.domain else { sim.now += d.sliceNs; continue }
            // CPU-bound domains are preempted at 1 ms granularity here (the timer tick), so wake-ups are seen.
            let slice = id == 3 ? 200_000 : min(d.sliceNs, 1 * ms)
            if id == 3, let w = wokeAt, sim.now == w { promptRuns += 1 }
            sim.now += slice
            sim.scheduler.account(id, elapsedNs: slice)
            sim.runTime[id, default: 0] += slice
            if id == 3 {
                sim.lastRanEnd[3] = sim.now
                sim.scheduler.block(3)
            }
        }
        XCTAssertGreaterThan(wakes, 900)
        XCTAssertEqual(promptRuns, wakes, "every wake-up ran at once (boost)")
        XCTAssertEqual(sim.share(1), sim.share(2), accuracy: 0.01)
    }

    func testWakeBoostsOnlyWithinShare() {
        var s = CreditScheduler(capacity: 4)
        s.add(1)
        s.add(2, runnable: false)
        s.wake(2)
        XCTAssertEqual(s.entry(2)?.priority, .boost)
        XCTAssertEqual(s.pick(now: 0).domain, 2, "boosted ahead of an UNDER domain picked longer ago")
        s.account(2, elapsedNs: 40 * ms)
        XCTAssertEqual(s.entry(2)?.priority, .over, "running ends the boost; the debt makes it OVER")
        s.block(2)
        s.wake(2)
        XCTAssertEqual(s.entry(2)?.priority, .over, "no boost while over its share")
        s.wake(1)   // already runnable: no effect
        XCTAssertEqual(s.entry(1)?.priority, .under)
    }

    func testHogsWokenTogetherDoNotHoldUpALaterWake() {
        // Three CPU hogs unpaused together are all boosted; a latency-bound domain woken just
        // after them must not wait three whole timeslices: each boosted run is one boost slice.
        let p = CreditSchedulerParameters()
        var s = CreditScheduler(capacity: 5)
        for id: UInt16 in 1...3 { s.add(id, runnable: false); s.wake(id) }
        s.add(4, runnable: false)
        s.wake(4)
        var now: UInt64 = 0
        var ranAt: UInt64?
        while ranAt == nil, now < p.periodNs {
            let d = s.pick(now: now)
            guard let id = d.domain else { XCTFail("nobody runnable"); return }
            if id == 4 { ranAt = now; break }
            XCTAssertLessThanOrEqual(d.sliceNs, p.boostSliceNs, "a boosted hog runs one boost slice")
            now += d.sliceNs
            s.account(id, elapsedNs: d.sliceNs)
        }
        XCTAssertEqual(ranAt, 3 * p.boostSliceNs, "the later wake ran after three boost slices")
        XCTAssertEqual(s.pick(now: now).sliceNs, p.boostSliceNs)
        s.account(4, elapsedNs: 100_000)
        XCTAssertEqual(s.pick(now: now).sliceNs, p.timesliceNs, "once boosts are spent, slices are whole again")
    }

    /// A new domain's short start-up run must not leave it OVER: its first wake-up is boosted
    /// (the clock domain, created beside busy domains, waited for the next period's refill).
    func testANewDomainsStartUpKeepsItsFirstWakeBoosted() {
        let p = CreditSchedulerParameters()
        XCTAssertEqual(p.initialCreditNs, Int64(p.boostSliceNs))
        var s = CreditScheduler(capacity: 4)
        s.add(1)
        s.add(2, runnable: false)
        s.wake(2)
        XCTAssertEqual(s.pick(now: 0).domain, 2)
        s.account(2, elapsedNs: 300_000)          // it starts, prints, arms a timer, blocks
        s.block(2)
        s.wake(2)                                 // its timer fires
        XCTAssertEqual(s.entry(2)?.priority, .boost)
        XCTAssertEqual(s.pick(now: 400_000).domain, 2, "ahead of the busy domain, before any refill")
    }

    func testYieldLetsAnyoneElseRunOnce() {
        var s = CreditScheduler(capacity: 4)
        s.add(1)
        s.add(2)
        let first = s.pick(now: 0).domain!
        let other: UInt16 = first == 1 ? 2 : 1
        s.account(first, elapsedNs: 1 * ms)
        // Make the other domain OVER: it still runs when the first yields.
        s.account(other, elapsedNs: 5 * ms)
        XCTAssertEqual(s.entry(other)?.priority, .over)
        s.yield(first)
        XCTAssertEqual(s.pick(now: 6 * ms).domain, other)
        s.account(other, elapsedNs: 1 * ms)
        XCTAssertEqual(s.pick(now: 7 * ms).domain, first, "the yield lasts one pick")
        // Alone, a yielder runs again at once.
        var alone = CreditScheduler(capacity: 2)
        alone.add(0)
        alone.yield(0)
        XCTAssertEqual(alone.pick(now: 0).domain, 0)
    }

    func testRoundRobinAmongEquals() {
        var s = CreditScheduler(capacity: 4)
        for id in UInt16(1)...3 { s.add(id) }
        var order: [UInt16] = []
        var now: UInt64 = 0
        for _ in 0..<3 {
            let d = s.pick(now: now)
            order.append(d.domain!)
            now += 1 * ms
            s.account(d.domain!, elapsedNs: 1 * ms)
            s.tick(now: now)
        }
        XCTAssertEqual(order, [1, 2, 3])
    }

    func testSlicesStopAtPeriodBoundaryAndCap() {
        let p = CreditSchedulerParameters(periodNs: 30 * ms, timesliceNs: 10 * ms)
        var s = CreditScheduler(capacity: 2, parameters: p)
        s.add(0, cap: 5)
        XCTAssertEqual(s.pick(now: 0).sliceNs, 1_500_000, "5% of 30 ms")
        var t = CreditScheduler(capacity: 2, parameters: p)
        t.add(0)
        XCTAssertEqual(t.pick(now: 25 * ms).sliceNs, 5 * ms, "up to the period boundary")
    }

    func testParameterValidation() {
        var s = CreditScheduler(capacity: 2)
        XCTAssertFalse(s.add(0, weight: 0))
        XCTAssertFalse(s.add(0, cap: 101))
        XCTAssertFalse(s.add(2))
        XCTAssertTrue(s.add(0))
        XCTAssertFalse(s.add(0))
        XCTAssertFalse(s.setParameters(0, weight: 0))
        XCTAssertFalse(s.setParameters(0, cap: 200))
        XCTAssertFalse(s.setParameters(1, weight: 10))
        XCTAssertTrue(s.setParameters(0, weight: 512, cap: 50))
        XCTAssertEqual(s.entry(0)?.weight, 512)
        XCTAssertEqual(s.entry(0)?.cap, 50)
        s.remove(0)
        XCTAssertNil(s.entry(0))
        XCTAssertEqual(s.pick(now: 0).domain, nil)
    }

    func testLongGapAndBackwardsTimeAreHarmless() {
        var s = CreditScheduler(capacity: 2)
        s.add(0)
        s.tick(now: 3_600 * second)
        XCTAssertLessThanOrEqual(s.entry(0)!.credit, CreditSchedulerParameters().creditCeilingNs)
        XCTAssertEqual(s.periodStart, 3_600 * second)
        s.tick(now: 10)
        XCTAssertEqual(s.periodStart, 3_600 * second)
    }

    /// Determinism against a trace worked out from the rules, not against a second run: three
    /// CPU-bound domains of equal weight tie on class and credit after every round, so the least
    /// recently picked runs next and each 10 ms slice goes 1, 2, 3, 1, 2, 3, ... (the 30 ms
    /// period is three whole slices, so no slice is cut short).
    func testEqualWeightsRunStrictRoundRobin() {
        var s = CreditScheduler(capacity: 8)
        s.add(1, weight: 256)
        s.add(2, weight: 256)
        s.add(3, weight: 256)
        var sim = Simulation(s)
        sim.run(until: 990 * ms)
        let expected: [UInt16?] = (0..<99).map { UInt16($0 % 3 + 1) }
        XCTAssertEqual(sim.trace, expected)
        XCTAssertEqual(sim.runTime, [1: 330 * ms, 2: 330 * ms, 3: 330 * ms])
    }

    /// chargeAndPick is account then pick within a period, and stops after the charge when a period
    /// ended (the caller runs tick and pick): the same states as the separate calls.
    func testChargeAndPickIsAccountThenPick() {
        var a = CreditScheduler(capacity: 8)
        var b = CreditScheduler(capacity: 8)
        for id: UInt16 in 1...3 { a.add(id, weight: 256 * id); b.add(id, weight: 256 * id) }
        var now: UInt64 = 0
        var running: UInt16? = nil
        for step in 0..<40 {
            let elapsed = UInt64(step % 7) * 1_300_000
            now += elapsed
            if running != nil { b.account(running!, elapsedNs: elapsed) }
            let combined = a.chargeAndPick(running, elapsedNs: elapsed, now: now)
            let expected: SchedulingDecision
            if b.periodEnded(at: now) {
                XCTAssertNil(combined, "step \(step): a period ended")
                a.tick(now: now)
                b.tick(now: now)
                expected = b.pick(now: now)
                XCTAssertEqual(a.pick(now: now), expected, "step \(step)")
            } else {
                expected = b.pick(now: now)
                XCTAssertEqual(combined, expected, "step \(step)")
            }
            XCTAssertEqual(a, b, "step \(step)")
            running = expected.domain
        }
    }
}

final class CreditSchedulerEmptyTests: XCTestCase {
    /// The constant empty scheduler the hypervisor's global starts with: the default parameters, no
    /// room for any domain, every operation harmless, pick idles.
    func testEmptySchedulerIsInert() {
        var s = CreditScheduler()
        XCTAssertEqual(s.parameters, CreditSchedulerParameters())
        XCTAssertFalse(s.add(0))
        s.wake(0); s.block(0); s.yield(0); s.account(0, elapsedNs: 5); s.remove(0)
        XCTAssertNil(s.entry(0))
        XCTAssertEqual(s.pick(now: 0), SchedulingDecision(domain: nil, sliceNs: CreditSchedulerParameters().periodNs))
        XCTAssertEqual(s.blockAndPick(0, elapsedNs: 7, now: 1), SchedulingDecision(domain: nil, sliceNs: CreditSchedulerParameters().periodNs - 1))
        XCTAssertTrue(s.runQueueIsConsistent())
    }
}
