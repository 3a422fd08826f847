// EventChannelOpDecodeTests.swift: event_channel_op's decoder: each sub-op's IN fields and OUT range,
// each refusal with its errno and reason, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class EventChannelOpDecodeTests: XCTestCase {
    func memory() -> FakeGuestMemory { .blank(seed: 32) }

    func decode(_ op: EventChannelOp, _ arg: UInt32, _ m: inout FakeGuestMemory) -> Decoded<EventChannelRequest> {
        EventChannelRequest.decode(HypercallArguments(op.rawValue, arg, 0, 0, 0), &m)
    }

    func testEachSubOpReadsItsFieldsAndNamesItsOutField() {
        var m = memory()
        m.place32([UInt32(SpecialDomainID.selfID) | 3 << 16, 0xAAAA_AAAA], at: 0x2000)
        guard case .allocUnbound(let dom, let remote, let port)? = accepted(decode(.allocUnbound, 0x2000, &m)) else { return XCTFail() }
        XCTAssertEqual([dom, remote], [SpecialDomainID.selfID, 3])
        XCTAssertEqual(port, GuestRange(0x2004, count: 4))

        m.place32([0xFFFF_0002, 7, 0], at: 0x3000)
        guard case .bindInterdomain(let rd, let rp, let local)? = accepted(decode(.bindInterdomain, 0x3000, &m)) else { return XCTFail() }
        XCTAssertEqual(rd, 2, "the padding after remote_dom is not part of it")
        XCTAssertEqual(rp, 7)
        XCTAssertEqual(local, GuestRange(0x3008, count: 4))

        m.place32([Virq.timer, 0, 0], at: 0x3100)
        guard case .bindVirq(let virq, let vcpu, let vport)? = accepted(decode(.bindVirq, 0x3100, &m)) else { return XCTFail() }
        XCTAssertEqual([virq, vcpu], [Virq.timer, 0])
        XCTAssertEqual(vport, GuestRange(0x3108, count: 4))

        m.place32([11, EvtchnBindPirqLayout.flagWillShare, 0], at: 0x3280)
        guard case .bindPirq(11, true, let pirqPort)? = accepted(decode(.bindPirq, 0x3280, &m)) else { return XCTFail() }
        XCTAssertEqual(pirqPort, GuestRange(0x3288, count: 4))

        m.place32([5, 0], at: 0x3200)
        guard case .bindIPI(let ipiVCPU, let ipiPort)? = accepted(decode(.bindIPI, 0x3200, &m)) else { return XCTFail() }
        XCTAssertEqual(ipiVCPU, 5)
        XCTAssertEqual(ipiPort, GuestRange(0x3204, count: 4))

        m.place32([9], at: 0x3300)
        guard case .close(9)? = accepted(decode(.close, 0x3300, &m)) else { return XCTFail() }
        guard case .send(9)? = accepted(decode(.send, 0x3300, &m)) else { return XCTFail() }
        guard case .unmask(9)? = accepted(decode(.unmask, 0x3300, &m)) else { return XCTFail() }

        m.place32([4, 11, 0, 0, 0, 0], at: 0x3400)
        guard case .status(let sdom, let sport, let out)? = accepted(decode(.status, 0x3400, &m)) else { return XCTFail() }
        XCTAssertEqual(sdom, 4)
        XCTAssertEqual(sport, 11)
        XCTAssertEqual(out, GuestRange(0x3408, count: 16))

        m.place32([12, 0], at: 0x3500)
        guard case .bindVCPU(12, 0)? = accepted(decode(.bindVCPU, 0x3500, &m)) else { return XCTFail() }
        m.place32([UInt32(SpecialDomainID.selfID)], at: 0x3600)
        guard case .reset(SpecialDomainID.selfID)? = accepted(decode(.reset, 0x3600, &m)) else { return XCTFail() }
    }

    /// The FIFO commands go through the general decoder to FifoEventRequest (no longer -ENOSYS there).
    func testFifoCommandsAreDecoded() {
        var m = memory()
        m.place32([0x1234, 0, 0x40, 0, 0, 0], at: 0x3700)
        guard case .fifo(.initControl(0x1234, 0x40, 0, let out))? = accepted(decode(.initControl, 0x3700, &m)) else { return XCTFail() }
        XCTAssertEqual(out.start, 0x3700 + UInt32(EvtchnInitControlLayout.linkBitsOffset))
        m.place32([0x5678, 0], at: 0x3800)
        guard case .fifo(.expandArray(0x5678))? = accepted(decode(.expandArray, 0x3800, &m)) else { return XCTFail() }
        m.place32([9, 3], at: 0x3900)
        guard case .fifo(.setPriority(9, 3))? = accepted(decode(.setPriority, 0x3900, &m)) else { return XCTFail() }
    }

    func testRefusals() {
        var m = memory()
        assertRefused(EventChannelRequest.decode(HypercallArguments(14, 0x2000, 0, 0, 0), &m), .ENOSYS, "unknown event_channel_op command")
        assertRefused(decode(.bindPirq, 0x9000, &m), .EFAULT, "event channel argument is not readable guest memory")
        let ops: [EventChannelOp] = [.allocUnbound, .bindInterdomain, .bindVirq, .bindIPI, .close, .send, .unmask, .status, .bindVCPU, .reset,
                                     .initControl, .expandArray, .setPriority]
        for op in ops {
            for va: UInt32 in [0xFFFF_FFF8, 0xF57F_FFFF, 0x9000] {
                assertRefused(decode(op, va, &m), .EFAULT, "event channel argument is not readable guest memory")
            }
        }
        XCTAssertEqual(m.copiesOut, 0)
    }

    func testAStructEndingAtTheLimitIsWholeAndOneByteMoreIsRefused() {
        var m = FakeGuestMemory(seed: 1)
        m.mappedPercent = 100
        let size = UInt32(EvtchnStatusLayout.size)
        guard case .status(_, _, let out)? = accepted(decode(.status, GuestRange.limit - size, &m)) else { return XCTFail() }
        XCTAssertEqual(out.end, GuestRange.limit)
        assertRefused(decode(.status, GuestRange.limit - size + 1, &m), .EFAULT, "event channel argument is not readable guest memory")
    }

    /// EVTCHNOP_send's own decoder: the port at arg2 through the checked path, EFAULT where the
    /// general decoder refuses (unreadable, or past the guest limit), whatever arg1 holds.
    func testSendDecoderReadsThePortAndRefusesAsTheGeneralOne() {
        var m = memory()
        m.place32([42], at: 0x2000)
        guard case .success(let port) = EventChannelRequest.decodeSend(HypercallArguments(0xDEAD, 0x2000, 0, 0, 0), &m) else { return XCTFail() }
        XCTAssertEqual(port, 42)
        var rng = SplitMix64(seed: 9)
        for _ in 0..<20_000 {
            let va = rng.next() % 4 == 0 ? GuestRange.limit &- UInt32(rng.next() % 8) : UInt32(truncatingIfNeeded: rng.next())
            let fast = EventChannelRequest.decodeSend(HypercallArguments(EventChannelOp.send.rawValue, va, 0, 0, 0), &m)
            // The reference: four bytes below the limit, each on a mapped page, little-endian.
            let inside = UInt64(va) + 4 <= UInt64(GuestRange.limit)
            let mapped = inside && (0..<4).allSatisfy { m.isMapped((va &+ UInt32($0)) >> 12) }
            let value = (0..<4).reduce(UInt32(0)) { $0 | UInt32(m.byte(va &+ UInt32($1))) << (8 * UInt32($1)) }
            switch fast {
            case .success(let p): XCTAssertTrue(mapped, "at \(va)"); XCTAssertEqual(p, value)
            case .failure(let r): XCTAssertFalse(mapped, "at \(va)"); XCTAssertEqual(r.error, .EFAULT)
            }
            if case .success(.send(let q)) = decode(.send, va, &m), case .success(let p) = fast { XCTAssertEqual(p, q) }
        }
    }

    func testFuzzed() {
        let tally = DecoderFuzzing.run(seed: 32, firstArgument: { $0.below(UInt32(16)) }) { a, m in
            switch EventChannelRequest.decode(a, &m) {
            case .success: return nil
            case .failure(let r): return r.error.rawValue
            }
        }
        for e in [XenError.EFAULT, .ENOSYS] { XCTAssertGreaterThan(tally.refused[e.rawValue] ?? 0, 0) }
    }
}
