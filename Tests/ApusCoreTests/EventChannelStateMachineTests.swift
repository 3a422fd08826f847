// Tests of the event-channel state machine: every port-level operation in every port state (table-driven), the
// allocation and bind rules, close orderings between the two ends of a channel, ENOSPC and EPERM. Expected errnos are Xen's.
// A refused operation must leave the whole system unchanged; every test checks that by equality.

import XCTest
import PVABI
@testable import ApusCore

private let selfID = SpecialDomainID.selfID

/// dom0 (privileged, 2 VCPUs, 4 PIRQs), dom1 (domU, 2 VCPUs, 4 PIRQs it may not bind) and dom2 (domU, 2 VCPUs), each with ports 1..<8.
private func makeSystem(portLimit: UInt32 = 8) -> EventChannelSystem {
    var system = EventChannelSystem(domainCapacity: 4)
    XCTAssertTrue(system.addDomain(0, privileged: true, vcpus: 2, portLimit: portLimit, pirqs: 4))
    XCTAssertTrue(system.addDomain(1, privileged: false, vcpus: 2, portLimit: portLimit, pirqs: 4))
    XCTAssertTrue(system.addDomain(2, privileged: false, vcpus: 2, portLimit: portLimit))
    return system
}

/// Runs `body` and returns the errno it threw, nil on success.
private func errno<T>(_ body: () throws(EventChannelRefusal) -> T) -> XenError? {
    do throws(EventChannelRefusal) {
        _ = try body()
        return nil
    } catch {
        return error.error
    }
}

/// Asserts `body` is refused with `expected` and leaves `system` unchanged.
private func assertRefused<T>(_ system: inout EventChannelSystem, _ expected: XenError, file: StaticString = #filePath, line: UInt = #line,
                              _ body: (inout EventChannelSystem) throws(EventChannelRefusal) -> T) {
    let before = system
    do throws(EventChannelRefusal) {
        _ = try body(&system)
        XCTFail("expected \(expected), got success", file: file, line: line)
    } catch {
        XCTAssertEqual(error.error, expected, "\(error.reason)", file: file, line: line)
    }
    XCTAssertEqual(system, before, "a refused operation changed the system", file: file, line: line)
}

/// One row of the table: a port of `domain` brought into some state.
private struct Subject {
    var name: String
    var domain: UInt16
    var port: UInt32
    /// For interdomain subjects: the other end.
    var peer: (domain: UInt16, port: UInt32)?
}

/// The expected outcome of one operation: nil = success, else the errno.
private struct Row {
    var make: (inout EventChannelSystem) throws -> Subject
    var close: XenError?
    /// .success(target) / .failure(errno); target nil = dropped.
    var send: SendExpectation
    var status: (EventChannelStatusCode, vcpu: UInt32)?
    var statusError: XenError?
    var unmask: XenError?
    var bindVCPU: XenError?
    /// dom2 binds to this port.
    var bindByDom2: XenError?
}

private enum SendExpectation {
    case dropped
    case toSelf(vcpu: UInt32)
    case toPeer
    case refused(XenError)
}

