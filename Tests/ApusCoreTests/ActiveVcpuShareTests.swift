// ActiveVcpuShareTests.swift: a domain's weight split among its ACTIVE vCPUs (issue #16): the rule's
// numbers, the smp-guest shape (4 vCPUs, 3 blocked, beside a one-vCPU spinner of the same weight:
// half each), a property test against a reference model (random domains, weights, vCPU counts and
// blocked patterns that change half-way: each domain's share within 5% of its weight over the
// weights of the domains with a running vCPU), and a spinning sibling that must not starve another
// vCPU of its domain.

import XCTest
@testable import ApusCore

final class ActiveVcpuShareTests: XCTestCase {
    func testRule() {
        XCTAssertTrue(ActiveVcpuShare.isActive(runnable: true, ranThisPeriod: false))
        XCTAssertTrue(ActiveVcpuShare.isActive(runnable: false, ranThisPeriod: true), "ran, then blocked in the period")
        XCTAssertFalse(ActiveVcpuShare.isActive(runnable: false, ranThisPeriod: false), "blocked for the whole period")
    }

    func testAddRefusesAGroupOutOfRange() {
        var s = CreditScheduler(capacity: 4)
        XCTAssertFalse(s.add(1, weight: 256, group: 4))
        XCTAssertTrue(s.add(1, weight: 256, group: 3))
        XCTAssertEqual(s.entry(1)?.group, 3)
        XCTAssertTrue(s.add(2))
        XCTAssertEqual(s.entry(2)?.group, 2, "its own group by default")
    }

    /// The smp-guest scenario's second phase: 4 vCPUs of weight 256, 3 of them blocked, beside one
    /// spinner of weight 256: half each (the old split among online vCPUs gave the domain 1/5).
    func testOneRunningVCPUOfFourGetsTheWholeDomainShare() {
        var s = CreditScheduler(capacity: VcpuEntity.count(capacity: 4))
        var pool = VcpuEntityPool(base: 4)
        let smp: [UInt16] = [1] + (1..<4).map { pool.take(domain: 1, vcpu: UInt32($0))! }
        for (i, e) in smp.enumerated() { s.add(e, weight: 256, runnable: i == 0, group: 1) }
        s.add(2, weight: 256)
        var sim = ActiveShareSimulation()
        sim.run(&s, until: 10_000_000_000)
        XCTAssertEqual(Double(sim.ran[1] ?? 0) / Double(sim.now), 0.5, accuracy: 0.025)
        XCTAssertFalse(s.isActive(smp[1]))
        XCTAssertTrue(s.isActive(smp[0]))
    }

    enum Pattern: CaseIterable { case spin, blocked, spinThenBlock, blockThenSpin }

    /// The reference: in a window where the vCPUs doing `running` spin and the others are blocked, the
    /// domains with any running vCPU share the CPU by weight, each domain's part evenly among its
    /// running vCPUs; the others get nothing.
    static func referenceShares(weights: [UInt16], running: [[Bool]]) -> (domain: [Double], vcpu: [[Double]]) {
        let total = weights.indices.reduce(0.0) { running[$1].contains(true) ? $0 + Double(weights[$1]) : $0 }
        var domain: [Double] = [], vcpu: [[Double]] = []
        for d in weights.indices {
            let n = running[d].filter { $0 }.count
            let share = n > 0 && total > 0 ? Double(weights[d]) / total : 0
            domain.append(share)
            vcpu.append(running[d].map { $0 ? share / Double(n) : 0 })
        }
        return (domain, vcpu)
    }

    func testDomainSharesFollowWeightsOfDomainsWithActiveVCPUs() {
        var rng = SplitMix64(seed: 1616)
        let capacity = 16
        for round in 0..<16 {
            var s = CreditScheduler(capacity: VcpuEntity.count(capacity: capacity))
            var pool = VcpuEntityPool(base: capacity)
            let domains = Int.random(in: 2...5, using: &rng)
            var weights: [UInt16] = [], ids: [[UInt16]] = [], patterns: [[Pattern]] = []
            for d in 0..<domains {
                let w = UInt16.random(in: 1...1000, using: &rng) * (Bool.random(using: &rng) ? 1 : 8)
                let n = Int.random(in: 1...8, using: &rng)
                let group = UInt16(d + 1)
                var mine: [UInt16] = [group]
                for v in 1..<n { mine.append(pool.take(domain: group, vcpu: UInt32(v))!) }
                let p = (0..<n).map { _ in Pattern.allCases.randomElement(using: &rng)! }
                for (v, e) in mine.enumerated() {
                    XCTAssertTrue(s.add(e, weight: w, runnable: p[v] == .spin || p[v] == .spinThenBlock, group: group))
                }
                weights.append(w); ids.append(mine); patterns.append(p)
            }
            let half: UInt64 = 15_000_000_000, settle: UInt64 = 300_000_000
            var sim = ActiveShareSimulation()
            for phase in 0..<2 {
                if phase == 1 {
                    for d in ids.indices {
                        for (v, e) in ids[d].enumerated() {
                            if patterns[d][v] == .spinThenBlock { s.block(e) }
                            if patterns[d][v] == .blockThenSpin { s.wake(e) }
                        }
                    }
                }
                let start = UInt64(phase) * half
                sim.run(&s, until: start + settle)
                let before = sim.ran
                let idleBefore = sim.idle
                let t0 = sim.now
                sim.run(&s, until: start + half)
                let span = Double(sim.now - t0)
                // Within 5%, or three timeslices over the window for the smallest shares: a vCPU runs
                // whole 10 ms slices however small its share, so its time moves in steps of one.
                let grain = 3 * Double(s.parameters.timesliceNs) / span
                let running = patterns.map { $0.map { phase == 0 ? ($0 == .spin || $0 == .spinThenBlock) : ($0 == .spin || $0 == .blockThenSpin) } }
                let want = Self.referenceShares(weights: weights, running: running)
                let anyRunning = running.contains { $0.contains(true) }
                for d in ids.indices {
                    var domainTime: UInt64 = 0
                    for (v, e) in ids[d].enumerated() {
                        let t = (sim.ran[e] ?? 0) - (before[e] ?? 0)
                        domainTime += t
                        let share = Double(t) / span
                        XCTAssertEqual(share, want.vcpu[d][v], accuracy: max(want.vcpu[d][v] * 0.05, grain),
                                       "round \(round) phase \(phase): d\(d + 1) vCPU \(v) (\(patterns[d][v]))")
                    }
                    let share = Double(domainTime) / span
                    XCTAssertEqual(share, want.domain[d], accuracy: max(want.domain[d] * 0.05, grain),
                                   "round \(round) phase \(phase): d\(d + 1), weight \(weights[d]), patterns \(patterns[d]), weights \(weights)")
                }
                if !anyRunning {
                    XCTAssertEqual(Double(sim.idle - idleBefore), span, accuracy: span * 0.01, "round \(round) phase \(phase): nothing to run")
                }
            }
        }
    }

