// VcpuSchedulingTests.swift: vCPUs as the credit scheduler's entities (issue #16): the entity ids
// (vCPU 0's is its domain's id, the others lent from a pool), max_vcpus's rule,
// and a property test: random domains with 1-8 spinning vCPUs each, run over simulated time, get
// CPU in proportion to their domain weights (the reference: weight / total weight) within 5%, and
// the vCPUs of one domain share its part evenly.

import XCTest
import PVABI
@testable import ApusCore

final class VcpuSchedulingTests: XCTestCase {
    func testEntityPool() {
        var pool = VcpuEntityPool(base: 512, count: 3)
        XCTAssertEqual(VcpuEntity.count(capacity: 512), 512 + VcpuEntity.extraSlots)
        XCTAssertEqual(pool.owner(7)?.domain, 7, "ids below the pool are vCPU 0 of that domain")
        XCTAssertEqual(pool.owner(7)?.vcpu, 0)
        XCTAssertNil(pool.take(domain: 1, vcpu: 0), "vCPU 0 has its domain's id")
        let a = pool.take(domain: 1, vcpu: 1), b = pool.take(domain: 511, vcpu: 7), c = pool.take(domain: 0, vcpu: 3)
        XCTAssertEqual([a, b, c], [512, 513, 514])
        XCTAssertNil(pool.take(domain: 2, vcpu: 1), "all lent")
        XCTAssertEqual(pool.owner(513)?.domain, 511)
        XCTAssertEqual(pool.owner(513)?.vcpu, 7)
        XCTAssertEqual(pool.owner(514)?.domain, 0)
        pool.give(513)
        XCTAssertNil(pool.owner(513), "given back: nobody's")
        XCTAssertEqual(pool.inUse, 2)
        XCTAssertEqual(pool.take(domain: 2, vcpu: 1), 513)
        XCTAssertNil(pool.owner(515), "beyond the pool")
        pool.give(9)
        XCTAssertEqual(pool.inUse, 3, "an id outside the pool is not given back")
    }

    func testMaxVCPUsRule() {
        XCTAssertNil(VcpuLimits.maxVCPUsRefusal(requested: 4, current: 1, hasRun: false))
        XCTAssertNil(VcpuLimits.maxVCPUsRefusal(requested: 8, current: 1, hasRun: false))
        XCTAssertNil(VcpuLimits.maxVCPUsRefusal(requested: 4, current: 4, hasRun: true), "the same count again is harmless")
        XCTAssertEqual(VcpuLimits.maxVCPUsRefusal(requested: 0, current: 1, hasRun: false)?.error, .EINVAL)
        XCTAssertEqual(VcpuLimits.maxVCPUsRefusal(requested: 9, current: 1, hasRun: false)?.error, .EINVAL)
        XCTAssertEqual(VcpuLimits.maxVCPUsRefusal(requested: 2, current: 4, hasRun: false)?.error, .EINVAL)
        XCTAssertEqual(VcpuLimits.maxVCPUsRefusal(requested: 4, current: 1, hasRun: true)?.error, .EBUSY)
    }

    /// Random mixes of domains, every vCPU CPU-bound: each domain's share within 5% of
    /// weight / total weight, each of its vCPUs within 5% of the domain's share / its vCPUs.
    func testPerVCPUSharesFollowDomainWeights() {
        var rng = SplitMix64(seed: 16)
        let capacity = 16
        for round in 0..<12 {
            var s = CreditScheduler(capacity: VcpuEntity.count(capacity: capacity))
            var pool = VcpuEntityPool(base: capacity)
            var ids: [[UInt16]] = []
            let domains = Int.random(in: 2...4, using: &rng)
            var weights: [UInt16] = []
            var vcpus: [Int] = []
            for d in 0..<domains {
                let w = UInt16.random(in: 200...1000, using: &rng)
                let n = Int.random(in: 1...8, using: &rng)
                weights.append(w)
                vcpus.append(n)
                var mine: [UInt16] = [UInt16(d + 1)]
                for v in 1..<max(n, 1) where n > 1 { mine.append(pool.take(domain: UInt16(d + 1), vcpu: UInt32(v))!) }
                ids.append(mine)
                for e in mine { XCTAssertTrue(s.add(e, weight: w, group: UInt16(d + 1))) }
            }
            var now: UInt64 = 0
            var ran: [UInt16: UInt64] = [:]
            let end: UInt64 = 30_000_000_000
            while now < end {
                s.tick(now: now)
                let decision = s.pick(now: now)
                let slice = min(decision.sliceNs, end - now)
                now += slice
                if let e = decision.domain {
                    s.account(e, elapsedNs: slice)
                    ran[e, default: 0] += slice
                }
            }
            let totalWeight = weights.reduce(0) { $0 + Double($1) }
            for d in 0..<domains {
                var domainTime: UInt64 = 0
                for e in ids[d] { domainTime += ran[e] ?? 0 }
                let share = Double(domainTime) / Double(now)
                let want = Double(weights[d]) / totalWeight
                XCTAssertEqual(share, want, accuracy: want * 0.05, "round \(round): domain \(d + 1), weight \(weights[d]), \(vcpus[d]) vCPUs")
                for (v, e) in ids[d].enumerated() {
                    let t = Double(ran[e] ?? 0)
                    let each = Double(domainTime) / Double(vcpus[d])
                    XCTAssertEqual(t, each, accuracy: each * 0.05, "round \(round): domain \(d + 1) vCPU \(v)")
                }
            }
        }
    }

    /// The smp-guest scenario's shape: 4 vCPUs of weight 256 beside one vCPU of weight 256, half each.
    func testFourVCPUsBesideOneOfTheSameWeight() {
        var s = CreditScheduler(capacity: VcpuEntity.count(capacity: 4))
        var pool = VcpuEntityPool(base: 4)
        let smpIDs: [UInt16] = [1] + (1..<4).map { pool.take(domain: 1, vcpu: UInt32($0))! }
        for e in smpIDs { s.add(e, weight: 256, group: 1) }
        s.add(2, weight: 256)
        var now: UInt64 = 0
        var smp: UInt64 = 0
        while now < 10_000_000_000 {
            s.tick(now: now)
            let d = s.pick(now: now)
            now += d.sliceNs
            if let e = d.domain {
                s.account(e, elapsedNs: d.sliceNs)
                if pool.owner(e)?.domain == 1 { smp += d.sliceNs }
            }
        }
        XCTAssertEqual(Double(smp) / Double(now), 0.5, accuracy: 0.025)
    }
}