final class EventChannelStateMachineTests: XCTestCase {
    private var rows: [Row] {
        [
            // A free port that was never allocated.
            Row(make: { _ in Subject(name: "free", domain: 1, port: 5) },
                close: .EINVAL, send: .refused(.EINVAL), status: (.closed, 0), unmask: nil, bindVCPU: .EINVAL, bindByDom2: .EINVAL),
            // The reserved port 0.
            Row(make: { _ in Subject(name: "port 0", domain: 1, port: 0) },
                close: .EINVAL, send: .refused(.EINVAL), status: (.closed, 0), unmask: nil, bindVCPU: .EINVAL, bindByDom2: .EINVAL),
            // A port number at the limit.
            Row(make: { _ in Subject(name: "out of range", domain: 1, port: 8) },
                close: .EINVAL, send: .refused(.EINVAL), status: nil, statusError: .EINVAL, unmask: .EINVAL, bindVCPU: .EINVAL, bindByDom2: .EINVAL),
            Row(make: { s in Subject(name: "unbound for dom2", domain: 1, port: try s.allocUnbound(caller: 1, domain: selfID, remote: 2)) },
                close: nil, send: .dropped, status: (.unbound, 0), unmask: nil, bindVCPU: nil, bindByDom2: nil),
            Row(make: { s in Subject(name: "unbound for dom0", domain: 1, port: try s.allocUnbound(caller: 1, domain: selfID, remote: 0)) },
                close: nil, send: .dropped, status: (.unbound, 0), unmask: nil, bindVCPU: nil, bindByDom2: .EINVAL),
            Row(make: { s in
                    let remote = try s.allocUnbound(caller: 0, domain: selfID, remote: 1)
                    let local = try s.bindInterdomain(caller: 1, remoteDomain: 0, remotePort: remote).localPort
                    return Subject(name: "interdomain", domain: 1, port: local, peer: (0, remote))
                },
                close: nil, send: .toPeer, status: (.interdomain, 0), unmask: nil, bindVCPU: nil, bindByDom2: .EINVAL),
            Row(make: { s in Subject(name: "per-VCPU virq", domain: 1, port: try s.bindVirq(caller: 1, virq: Virq.timer, vcpu: 1)) },
                close: nil, send: .refused(.EINVAL), status: (.virq, 1), unmask: nil, bindVCPU: .EINVAL, bindByDom2: .EINVAL),
            Row(make: { s in Subject(name: "global virq", domain: 1, port: try s.bindVirq(caller: 1, virq: Virq.console, vcpu: 0)) },
                close: nil, send: .refused(.EINVAL), status: (.virq, 0), unmask: nil, bindVCPU: nil, bindByDom2: .EINVAL),
            Row(make: { s in Subject(name: "ipi", domain: 1, port: try s.bindIPI(caller: 1, vcpu: 1)) },
                close: nil, send: .toSelf(vcpu: 1), status: (.ipi, 1), unmask: nil, bindVCPU: .EINVAL, bindByDom2: .EINVAL),
            Row(make: { s in Subject(name: "pirq", domain: 0, port: try s.bindPirq(caller: 0, pirq: 3)) },
                close: nil, send: .refused(.EINVAL), status: (.pirq, 0), unmask: nil, bindVCPU: nil, bindByDom2: .EINVAL),
        ]
    }

    /// Builds the row's subject on a fresh system.
    private func fresh(_ row: Row) throws -> (EventChannelSystem, Subject) {
        var system = makeSystem()
        let subject = try row.make(&system)
        return (system, subject)
    }

    func testCloseInEveryState() throws {
        for row in rows {
            var (system, s) = try fresh(row)
            if let expected = row.close {
                assertRefused(&system, expected) { sys throws(EventChannelRefusal) in try sys.close(caller: s.domain, port: s.port) }
                continue
            }
            let before = system.state(domain: s.domain, port: s.port)
            XCTAssertNil(errno { () throws(EventChannelRefusal) in try system.close(caller: s.domain, port: s.port) }, s.name)
            XCTAssertEqual(system.state(domain: s.domain, port: s.port), .free, s.name)
            XCTAssertEqual(system.table(s.domain)?.channel(s.port)?.notifyVCPU, 0, s.name)
            if let peer = s.peer {
                XCTAssertEqual(system.state(domain: peer.domain, port: peer.port), .unbound(remote: s.domain), s.name)
            }
            if case .virq(let virq)? = before {
                XCTAssertEqual(system.table(s.domain)?.virqPort(virq, vcpu: 0), 0, s.name)
                XCTAssertEqual(system.table(s.domain)?.virqPort(virq, vcpu: 1), 0, s.name)
            }
            if case .pirq(let pirq)? = before {
                XCTAssertEqual(system.table(s.domain)?.pirqPort(pirq), 0, s.name)
            }
            // Closing twice is refused: the port is free now.
            assertRefused(&system, .EINVAL) { sys throws(EventChannelRefusal) in try sys.close(caller: s.domain, port: s.port) }
        }
    }

    func testSendInEveryState() throws {
        for row in rows {
            var (system, s) = try fresh(row)
            switch row.send {
            case .refused(let expected):
                assertRefused(&system, expected) { sys throws(EventChannelRefusal) in try sys.send(caller: s.domain, port: s.port) }
            case .dropped:
                let before = system
                XCTAssertEqual(try system.send(caller: s.domain, port: s.port), nil, s.name)
                XCTAssertEqual(system, before)
            case .toSelf(let vcpu):
                XCTAssertEqual(try system.send(caller: s.domain, port: s.port), EventTarget(domain: s.domain, port: s.port, vcpu: vcpu), s.name)
            case .toPeer:
                let peer = try XCTUnwrap(s.peer)
                XCTAssertEqual(try system.send(caller: s.domain, port: s.port), EventTarget(domain: peer.domain, port: peer.port, vcpu: 0), s.name)
                // And back the other way.
                XCTAssertEqual(try system.send(caller: peer.domain, port: peer.port), EventTarget(domain: s.domain, port: s.port, vcpu: 0), s.name)
            }
        }
    }

