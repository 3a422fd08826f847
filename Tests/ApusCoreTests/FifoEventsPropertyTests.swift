// Property test of the FIFO ABI's delivery rules (FifoEvents) against a reference model of plain queues: over seeded
// random walks of sends, masks, unmasks, priority and VCPU changes, closes and a guest consuming its queues as Linux
// does, the guest takes events in the reference's order and the words and READY bits say what the reference says.
// A second walk spreads its ports over four event-array pages (up to 4096, past the 2-level ABI's 1024) and adds the
// pages as it goes: an event for a port without its page is held, and raised in the reference's order once it arrives.

import XCTest
import PVABI
@testable import ApusCore

final class FifoEventsPropertyTests: XCTestCase {
    /// The reference: each (VCPU, priority) queue an array of ports; each port pending, masked, queued.
    struct Reference {
        var queues: [[UInt32]]
        var pending: [Bool], masked: [Bool], queued: [Bool]
        var priority: [UInt32]
        /// held[port]: sent while no array page held its word (Xen's evtchn->pending).
        var held: [Bool]
        init(ports: Int, vcpus: Int) {
            queues = Array(repeating: [], count: vcpus * 16)
            pending = Array(repeating: false, count: ports)
            held = pending
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

    enum Consumed { case none, wrong, port(UInt32) }

    /// The guest consumes one event of `vcpu`'s highest-priority READY queue, as Linux does; the reference
    /// says which port and whether it is handled.
    private func consumeOne(_ w: inout FifoFixture, _ r: inout Reference, _ localHeads: inout [UInt32], vcpu v: UInt32,
                            _ at: String) -> Consumed {
        let ready = w.ready(v)
        guard ready != 0 else { return .none }
        let p = UInt32(ready.trailingZeroBitCount)
        let qi = Int(v) * 16 + Int(p)
        guard let expected = r.queues[qi].first else { XCTFail("\(at): READY without events"); return .wrong }
        r.queues[qi].removeFirst()
        r.queued[Int(expected)] = false
        let expectHandled = r.pending[Int(expected)] && !r.masked[Int(expected)]
        if expectHandled { r.pending[Int(expected)] = false }
        let got = w.consume(vcpu: v, priority: p, localHead: &localHeads[qi])
        XCTAssertEqual(got.port, expected, at)
        XCTAssertEqual(got.handled, expectHandled, at)
        return got.port == expected ? .port(got.port) : .wrong
    }

    /// Every VCPU's READY bits say which of its reference queues hold events.
    private func checkReady(_ w: FifoFixture, _ r: Reference, vcpus: UInt32, _ at: String) {
        for v in 0..<vcpus {
            for p in UInt32(0)..<16 {
                let nonEmpty = !r.queues[Int(v) * 16 + Int(p)].isEmpty
                XCTAssertEqual(w.ready(v) & 1 << p != 0, nonEmpty, "\(at): READY of \(v)/\(p)")
            }
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
                    switch consumeOne(&w, &r, &localHeads, vcpu: rng.below(vcpus), "seed \(seed) step \(step)") {
                    case .none: continue
                    case .wrong: return
                    case .port: break
                    }
                }
                checkReady(w, r, vcpus: vcpus, "seed \(seed) step \(step)")
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

    func testPortsBeyond1024AcrossArrayPagesInTheReferenceOrder() {
        let limit: UInt32 = 4096, vcpus: UInt32 = 2
        var heldThenRaised = 0
        for seed in UInt64(1)...30 {
            var rng = SplitMix64(seed: seed)
            // 32 ports: 8 in each of the four pages' ranges (page 0 without port 0).
            var ports: [UInt32] = []
            while ports.count < 32 {
                let page = UInt32(ports.count / 8)
                let port = page * 1024 + rng.below(1024)
                if port != 0 && !ports.contains(port) { ports.append(port) }
            }
            var w = FifoFixture(ports: limit, wordsPresent: 1024, vcpus: Int(vcpus), blocks: Int(vcpus))
            var q = FifoQueues(vcpus: vcpus, portLimit: limit)
            var r = Reference(ports: Int(limit), vcpus: Int(vcpus))
            var notify = Array(repeating: UInt32(0), count: Int(limit))
            var localHeads = Array(repeating: UInt32(0), count: Int(vcpus) * 16)
            var consumedBeyond1024 = 0
            for step in 0..<500 {
                let port = ports[Int(rng.below(UInt32(ports.count)))]
                let i = Int(port)
                switch rng.below(12) {
                case 0, 1, 2, 3:
                    _ = FifoEvents.setPending(&w, &q, port: port, vcpu: notify[i])
                    if w.hasWord(port) { r.send(port, notify[i]) } else { r.held[i] = true }
                case 4:
                    // The guest masks a word it has.
                    guard w.hasWord(port) else { continue }
                    w.words[i] |= FifoFixture.M
                    r.masked[i] = true
                case 5:
                    _ = FifoEvents.unmask(&w, &q, port: port, vcpu: notify[i])
                    guard w.hasWord(port) else { continue }
                    r.masked[i] = false
                    if r.pending[i] { r.send(port, notify[i]) }
                case 6:
                    let p = rng.below(UInt32(16))
                    q.setPriority(port, p)
                    r.priority[i] = p
                case 7:
                    notify[i] = rng.below(vcpus)
                case 8:
                    // The guest adds the next array page: held events of its ports are raised, lowest port first.
                    guard w.wordsPresent < limit, rng.below(3) == 0 else { continue }
                    let first = w.wordsPresent
                    w.wordsPresent += 1024
                    FifoEvents.pageAdded(&w, &q, ports: first..<(first + 1024), vcpuOf: { notify[Int($0)] }, raised: { _ in })
                    for p in ports.sorted() where p >= first && p < first + 1024 && r.held[Int(p)] {
                        r.held[Int(p)] = false
                        r.send(p, notify[Int(p)])
                        heldThenRaised += 1
                    }
                default:
                    switch consumeOne(&w, &r, &localHeads, vcpu: rng.below(vcpus), "seed \(seed) step \(step)") {
                    case .none: continue
                    case .wrong: return
                    case .port(let got): if got >= 1024 { consumedBeyond1024 += 1 }
                    }
                }
                checkReady(w, r, vcpus: vcpus, "seed \(seed) step \(step)")
                for p in ports {
                    let i = Int(p)
                    XCTAssertEqual(q.isHeld(p), r.held[i], "seed \(seed) step \(step): held \(p)")
                    guard w.hasWord(p) else {
                        XCTAssertEqual(w.words[i], 0, "seed \(seed) step \(step): no page, no word written for \(p)")
                        continue
                    }
                    let word = w.words[i]
                    XCTAssertEqual(word & FifoFixture.P != 0, r.pending[i], "seed \(seed) step \(step): PENDING of \(p)")
                    XCTAssertEqual(word & FifoFixture.M != 0, r.masked[i], "seed \(seed) step \(step): MASKED of \(p)")
                    XCTAssertEqual(word & FifoFixture.L != 0, r.queued[i], "seed \(seed) step \(step): LINKED of \(p)")
                }
                // Records only up to the highest port touched, in 64-port buckets.
                XCTAssertLessThanOrEqual(q.recorded, Int((ports.max()! / 64 + 1) * 64))
            }
            XCTAssertGreaterThan(consumedBeyond1024, 0, "seed \(seed)")
        }
        XCTAssertGreaterThan(heldThenRaised, 30, "held events raised by the pages added, over every seed")
    }
}
