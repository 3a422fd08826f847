// VcpuSchedulingTests.swift: vCPUs as the credit scheduler's entities (issue #16): the entity ids
// (vCPU 0's is its domain's id), the domain weight shared among online vCPUs, max_vcpus's rule,
// and a property test: random domains with 1-8 spinning vCPUs each, run over simulated time, get
// CPU in proportion to their domain weights (the reference: weight / total weight) within 5%, and
// the vCPUs of one domain share its part evenly.

import XCTest
import PVABI
@testable import ApusCore

final class VcpuSchedulingTests: XCTestCase {
    func testEntityIDs() {
        for domain: UInt16 in [0, 1, 7, 511] {
            XCTAssertEqual(VcpuEntity.id(domain: domain, vcpu: 0, capacity: 512), domain, "vCPU 0 is scheduled as its domain was")
            for vcpu: UInt32 in 0..<8 {
                let e = VcpuEntity.id(domain: domain, vcpu: vcpu, capacity: 512)
                XCTAssertLessThan(Int(e), VcpuEntity.count(capacity: 512))
                let (d, v) = VcpuEntity.split(e, capacity: 512)
                XCTAssertEqual(d, domain)
                XCTAssertEqual(v, vcpu)
            }
        }
    }

    func testWeightIsSharedAmongOnlineVCPUs() {
        XCTAssertEqual(VcpuEntity.weight(domainWeight: 256, online: 1), 256)
        XCTAssertEqual(VcpuEntity.weight(domainWeight: 256, online: 0), 256)
        XCTAssertEqual(VcpuEntity.weight(domainWeight: 256, online: 4), 64)
        XCTAssertEqual(VcpuEntity.weight(domainWeight: 300, online: 8), 37)
        XCTAssertEqual(VcpuEntity.weight(domainWeight: 3, online: 8), 1, "never 0")
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
            let domains = Int.random(in: 2...4, using: &rng)
            var weights: [UInt16] = []
            var vcpus: [Int] = []
            for d in 0..<domains {
                let w = UInt16.random(in: 200...1000, using: &rng)
                let n = Int.random(in: 1...8, using: &rng)
                weights.append(w)
                vcpus.append(n)
                for v in 0..<n {
                    XCTAssertTrue(s.add(VcpuEntity.id(domain: UInt16(d + 1), vcpu: UInt32(v), capacity: capacity),
                                        weight: VcpuEntity.weight(domainWeight: w, online: n)))
                }
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
                for v in 0..<vcpus[d] { domainTime += ran[VcpuEntity.id(domain: UInt16(d + 1), vcpu: UInt32(v), capacity: capacity)] ?? 0 }
                let share = Double(domainTime) / Double(now)
                let want = Double(weights[d]) / totalWeight
                XCTAssertEqual(share, want, accuracy: want * 0.05, "round \(round): domain \(d + 1), weight \(weights[d]), \(vcpus[d]) vCPUs")
                for v in 0..<vcpus[d] {
                    let t = Double(ran[VcpuEntity.id(domain: UInt16(d + 1), vcpu: UInt32(v), capacity: capacity)] ?? 0)
                    let each = Double(domainTime) / Double(vcpus[d])
                    XCTAssertEqual(t, each, accuracy: each * 0.05, "round \(round): domain \(d + 1) vCPU \(v)")
                }
            }
        }
    }

    /// The smp-guest scenario's shape: 4 vCPUs of weight 256 beside one vCPU of weight 256, half each.
    func testFourVCPUsBesideOneOfTheSameWeight() {
        var s = CreditScheduler(capacity: VcpuEntity.count(capacity: 4))
        for v in 0..<4 { s.add(VcpuEntity.id(domain: 1, vcpu: UInt32(v), capacity: 4), weight: VcpuEntity.weight(domainWeight: 256, online: 4)) }
        s.add(2, weight: 256)
        var now: UInt64 = 0
        var smp: UInt64 = 0
        while now < 10_000_000_000 {
            s.tick(now: now)
            let d = s.pick(now: now)
            now += d.sliceNs
            if let e = d.domain {
                s.account(e, elapsedNs: d.sliceNs)
                if VcpuEntity.split(e, capacity: 4).domain == 1 { smp += d.sliceNs }
            }
        }
        XCTAssertEqual(Double(smp) / Double(now), 0.5, accuracy: 0.025)
    }
}
