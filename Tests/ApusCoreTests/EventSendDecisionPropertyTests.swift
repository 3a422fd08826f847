// Property test of EVTCHNOP_send's inlined rule (EventChannelSystem.sendDecision) against a reference model that reads
// the system only through its public observers (table, channel, state), over a seeded random walk of every operation.
// It checks the decision only: the walk's own operations are the state machine's tests' business. The hypervisor's
// form over a domain's flat port view (EventPortView.sendDecision) is held equal to the system's at every step.

import XCTest
import PVABI
@testable import ApusCore

final class EventSendDecisionPropertyTests: XCTestCase {
    /// What a send must do, from the observers alone: ESRCH for an absent caller, EINVAL for port 0 or a port
    /// beyond the limit, then by the port's state; the peer's record names the VCPU to raise.
    private func reference(_ s: EventChannelSystem, caller: UInt16, port: UInt32) -> EventSendDecision {
        guard let t = s.table(caller) else { return .refuse(.noSuchDomain) }
        guard port != 0, let channel = t.channel(port) else { return .refuse(.portOutOfRange) }
        switch channel.state {
        case .interdomain(let rd, let rp):
            return .deliver(EventTarget(domain: rd, port: rp, vcpu: s.table(rd)!.channel(rp)!.notifyVCPU))
        case .ipi:
            return .deliver(EventTarget(domain: caller, port: port, vcpu: channel.notifyVCPU))
        case .unbound:
            return .drop
        case .free:
            return .refuse(.portNotInUse)
        case .virq, .pirq:
            return .refuse(.raisedByHypervisor)
        }
    }

    private func errno(_ why: EventSendRefusal) -> XenError {
        switch why {
        case .noSuchDomain: return .ESRCH
        case .portOutOfRange, .portNotInUse, .raisedByHypervisor: return .EINVAL
        }
    }

    func testSendDecisionMatchesTheReferenceOverARandomWalk() {
        // Ports up to 40 so that records grow past one bucket of 16 (ports above the records read free),
        // a capacity of 4 with domain 3 absent, and callers up to 5 (beyond the capacity).
        var system = EventChannelSystem(domainCapacity: 4)
        XCTAssertTrue(system.addDomain(0, privileged: true, vcpus: 2, portLimit: 40, pirqs: 4))
        XCTAssertTrue(system.addDomain(1, privileged: false, vcpus: 3, portLimit: 40, pirqs: 4))
        XCTAssertTrue(system.addDomain(2, privileged: false, vcpus: 2, portLimit: 20))
        var rng = SplitMix64(state: 0x5E4D_DEC1)
        var seen: [String: Int] = [:]
        for _ in 0..<20_000 {
            let caller = UInt16(rng.below(3))
            let other = UInt16(rng.below(4))
            let port = UInt32(rng.below(42))
            let vcpu = UInt32(rng.below(3))
            switch rng.below(10) {
            case 0, 1: _ = try? system.allocUnbound(caller: caller, domain: SpecialDomainID.selfID, remote: other)
            case 2, 3: _ = try? system.bindInterdomain(caller: caller, remoteDomain: other, remotePort: port)
            case 4: _ = try? system.bindVirq(caller: caller, virq: UInt32(rng.below(5)), vcpu: vcpu)
            case 5: _ = try? system.bindIPI(caller: caller, vcpu: vcpu)
            case 6: _ = try? system.bindPirq(caller: caller, pirq: UInt32(rng.below(5)))
            case 7: _ = try? system.bindVCPU(caller: caller, port: port, vcpu: vcpu)
            case 8: _ = try? system.close(caller: caller, port: port)
            default: if rng.chance(2) { _ = try? system.reset(caller: caller, domain: SpecialDomainID.selfID) }
            }
            for _ in 0..<4 {
                let c = UInt16(rng.below(6))
                let p = rng.chance(10) ? UInt32.max - UInt32(rng.below(3)) : UInt32(rng.below(44))
                let expected = reference(system, caller: c, port: p)
                let before = system
                let decided = system.sendDecision(caller: c, port: p)
                XCTAssertEqual(decided, expected, "send from d\(c) on port \(p)")
                XCTAssertEqual(system, before, "a send decision changed the system")
                // The hypervisor's form: the caller's flat view, the peer's view when the peer is another domain.
                let viewed = system.portView(c).sendDecision(caller: c, port: p, peer: { system.portView($0) })
                XCTAssertEqual(viewed, decided, "send from d\(c) on port \(p) through the port view")
                // The route the send path takes: a target in the caller itself by its port alone (its VCPU read
                // from the caller's record of that port when needed), any other target whole.
                switch system.portView(c).sendRoute(caller: c, port: p, peer: { system.portView($0) }) {
                case .deliverOwn(let own):
                    XCTAssertEqual(decided, .deliver(EventTarget(domain: c, port: own, vcpu: system.portView(c).notifyVCPU(own))))
                case .deliver(let target):
                    XCTAssertEqual(decided, .deliver(target))
                    XCTAssertNotEqual(target.domain, c, "a target in the caller goes by deliverOwn")
                case .drop: XCTAssertEqual(decided, .drop)
                case .refuse(let why): XCTAssertEqual(decided, .refuse(why))
                }
                // The throwing form is the same rule with its refusal spelled out.
                do throws(EventChannelRefusal) {
                    let target = try system.send(caller: c, port: p)
                    switch expected {
                    case .deliver(let t): XCTAssertEqual(target, t)
                    case .drop: XCTAssertNil(target)
                    case .refuse(let why): XCTFail("send from d\(c) on port \(p) should be refused: \(why)")
                    }
                } catch {
                    guard case .refuse(let why) = expected else { XCTFail("send from d\(c) on port \(p) refused: \(error.reason)"); continue }
                    XCTAssertEqual(error.error, errno(why))
                }
                if case .interdomain(let rd, _)? = system.state(domain: c, port: p), rd == c { seen["loopback", default: 0] += 1 }
                switch expected {
                case .deliver(let t): seen[t.domain == c ? "deliver to self" : "deliver to peer", default: 0] += 1
                case .drop: seen["drop", default: 0] += 1
                case .refuse(let why): seen["\(why)", default: 0] += 1
                }
            }
        }
        // The views took records as they were after every step: absent domains read absent, present ones their records.
        for id in UInt16(0)..<6 {
            let view = system.portView(id)
            XCTAssertEqual(view.limit, system.table(id)?.portLimit ?? 0)
            XCTAssertLessThanOrEqual(view.count, view.limit)
        }
        // The walk reached every outcome, so the comparison above covered each branch of the rule.
        for outcome in ["loopback", "deliver to self", "deliver to peer", "drop", "noSuchDomain", "portOutOfRange", "portNotInUse", "raisedByHypervisor"] {
            XCTAssertGreaterThan(seen[outcome, default: 0], 20, "the walk rarely reached \(outcome): \(seen)")
        }
    }
}
