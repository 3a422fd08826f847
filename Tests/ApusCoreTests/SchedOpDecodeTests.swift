// SchedOpDecodeTests.swift: sched_op's decoder: each command, each refusal, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class SchedOpDecodeTests: XCTestCase {
    func decode(_ a: HypercallArguments, _ m: inout FakeGuestMemory) -> Decoded<SchedOpRequest> { SchedOpRequest.decode(a, &m) }

    /// Both steps of a poll's decoding, as SchedOpHypercall runs them: the request, then its ports.
    func decodePoll(_ a: HypercallArguments, _ m: inout FakeGuestMemory) -> Decoded<(PollPorts, UInt64)> {
        switch SchedOpRequest.decode(a, &m) {
        case .failure(let r): return .failure(r)
        case .success(.poll(let list, let timeout)): return PollPorts.decode(list, &m).map { ($0, timeout) }
        case .success: return .failure(Refusal(.EINVAL, "not a poll"))
        }
    }

    func testPollAtTheTopOfTheAddressSpaceIsAFault() {
        var m = FakeGuestMemory(seed: 3)
        guard case .failure(let r) = decode(HypercallArguments(SchedOp.poll.rawValue, 0xFFFF_FFF8, 0, 0, 0), &m) else { return XCTFail() }
        XCTAssertEqual(r.error, .EFAULT)
        XCTAssertEqual("\(r.reason)", "sched_poll is not readable guest memory")
    }

    func testPollReadsItsPortsAndTimeout() {
        var m = FakeGuestMemory(seed: 3)
        m.mappedPercent = 0
        m.place32([0x3000, 3, 0x1234, 0x1], at: 0x2000)
        m.place32([5, 6, 7], at: 0x3000)
        guard case .success(let (ports, timeout)) = decodePoll(HypercallArguments(SchedOp.poll.rawValue, 0x2000, 0, 0, 0), &m) else { return XCTFail() }
        XCTAssertEqual(timeout, 0x1_0000_1234)
        XCTAssertEqual((0..<ports.count).map { ports[$0] }, [5, 6, 7])
    }

    func testPollRefusals() {
        var m = FakeGuestMemory(seed: 3)
        m.mappedPercent = 0
        m.place32([0x3000, 129, 0, 0], at: 0x2000)
        guard case .failure(let tooMany) = decodePoll(HypercallArguments(SchedOp.poll.rawValue, 0x2000, 0, 0, 0), &m) else { return XCTFail() }
        XCTAssertEqual(tooMany.error, .EINVAL)
        m.place32([0x3000, 2, 0, 0], at: 0x2000)
        m.place32([5, 4096], at: 0x3000)
        guard case .failure(let beyond) = decodePoll(HypercallArguments(SchedOp.poll.rawValue, 0x2000, 0, 0, 0), &m) else { return XCTFail() }
        XCTAssertEqual(beyond.error, .EINVAL)
        XCTAssertEqual("\(beyond.reason)", "sched_poll names a port beyond the 2-level event-channel ABI")
        m.place32([0xFFFF_FFF0, 8, 0, 0], at: 0x2000)
        guard case .failure(let edge) = decodePoll(HypercallArguments(SchedOp.poll.rawValue, 0x2000, 0, 0, 0), &m) else { return XCTFail() }
        XCTAssertEqual(edge.error, .EFAULT)
        XCTAssertEqual("\(edge.reason)", "sched_poll port list reaches into the hypervisor area")
        m.place32([0x9000, 8, 0, 0], at: 0x2000)
        guard case .failure(let unmapped) = decodePoll(HypercallArguments(SchedOp.poll.rawValue, 0x2000, 0, 0, 0), &m) else { return XCTFail() }
        XCTAssertEqual(unmapped.error, .EFAULT)
        XCTAssertEqual("\(unmapped.reason)", "sched_poll port list is not readable guest memory")
    }

    func testShutdownReasons() {
        var m = FakeGuestMemory(seed: 3)
        m.mappedPercent = 0
        m.place32([ShutdownReason.crash.rawValue, 99], at: 0x2000)
        guard case .success(.shutdown(.crash)) = decode(HypercallArguments(SchedOp.shutdown.rawValue, 0x2000, 0, 0, 0), &m) else { return XCTFail() }
        guard case .failure(let r) = decode(HypercallArguments(SchedOp.shutdown.rawValue, 0x2004, 0, 0, 0), &m) else { return XCTFail() }
        XCTAssertEqual(r.error, .EINVAL)
        guard case .failure(let f) = decode(HypercallArguments(SchedOp.shutdown.rawValue, 0xFFFF_FFFE, 0, 0, 0), &m) else { return XCTFail() }
        XCTAssertEqual(f.error, .EFAULT)
        guard case .failure(let n) = decode(HypercallArguments(64, 0, 0, 0, 0), &m) else { return XCTFail() }
        XCTAssertEqual(n.error, .ENOSYS)
    }

    func testFuzzed() {
        let tally = DecoderFuzzing.run(seed: 29, firstArgument: { $0.below(UInt32(10)) }) { a, m in
            switch SchedOpRequest.decode(a, &m) {
            case .success(.poll(let list, _)):
                if case .failure(let r) = PollPorts.decode(list, &m) { return r.error.rawValue }
                return nil
            case .success: return nil
            case .failure(let r): return r.error.rawValue
            }
        }
        XCTAssertGreaterThan(tally.refused[XenError.EFAULT.rawValue] ?? 0, 0)
        XCTAssertGreaterThan(tally.refused[XenError.EINVAL.rawValue] ?? 0, 0)
    }
}