    func testStatusInEveryState() throws {
        for row in rows {
            var (system, s) = try fresh(row)
            if let expected = row.statusError {
                assertRefused(&system, expected) { sys throws(EventChannelRefusal) in try sys.status(caller: s.domain, domain: selfID, port: s.port) }
                continue
            }
            let (code, vcpu) = try XCTUnwrap(row.status, s.name)
            let status = try system.status(caller: s.domain, domain: selfID, port: s.port)
            XCTAssertEqual(status.code, code, s.name)
            XCTAssertEqual(status.vcpu, vcpu, s.name)
            XCTAssertEqual(status.state, system.state(domain: s.domain, port: s.port), s.name)
            // dom0 may read it too; naming the domain explicitly is the same as DOMID_SELF.
            XCTAssertEqual(try system.status(caller: 0, domain: s.domain, port: s.port), status, s.name)
            XCTAssertEqual(try system.status(caller: s.domain, domain: s.domain, port: s.port), status, s.name)
            if s.domain != 2 {
                assertRefused(&system, .EPERM) { sys throws(EventChannelRefusal) in try sys.status(caller: 2, domain: s.domain, port: s.port) }
            }
        }
    }

    func testUnmaskInEveryState() throws {
        for row in rows {
            var (system, s) = try fresh(row)
            if let expected = row.unmask {
                assertRefused(&system, expected) { sys throws(EventChannelRefusal) in try sys.unmaskVCPU(caller: s.domain, port: s.port) }
                continue
            }
            let vcpu = try system.unmaskVCPU(caller: s.domain, port: s.port)
            XCTAssertEqual(vcpu, system.table(s.domain)?.channel(s.port)?.notifyVCPU, s.name)
        }
    }

    func testBindVCPUInEveryState() throws {
        for row in rows {
            var (system, s) = try fresh(row)
            if let expected = row.bindVCPU {
                assertRefused(&system, expected) { sys throws(EventChannelRefusal) in try sys.bindVCPU(caller: s.domain, port: s.port, vcpu: 1) }
                continue
            }
            let state = system.state(domain: s.domain, port: s.port)
            try system.bindVCPU(caller: s.domain, port: s.port, vcpu: 1)
            XCTAssertEqual(system.state(domain: s.domain, port: s.port), state, s.name)
            XCTAssertEqual(system.table(s.domain)?.channel(s.port)?.notifyVCPU, 1, s.name)
            // A VCPU the domain does not have.
            assertRefused(&system, .ENOENT) { sys throws(EventChannelRefusal) in try sys.bindVCPU(caller: s.domain, port: s.port, vcpu: 2) }
        }
    }

    func testBindInterdomainToEveryState() throws {
        for row in rows {
            var (system, s) = try fresh(row)
            if let expected = row.bindByDom2 {
                assertRefused(&system, expected) { sys throws(EventChannelRefusal) in
                    try sys.bindInterdomain(caller: 2, remoteDomain: s.domain, remotePort: s.port)
                }
                continue
            }
            let result = try system.bindInterdomain(caller: 2, remoteDomain: s.domain, remotePort: s.port)
            XCTAssertEqual(system.state(domain: 2, port: result.localPort), .interdomain(remoteDomain: s.domain, remotePort: s.port), s.name)
            XCTAssertEqual(system.state(domain: s.domain, port: s.port), .interdomain(remoteDomain: 2, remotePort: result.localPort), s.name)
            XCTAssertEqual(result.pending, EventTarget(domain: 2, port: result.localPort, vcpu: 0), s.name)
        }
    }

    // MARK: - Allocation and binding rules

    func testAllocUnboundResolvesSelfAndTakesLowestPort() throws {
        var system = makeSystem()
        XCTAssertEqual(try system.allocUnbound(caller: 1, domain: selfID, remote: selfID), 1)
        XCTAssertEqual(system.state(domain: 1, port: 1), .unbound(remote: 1))
        XCTAssertEqual(try system.allocUnbound(caller: 1, domain: 1, remote: 0), 2)
        try system.close(caller: 1, port: 1)
        XCTAssertEqual(try system.allocUnbound(caller: 1, domain: selfID, remote: 2), 1, "the lowest free port is reused")
    }

