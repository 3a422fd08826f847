// Tests of the FIFO ABI's port limit: a domain that switched to FIFO binds ports up to its own limit (beyond the
// 2-level ABI's 1024, at most EvtchnFifo.maxPorts), with records grown only as ports are taken; a bind past that
// limit is ENOSPC (Xen's get_free_port); a bind past the event-array pages succeeds, its event held until a page
// holds its word (Xen's evtchn_fifo_set_pending and add_page_to_event_array); EVTCHNOP_reset's return to 2-level
// closes what the 2-level limit leaves out.

import XCTest
import PVABI
@testable import ApusCore

final class FifoPortLimitTests: XCTestCase {
    private func refusal<T>(_ body: () throws(EventChannelRefusal) -> T) -> XenError? {
        do throws(EventChannelRefusal) {
            _ = try body()
            return nil
        } catch {
            return error.error
        }
    }

    func testTheLimitIsTheDomainsOwnUpToTheABIs() {
        XCTAssertEqual(EventChannelTable.limit(4096, abi: .twoLevel), 1024)
        XCTAssertEqual(EventChannelTable.limit(4096, abi: .fifo), 4096)
        XCTAssertEqual(EventChannelTable.limit(128, abi: .fifo), 128)
        let huge = EventChannelTable(portLimit: .max, vcpus: 1, privileged: true)
        XCTAssertEqual(huge.configuredLimit, EvtchnFifo.maxPorts)
        XCTAssertEqual(huge.portLimit, 1024)
        XCTAssertEqual(EventChannelTable.limit(huge.configuredLimit, abi: .fifo), 1 << 17)
        XCTAssertEqual(FifoControlRules.maxArrayPages(portLimit: EventChannelTable.limit(huge.configuredLimit, abi: .fifo)),
                       EvtchnFifo.maxArrayPages)
        XCTAssertEqual(FifoControlRules.maxArrayPages(portLimit: EventChannelTable.privilegedPorts), 4)
    }

    func testAFifoDomainBindsBeyond1024UpToItsLimitThenENOSPC() throws {
        var system = EventChannelSystem(domainCapacity: 2)
        system.addDomain(0, privileged: true, portLimit: 3000)
        for _ in 1..<1024 { _ = try system.bindIPI(caller: 0, vcpu: 0) }
        XCTAssertEqual(refusal { () throws(EventChannelRefusal) in try system.bindIPI(caller: 0, vcpu: 0) }, .ENOSPC)
        XCTAssertEqual(system.setABI(0, .fifo), [])
        XCTAssertEqual(system.table(0)?.portLimit, 3000)
        XCTAssertEqual(system.table(0)?.abi, .fifo)
        XCTAssertEqual(system.portView(0).limit, 3000)
        XCTAssertEqual(try system.bindIPI(caller: 0, vcpu: 0), 1024)
        XCTAssertEqual(try system.allocUnbound(caller: 0, domain: selfID, remote: selfID), 1025)
        // Records only for the buckets bound so far.
        XCTAssertEqual(system.table(0)?.channels.count, 1040)
        XCTAssertEqual(system.portView(0).count, 1040)
        let bound = try system.bindInterdomain(caller: 0, remoteDomain: selfID, remotePort: 1025)
        XCTAssertEqual(bound.localPort, 1026)
        XCTAssertEqual(try system.send(caller: 0, port: 1026), EventTarget(domain: 0, port: 1025, vcpu: 0))
        for expected in UInt32(1027)..<3000 { XCTAssertEqual(try system.bindIPI(caller: 0, vcpu: 0), expected) }
        XCTAssertEqual(system.table(0)?.channels.count, 3000, "never beyond the limit")
        let before = system
        XCTAssertEqual(refusal { () throws(EventChannelRefusal) in try system.bindIPI(caller: 0, vcpu: 0) }, .ENOSPC)
        XCTAssertEqual(refusal { () throws(EventChannelRefusal) in try system.allocUnbound(caller: 0, domain: selfID, remote: selfID) }, .ENOSPC)
        XCTAssertEqual(system, before)
        XCTAssertEqual(refusal { () throws(EventChannelRefusal) in try system.send(caller: 0, port: 3000) }, .EINVAL)
        XCTAssertEqual(refusal { () throws(EventChannelRefusal) in try system.close(caller: 0, port: 3000) }, .EINVAL)
    }

    private let selfID = SpecialDomainID.selfID

