// Tests of a domain's cap under the credit scheduler: the cap (percent of one CPU) bounds the domain as a whole,
// all its vCPUs together, as Xen's credit1 caps a domain (csched_acct: the cap's credit split among the domain's
// active vCPUs), never each vCPU on its own. A property test over seeded random domains (1-4 vCPUs, caps, spinning
// or blocked vCPUs) holds every period's usage to the cap at every step and the long-run shares to a reference
// model: water-filling of the CPU by weight, a capped domain taking at most its cap, its part split evenly among
// its running vCPUs.

import XCTest
@testable import ApusCore

final class DomainCapTests: XCTestCase {
    /// The reference: domains with a running vCPU share the CPU by weight; a capped one takes at most cap%
    /// (what it cannot take goes to the others by weight, and what no one can take is idle); its part is
    /// split evenly among its running vCPUs.
    static func referenceShares(weights: [UInt16], caps: [UInt16], running: [[Bool]]) -> (domain: [Double], vcpu: [[Double]]) {
        var share = Array(repeating: 0.0, count: weights.count)
        var open = Set(weights.indices.filter { running[$0].contains(true) })
        var left = 1.0
        while !open.isEmpty {
            let total = open.reduce(0.0) { $0 + Double(weights[$1]) }
            let limited = open.filter { caps[$0] > 0 && left * Double(weights[$0]) / total >= Double(caps[$0]) / 100 }
            if limited.isEmpty {
                for d in open { share[d] = left * Double(weights[d]) / total }
                break
            }
            for d in limited {
                share[d] = Double(caps[d]) / 100
                left -= share[d]
                open.remove(d)
            }
        }
        let vcpu = weights.indices.map { d in
            let n = Double(running[d].filter { $0 }.count)
            return running[d].map { $0 ? share[d] / n : 0 }
        }
        return (share, vcpu)
    }

    func testReferenceModel() {
        let r = Self.referenceShares(weights: [256, 256], caps: [30, 0], running: [[true, true, false], [true]])
        XCTAssertEqual(r.domain[0], 0.30, accuracy: 1e-9)
        XCTAssertEqual(r.domain[1], 0.70, accuracy: 1e-9)
        XCTAssertEqual(r.vcpu[0], [0.15, 0.15, 0], "the cap split among the running vCPUs")
        let idle = Self.referenceShares(weights: [256], caps: [40], running: [[true, true, true, true]])
        XCTAssertEqual(idle.domain[0], 0.40, accuracy: 1e-9, "a cap is not work-conserving")
    }

    /// A domain of 4 spinning vCPUs capped at 40%, alone: 40% in all (not 4 x 40%), 10% each.
    func testFourVCPUsShareOneCap() {
        var s = CreditScheduler(capacity: VcpuEntity.count(capacity: 4))
        var pool = VcpuEntityPool(base: 4)
        var ids: [UInt16] = [1]
        for v in 1..<4 { ids.append(pool.take(domain: 1, vcpu: UInt32(v))!) }
        for e in ids { XCTAssertTrue(s.add(e, weight: 256, cap: 40, group: 1)) }
        var sim = CappedSimulation()
        sim.run(&s, until: 6_000_000_000, caps: [1: 40])
        XCTAssertEqual(sim.maxOverBudget, 0, "the domain never ran past its cap in a period")
        let domain = Double(ids.reduce(0) { $0 + (sim.ran[$1] ?? 0) }) / Double(sim.now)
        XCTAssertEqual(domain, 0.40, accuracy: 0.005)
        for e in ids { XCTAssertEqual(Double(sim.ran[e] ?? 0) / Double(sim.now), 0.10, accuracy: 0.01, "vCPU entity \(e)") }
        XCTAssertEqual(Double(sim.idle) / Double(sim.now), 0.60, accuracy: 0.005)
        // Every vCPU of the domain is parked once the domain has used its cap.
        s.tick(now: sim.now + 30_000_000)
        let start = s.periodStart
        var used: UInt64 = 0
        while used < 12_000_000 {
            let d = s.pick(now: start + used)
            guard let e = d.domain else { return XCTFail("nothing picked before the cap") }
            s.account(e, elapsedNs: d.sliceNs)
            used += d.sliceNs
        }
        XCTAssertEqual(used, 12_000_000, "slices are cut at the domain's cap")
        XCTAssertEqual(s.usedThisPeriod(group: 1), 12_000_000)
        for e in ids { XCTAssertTrue(s.isParked(e)) }
        XCTAssertNil(s.pick(now: start + used).domain)
    }