    func testDom0AllocatesOnBehalfOfOthersButDomUCannot() throws {
        var system = makeSystem()
        // dom0 allocates in dom1 a port that dom2 may bind: DOMID_SELF as remote means dom0 itself.
        let port = try system.allocUnbound(caller: 0, domain: 1, remote: 2)
        XCTAssertEqual(system.state(domain: 1, port: port), .unbound(remote: 2))
        let port0 = try system.allocUnbound(caller: 0, domain: 1, remote: selfID)
        XCTAssertEqual(system.state(domain: 1, port: port0), .unbound(remote: 0))
        assertRefused(&system, .EPERM) { sys throws(EventChannelRefusal) in try sys.allocUnbound(caller: 1, domain: 2, remote: 1) }
        assertRefused(&system, .EPERM) { sys throws(EventChannelRefusal) in try sys.allocUnbound(caller: 2, domain: 0, remote: 2) }
        assertRefused(&system, .EPERM) { sys throws(EventChannelRefusal) in try sys.reset(caller: 1, domain: 2) }
        assertRefused(&system, .EPERM) { sys throws(EventChannelRefusal) in try sys.status(caller: 1, domain: 0, port: 1) }
        // Unknown domains, as target or as caller.
        assertRefused(&system, .ESRCH) { sys throws(EventChannelRefusal) in try sys.allocUnbound(caller: 0, domain: 3, remote: 0) }
        assertRefused(&system, .ESRCH) { sys throws(EventChannelRefusal) in try sys.allocUnbound(caller: 3, domain: selfID, remote: 0) }
        assertRefused(&system, .ESRCH) { sys throws(EventChannelRefusal) in try sys.bindInterdomain(caller: 1, remoteDomain: 3, remotePort: 1) }
        assertRefused(&system, .ESRCH) { sys throws(EventChannelRefusal) in try sys.status(caller: 0, domain: 0x7FF4, port: 1) }
    }

    func testLoopbackChannel() throws {
        var system = makeSystem()
        let a = try system.allocUnbound(caller: 1, domain: selfID, remote: selfID)
        let b = try system.bindInterdomain(caller: 1, remoteDomain: selfID, remotePort: a).localPort
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(try system.send(caller: 1, port: a), EventTarget(domain: 1, port: b, vcpu: 0))
        XCTAssertEqual(try system.send(caller: 1, port: b), EventTarget(domain: 1, port: a, vcpu: 0))
        try system.close(caller: 1, port: b)
        XCTAssertEqual(system.state(domain: 1, port: a), .unbound(remote: 1))
    }

    func testBindVirqRules() throws {
        var system = makeSystem()
        let timer0 = try system.bindVirq(caller: 1, virq: Virq.timer, vcpu: 0)
        let timer1 = try system.bindVirq(caller: 1, virq: Virq.timer, vcpu: 1)
        XCTAssertNotEqual(timer0, timer1)
        assertRefused(&system, .EEXIST) { sys throws(EventChannelRefusal) in try sys.bindVirq(caller: 1, virq: Virq.timer, vcpu: 1) }
        assertRefused(&system, .EINVAL) { sys throws(EventChannelRefusal) in try sys.bindVirq(caller: 1, virq: Virq.count, vcpu: 0) }
        assertRefused(&system, .EINVAL) { sys throws(EventChannelRefusal) in try sys.bindVirq(caller: 1, virq: Virq.domainException, vcpu: 1) }
        assertRefused(&system, .ENOENT) { sys throws(EventChannelRefusal) in try sys.bindVirq(caller: 1, virq: Virq.debug, vcpu: 2) }
        let exc = try system.bindVirq(caller: 0, virq: Virq.domainException, vcpu: 0)
        assertRefused(&system, .EEXIST) { sys throws(EventChannelRefusal) in try sys.bindVirq(caller: 0, virq: Virq.domainException, vcpu: 0) }
        // Where the hypervisor raises them.
        XCTAssertEqual(system.virqTarget(domain: 1, virq: Virq.timer, vcpu: 1), EventTarget(domain: 1, port: timer1, vcpu: 1))
        XCTAssertEqual(system.virqTarget(domain: 1, virq: Virq.timer, vcpu: 0), EventTarget(domain: 1, port: timer0, vcpu: 0))
        XCTAssertNil(system.virqTarget(domain: 1, virq: Virq.debug, vcpu: 0))
        XCTAssertNil(system.virqTarget(domain: 3, virq: Virq.timer))
        // A global VIRQ moved to VCPU 1 is still found, and raised there.
        try system.bindVCPU(caller: 0, port: exc, vcpu: 1)
        XCTAssertEqual(system.virqTarget(domain: 0, virq: Virq.domainException), EventTarget(domain: 0, port: exc, vcpu: 1))
        // Closing unbinds, and the VIRQ can be bound again.
        try system.close(caller: 1, port: timer1)
        XCTAssertNil(system.virqTarget(domain: 1, virq: Virq.timer, vcpu: 1))
        XCTAssertEqual(try system.bindVirq(caller: 1, virq: Virq.timer, vcpu: 1), timer1)
    }