    func testADomUKeepsItsOwnLimitOnFifo() throws {
        var system = EventChannelSystem(domainCapacity: 2)
        system.addDomain(1, privileged: false, portLimit: EventChannelTable.unprivilegedPorts)
        system.setABI(1, .fifo)
        XCTAssertEqual(system.table(1)?.portLimit, 128)
        for _ in 1..<128 { _ = try system.bindIPI(caller: 1, vcpu: 0) }
        XCTAssertEqual(refusal { () throws(EventChannelRefusal) in try system.bindIPI(caller: 1, vcpu: 0) }, .ENOSPC)
    }

    func testBackOnTwoLevelClosesThePortsBeyond1024AndUnbindsTheirPeers() throws {
        var system = EventChannelSystem(domainCapacity: 2)
        system.addDomain(0, privileged: true, portLimit: 4096)
        system.addDomain(1, privileged: false, portLimit: 128)
        system.setABI(0, .fifo)
        for _ in 1..<1100 { _ = try system.bindIPI(caller: 0, vcpu: 0) }
        let open = try system.allocUnbound(caller: 1, domain: selfID, remote: 0)
        let local = try system.bindInterdomain(caller: 0, remoteDomain: 1, remotePort: open).localPort
        XCTAssertEqual(local, 1100)
        XCTAssertEqual(system.setABI(0, .twoLevel), Array(UInt32(1024)...1100))
        XCTAssertEqual(system.table(0)?.portLimit, 1024)
        XCTAssertEqual(system.table(0)?.channels.count, 1024)
        XCTAssertEqual(system.state(domain: 1, port: open), .unbound(remote: 0))
        XCTAssertEqual(system.table(0)?.portsInUse, 1023)
        XCTAssertEqual(system.portView(0).limit, 1024)
    }

    func testFifoQueuesKeepRecordsOnlyForPortsTouched() {
        var q = FifoQueues(vcpus: 2, portLimit: EvtchnFifo.maxPorts)
        XCTAssertEqual(q.recorded, 0)
        XCTAssertEqual(q.priority(100_000), EvtchnFifo.priorityDefault)
        XCTAssertFalse(q.isHeld(100_000))
        XCTAssertTrue(q.setPriority(1500, 3))
        XCTAssertEqual(q.recorded, 1536)
        XCTAssertEqual(q.priority(1500), 3)
        XCTAssertFalse(q.setPriority(EvtchnFifo.maxPorts, 3))
        XCTAssertEqual(q.recorded, 1536)
        q.resetPort(100_000)
        XCTAssertEqual(q.recorded, 1536, "resetting an untouched port records nothing")
        var w = FifoFixture(ports: 2048, wordsPresent: 1024, vcpus: 2, blocks: 2)
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 2000, vcpu: 1), .noWord)
        XCTAssertTrue(q.isHeld(2000))
        XCTAssertEqual(q.recorded, 2048)
    }

    /// A port bound past the array pages: its send is held, the guest's page for it links it (on its own
    /// priority), as Xen's add_page_to_event_array re-raises; the port beside it that was not sent stays quiet.
    func testAnEventPastTheArrayPagesIsHeldUntilItsPageArrives() {
        var q = FifoQueues(vcpus: 1, portLimit: 4096)
        var w = FifoFixture(ports: 4096, wordsPresent: 2048, vcpus: 1, blocks: 1)
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 1500, vcpu: 0), .raiseUpcall)
        XCTAssertEqual(w.head(0, 7), 1500)
        XCTAssertEqual(w.words[1500], F.P | F.L)
        XCTAssertTrue(q.setPriority(2100, 3))
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 2100, vcpu: 0), .noWord)
        XCTAssertEqual(w.words[2100], 0)
        XCTAssertEqual(w.ready(0), 1 << 7)
        w.wordsPresent = 3072
        var raised: [UInt32] = []
        FifoEvents.pageAdded(&w, &q, ports: 2048..<3072, vcpuOf: { _ in 0 }, raised: { raised.append($0) })
        XCTAssertEqual(raised, [0])
        XCTAssertEqual(w.head(0, 3), 2100)
        XCTAssertEqual(w.words[2100], F.P | F.L)
        XCTAssertEqual(w.words[2101], 0)
        XCTAssertEqual(w.ready(0), 1 << 7 | 1 << 3)
        XCTAssertFalse(q.isHeld(2100))
    }

    typealias F = FifoFixture
}