    /// Domain 1 (2 vCPUs, weight 256): vCPU 0 spins, vCPU 1 wakes every 10 ms for 1 ms of work;
    /// domain 2 (one vCPU, weight 256) spins. The sibling's spinning must not starve vCPU 1: it gets
    /// all the work it asks for (10% of the CPU), each time within a few ms of its wake-up.
    func testSpinningSiblingDoesNotStarveAnotherVCPU() {
        var s = CreditScheduler(capacity: VcpuEntity.count(capacity: 4))
        let sibling: UInt16 = 4                                   // vCPU 1 of domain 1
        s.add(1, weight: 256, group: 1)
        s.add(sibling, weight: 256, runnable: false, group: 1)
        s.add(2, weight: 256)
        var sim = ActiveShareSimulation()
        sim.worker = (id: sibling, periodNs: 10_000_000, workNs: 1_000_000)
        sim.run(&s, until: 10_000_000_000)
        let workerShare = Double(sim.ran[sibling] ?? 0) / Double(sim.now)
        XCTAssertEqual(workerShare, 0.10, accuracy: 0.005, "vCPU 1 gets all the work it asks for")
        XCTAssertLessThanOrEqual(sim.worstLatencyNs, 12_000_000, "vCPU 1's work is done within its 10 ms period")
        XCTAssertLessThanOrEqual(sim.missed, 1, "a wake-up found the previous work undone at most once (before its credit built up)")
        let domain1 = Double((sim.ran[1] ?? 0) + (sim.ran[sibling] ?? 0)) / Double(sim.now)
        XCTAssertEqual(domain1, 0.5, accuracy: 0.025, "the domain keeps its half")

        // Both siblings CPU-bound: a quarter each, the other domain half.
        var t = CreditScheduler(capacity: VcpuEntity.count(capacity: 4))
        t.add(1, weight: 256, group: 1)
        t.add(sibling, weight: 256, group: 1)
        t.add(2, weight: 256)
        var both = ActiveShareSimulation()
        both.run(&t, until: 10_000_000_000)
        XCTAssertEqual(Double(both.ran[1] ?? 0) / Double(both.now), 0.25, accuracy: 0.0125)
        XCTAssertEqual(Double(both.ran[sibling] ?? 0) / Double(both.now), 0.25, accuracy: 0.0125)
    }
}

/// Runs a credit scheduler over simulated time: every runnable entity spins, except an optional
/// worker that wakes every periodNs, runs workNs of CPU and blocks.
struct ActiveShareSimulation {
    var now: UInt64 = 0
    var ran: [UInt16: UInt64] = [:]
    var idle: UInt64 = 0
    var worker: (id: UInt16, periodNs: UInt64, workNs: UInt64)?
    var nextWake: UInt64 = 0
    var workLeft: UInt64 = 0
    var wokeAt: UInt64 = 0
    var worstLatencyNs: UInt64 = 0
    var missed = 0

    mutating func run(_ s: inout CreditScheduler, until end: UInt64) {
        while now < end {
            if let w = worker, now >= nextWake {
                if workLeft > 0 { missed += 1 }
                workLeft = w.workNs
                wokeAt = nextWake
                nextWake += w.periodNs
                s.wake(w.id)
            }
            s.tick(now: now)
            let decision = s.pick(now: now)
            var slice = min(decision.sliceNs, end - now)
            if worker != nil { slice = min(slice, max(nextWake - now, 1)) }
            guard let e = decision.domain else {
                idle += slice
                now += slice
                continue
            }
            if let w = worker, e == w.id {
                slice = min(slice, workLeft)
                workLeft -= slice
                now += slice
                ran[e, default: 0] += slice
                s.account(e, elapsedNs: slice)
                if workLeft == 0 {
                    worstLatencyNs = max(worstLatencyNs, now - wokeAt)
                    s.block(e)
                }
            } else {
                now += slice
                ran[e, default: 0] += slice
                s.account(e, elapsedNs: slice)
            }
        }
    }
}