    func testBindIPIAndPirqRules() throws {
        var system = makeSystem()
        assertRefused(&system, .ENOENT) { sys throws(EventChannelRefusal) in try sys.bindIPI(caller: 1, vcpu: 2) }
        // Who may use a pirq is PirqMapping's rule (asked first by the hypervisor); the state machine
        // only keeps one port per pirq, for a domU with irq_permission as for dom0.
        let driverPort = try system.bindPirq(caller: 1, pirq: 0)
        XCTAssertEqual(system.pirqTarget(domain: 1, pirq: 0), EventTarget(domain: 1, port: driverPort, vcpu: 0))
        assertRefused(&system, .EINVAL) { sys throws(EventChannelRefusal) in try sys.bindPirq(caller: 0, pirq: 4) }
        assertRefused(&system, .EINVAL) { sys throws(EventChannelRefusal) in try sys.bindPirq(caller: 2, pirq: 0) }
        let p = try system.bindPirq(caller: 0, pirq: 1)
        assertRefused(&system, .EEXIST) { sys throws(EventChannelRefusal) in try sys.bindPirq(caller: 0, pirq: 1) }
        XCTAssertEqual(system.pirqTarget(domain: 0, pirq: 1), EventTarget(domain: 0, port: p, vcpu: 0))
        XCTAssertNil(system.pirqTarget(domain: 0, pirq: 2))
    }

    func testENOSPCForEveryBindingOperation() throws {
        var system = makeSystem(portLimit: 4)
        // Ports 1, 2, 3 are all there is.
        _ = try system.allocUnbound(caller: 1, domain: selfID, remote: 2)
        _ = try system.bindIPI(caller: 1, vcpu: 0)
        _ = try system.bindVirq(caller: 1, virq: Virq.timer, vcpu: 0)
        XCTAssertEqual(system.table(1)?.portsInUse, 3)
        let open = try system.allocUnbound(caller: 2, domain: selfID, remote: 1)
        assertRefused(&system, .ENOSPC) { sys throws(EventChannelRefusal) in try sys.allocUnbound(caller: 1, domain: selfID, remote: 2) }
        assertRefused(&system, .ENOSPC) { sys throws(EventChannelRefusal) in try sys.allocUnbound(caller: 0, domain: 1, remote: 2) }
        assertRefused(&system, .ENOSPC) { sys throws(EventChannelRefusal) in try sys.bindIPI(caller: 1, vcpu: 0) }
        assertRefused(&system, .ENOSPC) { sys throws(EventChannelRefusal) in try sys.bindVirq(caller: 1, virq: Virq.debug, vcpu: 0) }
        assertRefused(&system, .ENOSPC) { sys throws(EventChannelRefusal) in try sys.bindInterdomain(caller: 1, remoteDomain: 2, remotePort: open) }
        // Freeing one makes room again.
        try system.close(caller: 1, port: 2)
        XCTAssertEqual(try system.bindInterdomain(caller: 1, remoteDomain: 2, remotePort: open).localPort, 2)
    }

    func testFullSizedTableHas1023Ports() throws {
        var system = EventChannelSystem(domainCapacity: 1)
        system.addDomain(0, privileged: true, portLimit: 4096)
        XCTAssertEqual(system.table(0)?.portLimit, 1024, "the 2-level ABI stops at 1024 ports")
        var last: UInt32 = 0
        for _ in 1..<1024 { last = try system.bindIPI(caller: 0, vcpu: 0) }
        XCTAssertEqual(last, 1023)
        assertRefused(&system, .ENOSPC) { sys throws(EventChannelRefusal) in try sys.bindIPI(caller: 0, vcpu: 0) }
    }

