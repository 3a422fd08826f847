// Property test of the FIFO ABI's delivery rules (FifoEvents) against a reference model of plain queues: over seeded
// random walks of sends, masks, unmasks, priority and VCPU changes, closes and a guest consuming its queues as Linux
// does, the guest takes events in the reference's order and the words and READY bits say what the reference says.

import XCTest
import PVABI
@testable import ApusCore

final class FifoEventsPropertyTests: XCTestCase {
    /// The reference: each (VCPU, priority) queue an array of ports; each port pending, masked, queued.
    struct Reference {
        var queues: [[UInt32]]
        var pending: [Bool], masked: [Bool], queued: [Bool]
        var priority: [UInt32]
        init(ports: Int, vcpus: Int) {
            queues = Array(repeating: [], count: vcpus * 16)
            pending = Array(repeating: false, count: ports)
            masked = pending
            queued = pending
            priority = Array(repeating: EvtchnFifo.priorityDefault, count: ports)
        }
        mutating func send(_ port: UInt32, _ vcpu: UInt32) {
            let i = Int(port)
            pending[i] = true
            guard !masked[i], !queued[i] else { return }
            queued[i] = true
            queues[Int(vcpu) * 16 + Int(priority[i])].append(port)
        }
    }

    func testTheGuestConsumesInTheReferenceOrder() {
        let ports: UInt32 = 48, vcpus: UInt32 = 2
        for seed in UInt64(1)...40 {
            var rng = SplitMix64(seed: seed)
            var w = FifoFixture(ports: ports, wordsPresent: ports, vcpus: Int(vcpus), blocks: Int(vcpus))
            var q = FifoQueues(vcpus: vcpus, portLimit: ports)
            var r = Reference(ports: Int(ports), vcpus: Int(vcpus))
            var notify = Array(repeating: UInt32(0), count: Int(ports))
            var localHeads = Array(repeating: UInt32(0), count: Int(vcpus) * 16)
            var upcalls = 0
            for step in 0..<400 {
                let port = 1 + rng.below(ports - 1)
                switch rng.below(10) {
                case 0, 1, 2:
                    let raise = FifoEvents.setPending(&w, &q, port: port, vcpu: notify[Int(port)])
                    r.send(port, notify[Int(port)])
                    if raise == .raiseUpcall { upcalls += 1 }
                case 3:
                    w.words[Int(port)] |= FifoFixture.M
                    r.masked[Int(port)] = true
                case 4:
                    _ = FifoEvents.unmask(&w, &q, port: port, vcpu: notify[Int(port)])
                    r.masked[Int(port)] = false
                    if r.pending[Int(port)] { r.send(port, notify[Int(port)]) }
                case 5:
                    let p = rng.below(UInt32(16))
                    q.setPriority(port, p)
                    r.priority[Int(port)] = p
                case 6:
                    notify[Int(port)] = rng.below(vcpus)
                case 7:
                    FifoEvents.clearPending(&w, port: port)
                    r.pending[Int(port)] = false
                default:
                    // The guest consumes one event of the highest-priority READY queue of a VCPU.
                    let v = rng.below(vcpus)
                    let ready = w.ready(v)
                    guard ready != 0 else { continue }
                    let p = UInt32(ready.trailingZeroBitCount)
                    let qi = Int(v) * 16 + Int(p)
                    guard let expected = r.queues[qi].first else { return XCTFail("seed \(seed) step \(step): READY without events") }
                    r.queues[qi].removeFirst()
                    r.queued[Int(expected)] = false
                    let expectHandled = r.pending[Int(expected)] && !r.masked[Int(expected)]
                    if expectHandled { r.pending[Int(expected)] = false }
                    let got = w.consume(vcpu: v, priority: p, localHead: &localHeads[qi])
                    XCTAssertEqual(got.port, expected, "seed \(seed) step \(step)")
                    XCTAssertEqual(got.handled, expectHandled, "seed \(seed) step \(step)")
                    if got.port != expected { return }
                }
                for v in 0..<vcpus {
                    for p in UInt32(0)..<16 {
                        let nonEmpty = !r.queues[Int(v) * 16 + Int(p)].isEmpty
                        XCTAssertEqual(w.ready(v) & 1 << p != 0, nonEmpty, "seed \(seed) step \(step): READY of \(v)/\(p)")
                    }
                }
                for i in 1..<Int(ports) {
                    let word = w.words[i]
                    XCTAssertEqual(word & FifoFixture.P != 0, r.pending[i], "seed \(seed) step \(step): PENDING of \(i)")
                    XCTAssertEqual(word & FifoFixture.M != 0, r.masked[i], "seed \(seed) step \(step): MASKED of \(i)")
                    XCTAssertEqual(word & FifoFixture.L != 0, r.queued[i], "seed \(seed) step \(step): LINKED of \(i)")
                }
            }
            XCTAssertGreaterThan(upcalls, 0)
        }
    }
}