    func testDomainCapsAgainstTheReference() {
        var rng = SplitMix64(seed: 1616_2)
        let capacity = 8
        for round in 0..<12 {
            var s = CreditScheduler(capacity: VcpuEntity.count(capacity: capacity))
            var pool = VcpuEntityPool(base: capacity)
            let domains = Int.random(in: 1...4, using: &rng)
            var weights: [UInt16] = [], caps: [UInt16] = [], ids: [[UInt16]] = [], running: [[Bool]] = []
            var capOf: [UInt16: UInt16] = [:]
            for d in 0..<domains {
                let w = UInt16.random(in: 1...4, using: &rng) * 128
                let cap = [0, 0, 10, 25, 40, 60, 90].randomElement(using: &rng)! as UInt16
                let n = Int.random(in: 1...4, using: &rng)
                let group = UInt16(d + 1)
                var mine: [UInt16] = [group]
                for v in 1..<n { mine.append(pool.take(domain: group, vcpu: UInt32(v))!) }
                var run = (0..<n).map { _ in Bool.random(using: &rng) }
                if !run.contains(true) { run[0] = true }
                for (v, e) in mine.enumerated() { XCTAssertTrue(s.add(e, weight: w, cap: cap, runnable: run[v], group: group)) }
                weights.append(w); caps.append(cap); ids.append(mine); running.append(run)
                if cap > 0 { capOf[group] = cap }
            }
            var sim = CappedSimulation()
            sim.run(&s, until: 300_000_000, caps: capOf)
            let before = sim.ran, idleBefore = sim.idle, t0 = sim.now
            sim.run(&s, until: 12_300_000_000, caps: capOf)
            XCTAssertEqual(sim.maxOverBudget, 0, "round \(round): a domain ran past its cap in a period")
            let span = Double(sim.now - t0)
            let grain = 3 * Double(s.parameters.timesliceNs) / span
            let want = Self.referenceShares(weights: weights, caps: caps, running: running)
            var total = 0.0
            for d in ids.indices {
                var domainTime: UInt64 = 0
                for (v, e) in ids[d].enumerated() {
                    let t = (sim.ran[e] ?? 0) - (before[e] ?? 0)
                    domainTime += t
                    XCTAssertEqual(Double(t) / span, want.vcpu[d][v], accuracy: max(want.vcpu[d][v] * 0.05, grain),
                                   "round \(round): d\(d + 1) vCPU \(v), caps \(caps) weights \(weights) running \(running)")
                }
                let share = Double(domainTime) / span
                total += share
                XCTAssertEqual(share, want.domain[d], accuracy: max(want.domain[d] * 0.05, grain),
                               "round \(round): d\(d + 1), caps \(caps) weights \(weights) running \(running)")
                if caps[d] > 0 { XCTAssertLessThanOrEqual(share, Double(caps[d]) / 100 + 1e-9) }
            }
            let wantIdle = 1 - want.domain.reduce(0, +)
            XCTAssertEqual(Double(sim.idle - idleBefore) / span, wantIdle, accuracy: max(wantIdle * 0.05, grain), "round \(round): idle")
        }
    }
}

/// Runs a credit scheduler over simulated time (every runnable entity spins) and checks at every step that
/// no capped domain (group) used more than its cap's budget in the current period.
struct CappedSimulation {
    var now: UInt64 = 0
    var ran: [UInt16: UInt64] = [:]
    var idle: UInt64 = 0
    /// The most any capped domain's usage in a period went past its budget (0 when the cap held).
    var maxOverBudget: UInt64 = 0

    mutating func run(_ s: inout CreditScheduler, until end: UInt64, caps: [UInt16: UInt16]) {
        while now < end {
            s.tick(now: now)
            let decision = s.pick(now: now)
            let slice = min(decision.sliceNs, end - now)
            now += slice
            guard let e = decision.domain else {
                idle += slice
                continue
            }
            ran[e, default: 0] += slice
            s.account(e, elapsedNs: slice)
            for (group, cap) in caps {
                let budget = s.parameters.periodNs * UInt64(cap) / 100
                let used = s.usedThisPeriod(group: group)
                if used > budget { maxOverBudget = max(maxOverBudget, used - budget) }
            }
        }
    }
}