    func testAddDomainRefusesTakenOrOutOfRangeIDs() {
        var system = makeSystem()
        XCTAssertFalse(system.addDomain(1, privileged: false))
        XCTAssertFalse(system.addDomain(4, privileged: false))
        XCTAssertTrue(system.addDomain(3, privileged: false))
    }

    // MARK: - Orderings of the two ends

    /// dom1 and dom2 connected: (port in dom1, port in dom2).
    private func connected(_ system: inout EventChannelSystem) throws -> (UInt32, UInt32) {
        let p2 = try system.allocUnbound(caller: 2, domain: selfID, remote: 1)
        let p1 = try system.bindInterdomain(caller: 1, remoteDomain: 2, remotePort: p2).localPort
        return (p1, p2)
    }

    func testCloseWhilePeerSends() throws {
        var system = makeSystem()
        let (p1, p2) = try connected(&system)
        XCTAssertEqual(try system.send(caller: 2, port: p2), EventTarget(domain: 1, port: p1, vcpu: 0))
        try system.close(caller: 1, port: p1)
        // The sender's end is unbound towards the closer: the send is dropped, not an error, and
        // nothing points at dom1's freed port.
        XCTAssertEqual(system.state(domain: 2, port: p2), .unbound(remote: 1))
        XCTAssertEqual(try system.send(caller: 2, port: p2), nil)
        // The closer's port is gone for it.
        assertRefused(&system, .EINVAL) { sys throws(EventChannelRefusal) in try sys.send(caller: 1, port: p1) }
        // dom1 reuses the port number for something else; dom2's sends still go nowhere.
        XCTAssertEqual(try system.bindIPI(caller: 1, vcpu: 0), p1)
        XCTAssertEqual(try system.send(caller: 2, port: p2), nil)
    }

    func testBothEndsClose() throws {
        var system = makeSystem()
        let (p1, p2) = try connected(&system)
        try system.close(caller: 2, port: p2)
        XCTAssertEqual(system.state(domain: 1, port: p1), .unbound(remote: 2))
        try system.close(caller: 1, port: p1)
        XCTAssertEqual(system.state(domain: 1, port: p1), .free)
        XCTAssertEqual(system.state(domain: 2, port: p2), .free)
        XCTAssertEqual(system.table(1)?.portsInUse, 0)
        XCTAssertEqual(system.table(2)?.portsInUse, 0)
    }

    func testRebindAfterClose() throws {
        var system = makeSystem()
        let (p1, p2) = try connected(&system)
        try system.close(caller: 1, port: p1)
        // dom2's end waits for dom1 again; dom1 reconnects with a fresh bind.
        let again = try system.bindInterdomain(caller: 1, remoteDomain: 2, remotePort: p2)
        XCTAssertEqual(again.localPort, p1)
        XCTAssertEqual(try system.send(caller: 2, port: p2), EventTarget(domain: 1, port: again.localPort, vcpu: 0))
        // A third domain cannot take over dom2's end: it accepts dom1 only.
        try system.close(caller: 1, port: again.localPort)
        assertRefused(&system, .EINVAL) { sys throws(EventChannelRefusal) in try sys.bindInterdomain(caller: 0, remoteDomain: 2, remotePort: p2) }
    }

    func testSendUsesThePeersVCPU() throws {
        var system = makeSystem()
        let (p1, p2) = try connected(&system)
        try system.bindVCPU(caller: 1, port: p1, vcpu: 1)
        XCTAssertEqual(try system.send(caller: 2, port: p2), EventTarget(domain: 1, port: p1, vcpu: 1))
    }

    func testResetAndRemoveDomainLeaveNoDanglingPeers() throws {
        var system = makeSystem()
        let (p1, p2) = try connected(&system)
        let q2 = try system.allocUnbound(caller: 2, domain: selfID, remote: 0)
        let q0 = try system.bindInterdomain(caller: 0, remoteDomain: 2, remotePort: q2).localPort
        _ = try system.bindVirq(caller: 2, virq: Virq.timer, vcpu: 0)
        try system.reset(caller: 0, domain: 2)
        XCTAssertEqual(system.table(2)?.portsInUse, 0)
        XCTAssertEqual(system.state(domain: 1, port: p1), .unbound(remote: 2))
        XCTAssertEqual(system.state(domain: 0, port: q0), .unbound(remote: 2))
        XCTAssertNil(system.virqTarget(domain: 2, virq: Virq.timer))
        _ = p2

        let r1 = try system.allocUnbound(caller: 1, domain: selfID, remote: 0)
        let r0 = try system.bindInterdomain(caller: 0, remoteDomain: 1, remotePort: r1).localPort
        system.removeDomain(1)
        XCTAssertFalse(system.exists(1))
        XCTAssertEqual(system.state(domain: 0, port: r0), .unbound(remote: 1))
        assertRefused(&system, .ESRCH) { sys throws(EventChannelRefusal) in try sys.send(caller: 1, port: p1) }
    }

    /// A seeded random walk over every operation, checking after each step that both ends of
    /// every interdomain channel point at each other and the reverse maps match the ports.
    func testRandomWalkKeepsChannelsConsistent() {
        var system = makeSystem(portLimit: 12)
        var rng = SplitMix64(state: 0xE7E7_C4A7)
        for _ in 0..<20_000 {
            let caller = UInt16(rng.next() % 3)
            let other = UInt16(rng.next() % 4)       // 3 is absent
            let port = UInt32(rng.next() % 13)
            let vcpu = UInt32(rng.next() % 3)
            let before = system
            let failed: XenError?
            switch rng.next() % 9 {
            case 0: failed = errno { () throws(EventChannelRefusal) in try system.allocUnbound(caller: caller, domain: rng.next() % 4 == 0 ? other : selfID, remote: other) }
            case 1: failed = errno { () throws(EventChannelRefusal) in try system.bindInterdomain(caller: caller, remoteDomain: other, remotePort: port) }
            case 2: failed = errno { () throws(EventChannelRefusal) in try system.bindVirq(caller: caller, virq: UInt32(rng.next() % 5), vcpu: vcpu) }
            case 3: failed = errno { () throws(EventChannelRefusal) in try system.bindIPI(caller: caller, vcpu: vcpu) }
            case 4, 5: failed = errno { () throws(EventChannelRefusal) in try system.close(caller: caller, port: port) }
            case 6: failed = errno { () throws(EventChannelRefusal) in try system.send(caller: caller, port: port) }
            case 7: failed = errno { () throws(EventChannelRefusal) in try system.bindVCPU(caller: caller, port: port, vcpu: vcpu) }
            default: failed = errno { () throws(EventChannelRefusal) in try system.bindPirq(caller: caller, pirq: UInt32(rng.next() % 5)) }
            }
            if failed != nil { XCTAssertEqual(system, before, "a refusal changed the system") }
            checkInvariants(system)
        }
    }

    private func checkInvariants(_ system: EventChannelSystem, file: StaticString = #filePath, line: UInt = #line) {
        for id in UInt16(0)..<UInt16(system.domainCapacity) {
            guard let t = system.table(id) else { continue }
            XCTAssertEqual(t.state(0), .free, file: file, line: line)
            for port in UInt32(1)..<t.portLimit {
                switch t.state(port)! {
                case .interdomain(let rd, let rp):
                    XCTAssertEqual(system.state(domain: rd, port: rp), .interdomain(remoteDomain: id, remotePort: port), file: file, line: line)
                case .virq(let virq):
                    let vcpu = Virq.isPerVCPU(virq) ? t.channel(port)!.notifyVCPU : 0
                    XCTAssertEqual(t.virqPort(virq, vcpu: vcpu), port, file: file, line: line)
                case .pirq(let pirq):
                    XCTAssertEqual(t.pirqPort(pirq), port, file: file, line: line)
                case .ipi(let vcpu):
                    XCTAssertEqual(t.channel(port)!.notifyVCPU, vcpu, file: file, line: line)
                case .free:
                    XCTAssertEqual(t.channel(port)!.notifyVCPU, 0, file: file, line: line)
                case .unbound:
                    break
                }
            }
            for vcpu in 0..<t.vcpuCount {
                for virq in 0..<Virq.count {
                    let port = t.virqPort(virq, vcpu: vcpu)
                    if port != 0 { XCTAssertEqual(t.state(port), .virq(virq), file: file, line: line) }
                }
            }
        }
    }
}
